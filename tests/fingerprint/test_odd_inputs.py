"""Unusual but valid inputs: each is read whole, timed by its own stream and shown upright.
Inputs are the sample clips re-encoded here."""
import av
import cv2
import numpy as np
import pytest

from fp.fingerprint.decode import iter_frames, probe
from fp.fingerprint.pipeline import fingerprint_video

from ..conftest import clip, write_video

SIZE = (320, 240)


@pytest.fixture(scope="module")
def friday():
    """2 s of friday.mp4 (30 fps), RGB at SIZE."""
    with av.open(str(clip("friday.mp4"))) as container:
        frames = [cv2.resize(f.to_ndarray(format="rgb24"), SIZE, interpolation=cv2.INTER_AREA)
                  for _, f in zip(range(60), container.decode(video=0))]
    return frames


def test_raw_h264_stream_is_timed_at_its_own_frame_rate(tmp_path, friday):
    """A bare .h264 stream has no timestamps; its headers say 30 fps but the demuxer assumed 25:
    2 s came out as 2.4 s."""
    path = write_video(tmp_path / "clip.h264", friday, fps=30)
    fpr = fingerprint_video(path)
    assert abs(fpr.duration - 2.0) < 0.05, fpr.duration
    assert probe(path).fps == 30
    times = [f.t for f in iter_frames(path, fps=None)]
    assert len(times) == 60 and abs(times[-1] - 59 / 30) < 1e-6


def _rotated(path, frames, degrees: int):
    """`frames` stored turned, with a display matrix turning them back by `degrees` (counter-clockwise,
    as FFmpeg reads it): phone footage."""
    return write_video(path, [np.rot90(img, k=-degrees // 90) for img in frames], fps=30, rotation=degrees)


@pytest.mark.parametrize("degrees", [90, -90, 180])
def test_rotated_phone_video_is_hashed_and_shown_upright(tmp_path, friday, degrees):
    from fp.index.evidence import grab_frames

    upright = write_video(tmp_path / "upright.mp4", friday, fps=30)
    turned = _rotated(tmp_path / "turned.mp4", friday, degrees)
    plain, other = fingerprint_video(upright), fingerprint_video(turned)
    bits = np.unpackbits(plain.codes ^ other.codes, axis=1).sum(1)
    assert len(plain) == len(other) and bits.mean() < 4, bits
    (want,), _ = grab_frames(upright, [1.0])
    (got,), _ = grab_frames(turned, [1.0])  # the evidence thumbnail was drawn sideways
    assert got.shape == want.shape
    assert np.abs(got.astype(int) - want).mean() < 10


def test_a_timestamp_jumping_forward_years_is_joined_not_matched_for_minutes(tmp_path, friday):
    """1 s, then the next frames stamped 1e8 s later (a broken timestamp): the fingerprint said
    the video was 3 years long and matching it ran for minutes."""
    from fractions import Fraction

    from fp.index.evidence import grab_frames

    pts = list(range(30)) + [10**8 * 30 + i for i in range(30)]
    path = write_video(tmp_path / "jump.mkv", friday, fps=30, pts=pts, time_base=Fraction(1, 30))
    fpr = fingerprint_video(path)
    assert abs(fpr.duration - 2.0) < 0.05 and fpr.times.max() < 2.0, fpr.duration
    assert any("jump forward" in note for note in fpr.meta["notes"])  # told, not silent
    (thumb,), _ = grab_frames(path, [1.5])  # evidence reads the same joined times: frame 45
    want = cv2.resize(friday[45], thumb.shape[1::-1], interpolation=cv2.INTER_AREA)
    other = cv2.resize(friday[30], thumb.shape[1::-1], interpolation=cv2.INTER_AREA)
    assert np.abs(thumb.astype(int) - want).mean() < np.abs(thumb.astype(int) - other).mean()


def test_frames_sharing_one_timestamp_are_told_not_dropped_silently(tmp_path, friday):
    """Every frame stamped 0 (a broken mux): sampling by time kept 1 frame of 60 and said nothing."""
    from fractions import Fraction

    path = write_video(tmp_path / "stuck.mkv", friday, fps=30, pts=[0] * len(friday), time_base=Fraction(1, 30))
    fpr = fingerprint_video(path)
    assert any(note.startswith("timestamps stuck: 59 of 60 frames") for note in fpr.meta.get("notes", ())), fpr.meta


@pytest.mark.parametrize("pix_fmt", ["yuv420p10le", "yuv444p10le"])
def test_ten_bit_video_is_hashed_on_the_luma_scale_of_eight_bit(tmp_path, friday, pix_fmt):
    """A 10-bit copy's luma was converted to full-range grey (16-235 stretched to 0-255), so it
    hashed further from the 8-bit reference than an 8-bit copy of the same frames."""
    eight = [f.luma.astype(int) for f in iter_frames(write_video(tmp_path / "8.mkv", friday[:10], fps=30))]
    deep = [f.luma.astype(int) for f in iter_frames(write_video(tmp_path / "10.mkv", friday[:10], fps=30, pix_fmt=pix_fmt))]
    assert len(eight) == len(deep)
    assert max(np.abs(a - b).mean() for a, b in zip(eight, deep)) < 3  # coding differences; 9 before


def test_rotated_video_with_wide_pixels_is_widened_before_it_is_turned(tmp_path):
    """160x120 coded, pixels twice as wide (320x120 shown), turned 90 degrees for display: 120
    wide and 320 tall. The widening was applied after the turn, to the wrong axis (240x160)."""
    from fractions import Fraction

    from ..conftest import textured_frames

    path = write_video(tmp_path / "wide_turned.mp4", textured_frames(10), fps=10, rotation=90, sar=Fraction(2, 1))
    assert next(iter(iter_frames(path))).luma.shape == (320, 120)

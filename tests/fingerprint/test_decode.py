"""Decoding real clips, timestamps, and every kind of bad input."""
import os
import shutil
from fractions import Fraction

import av
import numpy as np
import pytest

from fp.fingerprint.decode import iter_frames, probe
from fp.fingerprint.errors import VideoDecodeError
from fp.fingerprint.pipeline import QUERY, REFERENCE, FingerprintConfig, fingerprint_video

from ..conftest import clip, textured_frames, write_video


def test_sampling_rate_and_times_on_real_clip():
    frames = list(iter_frames(clip("bbb_first60s.mp4"), fps=2.0))
    times = np.array([f.t for f in frames])
    assert abs(len(frames) - 120) <= 1
    assert np.allclose(np.diff(times), 0.5, atol=1 / 24 + 1e-6)
    assert frames[0].luma.shape == (360, 640)


def test_fingerprint_shapes_and_views():
    q = fingerprint_video(clip("friday.mp4"), FingerprintConfig())
    r = fingerprint_video(clip("friday.mp4"), REFERENCE)
    assert q.codes.shape == (len(q), 8) and (q.views == 0).all()
    assert (r.views > 0).any() and (r.views == 0).sum() == len(q)
    assert np.array_equal(r.codes[r.views == 0], q.codes)
    assert abs(q.duration - 6.17) < 0.1
    d = q.to_dict()
    assert d["n_frames"] == len(q) and len(d["frames"]) == len(q)


def test_keyframes_only_tells_the_whole_duration(tmp_path):
    """A few keyframes in 3 s (x264 puts them at scene changes only, here): the keyframe pass
    (triage) reports the file's 3 s, not the end of its last keyframe."""
    path = write_video(tmp_path / "one_key.mp4", textured_frames(90), fps=30)
    keys = fingerprint_video(path, FingerprintConfig(keyframes_only=True))
    assert keys.times.max() < 2.9 and abs(keys.duration - 3.0) < 0.05


def test_keyframes_only_is_sparser():
    full = fingerprint_video(clip("bbb_first60s.mp4"), QUERY)
    keys = fingerprint_video(clip("bbb_first60s.mp4"), FingerprintConfig(keyframes_only=True))
    assert 0 < len(keys) < len(full)


def test_variable_frame_rate_times_are_presentation_times(tmp_path):
    # Irregular pts in a 1/1000 time base: sampled times must follow them, not frame counts.
    pts = [0, 40, 80, 200, 240, 600, 640, 680, 1500, 1540, 1580, 2000]
    path = write_video(tmp_path / "vfr.mp4", textured_frames(len(pts)), fps=25, pts=pts, time_base=Fraction(1, 1000))
    frames = list(iter_frames(path, fps=None))
    got = [round(f.t, 3) for f in frames]
    assert got == [p / 1000 for p in pts]


def test_odd_sizes(tmp_path):
    path = write_video(tmp_path / "odd.mp4", textured_frames(30, w=98, h=62), fps=10)
    fpr = fingerprint_video(path)
    assert len(fpr) == 15 and fpr.width == 98


# -- bad input ---------------------------------------------------------------------------

def _audio_only(path):
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=44100)
        samples = (np.sin(np.arange(44100) / 20) * 0.3).astype(np.float32)[None, :]
        for i in range(0, 44100, 1024):
            frame = av.AudioFrame.from_ndarray(samples[:, i : i + 1024].copy(), format="fltp", layout="mono")
            frame.sample_rate = 44100
            for p in stream.encode(frame):
                out.mux(p)
        for p in stream.encode():
            out.mux(p)
    return path


def _truncated(path):
    """Cut just after the header (friday.mp4 is faststart: a 4 kB moov first): nothing decodes."""
    src = clip("friday.mp4").read_bytes()
    path.write_bytes(src[:5000])
    return path


def _still(path):
    import cv2

    cv2.imwrite(str(path), next(textured_frames(1)))
    return path


BAD = {
    "empty": lambda p: (p.write_bytes(b""), p)[1],
    "random bytes": lambda p: (p.write_bytes(np.random.default_rng(0).bytes(50_000)), p)[1],
    "truncated mp4": _truncated,
    "audio only": _audio_only,
    "still image": _still,
    "one frame": lambda p: write_video(p, textured_frames(1)),
    "16x16": lambda p: write_video(p, textured_frames(10, 16, 16)),
    "text file": lambda p: (p.write_text("not a video\n" * 100), p)[1],
    "text file .txt": lambda p: (p.write_text("frame,quality,hash\n" * 200), p)[1],
}
SUFFIX = {"still image": ".png", "audio only": ".m4a", "text file .txt": ".txt"}


@pytest.mark.parametrize("kind", sorted(BAD))
def test_bad_input_gives_a_clear_error(tmp_path, kind):
    path = BAD[kind](tmp_path / f"bad{SUFFIX.get(kind, '.mp4')}")
    with pytest.raises(VideoDecodeError) as err:
        fingerprint_video(path)
    message = str(err.value)
    assert str(path) in message and len(message.splitlines()) == 1
    assert err.value.reason


def test_missing_and_directory(tmp_path):
    with pytest.raises(VideoDecodeError, match="no such file"):
        fingerprint_video(tmp_path / "nope.mp4")
    with pytest.raises(VideoDecodeError, match="directory"):
        fingerprint_video(tmp_path)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads any file; runs for other users")
def test_unreadable_file(tmp_path):
    path = tmp_path / "locked.mp4"
    shutil.copy(clip("friday.mp4"), path)
    path.chmod(0)
    with pytest.raises(VideoDecodeError, match="permission denied"):
        fingerprint_video(path)


def test_probe_real_clip():
    info = probe(clip("cockatoo.mp4"))
    assert (info.width, info.height) == (1280, 720) and abs(info.header_duration - 14.0) < 0.2


def test_non_square_pixels_are_shown_at_display_aspect(tmp_path):
    path = tmp_path / "anamorphic.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        stream.codec_context.sample_aspect_ratio = Fraction(2, 1)
        for img in textured_frames(20):
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    frame = next(iter(iter_frames(path)))
    assert frame.luma.shape == (120, 320)


@pytest.mark.parametrize("hidden", [0, 41])
def test_skipping_unneeded_frames_keeps_sampled_frames_exact(tmp_path, hidden):
    # x264's default (medium) uses B-frames, which sampling lets the decoder drop. `hidden`
    # frames stamped before 0 make an MP4 edit list that hides them: sample times were counted
    # from the first packet, not the first shown frame, and every sample was the frame after.
    pts = [i - hidden for i in range(90 + hidden)]
    path = write_video(tmp_path / "bframes.mp4", textured_frames(90 + hidden, 320, 240, seed=3), fps=30,
                       pts=pts, time_base=Fraction(1, 30))
    sampled = list(iter_frames(path, fps=5.0))
    everything = {round(f.t, 4): f.luma.copy() for f in iter_frames(path, fps=None)}
    assert len(everything) == 90 and len(sampled) == 15
    for f in sampled:
        assert np.array_equal(f.luma, everything[round(f.t, 4)])

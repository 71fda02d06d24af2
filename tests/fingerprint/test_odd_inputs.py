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

"""Crop-to-fill reframes: a 16:9 film cut to a phone's 9:16 (centred or following the action)
or to 1:1, with no fill around it. The whole picture keeps a third to a half of the width, too
little for the 15 % crop views; references store views cut to those shapes
(fingerprint/normalise.py REFRAMES)."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from ..conftest import best_match, write_video
from .test_matcher_scenes import _frames


def _cut(img: np.ndarray, aspect: float, pos: float, height: int = 640) -> np.ndarray:
    h, w = img.shape[:2]
    cw = round(h * aspect)
    x = round((w - cw) * pos)
    out = img[:, x: x + cw]
    return cv2.resize(out, (round(height * aspect) // 2 * 2, height), interpolation=cv2.INTER_AREA)


@pytest.mark.parametrize("name, start, aspect, pos", [
    ("bbb_first60s.mp4", 20.0, 9 / 16, 0.5),
    ("bbb_first60s.mp4", 40.0, 9 / 16, 0.23),  # following the action off centre (views at 0.2, 0.5, 0.8)
    ("cockatoo.mp4", 0.0, 1.0, 0.5),
])
def test_a_copy_cut_to_fill_another_shape_matches(session_library, tmp_path, name, start, aspect, pos):
    frames = [_cut(f, aspect, pos) for f in _frames(name, start, start + 8.0, fps=30)]
    suspect = write_video(tmp_path / f"cut_{aspect:.2f}_{pos}.mp4", frames, fps=30)
    best = best_match(session_library, suspect, name.rsplit(".", 1)[0])
    lo, hi = max(best.ref_span[0], start), min(best.ref_span[1], start + 8.0)
    assert hi - lo >= 4.0, best.ref_span  # lands on the part it was cut from

"""Copies of fixed-camera shots judged against the other moments of their scene (issue 11).

In a still shot every moment hashes alike, so each copied frame on its own is as close to the
rest of the shot as to the moment it copies, and a cropped copy (no 256-bit hash to fall back on)
was "no evidence": a 14 % crop of flower.mp4 hit every frame at 0-8 of 64 bits and came out at
chance 0.34. Judged as a whole, a copied second fits the moment it was cut from better than it
fits the shot's other moments; footage of the same set fits many moments alike.
"""
from __future__ import annotations

import numpy as np
import pytest

from fp.index.chance import backgrounds
from fp.index.verify import Reference, closest_in_window

from ..conftest import best_match, write_video
from .test_matcher_scenes import _frames


def _crop(frac: float, x: float, y: float):
    def edit(img: np.ndarray) -> np.ndarray:
        h, w = img.shape[:2]
        ch, cw = int(h * (1 - frac)) // 2 * 2, int(w * (1 - frac)) // 2 * 2  # even, for H.264
        top, left = int((h - ch) * y), int((w - cw) * x)
        return np.ascontiguousarray(img[top : top + ch, left : left + cw])
    return edit


@pytest.mark.parametrize("name,start,end,frac,x,y", [("flower", 0.0, 5.0, 0.14, 0.57, 0.44),
                                                      ("flower", 0.0, 5.0, 0.18, 0.2, 0.8),
                                                      ("friday", 0.3, 5.9, 0.17, 0.37, 0.67),
                                                      ("friday", 0.0, 6.0, 0.2, 0.5, 0.5)])
def test_a_cropped_copy_of_a_fixed_camera_shot_matches(session_library, tmp_path, name, start, end, frac, x, y):
    """All four were no_match before (the whole shot is 5-6 s, the copy nearly all of it)."""
    frames = _frames(f"{name}.mp4", start, end, fps=30, edit=_crop(frac, x, y))
    best = best_match(session_library, write_video(tmp_path / f"crop_{name}.mp4", frames, fps=30), name)
    assert abs(best.ref_span[0] - start) < 0.6 and best.ref_span[1] > end - 1.0
    assert abs(best.offset - start) < 0.6


def _flicker(base: np.ndarray, n: int, rng, flips: int = 2) -> np.ndarray:
    """64-bit hashes of a still shot: one picture, a few bits flickering from moment to moment."""
    codes = np.repeat(base[None, :], n, axis=0)
    for i in range(n):
        for bit in rng.choice(64, flips, replace=False):
            codes[i, bit // 8] ^= np.uint8(1 << (bit % 8))
    return codes


def test_an_event_fitting_its_moment_is_told_from_one_fitting_the_whole_shot():
    rng = np.random.default_rng(7)
    base = rng.integers(0, 256, 8, dtype=np.uint8)
    times = np.arange(200) / 5.0  # 40 s at 5 a second
    codes = _flicker(base, len(times), rng)
    ref = Reference.of(times, codes, np.ones(len(times), bool), 40.0)
    at, q_t, keys, usable = 100, np.arange(10) / 5.0, np.repeat([0, 1], 5), np.ones(10, bool)
    copy = codes[at : at + 10] ^ _flicker(np.zeros(8, np.uint8), 10, np.random.default_rng(9), 3)  # 3 bits off
    same_set = _flicker(base, 10, np.random.default_rng(8))  # the same picture, its own flicker
    for query, is_copy in ((copy, True), (same_set, False)):
        d, _, _ = closest_in_window(q_t, query, ref, 1.0, times[at])
        bg = backgrounds(q_t, query, np.minimum(d, 14), ref, 1.0, times[at], keys, usable, 14)
        if is_copy:  # an event's frames one by one: as close to other moments (the old chance, 0.49)
            assert bg.frame[:5].max() > 0.3 and bg.moment.max() < 0.02, (bg.frame, bg.moment)
        else:
            assert bg.moment.min() > 0.3, bg.moment

"""Split-screen copies: a clip stacked above unrelated footage (a film over a game, as phone
apps make them) or beside it. Each half is a query view (fingerprint/inset.py `_split`)."""
from __future__ import annotations

import numpy as np
import pytest

from ..conftest import best_match, write_video
from .test_matcher_scenes import _cover, _frames


def _fit(img: np.ndarray, size) -> np.ndarray:
    """Scale to fit `size`, black bars around (a film letterboxed in its half)."""
    import cv2

    w, h = size
    scale = min(w / img.shape[1], h / img.shape[0])
    small = cv2.resize(img, (round(img.shape[1] * scale), round(img.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    out = np.zeros((h, w, 3), np.uint8)
    y, x = (h - small.shape[0]) // 2, (w - small.shape[1]) // 2
    out[y: y + small.shape[0], x: x + small.shape[1]] = small
    return out


@pytest.mark.parametrize("copy, start, place, fit", [
    ("cockatoo.mp4", 0.0, "bottom", True),
    ("cockatoo.mp4", 0.0, "bottom", False),  # cut to fill its half (a 1:1 reference view is near)
    ("bbb_first60s.mp4", 20.0, "top", True),  # a film letterboxed in the upper half
    ("elf.mp4", 2.0, "left", True),
])
def test_a_split_screen_copy_matches(session_library, tmp_path, copy, start, place, fit):
    film = _frames(copy, start, start + 8.0, fps=30)
    game = _frames("frog.mp4", 0.0, 8.0, fps=30)
    vertical = place in ("top", "bottom")
    canvas = (540, 960) if vertical else (1280, 720)
    half = (canvas[0], canvas[1] // 2) if vertical else (canvas[0] // 2, canvas[1])
    frames = []
    for a, b in zip(film, game):
        a, b = (_fit(a, half) if fit else _cover(a, half)), _cover(b, half)
        pair = (a, b) if place in ("top", "left") else (b, a)
        frames.append(np.vstack(pair) if vertical else np.hstack(pair))
    suspect = write_video(tmp_path / f"split_{place}_{fit}.mp4", frames, fps=30)
    best = best_match(session_library, suspect, copy.rsplit(".", 1)[0])
    assert abs(best.ref_span[0] - start) < 1.0

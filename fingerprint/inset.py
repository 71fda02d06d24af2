"""Find a picture-in-picture inset: a rectangle whose borders stay put while its content moves.

Over a window of frames, edges that persist (temporal median of gradient magnitude) along
whole straight lines mark the inset's sides; the best-supported rectangle of plausible size
is the inset. Used on suspects only, as an extra query view.
"""
from __future__ import annotations

import cv2
import numpy as np

from .normalise import BLANK_STD, ActiveArea

EDGE = 10.0  # grey levels of persistent gradient that count as an edge
MIN_SIDE = 0.3  # the inset spans at least this share of each side (a third of the area or more)
MAX_AREA = 0.8  # larger "insets" are the picture itself
MIN_COVERAGE = 0.55  # share of the perimeter that must be persistent edge
CANDIDATES = 8


def _peaks(support: np.ndarray, n: int) -> list[int]:
    """Positions of the n strongest local maxima of a 1-D support profile."""
    order = np.argsort(support)[::-1]
    picked: list[int] = []
    for i in order:
        if support[i] < 0.15 or len(picked) >= n:
            break
        if all(abs(i - p) > 3 for p in picked):
            picked.append(int(i))
    return picked


def detect_inset(smalls: list[np.ndarray]) -> ActiveArea | None:
    frames = [cv2.blur(s, (3, 3)).astype(np.float32) for s in smalls]
    frames = [f for f in frames if f.std() >= BLANK_STD]
    if len(frames) < 5:
        return None
    stack = np.stack(frames)
    gx = np.median(np.abs(stack[:, :, 2:] - stack[:, :, :-2]), axis=0) > EDGE  # (h, w-2): edge between x and x+2
    gy = np.median(np.abs(stack[:, 2:, :] - stack[:, :-2, :]), axis=0) > EDGE
    h, w = stack.shape[1:]
    cols = [c + 1 for c in _peaks(gx.mean(axis=0), CANDIDATES)] + [0, w - 1]
    rows = [r + 1 for r in _peaks(gy.mean(axis=1), CANDIDATES)] + [0, h - 1]
    gxp = np.pad(gx, ((0, 0), (1, 1)))
    gyp = np.pad(gy, ((1, 1), (0, 0)))
    best, best_score = None, 0.0
    for x1 in cols:
        for x2 in cols:
            if x2 - x1 < MIN_SIDE * w:
                continue
            for y1 in rows:
                for y2 in rows:
                    if y2 - y1 < MIN_SIDE * h or (x2 - x1) * (y2 - y1) > MAX_AREA * w * h:
                        continue
                    sides = [
                        1.0 if x1 == 0 else gxp[y1:y2, x1].mean(),
                        1.0 if x2 == w - 1 else gxp[y1:y2, x2].mean(),
                        1.0 if y1 == 0 else gyp[y1, x1:x2].mean(),
                        1.0 if y2 == h - 1 else gyp[y2, x1:x2].mean(),
                    ]
                    inner = sum(s for s, edge in zip(sides, (x1 == 0, x2 == w - 1, y1 == 0, y2 == h - 1)) if not edge)
                    n_inner = sum(not e for e in (x1 == 0, x2 == w - 1, y1 == 0, y2 == h - 1))
                    if n_inner < 2 or min(sides) < 0.3:
                        continue
                    score = inner / n_inner
                    if score > best_score + 1e-9 or (abs(score - best_score) < 1e-9 and best is not None and (x2 - x1) * (y2 - y1) > (best[2] - best[0]) * (best[3] - best[1])):
                        best, best_score = (x1, y1, x2, y2), score
    if best is None or best_score < MIN_COVERAGE:
        return None
    x1, y1, x2, y2 = best
    pad_x, pad_y = 1, 1  # step inside the border's blur
    return ActiveArea((x1 + pad_x) / w, (y1 + pad_y) / h, (x2 - pad_x + 1) / w, (y2 - pad_y + 1) / h)

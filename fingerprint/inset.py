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
MIN_SIDE = 0.2  # the inset spans at least this share of each side
MIN_AREA = 0.15  # ... and this share of the frame (a 2.35:1 film reframed to 9:16 covers ~0.24)
MAX_AREA = 0.8  # larger "insets" are the picture itself
MIN_COVERAGE = 0.55  # share of the perimeter that must be persistent edge
EDGE_SIDE = 0.5  # score of a side lying on the frame border
CANDIDATES = 8
MAX_FRAMES = 12  # frames of a window looked at (evenly spaced)


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


def detect_insets(smalls: list[np.ndarray]) -> list[ActiveArea]:
    step = max(1, len(smalls) // MAX_FRAMES)
    frames = [cv2.blur(s, (3, 3)).astype(np.float32) for s in smalls[::step]]
    frames = [f for f in frames if f.std() >= BLANK_STD]
    if len(frames) < 5:
        return []
    stack = np.stack(frames)
    gx = np.median(np.abs(stack[:, :, 2:] - stack[:, :, :-2]), axis=0) > EDGE  # (h, w-2): edge between x and x+2
    gy = np.median(np.abs(stack[:, 2:, :] - stack[:, :-2, :]), axis=0) > EDGE
    h, w = stack.shape[1:]
    cols = [c + 1 for c in _peaks(gx.mean(axis=0), CANDIDATES)] + [0, w - 1]
    rows = [r + 1 for r in _peaks(gy.mean(axis=1), CANDIDATES)] + [0, h - 1]
    # Prefix sums give the edge share along any side in O(1); all rectangles are scored at once.
    vx = np.concatenate([np.zeros((1, w)), np.cumsum(np.pad(gx, ((0, 0), (1, 1))), axis=0)])  # (h+1, w)
    hy = np.concatenate([np.zeros((h, 1)), np.cumsum(np.pad(gy, ((1, 1), (0, 0))), axis=1)], axis=1)  # (h, w+1)
    x1, x2, y1, y2 = (a.ravel() for a in np.meshgrid(cols, cols, rows, rows, indexing="ij"))
    area = (x2 - x1) * (y2 - y1)
    ok = (x2 - x1 >= MIN_SIDE * w) & (y2 - y1 >= MIN_SIDE * h) & (area <= MAX_AREA * w * h) & (area >= MIN_AREA * w * h)
    x1, x2, y1, y2 = x1[ok], x2[ok], y1[ok], y2[ok]
    if len(x1) == 0:
        return []
    span_y, span_x = np.maximum(y2 - y1, 1), np.maximum(x2 - x1, 1)
    left = (vx[y2, x1] - vx[y1, x1]) / span_y
    right = (vx[y2, x2] - vx[y1, x2]) / span_y
    top = (hy[y1, x2] - hy[y1, x1]) / span_x
    bottom = (hy[y2, x2] - hy[y2, x1]) / span_x
    on_edge = np.stack([x1 == 0, x2 == w - 1, y1 == 0, y2 == h - 1])
    # A side on the frame border shows no edge either way: it scores a neutral EDGE_SIDE, so
    # rectangles do not snap to the border just because border sides cost nothing.
    measured = np.stack([left, right, top, bottom])
    sides = np.where(on_edge, EDGE_SIDE, measured)
    n_inner = (~on_edge).sum(axis=0)
    score = sides.mean(axis=0)  # ranks candidates
    inner = np.where(on_edge, 0.0, measured).sum(axis=0) / np.maximum(n_inner, 1)  # decides there is one
    valid = (n_inner >= 2) & (np.where(on_edge, 1.0, measured).min(axis=0) >= 0.3) & (inner >= MIN_COVERAGE)
    if not valid.any():
        return []
    # Two readings of "best": all four sides (border sides neutral), which keeps insets off
    # the border, and inner sides only, which keeps full-width strips (9:16 reframes) whole.
    # Both are returned when they differ; each becomes a query view.
    area = (x2 - x1) * (y2 - y1)
    picks = []
    for key in (score, inner):
        order = np.lexsort((area, np.round(key, 9)))[::-1]
        order = order[valid[order]]
        if len(order) and order[0] not in picks:
            picks.append(order[0])
    pad = 1  # step inside the border's blur
    return [ActiveArea((x1[i] + pad) / w, (y1[i] + pad) / h, (x2[i] - pad + 1) / w, (y2[i] - pad + 1) / h) for i in picks]

"""Find a picture-in-picture inset: a rectangle whose borders stay put while its content moves.

Over a window of frames, edges that persist (temporal median of gradient magnitude) along
whole straight lines mark the inset's sides; the best-supported rectangle of plausible size
is the inset. When no such edges exist, a sharp centred band between soft fill (a 9:16
reframe over a blurred copy of itself, whose border may show no brightness step) is the
inset. Used on suspects only, as extra query views.
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
STRIP_SIDE = (0.2, 0.85)  # a sharp band spans this share of the frame height (or width)
STRIP_SHARP = 0.35  # a line is in the band when its texture is this share of the sharpest lines'
STRIP_CONTRAST = 3.0  # the band's median texture over the fill's
STRIP_CENTRED = 0.08  # the two fills differ by at most this share of the side


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
    """Up to two inset rectangles for one window of same-sized grey frames."""
    step = max(1, len(smalls) // MAX_FRAMES)
    frames = [cv2.blur(s, (3, 3)).astype(np.float32) for s in smalls[::step]]
    frames = [f for f in frames if f.std() >= BLANK_STD]
    if len(frames) < 5:
        return []
    stack = np.stack(frames)
    return _centred(_edge_insets(stack)) or _sharp_band(stack)


def _centred(found: list[ActiveArea]) -> list[ActiveArea]:
    """Reframes centre the picture: a full-width (or full-height) strip found off-centre, its
    far side snapped to a strong edge inside the picture (a desk, a horizon) while the real
    border is faint, is also tried as its centred hull."""
    out = list(found)
    for a in found:
        if len(out) >= 2:
            break
        if a.left < 0.05 and a.right > 0.95 and abs(a.top - (1 - a.bottom)) > STRIP_CENTRED:
            m = min(a.top, 1 - a.bottom)
            out.append(ActiveArea(a.left, m, a.right, 1 - m))
        elif a.top < 0.05 and a.bottom > 0.95 and abs(a.left - (1 - a.right)) > STRIP_CENTRED:
            m = min(a.left, 1 - a.right)
            out.append(ActiveArea(m, a.top, 1 - m, a.bottom))
    return out


def _band(texture: np.ndarray) -> tuple[int, int] | None:
    """(start, end) of the one centred run of sharp lines between soft fill, if any."""
    n = len(texture)
    sharp = np.append(texture > STRIP_SHARP * np.percentile(texture, 95), False)
    best, start = (0, 0), None
    for i, on in enumerate(sharp):
        if on and start is None:
            start = i
        elif not on and start is not None:
            best, start = max(best, (start, i), key=lambda r: r[1] - r[0]), None
    a, b = best
    if not STRIP_SIDE[0] * n <= b - a <= STRIP_SIDE[1] * n or abs(a - (n - b)) > STRIP_CENTRED * n:
        return None
    margin = max(2, n // 40)
    fill = np.concatenate([texture[: max(a - margin, 0)], texture[b + margin:]])
    if len(fill) < 0.1 * n or np.median(fill) * STRIP_CONTRAST > np.median(texture[a:b]):
        return None
    return a, b


def _sharp_band(stack: np.ndarray) -> list[ActiveArea]:
    """A full-width (or full-height) band of sharp picture between soft, blurred fill."""
    h, w = stack.shape[1:]
    row_texture = np.median(np.abs(np.diff(stack, axis=2)).mean(axis=2), axis=0)
    col_texture = np.median(np.abs(np.diff(stack, axis=1)).mean(axis=1), axis=0)
    out = []
    if rows := _band(row_texture):
        out.append(ActiveArea(0.0, rows[0] / h, 1.0, rows[1] / h))
    if cols := _band(col_texture):
        out.append(ActiveArea(cols[0] / w, 0.0, cols[1] / w, 1.0))
    return out


def _edge_insets(stack: np.ndarray) -> list[ActiveArea]:
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

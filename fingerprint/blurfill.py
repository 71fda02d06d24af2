"""Is a centred picture reframed over its own enlarged, blurred copy (the "blur background"
of phone editors)? Its content, scaled to cover the frame and blurred, then predicts the
fill around it; a rectangle of content lines inside the picture predicts nothing. `inset`
reads it to pick the picture among rectangles of persistent edge, and to accept a side that
fades into its own blur (carpet over blurred carpet)."""
from __future__ import annotations

from typing import Callable

import cv2
import numpy as np

from .normalise import ActiveArea

LOW = 48  # long side of the low-pass frames compared
SIGMAS = (1.0, 2.5, 5.0)  # blurs (low-pass pixels) tried on both, as the fill's own is unknown
MIN_CORR = 0.92  # correlation of the predicted and the actual fill
BAND = 0.03  # share of the side read by the softness pre-check
SOFT = 0.5  # the fill's texture is at most this share of the picture's
MIN_FILL = 0.06  # the fill covers at least this share of the frame
FILL_STD = 3.0  # grey levels of std: soft fill varies, flat fill is bars (inset reads it too)


def blur_fill_test(stack: np.ndarray, texture: np.ndarray) -> Callable[[ActiveArea], bool] | None:
    """For a window (n, h, w) of grey frames and its (h', w') map of persistent texture: a
    test of whether a rectangle is a picture over its own blurred copy, or None when no
    rectangle can be (no soft band at both ends of either axis: most footage)."""
    h, w = stack.shape[1:]
    if not _soft_surround(stack, texture):
        return None
    lw, lh = (LOW, max(8, round(LOW * h / w))) if w >= h else (max(8, round(LOW * w / h)), LOW)
    actual = [np.stack([cv2.GaussianBlur(cv2.resize(f, (lw, lh), interpolation=cv2.INTER_AREA), (0, 0), s) for f in stack]) for s in SIGMAS]

    def fits(area: ActiveArea) -> bool:
        x0, y0, x1, y1 = round(area.left * w), round(area.top * h), round(area.right * w), round(area.bottom * h)
        if min(x1 - x0, y1 - y0) < 8:
            return False
        mask = _outside(x0, y0, x1, y1, w, h, lw, lh)
        return bool(mask.mean() >= MIN_FILL and _corr(_cover(stack[:, y0:y1, x0:x1], lw, lh), actual, mask) >= MIN_CORR)

    return fits


def _soft_surround(stack: np.ndarray, texture: np.ndarray) -> bool:
    """Both end bands of one axis (top and bottom, or left and right) much softer than the
    centre, and not flat (flat bands are bars: the picture's own view cuts them)."""
    th, tw = texture.shape
    centre = float(np.median(texture[th // 3: 2 * th // 3, tw // 3: 2 * tw // 3]))
    if centre <= 0:
        return False
    h, w = stack.shape[1:]
    for axis, size, tsize in ((0, h, th), (1, w, tw)):
        band, tband = max(2, round(BAND * size)), max(2, round(BAND * tsize))
        ends = [np.take(texture, range(tband), axis=axis), np.take(texture, range(tsize - tband, tsize), axis=axis)]
        grey = [np.take(stack, range(band), axis=axis + 1), np.take(stack, range(size - band, size), axis=axis + 1)]
        if max(np.median(e) for e in ends) <= SOFT * centre and min(np.median([f.std() for f in g]) for g in grey) >= FILL_STD:
            return True
    return False


def _outside(x0: int, y0: int, x1: int, y1: int, w: int, h: int, lw: int, lh: int) -> np.ndarray:
    """Low-pass pixels clear of the rectangle (one pixel of margin for the blur)."""
    mask = np.ones((lh, lw), bool)
    mask[max(int(y0 * lh / h) - 1, 0): int(np.ceil(y1 * lh / h)) + 1, max(int(x0 * lw / w) - 1, 0): int(np.ceil(x1 * lw / w)) + 1] = False
    return mask


def _cover(pictures: np.ndarray, lw: int, lh: int) -> np.ndarray:
    """The pictures scaled to cover lw x lh and centre-cut, as a blur background is made."""
    ph, pw = pictures.shape[1:]
    c = max(lw / pw, lh / ph)
    cw, ch = max(lw, round(pw * c)), max(lh, round(ph * c))
    ox, oy = (cw - lw) // 2, (ch - lh) // 2
    return np.stack([cv2.resize(p, (cw, ch), interpolation=cv2.INTER_AREA)[oy: oy + lh, ox: ox + lw] for p in pictures])


def _corr(pred: np.ndarray, actual: list[np.ndarray], mask: np.ndarray) -> float:
    """Best correlation over the tried blurs of prediction and frame, outside the picture."""
    best = -1.0
    for sigma, act in zip(SIGMAS, actual):
        p = np.stack([cv2.GaussianBlur(f, (0, 0), sigma) for f in pred])[:, mask].ravel()
        a = act[:, mask].ravel()
        if p.std() < 1.0 or a.std() < FILL_STD:
            continue
        best = max(best, float(np.corrcoef(p, a)[0, 1]))
    return best

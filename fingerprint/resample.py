"""Pillow's LANCZOS resize of 8-bit grey images, reproduced exactly with matrix products.

imagehash resizes with Pillow before its DCT; doing the same arithmetic here (Pillow's
coefficients, 22-bit fixed point, horizontal pass first, rounding and clipping after each
pass) keeps our hashes bit-identical to imagehash without a PIL round trip per frame.
All intermediate sums are integers below 2**53, so float64 BLAS products are exact.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

_PRECISION_BITS = 32 - 8 - 2
_SUPPORT = 3.0


def _sinc(x: float) -> float:
    if x == 0.0:
        return 1.0
    x = x * math.pi
    return math.sin(x) / x


def _lanczos(x: float) -> float:
    if -3.0 <= x < 3.0:
        return _sinc(x) * _sinc(x / 3)
    return 0.0


@lru_cache(maxsize=512)
def lanczos_matrix(in_size: int, out_size: int) -> np.ndarray:
    """(out_size, in_size) float64 matrix of Pillow's fixed-point LANCZOS coefficients."""
    scale = in_size / out_size
    filterscale = max(scale, 1.0)
    support = _SUPPORT * filterscale
    ss = 1.0 / filterscale
    mat = np.zeros((out_size, in_size), dtype=np.float64)
    for xx in range(out_size):
        center = (xx + 0.5) * scale
        xmin = max(int(center - support + 0.5), 0)
        xmax = min(int(center + support + 0.5), in_size) - xmin
        weights = [_lanczos((x + xmin - center + 0.5) * ss) for x in range(xmax)]
        total = 0.0
        for w in weights:
            total += w
        for x, w in enumerate(weights):
            if total != 0.0:
                w = w / total
            fixed = w * (1 << _PRECISION_BITS)
            mat[xx, xmin + x] = int(fixed - 0.5) if w < 0 else int(fixed + 0.5)
    mat.flags.writeable = False
    return mat


def _round_clip(acc: np.ndarray) -> np.ndarray:
    out = np.floor((acc + (1 << (_PRECISION_BITS - 1))) / (1 << _PRECISION_BITS))
    return np.clip(out, 0, 255)


def resize_lanczos(grey: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize one uint8 (H, W) image like `PIL.Image.resize((width, height), LANCZOS)`.

    Returns float64 values that are whole numbers in 0..255.
    """
    h, w = grey.shape
    img = grey.astype(np.float64)
    if w != width:
        img = _round_clip(img @ lanczos_matrix(w, width).T)
    if h != height:
        img = _round_clip(lanczos_matrix(h, height) @ img)
    return img

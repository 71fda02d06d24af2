"""The inner view: the central 40 % of a picture, which every crop of 30 % or less shows whole.

A crop of depth f (a share f of each side cut away, anywhere) still holds the square
`INNER` of the picture; in the crop's own picture it is a square of side 0.4 / (1 - f) at an
offset the crop decides. So a reference's inner view is found in a deep crop by a grid of the
suspect's sub-crops at the depths `DEPTHS`, every `STEP` of the side, hashed with no filled
margin (normalise.zoomed_image fills a quarter of the picture). Measured in
benchmarks/RESULTS.md, "Twenty-first pass".
"""
from __future__ import annotations

import cv2
import numpy as np

from .normalise import WORK_SIDE

INNER = (0.3, 0.7)  # of each side
DEPTHS = (0.2, 0.25, 0.3)  # crop depths the grid is cut for (the region's side in the crop: 0.5-0.57)
STEP = 0.04  # of the side between grid offsets (434 sub-crops a frame)


def _resized(cut: np.ndarray, side: int) -> np.ndarray:
    return cv2.resize(cut, (side, side), interpolation=cv2.INTER_AREA)


def inner_image(active: np.ndarray, side: int = WORK_SIDE) -> np.ndarray:
    """The inner view of an active picture, side x side."""
    h, w = active.shape
    a, b = INNER
    return _resized(active[round(h * a):round(h * b), round(w * a):round(w * b)], side)


def grid_images(active: np.ndarray, side: int = WORK_SIDE, step: float = STEP) -> list[np.ndarray]:
    """The sub-crops of a suspect's active picture where a crop of depth DEPTHS holds the inner view."""
    h, w = active.shape
    out = []
    for depth in DEPTHS:
        s = (INNER[1] - INNER[0]) / (1 - depth)
        for y in np.arange(0.0, 1 - s + 1e-9, step):
            for x in np.arange(0.0, 1 - s + 1e-9, step):
                out.append(_resized(active[round(h * y):round(h * (y + s)), round(w * x):round(w * (x + s))], side))
    return out

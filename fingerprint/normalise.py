"""Frame normalisation: find the active picture (drop flat borders), then a fixed-size grey image.

Bars are runs of flat rows/columns at the edges, whatever their colour and even with noise
burnt in. They are decided over a window of frames: a line is a bar only when it is flat in
nearly every (non-blank) frame of the window, so smooth skies or soft backgrounds that
re-encoding flattens in a few frames are not mistaken for bars. Stripping flat borders is
idempotent: a padded copy and its original normalise to nearly the same image.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

DETECT_SIDE = 256  # longest side of the image bars are detected on
WORK_SIDE = 64  # the normalised image is WORK_SIDE x WORK_SIDE
FLAT_STD = 6.0  # a line whose blurred grey levels vary less than this is a bar line
MIN_KEEP = 0.3  # never keep less than this share of a side
BLANK_STD = 8.0  # frames flatter than this overall are ignored for bar detection
NOISE_BLUR = 9  # pixels averaged along a line before its flatness is measured
BAR_SHARE = 0.9  # a line is a bar when flat in this share of a window's frames


@dataclass(frozen=True)
class ActiveArea:
    """The active picture as fractions of the frame: left, top, right, bottom in [0, 1]."""

    left: float
    top: float
    right: float
    bottom: float

    @property
    def area(self) -> float:
        return (self.right - self.left) * (self.bottom - self.top)


FULL = ActiveArea(0.0, 0.0, 1.0, 1.0)


def _flat_lines(img: np.ndarray) -> np.ndarray:
    """Boolean per row of a blurred float image: is the row flat (a bar line)?"""
    return img.std(axis=1) < FLAT_STD


def _edge_run(flat: np.ndarray) -> tuple[int, int]:
    """Number of flat lines at the start and at the end."""
    if flat.all():
        return len(flat), len(flat)
    return int(np.argmin(flat)), int(np.argmin(flat[::-1]))


def shrink(grey: np.ndarray) -> np.ndarray:
    """Downscale by a whole factor so the longest side is about DETECT_SIDE (fast INTER_AREA path)."""
    h, w = grey.shape
    f = max(1, max(h, w) // DETECT_SIDE)
    if f == 1:
        return np.array(grey)  # a copy: the decoder may reuse its buffer
    return cv2.resize(grey, (w // f, h // f), interpolation=cv2.INTER_AREA)


def detect_active_area(small: np.ndarray) -> ActiveArea:
    """Where the picture is inside one (shrunk) grey frame."""
    return detect_active_area_window([small])


def detect_active_area_window(smalls: list[np.ndarray]) -> ActiveArea:
    """Where the picture is, from a window of shrunk grey frames of one size."""
    rows, cols = [], []
    for small in smalls:
        blurred = cv2.blur(small, (3, 3)).astype(np.float32)
        if blurred.std() < BLANK_STD:
            continue  # blank frames (fades, black) say nothing about bars
        # Blurring along a line averages away noise burnt into bars but keeps picture structure.
        rows.append(_flat_lines(cv2.blur(small, (NOISE_BLUR, 3)).astype(np.float32)))
        cols.append(_flat_lines(cv2.blur(small, (3, NOISE_BLUR)).astype(np.float32).T))
    if not rows:
        return FULL
    row_bar = np.mean(rows, axis=0) >= BAR_SHARE
    col_bar = np.mean(cols, axis=0) >= BAR_SHARE
    sh, sw = len(row_bar), len(col_bar)
    top, bottom = _edge_run(row_bar)
    if top + bottom > sh * (1 - MIN_KEEP):
        top = bottom = 0
    left, right = _edge_run(col_bar)
    if left + right > sw * (1 - MIN_KEEP):
        left = right = 0
    return ActiveArea(left / sw, top / sh, (sw - right) / sw, (sh - bottom) / sh)


def crop_to(grey: np.ndarray, area: ActiveArea) -> np.ndarray:
    h, w = grey.shape
    x0, x1 = round(area.left * w), round(area.right * w)
    y0, y1 = round(area.top * h), round(area.bottom * h)
    return grey[y0:max(y1, y0 + 1), x0:max(x1, x0 + 1)]


# Reference-side views: the whole active picture (view 0) and nine crops of 15 % (3 x 3
# positions). A cropped copy's whole picture lands within a few bits of one of them.
CROP_FRACTION = 0.15
VIEWS: tuple[tuple[float, float, float], ...] = ((0.0, 0.5, 0.5),) + tuple(
    (CROP_FRACTION, ox, oy) for oy in (0.0, 0.5, 1.0) for ox in (0.0, 0.5, 1.0)
)




def active_picture(grey: np.ndarray) -> tuple[np.ndarray, ActiveArea]:
    """The shrunk frame cropped to its active picture, and where that picture was."""
    small = shrink(grey)
    area = detect_active_area(small)
    return crop_to(small, area), area


def view_image(active: np.ndarray, view: int, side: int = WORK_SIDE) -> np.ndarray:
    """View `view` of an active picture, resized to side x side."""
    frac, ox, oy = VIEWS[view]
    h, w = active.shape
    if frac:
        ch, cw = max(1, round(h * (1 - frac))), max(1, round(w * (1 - frac)))
        y, x = round((h - ch) * oy), round((w - cw) * ox)
        active = active[y : y + ch, x : x + cw]
    return cv2.resize(active, (side, side), interpolation=cv2.INTER_AREA)


def normalise(grey: np.ndarray, side: int = WORK_SIDE) -> tuple[np.ndarray, ActiveArea]:
    """Crop to the active picture and resize to side x side. Returns the image and the area."""
    active, area = active_picture(grey)
    return view_image(active, 0, side), area

"""Frame normalisation: find the active picture (drop flat borders), then a fixed-size grey image.

Bars are runs of flat rows/columns at the edges, whatever their colour and even with noise
burnt in. They are decided over a window of frames: a line is a bar only when it is flat in
nearly every (non-blank) frame of the window, so smooth skies or soft backgrounds that
re-encoding flattens in a few frames are not mistaken for bars. A window may hold several
shots, though (a letterboxed copy spliced between unbarred footage): a shot (frames between
hard cuts) whose own bars plainly disagree with the window's keeps its own. Stripping flat
borders is idempotent: a padded copy and its original normalise to nearly the same image.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .types import INNER_VIEW, INSET_VIEW, INSETS, TURNED_VIEW

DETECT_SIDE = 256  # longest side of the image bars are detected on
WORK_SIDE = 64  # the normalised image is WORK_SIDE x WORK_SIDE
FLAT_STD = 6.0  # a line whose blurred grey levels vary less than this is a bar line
MIN_KEEP = 0.3  # never keep less than this share of a side
BLANK_STD = 8.0  # frames flatter than this overall are ignored for bar detection
NOISE_BLUR = 9  # pixels averaged along a line before its flatness is measured
BAR_SHARE = 0.9  # a line is a bar when flat in this share of a window's frames
CUT = 20.0  # mean grey change of 16x16 thumbnails between sampled frames that is a hard cut
THUMB = 16  # side of those thumbnails
MIN_SHOT = 5  # frames a shot needs for bars of its own (1 s at 5 fps)
SYMMETRIC = 0.03  # a shot's own bars: both sides, equal within this share of the side...
PICTURE_SHARE = 0.5  # ... and a window's bar lines flat in less than this share of a shot's
                     # frames carry picture there


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
    return _decide([_flat_profile(small) for small in smalls])[0]


def detect_active_areas(smalls: list[np.ndarray]) -> list[ActiveArea]:
    """Where the picture is in each of a window of shrunk grey frames of one size: the
    window's bars, except in a shot whose own bars plainly disagree (see the module notes)."""
    profiles = [_flat_profile(small) for small in smalls]
    window, row_share, col_share = _decide(profiles)
    areas = [window] * len(smalls)
    shots = _shots(smalls)
    if len(shots) < 2:
        return areas
    for start, end in shots:
        if end - start < MIN_SHOT:
            continue
        shot, shot_rows, shot_cols = _decide(profiles[start:end])
        if shot_rows is None:
            continue  # all blank: nothing to say
        top, bottom = _reconcile((window.top, window.bottom), (shot.top, shot.bottom), shot_rows)
        left, right = _reconcile((window.left, window.right), (shot.left, shot.right), shot_cols)
        areas[start:end] = [ActiveArea(left, top, right, bottom)] * (end - start)
    return areas


def _flat_profile(small: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Which rows and which columns of one shrunk grey frame are flat (None: a blank frame)."""
    if cv2.blur(small, (3, 3)).astype(np.float32).std() < BLANK_STD:
        return None  # blank frames (fades, black) say nothing about bars
    # Blurring along a line averages away noise burnt into bars but keeps picture structure.
    rows = _flat_lines(cv2.blur(small, (NOISE_BLUR, 3)).astype(np.float32))
    cols = _flat_lines(cv2.blur(small, (3, NOISE_BLUR)).astype(np.float32).T)
    return rows, cols


def _decide(profiles: list) -> tuple[ActiveArea, np.ndarray | None, np.ndarray | None]:
    """The active area from frames' flat-line profiles, with the share of (non-blank) frames
    in which each row and each column is flat (None when every frame is blank)."""
    seen = [p for p in profiles if p is not None]
    if not seen:
        return FULL, None, None
    row_share = np.mean([rows for rows, _ in seen], axis=0)
    col_share = np.mean([cols for _, cols in seen], axis=0)
    sh, sw = len(row_share), len(col_share)
    top, bottom = _edge_run(row_share >= BAR_SHARE)
    if top + bottom > sh * (1 - MIN_KEEP):
        top = bottom = 0
    left, right = _edge_run(col_share >= BAR_SHARE)
    if left + right > sw * (1 - MIN_KEEP):
        left = right = 0
    return ActiveArea(left / sw, top / sh, (sw - right) / sw, (sh - bottom) / sh), row_share, col_share


def _reconcile(window: tuple[float, float], shot: tuple[float, float], shot_share: np.ndarray) -> tuple[float, float]:
    """(start, end) of the picture along one axis of a shot: its own bars when they are real
    bars (both sides, equal) the window did not find, no bars where the window's bar lines
    carry picture in this shot, else the window's."""
    n = len(shot_share)
    tol = max(2 / n, SYMMETRIC)
    own_lo, own_hi = shot[0], 1 - shot[1]
    if own_lo > 0 and own_hi > 0 and abs(own_lo - own_hi) <= tol and max(abs(shot[0] - window[0]), abs(shot[1] - window[1])) > tol:
        return shot
    bar_lines = np.r_[: round(window[0] * n), round(window[1] * n): n]
    if len(bar_lines) and shot_share[bar_lines].mean() < PICTURE_SHARE:
        return shot
    return window


def _shots(smalls: list[np.ndarray]) -> list[tuple[int, int]]:
    """(start, end) frame ranges between hard cuts."""
    thumbs = [cv2.resize(small, (THUMB, THUMB), interpolation=cv2.INTER_AREA).astype(np.float32) for small in smalls]
    cuts = [i for i in range(1, len(thumbs)) if np.abs(thumbs[i] - thumbs[i - 1]).mean() > CUT]
    edges = [0, *cuts, len(smalls)]
    return list(zip(edges[:-1], edges[1:]))


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
# ... and crop-to-fill reframes (views 10-19): a picture cut to the feeds' shapes, 9:16
# (phone), 4:5 (feed) and 1:1 (square), each centred or following the action to either side,
# or a 4:3 / portrait picture cut to 16:9; as (aspect w/h, position along the cut side). Made
# only when the picture is at least REFRAME_MIN times wider (or taller) than that aspect;
# otherwise the view is nearly the whole picture.
REFRAMES: tuple[tuple[float, float], ...] = tuple((a, pos) for a in (9 / 16, 4 / 5, 1.0) for pos in (0.5, 0.2, 0.8)) + ((16 / 9, 0.5),)
REFRAME_MIN = 1.2


def reference_views(shape: tuple[int, int]) -> list[int]:
    """The views a reference stores of an active picture of this (h, w) shape."""
    h, w = shape
    aspect = w / max(h, 1)
    cut = [len(VIEWS) + i for i, (a, _) in enumerate(REFRAMES) if max(aspect / a, a / aspect) >= REFRAME_MIN]
    return list(range(len(VIEWS))) + cut


def active_picture(grey: np.ndarray) -> tuple[np.ndarray, ActiveArea]:
    """The shrunk frame cropped to its active picture, and where that picture was."""
    small = shrink(grey)
    area = detect_active_area(small)
    return crop_to(small, area), area


def view_image(active: np.ndarray, view: int, side: int = WORK_SIDE) -> np.ndarray:
    """View `view` of an active picture, resized to side x side."""
    h, w = active.shape
    if view >= len(VIEWS):
        aspect, pos = REFRAMES[view - len(VIEWS)]
        if w / max(h, 1) > aspect:
            cw = max(1, round(h * aspect))
            x = round((w - cw) * pos)
            active = active[:, x : x + cw]
        else:
            ch = max(1, round(w / aspect))
            y = round((h - ch) * pos)
            active = active[y : y + ch]
        return cv2.resize(active, (side, side), interpolation=cv2.INTER_AREA)
    frac, ox, oy = VIEWS[view]
    if frac:
        ch, cw = max(1, round(h * (1 - frac))), max(1, round(w * (1 - frac)))
        y, x = round((h - ch) * oy), round((w - cw) * ox)
        active = active[y : y + ch, x : x + cw]
    return cv2.resize(active, (side, side), interpolation=cv2.INTER_AREA)


# Suspect-side turned views: the picture turned back by these angles (degrees). A copy tilted
# by 2-10 degrees comes within 2 degrees of one of them, where its hash lies a few bits from a
# stored view again (bbb tilted 6 degrees and zoomed to hide the corners: 11 bits from the
# nearest stored view, 5 turned back; tests/fingerprint/test_turned.py).
TURNS: tuple[float, ...] = (-8.0, -4.0, 4.0, 8.0)


def turned_image(active: np.ndarray, degrees: float, side: int = WORK_SIDE) -> np.ndarray:
    """The active picture turned by `degrees` about its centre, side x side. Not zoomed: a tilted
    copy was usually zoomed already to hide its corners, and a second zoom cuts past the
    stored 15 % crops; the corners it uncovers are filled with the picture's mirror image."""
    h, w = active.shape
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return view_image(cv2.warpAffine(active, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT), 0, side)


# ... and zoomed back out: the picture shrunk to SCALE, placed where one of the nine stored 15 %
# crops (VIEWS) lies: the centre, a corner or the middle of an edge, its edge pixels repeated out
# to the frame. A crop deeper than the stored 15 % (25-30 % of the frame) shows a part of a stored
# view's picture, enlarged; shrunk back and placed where that part lies in the stored view, it
# lines up with that view again. A crop taken near an edge lies in an edge or corner view: zoomed
# about the centre it stays ~16 bits off, placed there it comes close (sample clips, random
# placements: 25 % / 30 % crops within the radius of a stored view on 0.57 / 0.24 of their frames
# untouched, 0.73 / 0.62 zoomed about the centre, 0.97 / 0.89 with the corners too, 1.00 / 0.97
# with the edges as well: benchmarks/scripts/crop_views.py --zoom 0.85 [--centred]). Every
# placement is hashed; the matcher verifies the centred one and the one of the stored crop the
# untouched picture votes for.
ZOOM_SCALE = 0.85
PLACES = {(0.5, 0.5): "centred", (0.0, 0.0): "top left", (1.0, 0.0): "top right", (0.0, 1.0): "bottom left", (1.0, 1.0): "bottom right",
          (0.5, 0.0): "top", (0.0, 0.5): "left", (1.0, 0.5): "right", (0.5, 1.0): "bottom"}  # (x, y) placement: its name
ZOOMS: tuple[tuple[float, float], ...] = tuple(PLACES)  # the placements, in view order (ZOOMED_VIEW + i)


ZOOMED_VIEW = TURNED_VIEW + len(TURNS)  # suspect view ZOOMED_VIEW + i: zoomed out at ZOOMS[i]


def describe_view(view: int) -> str:
    """What a suspect view (fingerprint/types.py) shows, for a reviewer: "picture", "inset 1",
    "picture turned 4°" (turned back by normalise.TURNS), "picture zoomed out (top left)"."""
    if view >= INSET_VIEW + INSETS:
        return f"inset {view - INSET_VIEW - INSETS + 1}, flat edge kept"
    if view >= INSET_VIEW:
        return f"inset {view - INSET_VIEW + 1}"
    if TURNED_VIEW <= view < ZOOMED_VIEW:
        return f"picture turned {TURNS[view - TURNED_VIEW]:g}°"
    if ZOOMED_VIEW <= view < ZOOMED_VIEW + len(ZOOMS):
        return f"picture zoomed out ({PLACES[ZOOMS[view - ZOOMED_VIEW]]})"
    if view == INNER_VIEW:
        return "centre of the picture (inner-view check)"
    return "picture"


def zoomed_image(active: np.ndarray, scale: float, side: int = WORK_SIDE, at: tuple[float, float] = (0.5, 0.5)) -> np.ndarray:
    """The active picture shrunk to `scale`, placed at `at` (0: left / top, 1: right / bottom),
    the rest of the frame filled by repeating its edge pixels, side x side."""
    h, w = active.shape
    sh, sw = max(1, round(h * scale)), max(1, round(w * scale))
    small = cv2.resize(active, (sw, sh), interpolation=cv2.INTER_AREA)
    top, left = int((h - sh) * at[1]), int((w - sw) * at[0])
    padded = cv2.copyMakeBorder(small, top, h - sh - top, left, w - sw - left, cv2.BORDER_REPLICATE)
    return view_image(padded, 0, side)


def normalise(grey: np.ndarray, side: int = WORK_SIDE) -> tuple[np.ndarray, ActiveArea]:
    """Crop to the active picture and resize to side x side. Returns the image and the area."""
    active, area = active_picture(grey)
    return view_image(active, 0, side), area

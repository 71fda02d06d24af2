"""The moment by the pixels: a copy of a shot where little moves, registered and compared.

A crop of a fixed-camera shot is found by the inner view's hashes (inner_check.py): its moment
within DISTANCE bits, but other moments of the shot as near, since 64 bits of a picture that is
mostly the same room do not see a head turn. Registered on the reference (the crop's depth and
place found by template matching, depths 0 to `MAX_DEPTH`), the suspect's frames are compared
pixel for pixel (normalised cross-correlation of lightly blurred `SIDE`-pixel pictures) with the
reference's around the line: the copy's own moment is several times nearer than any other moment
`APART` or more away, because the people and things in the shot move; footage of the same set
at another time is nearest to no one moment. Measured in benchmarks/RESULTS.md, "Twenty-third
pass".
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from fp.fingerprint.normalise import crop_to, detect_active_area_window, shrink

SIDE = 160  # width the pictures are compared at
MAX_DEPTH = 0.35  # deepest crop (share of each side cut away) registration tries
DEPTH_STEP = 0.01
AT = 0.2  # s: reference frames this close stand for the moment
APART = 1.0  # s: other moments are at least this far ...
WINDOW = 6.0  # ... and at most this far from the moment


@dataclass(frozen=True)
class PixelMoment:
    registered: float  # correlation of the best registration (suspect frame on its moment)
    depth: float  # the crop depth it found
    ratio: float  # median over frames: the nearest other moment's error over the moment's
    frames: int  # suspect frames compared


def _pictures(greys: list[np.ndarray]) -> list[np.ndarray]:
    """Frames of one file cut to the active picture the window of them shows, SIDE wide."""
    smalls = [shrink(g) for g in greys]
    area = detect_active_area_window(smalls)
    out = []
    for small in smalls:
        active = crop_to(small, area)
        h, w = active.shape
        small = cv2.resize(active, (SIDE, max(8, round(h * SIDE / max(w, 1)))), interpolation=cv2.INTER_AREA)
        out.append(cv2.GaussianBlur(small.astype(np.float32), (3, 3), 0))
    return out


def _register(q: np.ndarray, r: np.ndarray) -> tuple[float, float, tuple[int, int], tuple[int, int]]:
    """(correlation, depth, (x, y), (w, h)) of the suspect picture q best placed in r."""
    best = (-1.0, 0.0, (0, 0), r.shape[::-1])
    for depth in np.arange(0.0, MAX_DEPTH + 1e-9, DEPTH_STEP):
        w, h = round(r.shape[1] * (1 - depth)), round(r.shape[0] * (1 - depth))
        if w < 16 or h < 16:
            continue
        found = cv2.matchTemplate(r, cv2.resize(q, (w, h), interpolation=cv2.INTER_AREA), cv2.TM_CCOEFF_NORMED)
        _, peak, _, at = cv2.minMaxLoc(found)
        if peak > best[0]:
            best = (float(peak), float(depth), at, (w, h))
    return best


def _error(a: np.ndarray, b: np.ndarray) -> float:
    """1 - normalised cross-correlation (0: the same picture up to brightness and contrast)."""
    a, b = a - a.mean(), b - b.mean()
    den = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return 1.0 - float((a * b).sum()) / den if den > 0 else 1.0


def measure(suspect: list[tuple[float, np.ndarray]], reference: list[tuple[float, np.ndarray]], speed: float,
            offset: float) -> PixelMoment | None:
    """The pixel test of the line ref_t = offset + speed * query_t, from grey frames (t, image)
    of both files (the suspect's already mirrored if the line is). None: nothing to compare."""
    ref_t = np.array([t for t, _ in reference])
    if not suspect or not reference or len({g.shape for _, g in reference}) != 1 or len({g.shape for _, g in suspect}) != 1:
        return None
    refs = _pictures([g for _, g in reference])
    pictures = list(zip([t for t, _ in suspect], _pictures([g for _, g in suspect])))
    # registered on up to three frames (first, middle, last) at their moments: the best holds
    registration = None
    for i in sorted({0, len(pictures) // 2, len(pictures) - 1}):
        t, q = pictures[i]
        gap = np.abs(ref_t - (offset + speed * t))
        if gap.min() <= AT:
            found = _register(q, refs[int(np.argmin(gap))])
            if registration is None or found[0] > registration[0]:
                registration = found
    if registration is None:
        return None
    peak, depth, (x, y), (w, h) = registration
    cut = [r[y:y + h, x:x + w] for r in refs]
    ratios = []
    for t, q in pictures:
        gap = np.abs(ref_t - (offset + speed * t))
        here, other = gap <= AT, (gap >= APART) & (gap <= WINDOW)
        if not here.any() or not other.any():
            continue
        q = cv2.resize(q, (w, h), interpolation=cv2.INTER_AREA)
        errors = np.array([_error(q, c) if near else np.inf for c, near in zip(cut, here | other)])
        ratios.append(errors[other].min() / max(errors[here].min(), 1e-6))
    if not ratios:
        return None
    return PixelMoment(peak, depth, float(np.median(ratios)), len(ratios))

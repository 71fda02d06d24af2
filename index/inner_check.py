"""A second look at a refused line with the inner view (fingerprint/inner.py), from the pixels.

A deep crop (20-30 % of the side) of a shot where little moves comes as near to other moments
of the shot as to its own under fp's hashes, zoomed out or not, so its aligned hits prove no
moment and the line is refused. The inner view tells the moment: read from both files, on the
suspect's grid of sub-crops against the reference's inner views, the copy's own moment is
several bits nearer than any other moment of the reference close by, where unrelated footage is
as far from all of them (benchmarks/RESULTS.md, "Twenty-first pass").

`check` reads up to `MAX_FRAMES` suspect frames 0.4 s apart and the reference 5 times a second
around the line, scans the moment (offsets within `WINDOW` of the line's, at its speed: a still
shot's votes may land off it), and returns the best moment's medians over the frames: the
distance at the moment and the margin to the nearest other moment `APART` or more away.
`passes` holds it to `DISTANCE` and `MARGIN`, or, where the margin fails (a fixed camera: every
moment of the room hashes alike), to the pixels (pixel_moment.py: registered on the reference,
the moment's error `RATIO` times smaller than any other's); footage far from the reference stops
early (EARLY_NEAR). The matcher reads only lines at `MAX_LINE_CHANCE` or below (MatchConfig.inner_check,
on by default): it decodes both files again (1-2 s of CPU a line) and its false-pass rate is
measured, not modelled (`FALSE_PASS`).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace

import cv2
import numpy as np

from fp.fingerprint.hashers import get_hasher
from fp.fingerprint.inner import grid_images, inner_image
from fp.fingerprint.normalise import active_picture

from . import pixel_moment
from .hamming import popcount_distances

WINDOW = 6.0  # s either side of the line's moment scanned, and read as other moments
APART = 1.0  # s: other moments are at least this far from the moment
AT = 0.2  # s: reference frames this close stand for the moment
SPACING = 0.4  # s between suspect frames read
MAX_FRAMES = 24
MAX_SUSPECT = 30.0  # s: longer suspects are not checked (their frames would be too sparse on one line)
WIDTH = 480  # pixels the frames are read at
DISTANCE = 10  # of 64 bits: the moment's median distance at most ...
MARGIN = 4  # ... and the nearest other moment's at least this much farther (median over the frames)
MIN_FRAMES = 3
# A moment the hashes find (DISTANCE) but do not tell from others (MARGIN) is compared by the
# pixels (pixel_moment.py): registered at REGISTERED or better, the moment's error RATIO times
# smaller than any other's, on at least half the frames read.
REGISTERED = 0.8
RATIO = 2.0
# Only a line the hashes nearly proved is read: one whose chance is at most this (so many lines as
# strong expected by accident). Above it the hashes saw nothing of the reference, the check would
# search an arbitrary moment, and seed 14's two false passes (title cards against a near-black end
# of a title, lines at chance 51 and 399) came from such lines (RESULTS.md "Twenty-second pass").
MAX_LINE_CHANCE = 10.0
# Of a suspect of EARLY_FROM frames or more, every third (at most EARLY_FRAMES) is hashed first,
# and the check stops, failing, unless EARLY_NEAR of them come within DISTANCE of some reference
# frame (a pass needs half its frames that near): unrelated footage is spared most of the grid.
# It can fail what the whole check would pass, never pass more.
EARLY_FROM = 12
EARLY_FRAMES = 8
EARLY_NEAR = 2
HASHER = "phash64"
# A passing check's reported chance: the one-sided 95 % upper bound of the share of unrelated
# suspects that pass it, none of FALSE_PASS_TRIED having passed; not a model. RESULTS.md
# "Twenty-first pass": 53 crops and clips of held-out references and the unmatched negatives of
# seeds 11-13 (319, 319, 320), read with no line gate; "Twenty-second pass": seeds 15-18 (320
# each), read as here. Seed 14, on which MAX_LINE_CHANCE was chosen, is not counted (without the
# gate 2 of its 320 passed: 2 of 2,611 in all, bound 0.0024).
FALSE_PASS_TRIED = 2291
FALSE_PASS = 1.0 - 0.05 ** (1.0 / FALSE_PASS_TRIED)
# A pass by the pixels (InnerCheck.by_pixels: the margin failed) is worth its own measured bound,
# none of PIXEL_FALSE_PASS_TRIED unrelated suspects read with it having passed (RESULTS.md
# "Twenty-third pass"); the matcher gives it only under a max_chance at or above it.
PIXEL_FALSE_PASS_TRIED = 706  # seeds 19, 20 (319 each) and 68 same-shot windows next to a reference (2026-12-02)
PIXEL_FALSE_PASS = 1.0 - 0.05 ** (1.0 / PIXEL_FALSE_PASS_TRIED)
PIXELS_NOTE = "its pixels"  # in the warning of a match passed by the pixels


@dataclass(frozen=True)
class InnerCheck:
    offset: float  # the moment found: ref_t = offset + speed * query_t
    speed: float
    distance: float  # median over the frames, bits of 64
    margin: float  # median over the frames: nearest other moment minus the moment
    frames: int  # suspect frames read on the line
    pairs: tuple = ()  # (query_t, ref_t, distance) per frame
    stopped: bool = False  # failed on the first frames (EARLY_NEAR), the rest not hashed
    read: int = 0  # suspect frames read
    pixels: pixel_moment.PixelMoment | None = None  # the moment by the pixels (only where the margin fails)

    @property
    def passes(self) -> bool:
        if self.frames < MIN_FRAMES or self.distance > DISTANCE:
            return False
        return self.margin >= MARGIN or self.by_pixels

    @property
    def by_pixels(self) -> bool:
        """The margin failed and the pixels told the moment."""
        p = self.pixels
        return (self.margin < MARGIN and p is not None and p.frames >= max(MIN_FRAMES, (self.read + 1) // 2)
                and p.registered >= REGISTERED and p.ratio >= RATIO)


def _grey(rgb: np.ndarray | None, mirrored: bool = False) -> np.ndarray | None:
    if rgb is None:
        return None
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    return np.ascontiguousarray(grey[:, ::-1]) if mirrored else grey


def _read(path: str | os.PathLike, times, mirrored: bool = False, stream: int | None = None) -> list[tuple[float, np.ndarray]]:
    from .evidence import FrameGrabber  # evidence imports the matcher, which imports this module

    with FrameGrabber(path, width=WIDTH, stream=stream) as grabber:
        if grabber.error is not None:
            return []
        frames = [(float(t), _grey(grabber.grab(float(t)), mirrored)) for t in times]
    return [(t, g) for t, g in frames if g is not None]


def check(suspect: str | os.PathLike, duration: float, reference: str | os.PathLike, ref_duration: float, speed: float,
          offset: float, mirrored: bool, stream: int | None = None) -> InnerCheck | None:
    """The inner-view test of the line ref_t = offset + speed * query_t (None: too little to read)."""
    if duration > MAX_SUSPECT or speed <= 0:
        return None
    times = np.arange(SPACING / 2, max(SPACING / 2, duration - SPACING / 2), SPACING)
    if len(times) > MAX_FRAMES:
        times = times[np.linspace(0, len(times) - 1, MAX_FRAMES).round().astype(int)]
    frames = _read(suspect, times, mirrored, stream)
    if len(frames) < MIN_FRAMES:
        return None
    moments = [offset + speed * t for t, _ in frames]
    ref = _read(reference, np.arange(max(0.0, min(moments) - 2 * WINDOW), min(ref_duration - 0.05, max(moments) + 2 * WINDOW), 0.2))
    if len(ref) < 3:
        return None
    hasher = get_hasher(HASHER)
    ref_t = np.array([t for t, _ in ref])
    ref_codes = hasher.hash_batch([inner_image(active_picture(g)[0]) for _, g in ref]).codes
    # per suspect frame, per reference frame: the nearest of the frame's sub-crops
    rows: dict[int, np.ndarray] = {}

    def nearest(i: int) -> np.ndarray:
        return popcount_distances(hasher.hash_batch(grid_images(active_picture(frames[i][1])[0])).codes, ref_codes).min(axis=0)

    if len(frames) >= EARLY_FROM:
        for i in range(0, len(frames), 3)[:EARLY_FRAMES]:
            rows[i] = nearest(i)
        if sum(int(r.min()) <= DISTANCE for r in rows.values()) < EARLY_NEAR:
            return InnerCheck(offset, speed, float("inf"), float("-inf"), len(rows), stopped=True, read=len(frames))
    near = np.stack([rows[i] if i in rows else nearest(i) for i in range(len(frames))])
    query_t = np.array([t for t, _ in frames])
    best = None
    for shift in np.arange(-WINDOW, WINDOW + 1e-9, 0.2):
        found = _at(near, query_t, ref_t, speed, offset + shift)
        if found is not None and (best is None or (found.distance, -found.margin) < (best.distance, -best.margin)):
            best = found
    if best is None:
        return None
    best = replace(best, read=len(frames))
    if best.distance <= DISTANCE and best.margin < MARGIN:
        best = replace(best, pixels=pixel_moment.measure(frames, ref, speed, best.offset))
    return best


def _at(near: np.ndarray, query_t: np.ndarray, ref_t: np.ndarray, speed: float, offset: float) -> InnerCheck | None:
    dist, margin, pairs = [], [], []
    for row, t in zip(near, query_t):
        gap = np.abs(ref_t - (offset + speed * t))
        here, other = gap <= AT, (gap >= APART) & (gap <= WINDOW)
        if not here.any() or not other.any():
            continue
        j = int(np.flatnonzero(here)[np.argmin(row[here])])
        dist.append(int(row[j]))
        margin.append(int(row[other].min()) - int(row[j]))
        pairs.append((float(t), float(ref_t[j]), int(row[j])))
    if len(dist) < MIN_FRAMES:
        return None
    return InnerCheck(offset, speed, float(np.median(dist)), float(np.median(margin)), len(dist), tuple(pairs))

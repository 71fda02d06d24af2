"""Check one alignment hypothesis against the hashes of its reference video.

For each query frame: the closest reference hash near the predicted time (a hit when within
the radius), and how often a hash that close turns up by chance: in the neighbouring shots of
that part of the reference (a scene shot on one set), anywhere in the title (self-similar
footage), and in unrelated library footage. Every step works on chunks of query frames and the
reference rows near them, so cost and memory grow linearly with the durations (whole films).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .align import SPEEDS, Hypothesis, fit_line
from .chance import (TOL, alignment_p_value, backgrounds, best_run, events, frame_probability, run_cost, run_tails,
                     span_p_value, whole_cost)
from .hamming import pair_distances

FAR = 10**6  # distance standing for "no usable hash here"


@dataclass(frozen=True, eq=False)
class Verified:
    hypothesis: Hypothesis
    speed: float
    offset: float
    hit: np.ndarray  # bool per query row
    distance: np.ndarray  # int per query row (FAR where no hash in the window)
    ref_t: np.ndarray  # time of the closest reference hash per query row
    p_value: float
    hit_keys: int
    n_keys: int
    nbits: int = 64
    at_least: bool = False  # p_value is only a lower bound: it was above verify's `give_up`


@dataclass(frozen=True, eq=False)
class Reference:
    """One reference video's rows for verification, in time order; row i stands for the
    times [times[i], ends[i]] (a held shot kept once, see packed.py)."""

    times: np.ndarray
    ends: np.ndarray
    codes: np.ndarray
    usable: np.ndarray
    duration: float
    views: np.ndarray | None = None  # the stored view of each row (normalise.VIEWS), when known
    quality: np.ndarray | None = None  # each row's quality (0-100), when known

    @classmethod
    def of(cls, times, codes, usable, duration, ends=None, views=None, quality=None) -> "Reference":
        ends = times if ends is None else ends
        order = np.argsort(times, kind="stable")
        if not np.all(order[1:] > order[:-1]):
            times, ends, codes, usable = times[order], ends[order], codes[order], usable[order]
            views = None if views is None else views[order]
            quality = None if quality is None else quality[order]
        return cls(times, ends, codes, usable, duration, views, quality)

    @classmethod
    def from_stream(cls, stream, duration: float, min_quality: int) -> "Reference":
        """A stored video's rows (a packed.Stream); rows under `min_quality` are not usable."""
        return cls.of(stream.t0, stream.codes, stream.quality >= min_quality, duration, ends=stream.t1,
                      views=stream.views, quality=stream.quality)

    @cached_property
    def max_span(self) -> float:
        """The longest row (computed once: every chunk of every verification asks)."""
        return float((self.ends - self.times).max(initial=0.0))

    def subset(self, rows: np.ndarray) -> "Reference":
        return Reference(self.times[rows], self.ends[rows], self.codes[rows], self.usable[rows], self.duration,
                         None if self.views is None else self.views[rows], None if self.quality is None else self.quality[rows])


def verify(h: Hypothesis, query_t: np.ndarray, query_codes: np.ndarray, keys: np.ndarray, usable: np.ndarray,
           ref: Reference, radius: int, cdf: np.ndarray, density=None, give_up: float | None = None) -> Verified:
    """`density(distances, window_rows)`: per query row, the chance of a hit that close from
    unrelated library footage near that very frame (None: use only the library-wide `cdf`).
    `give_up`: a p-value the caller rejects anyway; when the library floor alone puts the line
    above it, the reference's own backgrounds (most of the cost) are skipped and the floor's
    p-value is returned, marked `at_least` (every background only raises a frame's chance, and
    the tail only rises with its chances). When only a run of hits passes the floor
    (`chance.span_p_value`), the backgrounds of that run's rows alone decide it."""
    speed, offset = _best_line(h, query_t, query_codes, usable, ref, radius)
    best_d, best_t, in_window = closest_in_window(query_t, query_codes, ref, speed, offset)
    hit = usable & (best_d <= radius)
    thr = np.where(hit, best_d, radius)
    unrelated = frame_probability(np.zeros(len(thr)), cdf, thr, in_window, density)  # library, neighbours
    nbits = query_codes.shape[1] * 8
    if give_up is not None:
        ev = events(unrelated, hit, keys, usable, times=query_t)
        hit_keys, n_keys = int(ev.hit.sum()), len(ev.p)
        tail, runs = ev.tail(), run_tails(ev)
        floor = span_p_value(tail, min((t for _, t in runs), default=1.0), n_keys)
        if floor > give_up:
            return Verified(h, speed, offset, hit, best_d, best_t, floor, hit_keys, n_keys, nbits, True)
        whole = whole_cost(tail)
        if whole > give_up:
            # Only a run can pass: the backgrounds of its own rows decide it (a long suspect's
            # chance lines have short runs; the whole query's backgrounds cost seconds).
            rows = np.isin(keys, np.concatenate([ev.ids[inside] for inside, t in runs if run_cost(t, n_keys) <= give_up]))
            bg = backgrounds(query_t[rows], query_codes[rows], thr[rows], ref, speed, offset, keys[rows], usable[rows], radius)
            part = events(np.maximum(bg.frame, unrelated[rows]), hit[rows], keys[rows], usable[rows],
                          np.maximum(bg.beyond, unrelated[rows]), bg.moment, query_t[rows])
            local = run_cost(best_run(part, n_keys), n_keys)
            return Verified(h, speed, offset, hit, best_d, best_t, min(1.0, local, whole), hit_keys, n_keys, nbits, local > whole)
    bg = backgrounds(query_t, query_codes, thr, ref, speed, offset, keys, usable, radius)
    p_value, hit_keys, n_keys = alignment_p_value(np.maximum(bg.frame, unrelated), hit, keys, usable,
                                                  np.maximum(bg.beyond, unrelated), bg.moment, query_t)
    return Verified(h, speed, offset, hit, best_d, best_t, p_value, hit_keys, n_keys, nbits)


def _best_line(h, query_t, query_codes, usable, ref: Reference, radius) -> tuple[float, float]:
    """The voted line, a least-squares refit, or plain speed 1: whichever the hits fit best.

    Closest-hash times jitter by a frame or two, so a short span cannot tell speeds apart;
    ties go to the speed nearest 1.
    """
    best_d, best_t, _ = closest_in_window(query_t, query_codes, ref, h.speed, h.offset)
    hit = usable & (best_d <= radius)
    lines = [(h.speed, h.offset)]
    if hit.sum() >= 2:
        lines.append((1.0, float(np.median(best_t[hit] - query_t[hit]))))
        lines.append(fit_line(query_t[hit], best_t[hit], h.speed, h.offset))
    scored = []
    for speed, offset in lines:
        d = best_d if (speed, offset) == (h.speed, h.offset) else closest_in_window(query_t, query_codes, ref, speed, offset)[0]
        ok = usable & (d <= radius)
        scored.append((float((radius + 1 - d[ok]).sum()), -abs(speed - 1.0), speed, offset))
    top = max(s[0] for s in scored)
    good = [s for s in scored if s[0] >= top * 0.98]
    _, _, speed, offset = max(good, key=lambda s: s[1])
    return speed, offset


SPAN_FIT = 4.0  # s of hits a span refit needs before it trusts their slope
SPAN_SPEEDS = (0.5, 2.0)  # speeds it may reach (votes cover align.SPEEDS only)
SPAN_TOL = 2 * TOL  # s either side of the line it reads the closest hashes from
SPAN_REFITS = 3
SPEED_STEP = float(SPEEDS[1] - SPEEDS[0])


def span_line(v: Verified, query_t, query_codes, usable, ref: Reference, radius: int):
    """(speed, offset, hit rows) to report an accepted line's spans with. A copy played faster or
    slower than the voted speeds (align.SPEEDS) is voted where the lines cross, and the closest
    hashes of its own window pull toward it: refitted on the closest hashes of a wider window,
    a step is kept while the new line hits more rows, or as many at a speed the votes do not
    cover (within them, the vote already chose among lines that fit as well). Only for the spans: the
    verdict and its chance are the voted line's (a refit on a look-alike's hits fits noise)."""
    speed, offset = v.speed, v.offset
    hit = usable & (closest_in_window(query_t, query_codes, ref, speed, offset)[0] <= radius)
    for _ in range(SPAN_REFITS):
        d, t, _ = closest_in_window(query_t, query_codes, ref, speed, offset, SPAN_TOL)
        ok = usable & (d <= radius)
        line = fit_line(query_t[ok], t[ok], speed, offset, SPAN_FIT, SPAN_SPEEDS)
        if abs(line[0] - speed) < 1e-3:
            break
        kept = usable & (closest_in_window(query_t, query_codes, ref, *line)[0] <= radius)
        voted = SPEEDS[0] - SPEED_STEP <= line[0] <= SPEEDS[-1] + SPEED_STEP  # the votes could have found it
        if kept.sum() < hit.sum() or (voted and kept.sum() == hit.sum()):
            break
        speed, offset, hit = line[0], line[1], kept
    return speed, offset, hit


def closest_in_window(query_t, query_codes, ref: Reference, speed, offset, tol: float = TOL):
    """Per query row: distance to the closest usable reference hash within `tol` of the predicted
    time (FAR when none), the time of that hash closest to the prediction, and how many
    reference rows the window holds."""
    return _closest(query_t, query_codes, ref, speed, offset, tol)[:3]


def closest_views(query_t, query_codes, ref: Reference, speed, offset, tol: float = TOL) -> np.ndarray:
    """Per query row: the stored view (normalise.VIEWS) of the closest reference hash within
    `tol` of the predicted time; -1 where there is none (or the views are not known)."""
    best, _, _, row = _closest(query_t, query_codes, ref, speed, offset, tol)
    if ref.views is None:
        return np.full(len(best), -1)
    return np.where(best < FAR, ref.views[np.clip(row, 0, None)].astype(np.int64), -1)


def _closest(query_t, query_codes, ref: Reference, speed, offset, tol: float):
    """closest_in_window, and the row of each closest hash (-1 where there is none). Only the
    (query row, reference row) pairs within each row's window are compared: a run of them per
    query row, cut from the time-ordered reference (cost grows with the pairs, not with the
    rows a block of query rows spans)."""
    n = len(query_t)
    best = np.full(n, FAR, np.int64)
    best_t = np.zeros(n)
    count = np.zeros(n, np.int64)
    best_row = np.full(n, -1, np.int64)
    pred = offset + speed * np.asarray(query_t, float)
    lo = np.searchsorted(ref.times, pred - tol - ref.max_span, "left")  # a held row may cover pred
    runs = np.searchsorted(ref.times, pred + tol, "right") - lo
    for block in _pair_blocks(runs):
        lens = runs[block]
        has = lens > 0
        if not has.any():
            continue
        block, lens = block[has], lens[has]
        q = np.repeat(np.arange(len(block)), lens)
        first = np.cumsum(lens) - lens
        r = np.arange(int(lens.sum())) - np.repeat(first, lens) + np.repeat(lo[block], lens)
        p = pred[block][q]
        nearest = np.clip(p, ref.times[r], ref.ends[r])  # a held shot's closest moment
        window = np.abs(nearest - p) <= tol
        d = np.where(window & ref.usable[r], pair_distances(query_codes[block][q], ref.codes[r]), FAR).astype(np.int64)
        key = np.minimum.reduceat(d * (len(d) + 1) + np.arange(len(d)), first)  # the first smallest of each run
        j = key % (len(d) + 1)
        best[block] = key // (len(d) + 1)
        best_t[block] = nearest[j]
        count[block] = np.add.reduceat(window, first)
        best_row[block] = r[j]
    return best, best_t, count, best_row


PAIRS = 1 << 18  # (query, reference) row pairs compared at once (~20 MB of work arrays)


def _pair_blocks(lens: np.ndarray):
    """Runs of consecutive query rows holding about PAIRS window pairs between them."""
    ends = np.cumsum(lens)
    start = 0
    while start < len(lens):
        base = ends[start - 1] if start else 0
        stop = max(start + 1, int(np.searchsorted(ends, base + PAIRS, "right")))
        yield np.arange(start, min(stop, len(lens)))
        start = stop

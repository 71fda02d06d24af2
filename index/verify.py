"""Check one alignment hypothesis against the hashes of its reference video.

For each query frame: the closest reference hash near the predicted time (a hit when within
the radius), and how often a hash that close turns up by chance: in the neighbouring shots of
that part of the reference (a scene shot on one set), anywhere in the title (self-similar
footage), and in unrelated library footage. Every step works on chunks of query frames and the
reference rows near them, so cost and memory grow linearly with the durations (whole films).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .align import Hypothesis, fit_line
from .significance import poisson_binomial_tail, popcount_distances, window_probability

TOL = 0.4  # seconds either side of the predicted reference time
LOCAL = 2.5  # seconds either side of the predicted time that are the same shot, not background
LOCAL_SHARE = 0.15  # ... but at most this share of the reference (short ones need their background)
SCENES = (10.0, 30.0)  # half-widths (s) of the neighbourhoods an alignment is also judged against
TITLE_WINDOWS = 400  # sampled windows for the title-wide background (all of them in titles up to 80 s)
CHUNK = 256  # query frames handled together
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


def group_keys(codes: np.ndarray, max_change: int) -> np.ndarray:
    """Label runs of consecutive near-identical query hashes (a static shot counts once)."""
    keys = np.zeros(len(codes), np.int64)
    anchor = 0
    for i in range(1, len(codes)):
        if popcount_distances(codes[i : i + 1], codes[anchor : anchor + 1])[0, 0] > max_change:
            anchor = i
            keys[i] = keys[i - 1] + 1
        else:
            keys[i] = keys[i - 1]
    return keys


@dataclass(frozen=True, eq=False)
class Reference:
    """One reference video's rows for verification, in time order; row i stands for the
    times [times[i], ends[i]] (a held shot kept once, see packed.py)."""

    times: np.ndarray
    ends: np.ndarray
    codes: np.ndarray
    usable: np.ndarray
    duration: float

    @classmethod
    def of(cls, times, codes, usable, duration, ends=None) -> "Reference":
        ends = times if ends is None else ends
        order = np.argsort(times, kind="stable")
        if not np.all(order[1:] > order[:-1]):
            times, ends, codes, usable = times[order], ends[order], codes[order], usable[order]
        return cls(times, ends, codes, usable, duration)

    @property
    def max_span(self) -> float:
        return float((self.ends - self.times).max(initial=0.0))

    def rows_between(self, lo: float, hi: float) -> slice:
        """Rows that may cover some time in [lo, hi] (a superset: check `ends`)."""
        return slice(int(np.searchsorted(self.times, lo - self.max_span, "left")), int(np.searchsorted(self.times, hi, "right")))

    def subset(self, rows: np.ndarray) -> "Reference":
        return Reference(self.times[rows], self.ends[rows], self.codes[rows], self.usable[rows], self.duration)


def verify(h: Hypothesis, query_t: np.ndarray, query_codes: np.ndarray, keys: np.ndarray, usable: np.ndarray,
           ref: Reference, radius: int, cdf: np.ndarray, density=None) -> Verified:
    """`density(distances, window_rows)`: per query row, the chance of a hit that close from
    unrelated library footage near that very frame (None: use only the library-wide `cdf`)."""
    speed, offset = _best_line(h, query_t, query_codes, usable, ref, radius)
    best_d, best_t, in_window = closest_in_window(query_t, query_codes, ref, speed, offset)
    hit = usable & (best_d <= radius)
    thr = np.where(hit, best_d, radius)
    p = np.maximum(background(query_t, query_codes, thr, ref, speed, offset), window_probability(cdf, thr, in_window))
    if density is not None:
        p = np.maximum(p, density(thr, in_window))
    key_ids = np.unique(keys[usable])
    # Frames of one key are near-identical, so their chance events are one event.
    p_key = np.array([p[usable & (keys == k)].max() for k in key_ids])
    hit_key = np.array([hit[keys == k].any() for k in key_ids], bool)
    p_value = poisson_binomial_tail(p_key, int(hit_key.sum()))
    return Verified(h, speed, offset, hit, best_d, best_t, p_value, int(hit_key.sum()), len(key_ids), query_codes.shape[1] * 8)


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


def _chunks(n: int):
    for start in range(0, n, CHUNK):
        yield np.arange(start, min(n, start + CHUNK))


def _distances(query_codes, rows: np.ndarray, ref: Reference, part) -> np.ndarray:
    d = popcount_distances(query_codes[rows], ref.codes[part])
    d[:, ~ref.usable[part]] = FAR  # blank reference frames (fades, black) never count
    return d


def closest_in_window(query_t, query_codes, ref: Reference, speed, offset):
    """Per query row: distance to the closest usable reference hash within TOL of the predicted
    time (FAR when none), the time of that hash closest to the prediction, and how many
    reference rows the window holds."""
    n = len(query_t)
    best = np.full(n, FAR, np.int64)
    best_t = np.zeros(n)
    count = np.zeros(n, np.int64)
    pred = offset + speed * np.asarray(query_t)
    for rows in _chunks(n):
        part = ref.rows_between(pred[rows].min() - TOL, pred[rows].max() + TOL)
        if part.stop <= part.start:
            continue
        p = pred[rows, None]
        nearest = np.clip(p, ref.times[None, part], ref.ends[None, part])  # a held shot's closest moment
        window = np.abs(nearest - p) <= TOL
        masked = np.where(window, _distances(query_codes, rows, ref, part), FAR)
        j = masked.argmin(axis=1)
        picked = np.arange(len(rows))
        best[rows] = masked[picked, j]
        best_t[rows] = nearest[picked, j]
        count[rows] = window.sum(axis=1)
    return best, best_t, count


def background(query_t, query_codes, thr, ref: Reference, speed, offset) -> np.ndarray:
    """Per query row: the largest share of reference time windows holding a hash at least as
    close as its hit (or the radius), in the neighbouring shots (each of SCENES) or across the
    title, leaving out the same shot around the predicted time."""
    bw = TOL / 2
    n_bins = int(np.ceil(max(ref.duration, ref.times.max(initial=0)) / bw)) + 1
    reach = int(round(TOL / bw))  # a close hash covers offsets within TOL of it
    local = max(2 * reach, min(round(LOCAL / bw), int(LOCAL_SHARE * n_bins)))
    centre = np.clip(((offset + speed * np.asarray(query_t)) / bw).astype(np.int64), -n_bins, 2 * n_bins)
    ref_bins = (np.minimum((ref.times / bw).astype(np.int64), n_bins - 1), np.minimum((ref.ends / bw).astype(np.int64), n_bins - 1))
    share = np.zeros(len(query_t))
    widest = round(max(SCENES, default=0) / bw)
    for rows in _chunks(len(query_t)) if SCENES else ():
        lo = max(0, int(centre[rows].min()) - widest - reach)
        hi = min(n_bins, int(centre[rows].max()) + widest + reach + 1)
        if hi <= lo:
            continue
        covered = _covered(query_codes, rows, thr, ref, ref_bins, lo, hi, reach)
        rel = np.abs(np.arange(lo, hi)[None, :] - centre[rows, None])
        for half in SCENES:
            scene = (rel <= round(half / bw)) & (rel > local)
            windows = scene.sum(axis=1) / (2 * reach + 1)
            hits = (covered & scene).sum(axis=1) / (2 * reach + 1)
            share[rows] = np.maximum(share[rows], hits / (windows + 1.0))
    return np.maximum(share, _title_share(query_codes, thr, ref, ref_bins, n_bins, centre, reach, local))


def _covered(query_codes, rows, thr, ref: Reference, ref_bins, lo: int, hi: int, reach: int) -> np.ndarray:
    """(rows, hi - lo) bool: bin holds a reference hash within thr of the query row, within TOL."""
    first, last = ref_bins
    longest = int((last - first).max(initial=0))
    part = slice(int(np.searchsorted(first, lo - reach - longest, "left")), int(np.searchsorted(first, hi + reach, "left")))
    width = hi - lo + 2 * reach
    occupied = np.zeros((len(rows), width), bool)
    if part.stop > part.start:
        r, c = np.nonzero(_distances(query_codes, rows, ref, part) <= thr[rows, None])
        b0, b1 = first[part][c] - (lo - reach), last[part][c] - (lo - reach)
        for step in range(longest + 1):  # a held shot covers every bin it spans
            at = b0 + step
            ok = (at <= b1) & (at >= 0) & (at < width)
            occupied[r[ok], at[ok]] = True
    csum = np.concatenate([np.zeros((len(rows), 1), np.int32), np.cumsum(occupied, axis=1, dtype=np.int32)], axis=1)
    return (csum[:, 2 * reach + 1:] - csum[:, : -(2 * reach + 1)]) > 0


def _title_share(query_codes, thr, ref: Reference, ref_bins, n_bins, centre, reach, local) -> np.ndarray:
    """Share of windows across the whole title (a fixed sample of them) holding a close hash."""
    first, last = ref_bins
    longest = int((last - first).max(initial=0))
    step = max(1, -(-n_bins // TITLE_WINDOWS))
    starts = np.arange(0, n_bins, step)
    share = np.zeros(len(centre))
    # Rows of each sampled window: those covering a bin within `reach` of its start.
    lo = np.searchsorted(first, starts - reach - longest, "left")
    hi = np.searchsorted(first, starts + reach, "right")
    sample = np.concatenate([np.arange(a, b) for a, b in zip(lo, hi)]) if len(starts) else np.zeros(0, np.int64)
    owner = np.repeat(np.arange(len(starts)), hi - lo)
    overlaps = last[sample] >= starts[owner] - reach
    sample, owner = sample[overlaps], owner[overlaps]
    if len(sample) == 0:
        return share
    sample_ref = ref.subset(sample)
    for rows in _chunks(len(centre)):
        close = _distances(query_codes, rows, sample_ref, slice(None)) <= thr[rows, None]
        covered = np.zeros((len(rows), len(starts)), bool)
        r, c = np.nonzero(close)
        covered[r, owner[c]] = True
        away = np.abs(starts[None, :] - centre[rows, None]) > local
        per_window = step / (2 * reach + 1)  # a sampled window stands for `step` bins
        share[rows] = (covered & away).sum(axis=1) * per_window / (away.sum(axis=1) * per_window + 1.0)
    return share

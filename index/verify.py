"""Check one alignment hypothesis against every hash of its reference video.

For each query frame: the closest reference hash near the predicted time (a hit when within
the radius), and how often a hash that close turns up by chance, both elsewhere in the same
video (self-similar footage: static shots, one studio set) and in unrelated library footage.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .align import Hypothesis, fit_line
from .significance import poisson_binomial_tail, popcount_distances, window_probability

TOL = 0.4  # seconds either side of the predicted reference time
LOCAL = 2.5  # seconds either side of the predicted time that are the same shot, not background
LOCAL_SHARE = 0.15  # ... but at most this share of the reference (short ones need their background)


@dataclass(frozen=True, eq=False)
class Verified:
    hypothesis: Hypothesis
    speed: float
    offset: float
    hit: np.ndarray  # bool per query row
    distance: np.ndarray  # int per query row (nbits+1 where no hash in the window)
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


def verify(h: Hypothesis, query_t: np.ndarray, query_codes: np.ndarray, keys: np.ndarray, usable: np.ndarray,
           ref_times: np.ndarray, ref_codes: np.ndarray, ref_usable: np.ndarray, ref_duration: float, radius: int,
           cdf: np.ndarray, density=None) -> Verified:
    """`density(distances, window_rows)`: per query row, the chance of a hit that close from
    unrelated library footage near that very frame (None: use only the library-wide `cdf`)."""
    # Only reference hashes near the hypothesised line can be hits (the refit may move it a little).
    pred = h.offset + h.speed * query_t[[0, -1]] if len(query_t) else np.zeros(2)
    slack = 2.0 + 0.15 * float(np.ptp(query_t)) if len(query_t) else 2.0
    near = np.nonzero((ref_times >= pred.min() - slack) & (ref_times <= pred.max() + slack))[0]
    dist = popcount_distances(query_codes, ref_codes[near])
    dist[:, ~ref_usable[near]] = 10**6  # blank reference frames (fades, black) never count
    near_times = ref_times[near]
    speed, offset = _best_line(h, dist, usable, query_t, near_times, radius)
    best_d, best_t, in_window = _closest_in_window(dist, query_t, near_times, speed, offset)
    hit = usable & (best_d <= radius)
    thr = np.where(hit, best_d, radius)
    p_within = _background(query_codes, ref_codes, ref_usable, ref_times, thr, query_t, ref_duration, speed, offset)
    p_lib = window_probability(cdf, thr, in_window)
    p = np.maximum(p_within, p_lib)
    if density is not None:
        p = np.maximum(p, density(thr, in_window))
    key_ids = np.unique(keys[usable])
    # Frames of one key are near-identical, so their chance events are one event.
    p_key = np.array([p[usable & (keys == k)].max() for k in key_ids])
    hit_key = np.array([hit[keys == k].any() for k in key_ids], bool)
    p_value = poisson_binomial_tail(p_key, int(hit_key.sum()))
    return Verified(h, speed, offset, hit, best_d, best_t, p_value, int(hit_key.sum()), len(key_ids), query_codes.shape[1] * 8)


def _best_line(h, dist, usable, query_t, ref_times, radius) -> tuple[float, float]:
    """The voted line, a least-squares refit, or plain speed 1: whichever the hits fit best.

    Closest-hash times jitter by a frame or two, so a short span cannot tell speeds apart;
    ties go to the speed nearest 1.
    """
    best_d, best_t, _ = _closest_in_window(dist, query_t, ref_times, h.speed, h.offset)
    hit = usable & (best_d <= radius)
    lines = [(h.speed, h.offset)]
    if hit.sum() >= 2:
        lines.append((1.0, float(np.median(best_t[hit] - query_t[hit]))))
        lines.append(fit_line(query_t[hit], best_t[hit], h.speed, h.offset))
    scored = []
    for speed, offset in lines:
        d, _, _ = _closest_in_window(dist, query_t, ref_times, speed, offset)
        ok = usable & (d <= radius)
        scored.append((float((radius + 1 - d[ok]).sum()), -abs(speed - 1.0), speed, offset))
    top = max(s[0] for s in scored)
    good = [s for s in scored if s[0] >= top * 0.98]
    _, _, speed, offset = max(good, key=lambda s: s[1])
    return speed, offset


def _closest_in_window(dist, query_t, ref_times, speed, offset):
    pred = offset + speed * query_t
    window = np.abs(ref_times[None, :] - pred[:, None]) <= TOL
    masked = np.where(window, dist, 10**6)
    j = masked.argmin(axis=1)
    best = masked[np.arange(len(j)), j]
    return best, ref_times[j], window.sum(axis=1)


def _background(query_codes, ref_codes, ref_usable, ref_times, thr, query_t, duration, speed, offset,
                chunk: int = 16384) -> np.ndarray:
    """Per query row: share of the reference's other time windows holding a hash at least as
    close as its hit (or the radius). Computed in chunks so long films fit in memory."""
    bw = TOL / 2
    n_bins = int(np.ceil(max(duration, ref_times.max(initial=0)) / bw)) + 1
    bins = np.minimum((ref_times / bw).astype(np.int64), n_bins - 1)
    occupied = np.zeros((len(thr), n_bins), bool)
    for start in range(0, len(ref_times), chunk):
        part = slice(start, start + chunk)
        d = popcount_distances(query_codes, ref_codes[part])
        d[:, ~ref_usable[part]] = 10**6
        rows, cols = np.nonzero(d <= thr[:, None])
        occupied[rows, bins[part][cols]] = True
    reach = int(round(TOL / bw))  # a close hash covers offsets within TOL of it
    csum = np.concatenate([np.zeros((len(thr), 1), np.int32), np.cumsum(occupied, axis=1, dtype=np.int32)], axis=1)
    lo = np.clip(np.arange(n_bins) - reach, 0, n_bins)
    hi = np.clip(np.arange(n_bins) + reach + 1, 0, n_bins)
    covered = (csum[:, hi] - csum[:, lo]) > 0
    centre = ((offset + speed * query_t) / bw).astype(np.int64)
    # Close hashes just around the predicted time are the same shot (a slow pan, a held
    # frame), not chance: leave them out, as far as a long enough reference allows.
    local = max(2 * reach, min(round(LOCAL / bw), int(LOCAL_SHARE * n_bins)))
    exclude = np.abs(np.arange(n_bins)[None, :] - centre[:, None]) <= local
    windows = (~exclude).sum(axis=1) / (2 * reach + 1)
    covered_windows = (covered & ~exclude).sum(axis=1) / (2 * reach + 1)
    return covered_windows / (windows + 1.0)

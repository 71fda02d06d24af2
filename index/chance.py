"""The chance model: how many alignments this strong unrelated footage would produce.

An alignment is a line ref_t = offset + speed * query_t through one reference. For each query
frame the verifier finds the closest reference hash near the line (its "hit" distance, or the
radius when it misses). The model then asks, per frame, how likely a hash at least that close
is by chance, takes the largest of several estimates (each catches a different kind of
look-alike), treats near-identical consecutive query frames as one event (and asks whether the
event fits its moment better than the scene's other moments), and adds the events
up with an exact Poisson-binomial tail. Multiplied by the number of alignments a query is
tried against in this library, that is the expected number of chance alignments this strong:
`Match.chance`. index/MATCHING.md explains each step; benchmarks/RESULTS.md measures it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .align import SPEEDS
from .hamming import popcount_distances
from .same_footage import sharing_pairs

# -- where an alignment is looked for ------------------------------------------------------
TOL = 0.4  # s either side of the predicted reference time a hit may lie (frame jitter, 5 fps)
# -- the backgrounds a frame's hit is judged against ---------------------------------------
LOCAL = 2.5  # s either side of the predicted time that are the same shot (not evidence either way)
LOCAL_SHARE = 0.15  # ... but at most this share of a reference: short ones need their background
SCENES = (10.0, 30.0)  # s: neighbourhoods of the predicted time (the scene, the sequence); a set
#                       filmed again looks alike within its scene, not across a whole film
MOMENT_CLOSE = 0.5  # share of the radius within which a frame adds to its event's fit to a moment
TITLE_WINDOWS = 400  # sampled windows for the title-wide background (all of them up to 80 s)
# -- the library-wide floor ----------------------------------------------------------------
PRIOR_INFLATION = 50.0  # natural-image hashes cluster: far more close pairs than uniform bits
NULL_ROWS = 3000  # library hashes sampled for the null distance distribution
# -- correlated query frames ---------------------------------------------------------------
KEY_CHANGE = 1 / 16  # share of bits a query hash must move to start a new independent event
KEY_SECONDS = 1.0  # ... and the seconds it lasts at least: frames of one shot drift past
#                    KEY_CHANGE within a second (noise, a slow pan) and are still one event
#                    (0: the model understated the measured rate 17-10^8x; RESULTS.md)
# -- the span a line holds -------------------------------------------------------------------
RUN_GAP = 3.0  # s between hit events that still make one run (the span Matcher reports)
SPAN_WEIGHT = 0.05  # share of the test's level given to the span-local tests (the whole-query
#                     test keeps the rest): a compilation of one title's scenes is several lines
#                     through one reference, and each must not be judged over the others' frames


def prior_cdf(nbits: int) -> np.ndarray:
    """A conservative floor: inflated binomial CDF of distances between unrelated hashes."""
    pmf = np.array([math.comb(nbits, d) for d in range(nbits + 1)], dtype=np.float64) / 2.0**nbits
    return np.minimum(1.0, np.cumsum(pmf) * PRIOR_INFLATION)


def null_cdf(codes: np.ndarray, video_ids: np.ndarray, nbits: int, max_rows: int = NULL_ROWS, seed: int = 0) -> np.ndarray:
    """P(distance <= d) between hashes of different videos, measured on library rows.

    Smoothed (one pseudo-count) and never below the prior floor.
    """
    prior = prior_cdf(nbits)
    if len(codes) < 2 or len(np.unique(video_ids)) < 2:
        return prior
    rng = np.random.default_rng(seed)
    take = rng.choice(len(codes), size=min(max_rows, len(codes)), replace=False)
    c, v = codes[take], video_ids[take]
    d = popcount_distances(c, c)
    other = (v[:, None] != v[None, :]) & ~sharing_pairs(c, v, d)  # versions of one film are not unrelated
    hist = np.bincount(d[other].ravel(), minlength=nbits + 1)[: nbits + 1]
    emp = (np.cumsum(hist) + 1.0) / (hist.sum() + 1.0)
    return np.maximum(emp, prior)


def window_probability(cdf_or_rate, distance: np.ndarray | None, rows: np.ndarray) -> np.ndarray:
    """P(at least one of `rows` unrelated hashes lies within `distance`), from a distance CDF
    (indexed by `distance`) or, with distance None, from a per-hash rate per row."""
    f = np.asarray(cdf_or_rate) if distance is None else np.asarray(cdf_or_rate)[np.clip(distance, 0, len(cdf_or_rate) - 1)]
    return -np.expm1(np.maximum(rows, 1) * np.log1p(-np.minimum(f, 1 - 1e-12)))


def poisson_binomial_tail(p: np.ndarray, k: int) -> float:
    """P(sum of independent Bernoulli(p_i) >= k), exactly (dynamic programming)."""
    if k <= 0:
        return 1.0
    if k > len(p):
        return 0.0
    dist = np.zeros(k + 1)  # dist[j] = P(j successes so far), j capped at k
    dist[0] = 1.0
    for pi in np.clip(p, 0.0, 1.0):
        nxt = dist * (1 - pi)
        nxt[1:] += dist[:-1] * pi
        nxt[k] += dist[k] * pi
        dist = nxt
    return float(min(1.0, dist[k]))


def group_keys(codes: np.ndarray, max_change: int | None = None, times: np.ndarray | None = None,
               min_seconds: float | None = None) -> np.ndarray:
    """Label runs of consecutive query hashes that are one chance event: a run lasts while the
    hash stays within `max_change` bits of its first frame (default KEY_CHANGE of the bits),
    and at least `min_seconds` of `times` (default KEY_SECONDS; no times: no minimum)."""
    max_change = max(2, round(codes.shape[1] * 8 * KEY_CHANGE)) if max_change is None else max_change
    min_seconds = (KEY_SECONDS if min_seconds is None else min_seconds) if times is not None else 0.0
    keys = np.zeros(len(codes), np.int64)
    anchor = 0
    for i in range(1, len(codes)):
        if times is not None and times[i] - times[anchor] < min_seconds:
            keys[i] = keys[i - 1]
        elif popcount_distances(codes[i : i + 1], codes[anchor : anchor + 1])[0, 0] > max_change:
            anchor = i
            keys[i] = keys[i - 1] + 1
        else:
            keys[i] = keys[i - 1]
    return keys


@dataclass(frozen=True, eq=False)
class Events:
    """An alignment's events (keys: runs of near-identical query frames), in key id order."""

    ids: np.ndarray  # key ids
    p: np.ndarray  # chance of each
    hit: np.ndarray  # bool
    start: np.ndarray | None = None  # first and last query time of each (with `times`)
    end: np.ndarray | None = None

    def tail(self) -> float:
        return poisson_binomial_tail(self.p, int(self.hit.sum()))

    def runs(self, whole: int | None = None) -> list[tuple[np.ndarray, int]]:
        """Per run of hit events no more than RUN_GAP s apart: the events it spans (bool) and its
        hits; a run spanning all `whole` events of the query (default: these) is left out (the
        whole query is the tail's test)."""
        whole = len(self.p) if whole is None else whole
        order = np.argsort(self.start, kind="stable")
        hits = order[self.hit[order]]
        if len(hits) < 2:
            return []
        out = []
        for run in np.split(hits, np.nonzero(self.start[hits[1:]] - self.end[hits[:-1]] > RUN_GAP)[0] + 1):
            inside = (self.start >= self.start[run[0]]) & (self.end <= self.end[run[-1]])
            if len(run) >= 2 and inside.sum() < whole:
                out.append((inside, len(run)))
        return out


def events(p_frame: np.ndarray, hit: np.ndarray, keys: np.ndarray, usable: np.ndarray,
           p_hit: np.ndarray | None = None, moment: np.ndarray | None = None, times: np.ndarray | None = None) -> Events:
    """Each key is one event with the largest chance of its frames, hit when any of its frames
    is. With `moment` (per key id, `Backgrounds.moment`), a hit event's chance is at most its fit
    to the moment: the larger of its moment share and its frames' `p_hit` (every background but
    the scene's frame shares)."""
    key_ids = np.unique(keys[usable])
    at = np.minimum(np.searchsorted(key_ids, keys), max(len(key_ids) - 1, 0))
    mine = (key_ids[at] == keys) if len(key_ids) else np.zeros(len(keys), bool)  # rows of those keys
    hit_key = np.zeros(len(key_ids), bool)
    np.logical_or.at(hit_key, at[mine], hit[mine])
    p_key = _key_max(p_frame, at, usable, len(key_ids))
    if moment is not None:
        fit = np.maximum(moment[key_ids], _key_max(p_hit, at, usable, len(key_ids)))
        p_key = np.where(hit_key, np.minimum(p_key, fit), p_key)
    if times is None:
        return Events(key_ids, p_key, hit_key)
    times = np.asarray(times, float)
    return Events(key_ids, p_key, hit_key, -_key_max(-times, at, usable, len(key_ids)), _key_max(times, at, usable, len(key_ids)))


def alignment_p_value(p_frame: np.ndarray, hit: np.ndarray, keys: np.ndarray, usable: np.ndarray,
                      p_hit: np.ndarray | None = None, moment: np.ndarray | None = None,
                      times: np.ndarray | None = None) -> tuple[float, int, int]:
    """(p-value, keys hit, keys) of an alignment: the Poisson-binomial tail of its `events`.
    With `times` (per row), the line may also be judged over a run of hits it holds (span_p_value)."""
    ev = events(p_frame, hit, keys, usable, p_hit, moment, times)
    p = ev.tail()
    if times is not None:
        p = span_p_value(p, best_run(ev), len(ev.p))
    return p, int(ev.hit.sum()), len(ev.p)


def run_tails(ev: Events, whole: int | None = None) -> list[tuple[np.ndarray, float]]:
    """Per run of hits (`Events.runs`): the events it spans and its tail over them."""
    return [(inside, poisson_binomial_tail(ev.p[inside], k)) for inside, k in ev.runs(whole)]


def best_run(ev: Events, whole: int | None = None) -> float:
    """The smallest tail of a run of hits (`Events.runs`) over the events it spans (1: none)."""
    return min((tail for _, tail in run_tails(ev, whole)), default=1.0)


def span_p_value(p_all: float, best: float, n: int) -> float:
    """The whole-query p-value `p_all` or the best run's (`best_run`), whichever is smaller after
    paying for the choice (a weighted Bonferroni): any of the n(n+1)/2 windows of the n events
    could have been the run picked. No run (`best` 1): the whole query's alone."""
    return min(1.0, whole_cost(p_all), run_cost(best, n) if best < 1.0 else 1.0)


def whole_cost(p_all: float) -> float:
    """The whole query's tail paid for: 1 - SPAN_WEIGHT of the level."""
    return p_all / (1 - SPAN_WEIGHT)


def run_cost(best: float, n: int) -> float:
    """A run's tail paid for: n(n+1)/2 windows of n events, SPAN_WEIGHT of the level."""
    return best * n * (n + 1) / 2 / SPAN_WEIGHT


def _key_max(values: np.ndarray, at: np.ndarray, rows: np.ndarray, n: int) -> np.ndarray:
    out = np.full(n, -np.inf)
    np.maximum.at(out, at[rows], values[rows])
    return out


@dataclass(frozen=True)
class LibraryShape:
    """What the number of hypotheses depends on: the library's size."""

    n_videos: int
    total_duration: float  # s
    n_hashes: int  # search hashes in the index

    def hypotheses(self, query_duration: float, views_tried: int = 1, hashes_tried: int = 1) -> float:
        """How many (video, offset, speed, mirror) alignments a query is tried against: every
        offset step of 2*TOL over every reference (plus the query's own length hanging over
        each end), every speed, both mirror senses, for each query view and each hash that
        may prove it."""
        span = self.total_duration + max(self.n_videos, 1) * query_duration
        return max(1.0, span / (2 * TOL) * len(SPEEDS) * 2) * views_tried * hashes_tried


def density(neighbours: tuple[np.ndarray, np.ndarray], video_id, other_hashes: int):
    """Chance of a hit this close near each query frame from unrelated library footage, read off
    its nearest neighbours in other videos: `p(distances, window_rows)`. `video_id`: the
    reference's, or those of every video holding its footage (same_footage), none of them
    counted (`other_hashes`: the search hashes of the rest)."""
    dist, vids = neighbours
    others = ~np.isin(vids, np.atleast_1d(video_id))
    other = max(other_hashes, 1)

    def p(thr: np.ndarray, window_rows: np.ndarray) -> np.ndarray:
        rate = ((dist <= thr[:, None]) & others).sum(axis=1) / other
        return window_probability(rate, None, window_rows)

    return p


@dataclass(frozen=True)
class Backgrounds:
    """How alike the rest of the reference is, around an alignment (see `backgrounds`)."""

    frame: np.ndarray  # per query row: share of other windows (scene or title) with a hash as close
    beyond: np.ndarray  # per query row: the title's share beyond the widest scene
    moment: np.ndarray  # per key id: share of the scene's other moments the whole event fits as well


CHUNK_SPAN = 60.0  # s of predicted reference time a chunk of query rows may cover


def chunks(pred: np.ndarray, size: int = 256, span: float = CHUNK_SPAN):
    """Runs of consecutive query rows (np.arange each) to handle together: at most `size` rows
    whose predicted reference times lie within `span` seconds, so that the reference rows a
    chunk reads stay bounded when the rows are sparse in time (an inset found now and then
    across a 2 h suspect: one chunk of 256 rows read hours of reference, 446 MB)."""
    pred = np.asarray(pred, float)
    start = 0
    while start < len(pred):
        stop = min(len(pred), start + size)
        inside = np.abs(pred[start:stop] - pred[start]) <= span
        if not inside.all():
            stop = start + max(1, int(np.argmin(inside)))
        yield np.arange(start, stop)
        start = stop


def backgrounds(query_t, query_codes, thr, ref, speed, offset, keys, usable, radius: int,
                chunk: int = 256) -> Backgrounds:
    """The backgrounds a line's hits are judged against. `ref` is a verify.Reference.

    Per query row, the largest share of reference time windows holding a hash at least as close
    as its hit (or the radius), in the neighbouring shots (each of SCENES) or across the title,
    leaving out the same shot around the predicted time.

    Per event (key): the line moved, the event's frames keeping their spacing, to every other
    moment within SCENES (again leaving out the same shot): the share of moments where the event's
    summed distance is as small as on the line (a frame counts up to MOMENT_CLOSE of the radius:
    hits near the radius are look-alike level and must not make a line unique). In a still shot
    every moment is close to each frame on its own, so one frame's share cannot tell a copy from
    footage of the same set; a copy fits the moment it copies better, frame after frame.
    """
    bw = TOL / 2
    n_bins = int(np.ceil(max(ref.duration, ref.times.max(initial=0)) / bw)) + 1
    reach = int(round(TOL / bw))  # a close hash covers offsets within TOL of it
    local = max(2 * reach, min(round(LOCAL / bw), int(LOCAL_SHARE * n_bins)))
    centre = np.clip(((offset + speed * np.asarray(query_t)) / bw).astype(np.int64), -n_bins, 2 * n_bins)
    ref_bins = (np.minimum((ref.times / bw).astype(np.int64), n_bins - 1), np.minimum((ref.ends / bw).astype(np.int64), n_bins - 1))
    present = _present(ref, ref_bins, n_bins, reach)
    share = np.zeros(len(query_t))
    widest = round(max(SCENES, default=0) / bw)
    shifts = np.arange(-widest, widest + 1)
    n_keys = int(keys.max(initial=-1)) + 1
    sums = np.zeros((n_keys, len(shifts)), np.int64)
    valid = np.ones((n_keys, len(shifts)), bool)
    on_line = (centre >= 0) & (centre < n_bins) & present[np.clip(centre, 0, n_bins - 1)]
    counted = usable & on_line  # rows with a moment on the line
    cap = int(radius * MOMENT_CLOSE) + 1  # farther frames add nothing to an event's fit
    for rows in chunks(centre * bw, chunk) if SCENES else ():
        start = int(rows[0])
        lo = max(0, int(centre[rows].min()) - widest - reach)
        hi = min(n_bins, int(centre[rows].max()) + widest + reach + 1)
        if hi <= lo:
            continue
        near = _nearest(query_codes, rows, np.maximum(thr[rows], cap - 1), radius, ref, ref_bins, lo, hi, reach)
        covered = near <= thr[rows, None]
        rel = np.abs(np.arange(lo, hi)[None, :] - centre[rows, None])
        for half in SCENES:
            scene = (rel <= round(half / bw)) & (rel > local)
            windows = scene.sum(axis=1) / (2 * reach + 1)
            hits = (covered & scene).sum(axis=1) / (2 * reach + 1)
            share[rows] = np.maximum(share[rows], hits / (windows + 1.0))
        rows = rows[counted[rows]]
        if len(rows):
            at = centre[rows, None] + shifts[None, :]
            col = np.clip(at - lo, 0, hi - lo - 1)
            ok = (at >= lo) & (at < hi) & present[np.clip(at, 0, n_bins - 1)]
            d = np.minimum(np.where(ok, near[(rows - start)[:, None], col], cap), cap)
            np.add.at(sums, keys[rows], d)
            np.logical_and.at(valid, keys[rows], ok)
    title, beyond = _title_share(query_codes, thr, ref, ref_bins, n_bins, centre, reach, (local, widest), chunk)
    return Backgrounds(np.maximum(share, title), beyond, _moment_share(sums, valid, shifts * bw, local * bw))


def _moment_share(sums: np.ndarray, valid: np.ndarray, shifts: np.ndarray, local: float) -> np.ndarray:
    """Per key: the largest share, over SCENES, of the other moments (`shifts` s from the line,
    beyond `local`) where the event's summed distance is at most its sum on the line (shift 0)."""
    on_line = sums[:, np.flatnonzero(shifts == 0)[0]][:, None]
    fits = valid & (sums <= on_line)
    moment = np.zeros(len(sums))
    for half in SCENES:
        scene = (np.abs(shifts) <= half + 1e-9) & (np.abs(shifts) > local + 1e-9)
        moment = np.maximum(moment, (fits & scene).sum(axis=1) / ((valid & scene).sum(axis=1) + 1.0))
    return moment


def _present(ref, ref_bins, n_bins: int, reach: int) -> np.ndarray:
    """Per bin: a usable reference hash lies within `reach` bins."""
    first, last = ref_bins
    edges = np.zeros(n_bins + 1, np.int64)
    np.add.at(edges, first[ref.usable], 1)
    np.add.at(edges, last[ref.usable] + 1, -1)
    occupied = np.concatenate([[0], np.cumsum(np.cumsum(edges[:-1]) > 0)])
    at = np.arange(n_bins)
    return occupied[np.minimum(at + reach + 1, n_bins)] - occupied[np.maximum(at - reach, 0)] > 0


def _nearest(query_codes, rows, limit, radius: int, ref, ref_bins, lo: int, hi: int, reach: int) -> np.ndarray:
    """(rows, hi - lo) int: distance of the closest usable reference hash within TOL of each bin
    when it is within the row's `limit`, radius + 1 otherwise."""
    first, last = ref_bins
    longest = int((last - first).max(initial=0))
    part = slice(int(np.searchsorted(first, lo - reach - longest, "left")), int(np.searchsorted(first, hi + reach, "left")))
    width = hi - lo + 2 * reach
    near = np.full((len(rows), width), radius + 1, np.int32)
    if part.stop > part.start:
        d = popcount_distances(query_codes[rows], ref.codes[part])
        r, c = np.nonzero((d <= limit[:, None]) & ref.usable[part][None, :])
        dist = d[r, c]
        b0, b1 = first[part][c] - (lo - reach), last[part][c] - (lo - reach)
        for step in range(longest + 1):  # a held shot covers every bin it spans
            at = b0 + step
            ok = (at <= b1) & (at >= 0) & (at < width)
            np.minimum.at(near, (r[ok], at[ok]), dist[ok])
    out = near[:, : width - 2 * reach].copy()
    for k in range(1, 2 * reach + 1):
        np.minimum(out, near[:, k : width - 2 * reach + k], out=out)
    return out


def _title_share(query_codes, thr, ref, ref_bins, n_bins, centre, reach, away_from, chunk) -> tuple[np.ndarray, np.ndarray]:
    """Share of windows across the whole title (a fixed sample of them) holding a close hash,
    away from the predicted time by more than each of `away_from` (bins)."""
    first, last = ref_bins
    longest = int((last - first).max(initial=0))
    step = max(1, -(-n_bins // TITLE_WINDOWS))
    starts = np.arange(0, n_bins, step)
    shares = [np.zeros(len(centre)) for _ in away_from]
    # Rows of each sampled window: those covering a bin within `reach` of its start.
    lo = np.searchsorted(first, starts - reach - longest, "left")
    hi = np.searchsorted(first, starts + reach, "right")
    sample = np.concatenate([np.arange(a, b) for a, b in zip(lo, hi)]) if len(starts) else np.zeros(0, np.int64)
    owner = np.repeat(np.arange(len(starts)), hi - lo)
    overlaps = last[sample] >= starts[owner] - reach
    sample, owner = sample[overlaps], owner[overlaps]
    if len(sample) == 0:
        return tuple(shares)
    per_window = step / (2 * reach + 1)  # a sampled window stands for `step` bins
    for start in range(0, len(centre), chunk):
        rows = np.arange(start, min(len(centre), start + chunk))
        r, c = np.nonzero(_close(query_codes, rows, thr, ref.codes[sample], ref.usable[sample]))
        covered = np.zeros((len(rows), len(starts)), bool)
        covered[r, owner[c]] = True
        for share, bins in zip(shares, away_from):
            away = np.abs(starts[None, :] - centre[rows, None]) > bins
            share[rows] = (covered & away).sum(axis=1) * per_window / (away.sum(axis=1) * per_window + 1.0)
    return tuple(shares)


def _close(query_codes, rows, thr, codes, usable) -> np.ndarray:
    d = popcount_distances(query_codes[rows], codes)
    return (d <= thr[rows, None]) & usable[None, :]


def frame_probability(background: np.ndarray, cdf: np.ndarray, thr: np.ndarray, in_window: np.ndarray,
                      density_p=None) -> np.ndarray:
    """Per query frame: the chance of a hash this close near the predicted time, the largest of
    the reference's own background, the library-wide null distribution over the rows the
    window holds, and the frame's neighbours in other videos."""
    p = np.maximum(background, window_probability(cdf, thr, in_window))
    if density_p is not None:
        p = np.maximum(p, density_p(thr, in_window))
    return p

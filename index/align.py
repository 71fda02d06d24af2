"""Temporal alignment: vote candidate frame pairs into (video, mirrored, speed, offset) hypotheses.

A copy maps query time to reference time as ref_t = offset + speed * query_t. Each candidate
pair votes for the offsets it implies at every speed on a small grid; consistent runs of
pairs pile up in one bin while chance neighbours scatter (a Hough transform in 1-D per speed).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SPEEDS = np.round(np.arange(0.88, 1.1201, 0.02), 4)
BIN = 0.5  # seconds of offset per vote bin


@dataclass(frozen=True, eq=False)
class Candidates:
    """Frame-level search hits, one row each."""

    query_idx: np.ndarray  # int (row of the query fingerprint)
    query_t: np.ndarray
    video_id: np.ndarray
    ref_t: np.ndarray
    distance: np.ndarray
    mirrored: np.ndarray  # bool

    def __len__(self) -> int:
        return len(self.query_idx)

    def where(self, mask: np.ndarray) -> "Candidates":
        return Candidates(*(getattr(self, f)[mask] for f in ("query_idx", "query_t", "video_id", "ref_t", "distance", "mirrored")))


@dataclass(frozen=True)
class Hypothesis:
    video_id: int
    mirrored: bool
    speed: float
    offset: float
    votes: float  # summed weight of distinct query frames in the bin

    def ref_time(self, query_t):
        return self.offset + self.speed * np.asarray(query_t)


def hypotheses(cands: Candidates, radius: int, per_video: int = 2, limit: int = 12) -> list[Hypothesis]:
    """The strongest alignment hypotheses, best first.

    A (video, mirror) group votes at most its best bin score (`_score_bound`, all groups at
    once), so groups are voted in order of that bound and the rest skipped once it falls below
    the `limit`-th best vote found: in a large library most groups are a few chance hits, and
    voting each of them cost more than the search (the same list as voting every group).
    """
    if len(cands) == 0:
        return []
    weight = (radius + 1 - cands.distance) / (radius + 1.0)
    pairs = np.stack([cands.video_id, cands.mirrored.astype(np.int64)], axis=1)
    groups, group_of = np.unique(pairs, axis=0, return_inverse=True)
    group_of = group_of.ravel()
    # Best weight per (group, query frame), summed per group.
    order = np.lexsort((-weight, cands.query_idx, group_of))
    first = np.ones(len(order), bool)
    first[1:] = (group_of[order][1:] != group_of[order][:-1]) | (cands.query_idx[order][1:] != cands.query_idx[order][:-1])
    bound = np.minimum(np.bincount(group_of[order][first], weights=weight[order][first], minlength=len(groups)),
                       _score_bound(cands, weight, group_of, len(groups)))
    found: list[tuple[float, int, int, Hypothesis]] = []  # (votes, group rank, pick) as the full vote sorts them
    kth = -np.inf
    for g in np.argsort(-bound, kind="stable"):
        if bound[g] < kth:
            break
        video_id, mirrored = groups[g]
        sel = group_of == g
        picks = _vote(cands.query_idx[sel], cands.query_t[sel], cands.ref_t[sel], weight[sel], per_video)
        found += [(v, int(g), j, Hypothesis(int(video_id), bool(mirrored), s, o, v)) for j, (s, o, v) in enumerate(picks)]
        if len(found) >= limit:
            kth = sorted((f[0] for f in found), reverse=True)[limit - 1]
    found.sort(key=lambda f: (-f[0], f[1], f[2]))
    return [f[3] for f in found[:limit]]


def _score_bound(cands: Candidates, weight: np.ndarray, group_of: np.ndarray, n_groups: int) -> np.ndarray:
    """Per group, its best bin score over every speed and shift (what `_vote` scores, for all
    groups in a few array passes): a vote is that score less a spread penalty, never more."""
    nq = int(cands.query_idx.max()) + 1
    bound = np.zeros(n_groups)
    for speed in SPEEDS:
        b = np.floor((cands.ref_t - speed * cands.query_t) / BIN).astype(np.int64)
        b -= b.min()
        for shift in (0, 1):
            cell = group_of.astype(np.int64) * (int(b.max()) + 2) + b + shift
            key = cell * nq + cands.query_idx
            order = np.lexsort((-weight, key))
            first = np.ones(len(key), bool)
            first[1:] = key[order][1:] != key[order][:-1]
            kept = order[first]
            cells, inverse = np.unique(cell[kept], return_inverse=True)
            scores = np.bincount(inverse.ravel(), weights=weight[kept])
            np.maximum.at(bound, group_of[kept][np.unique(inverse.ravel(), return_index=True)[1]], scores)
    return bound + 1e-9


def _vote(qidx, qt, rt, w, per_video):
    """Top (speed, offset, votes) for one video: best weight per query frame per bin, summed."""
    best = []
    nq = int(qidx.max()) + 1
    for speed in SPEEDS:
        off = rt - speed * qt
        b = np.floor(off / BIN).astype(np.int64)
        b0 = b.min()
        # A hit votes for its bin and the next, so a true offset near a bin edge is not split.
        for shift in (0, 1):
            key = (b - b0 + shift) * nq + qidx
            order = np.lexsort((-w, key))
            first = np.ones(len(key), bool)
            first[1:] = key[order][1:] != key[order][:-1]
            kept = order[first]
            bins = (key[kept] // nq)
            scores = np.bincount(bins, weights=w[kept])
            for top in np.argsort(scores)[::-1][:per_video]:
                if scores[top] <= 0:
                    break
                in_bin = kept[bins == top]
                centre = float(np.median(off[in_bin]))
                # At the right speed the votes sit tight; a wrong speed smears them across the bin.
                spread = float(np.median(np.abs(off[in_bin] - centre)))
                best.append((float(speed), centre, float(scores[top]) * (1 - 0.5 * min(spread / BIN, 1))))
    best.sort(key=lambda x: -x[2])
    picked = []
    for s, o, v in best:
        if not any(same_line(s, o, ps, po) for ps, po, _ in picked):
            picked.append((s, o, v))
        if len(picked) >= per_video:
            break
    return picked


def same_line(speed: float, offset: float, other_speed: float, other_offset: float) -> bool:
    """Two votes for one line: offsets within two bins and speeds within 0.05."""
    return abs(offset - other_offset) <= 2 * BIN and abs(speed - other_speed) <= 0.05


def fit_line(query_t: np.ndarray, ref_t: np.ndarray, speed: float, offset: float, min_span: float = 10.0,
             speeds: tuple[float, float] = (0.8, 1.25)) -> tuple[float, float]:
    """Least-squares speed and offset, kept near the voted ones when the points cannot decide
    (they spread over less than `min_span` s, or their slope is outside `speeds`)."""
    if len(query_t) < 4 or np.ptp(query_t) < min_span:
        return speed, float(np.median(ref_t - speed * query_t)) if len(query_t) else offset
    a, b = np.polyfit(query_t, ref_t, 1)
    if not speeds[0] <= a <= speeds[1]:
        return speed, float(np.median(ref_t - speed * query_t))
    return float(a), float(b)

"""How likely a match is by chance: the null distance distribution and tail probabilities."""
from __future__ import annotations

import math

import numpy as np

PRIOR_INFLATION = 50.0  # natural-image hashes cluster: far more close pairs than uniform random bits


def popcount_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamming distances between every row of a (n, nbytes) and b (m, nbytes): (n, m) int."""
    if a.shape[1] % 8 == 0:
        a64 = np.ascontiguousarray(a).view(np.uint64)
        b64 = np.ascontiguousarray(b).view(np.uint64)
        out = np.zeros((len(a), len(b)), np.int32)
        for w in range(a64.shape[1]):
            out += np.bitwise_count(a64[:, w][:, None] ^ b64[:, w][None, :])
        return out
    return np.unpackbits(a[:, None, :] ^ b[None, :, :], axis=-1).sum(-1, dtype=np.int32)


def prior_cdf(nbits: int) -> np.ndarray:
    """A conservative floor: inflated binomial CDF of distances between unrelated hashes."""
    pmf = np.array([math.comb(nbits, d) for d in range(nbits + 1)], dtype=np.float64) / 2.0**nbits
    return np.minimum(1.0, np.cumsum(pmf) * PRIOR_INFLATION)


def null_cdf(codes: np.ndarray, video_ids: np.ndarray, nbits: int, max_rows: int = 3000, seed: int = 0) -> np.ndarray:
    """P(distance <= d) between frames of different videos, measured on library rows.

    Smoothed (one pseudo-count) and never below the prior floor.
    """
    prior = prior_cdf(nbits)
    if len(codes) < 2 or len(np.unique(video_ids)) < 2:
        return prior
    rng = np.random.default_rng(seed)
    take = rng.choice(len(codes), size=min(max_rows, len(codes)), replace=False)
    c, v = codes[take], video_ids[take]
    d = popcount_distances(c, c)
    other = v[:, None] != v[None, :]
    hist = np.bincount(d[other].ravel(), minlength=nbits + 1)[: nbits + 1]
    emp = (np.cumsum(hist) + 1.0) / (hist.sum() + 1.0)
    return np.maximum(emp, prior)


def window_probability(cdf: np.ndarray, distance: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """P(at least one of `rows` unrelated hashes lies within `distance`)."""
    f = cdf[np.clip(distance, 0, len(cdf) - 1)]
    return -np.expm1(np.maximum(rows, 1) * np.log1p(-np.minimum(f, 1 - 1e-12)))


def poisson_binomial_tail(p: np.ndarray, k: int) -> float:
    """P(sum of independent Bernoulli(p_i) >= k)."""
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

"""Hamming distances between packed binary hashes."""
from __future__ import annotations

import numpy as np


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


NEAREST_CHUNK = 4096  # columns of b compared at once by `nearest`: bounds its memory to ~12 B x len(a) x this


def nearest(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each row of a: the index of its nearest row of b (the first when tied) and the distance,
    as popcount_distances(a, b).argmin(1) without the (len(a), len(b)) matrix."""
    best_j = np.zeros(len(a), np.int64)
    best_d = np.full(len(a), np.iinfo(np.int32).max, np.int32)
    for lo in range(0, len(b), NEAREST_CHUNK):
        d = popcount_distances(a, b[lo : lo + NEAREST_CHUNK])
        j = d.argmin(axis=1)
        dj = d[np.arange(len(a)), j]
        better = dj < best_d
        best_j[better], best_d[better] = j[better] + lo, dj[better]
    return best_j, best_d


def pair_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamming distances between row i of a and row i of b, both (n, nbytes): (n,) int."""
    if a.shape[1] % 8 == 0:
        x = np.ascontiguousarray(a).view(np.uint64) ^ np.ascontiguousarray(b).view(np.uint64)
        return np.bitwise_count(x).sum(axis=1, dtype=np.int32)
    return np.unpackbits(a ^ b, axis=-1).sum(-1, dtype=np.int32)

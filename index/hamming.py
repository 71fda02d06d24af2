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


def pair_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamming distances between row i of a and row i of b, both (n, nbytes): (n,) int."""
    if a.shape[1] % 8 == 0:
        x = np.ascontiguousarray(a).view(np.uint64) ^ np.ascontiguousarray(b).view(np.uint64)
        return np.bitwise_count(x).sum(axis=1, dtype=np.int32)
    return np.unpackbits(a ^ b, axis=-1).sum(-1, dtype=np.int32)

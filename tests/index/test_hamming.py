"""hamming.nearest: the argmin of popcount_distances, read in column chunks."""
from __future__ import annotations

import numpy as np

from fp.index import hamming


def test_nearest_is_the_argmin_of_the_whole_matrix(monkeypatch):
    rng = np.random.default_rng(3)
    a = rng.integers(0, 256, (50, 8), dtype=np.uint8)
    b = np.concatenate([rng.integers(0, 256, (300, 8), dtype=np.uint8), a[:10], a[:10]])  # exact hits, each twice
    monkeypatch.setattr(hamming, "NEAREST_CHUNK", 7)  # many chunks, ties across them
    j, d = hamming.nearest(a, b)
    full = hamming.popcount_distances(a, b)
    assert (j == full.argmin(axis=1)).all() and (d == full.min(axis=1)).all()
    assert (j[:10] == 300 + np.arange(10)).all() and (d[:10] == 0).all()  # the first of a tie

"""closest_in_window compares each query row only with the reference rows in its window; it must
give what comparing every pair gives (the definition), held shots and blank rows included."""
from __future__ import annotations

import numpy as np
import pytest

from fp.index import verify as verify_module
from fp.index.verify import FAR, Reference, closest_in_window, closest_views


def _brute(query_t, codes, ref: Reference, speed, offset, tol):
    n = len(query_t)
    best, best_t, count, row = np.full(n, FAR), np.zeros(n), np.zeros(n, int), np.full(n, -1)
    bits = np.unpackbits(codes[:, None, :] ^ ref.codes[None, :, :], axis=-1).sum(-1)
    for i, t in enumerate(query_t):
        p = offset + speed * t
        nearest = np.clip(p, ref.times, ref.ends)
        window = np.abs(nearest - p) <= tol
        count[i] = window.sum()
        d = np.where(window & ref.usable, bits[i], FAR)
        if window.any() and d.min() < FAR:
            j = int(np.argmin(d))  # the first of the closest, in time order
            best[i], best_t[i], row[i] = d[j], nearest[j], j
    return best, best_t, count, row


@pytest.mark.parametrize("seed, speed, offset, pairs", [(0, 1.0, 3.0, 1 << 18), (1, 0.9, -2.0, 1 << 18), (2, 1.1, 40.0, 7)])
def test_the_window_pairs_give_what_every_pair_gives(monkeypatch, seed, speed, offset, pairs):
    monkeypatch.setattr(verify_module, "PAIRS", pairs)  # tiny blocks: the block edges are exercised too
    rng = np.random.default_rng(seed)
    m = 600
    times = np.sort(rng.uniform(0, 120, m)).round(1)  # rounded: equal times, ties in distance
    ends = times + np.where(rng.random(m) < 0.1, rng.uniform(0, 6, m), 0)  # some held shots
    codes = rng.integers(0, 4, (m, 8), dtype=np.uint8)  # few bits: many equal distances
    ref = Reference.of(times, codes, rng.random(m) > 0.1, 120.0, ends=ends, views=rng.integers(0, 12, m))
    query_t = np.sort(rng.uniform(-10, 130, 300))
    qcodes = rng.integers(0, 4, (300, 8), dtype=np.uint8)
    best, best_t, count = closest_in_window(query_t, qcodes, ref, speed, offset)
    want, want_t, want_count, want_row = _brute(query_t, qcodes, ref, speed, offset, 0.4)
    assert (count == want_count).all()
    assert (best == want).all()
    found = want < FAR
    assert found.sum() > 100 and (~found).sum() > 10
    assert np.allclose(best_t[found], want_t[found])
    views = closest_views(query_t, qcodes, ref, speed, offset)
    assert (views[found] == ref.views[want_row[found]]).all() and (views[~found] == -1).all()

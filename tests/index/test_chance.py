"""The chance model against exact answers: binomial tails, brute-force enumeration, known shapes."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fp.index.chance import (KEY_SECONDS, PRIOR_INFLATION, RUN_GAP, SPAN_WEIGHT, Events, LibraryShape, alignment_p_value,
                             best_run, group_keys, null_cdf, poisson_binomial_tail, prior_cdf, span_p_value,
                             window_probability)


def binomial_tail(n: int, p: float, k: int) -> float:
    return sum(math.comb(n, j) * p**j * (1 - p) ** (n - j) for j in range(k, n + 1))


@pytest.mark.parametrize("n,p,k", [(10, 0.1, 3), (40, 0.01, 2), (25, 0.5, 20), (60, 1e-4, 5), (5, 0.3, 0), (5, 0.3, 6)])
def test_equal_chances_give_the_exact_binomial_tail(n, p, k):
    expected = binomial_tail(n, p, k) if k <= n else 0.0
    assert poisson_binomial_tail(np.full(n, p), k) == pytest.approx(expected, rel=1e-9, abs=1e-300)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=9), st.integers(0, 10))
def test_unequal_chances_match_brute_force_enumeration(ps, k):
    exact = 0.0
    for outcome in itertools.product((0, 1), repeat=len(ps)):
        if sum(outcome) >= k:
            exact += math.prod(p if o else 1 - p for p, o in zip(ps, outcome))
    assert poisson_binomial_tail(np.array(ps), k) == pytest.approx(min(1.0, exact), abs=1e-12)


def test_the_prior_is_an_inflated_binomial_cdf():
    cdf = prior_cdf(64)
    for d in (0, 5, 12, 20):
        assert cdf[d] == pytest.approx(min(1.0, PRIOR_INFLATION * sum(math.comb(64, j) for j in range(d + 1)) / 2**64))
    assert cdf[-1] == 1.0 and np.all(np.diff(cdf) >= 0)


def test_null_cdf_measures_distances_between_videos_and_keeps_the_floor():
    rng = np.random.default_rng(1)
    vids = np.repeat(np.arange(8), 50)
    # Clustered footage: every video's hashes are one shared hash with 1 flipped bit.
    base = np.unpackbits(rng.integers(0, 256, (1, 8), dtype=np.uint8), axis=1)
    bits = np.repeat(base, 400, axis=0)
    bits[np.arange(400), rng.integers(0, 64, 400)] ^= 1
    cdf = null_cdf(np.packbits(bits, axis=1), vids, 64)
    assert cdf[2] > 0.99 and cdf[2] > 1000 * prior_cdf(64)[2]
    # Uniform random hashes: no closer than the floor says (it bounds the chance from below).
    random_cdf = null_cdf(rng.integers(0, 256, (400, 8), dtype=np.uint8), vids, 64)
    assert np.all(random_cdf >= prior_cdf(64)) and random_cdf[10] < 1e-3
    # One video alone gives no between-video pairs: the prior.
    assert np.array_equal(null_cdf(np.packbits(bits, axis=1), np.zeros(400, int), 64), prior_cdf(64))


def test_window_probability_is_one_minus_the_product_of_misses():
    cdf = np.array([0.01, 0.02, 0.5])
    got = window_probability(cdf, np.array([0, 1, 2]), np.array([1, 3, 2]))
    assert got == pytest.approx([0.01, 1 - 0.98**3, 1 - 0.5**2])
    assert window_probability(np.array([0.1]), None, np.array([2])) == pytest.approx([0.19])


def test_a_run_of_near_identical_frames_is_one_event():
    codes = np.zeros((6, 8), np.uint8)
    codes[3:, 0] = 0xFF  # the shot changes by 8 bits at frame 3
    keys = group_keys(codes, max_change=4)
    assert keys.tolist() == [0, 0, 0, 1, 1, 1]
    p = np.array([0.1, 0.2, 0.3, 0.01, 0.02, 0.03])
    hit = np.array([True, True, True, True, False, False])
    p_value, hit_keys, n_keys = alignment_p_value(p, hit, keys, np.ones(6, bool))
    # Two events with the largest chance of their frames (0.3 and 0.03), both hit.
    assert (hit_keys, n_keys) == (2, 2) and p_value == pytest.approx(0.3 * 0.03)


def test_hypotheses_grow_with_the_library_and_the_query():
    small = LibraryShape(10, 3600.0, 10**5)
    big = LibraryShape(1000, 360000.0, 10**7)
    assert big.hypotheses(60) == pytest.approx(100 * small.hypotheses(60), rel=0.01)
    assert small.hypotheses(60, views_tried=2, hashes_tried=2) == pytest.approx(4 * small.hypotheses(60))
    assert small.hypotheses(600) > small.hypotheses(60)


def test_frames_of_one_shot_drifting_within_key_seconds_are_one_event():
    """A slow pan or sensor noise moves the hash past KEY_CHANGE every frame; consecutive
    frames of one shot are still not independent evidence, so an event lasts KEY_SECONDS."""
    rng = np.random.default_rng(3)
    bits = np.zeros((15, 64), np.uint8)
    for i in range(1, 15):  # each frame moves 6 bits from the one before (KEY_CHANGE is 4)
        bits[i] = bits[i - 1]
        bits[i, rng.choice(64, 6, replace=False)] ^= 1
    codes = np.packbits(bits, axis=1)
    times = np.arange(15) / 5.0  # 3 s at 5 frames a second
    assert len(np.unique(group_keys(codes))) == 15  # by hash change alone: every frame an event
    keys = group_keys(codes, times=times)
    assert len(np.unique(keys)) == round(3.0 / KEY_SECONDS)
    starts = times[np.r_[0, np.nonzero(np.diff(keys))[0] + 1]]
    assert np.all(np.diff(starts) >= KEY_SECONDS - 1e-9)
    assert group_keys(codes[:3], times=times[:3]).tolist() == [0, 0, 0]  # 0.4 s: one event


def test_chunks_bound_rows_and_the_reference_time_they_read():
    from fp.index.chance import CHUNK_SPAN, chunks

    dense = np.arange(1000) / 5.0  # 200 s at 5 a second
    sparse = np.sort(np.random.default_rng(3).uniform(0, 7200, 300))  # an inset now and then over 2 h
    for pred in (dense, sparse, dense[::-1]):
        parts = list(chunks(pred, 256))
        assert np.array_equal(np.concatenate(parts), np.arange(len(pred)))  # every row once, in order
        assert all(len(p) <= 256 and np.ptp(pred[p]) <= CHUNK_SPAN for p in parts)
    assert len(list(chunks(dense, 256))) == 4  # dense rows: the count cuts (256 rows = 51 s)
    assert len(list(chunks(sparse, 256))) > 50  # sparse rows: the span cuts (one chunk did 2 h before)


def _events(p, hit, start, end):
    return Events(np.arange(len(p)), np.asarray(p, float), np.asarray(hit, bool), np.asarray(start, float), np.asarray(end, float))


def test_a_run_of_hits_is_judged_over_the_events_it_spans_and_pays_for_the_choice():
    # Twelve events: the first six hit at 1e-4 each; the other six are another excerpt of the
    # same title, unlikely to hit this line but each with a title-background chance of 0.08.
    start = np.arange(12, dtype=float)
    ev = _events([1e-4] * 6 + [0.08] * 6, [True] * 6 + [False] * 6, start, start + 0.8)
    whole = ev.tail()
    assert whole > 1e-9  # the other excerpt's events drown the run
    assert span_p_value(whole, best_run(ev), 12) == pytest.approx(1e-24 * 12 * 13 / 2 / SPAN_WEIGHT, rel=1e-6)
    # A line hit over the whole query has no run of its own: it pays the small weight only.
    full = _events(np.full(12, 1e-4), np.ones(12, bool), start, start + 0.8)
    assert best_run(full) == 1.0
    assert span_p_value(1.0, 1.0, 0) == 1.0  # no event at all (every row explained by an earlier match)
    assert span_p_value(1e-8, best_run(full), 12) == pytest.approx(1e-8 / (1 - SPAN_WEIGHT))
    # Hits more than RUN_GAP apart are two runs, each judged on its own; within it, one run.
    p = np.where(np.isin(np.arange(12), [0, 1, 10, 11]), 1e-3, 0.3)
    hit = np.isin(np.arange(12), [0, 1, 10, 11])
    far = np.where(np.arange(12) < 6, start, start + RUN_GAP + 5)
    assert best_run(_events(p, hit, far, far + 0.8)) == pytest.approx(1e-6)
    near = np.arange(12) * 0.25
    assert best_run(_events(p, hit, near, near + 0.2)) == 1.0


def test_alignment_p_value_takes_the_run_when_times_are_given():
    times = np.arange(24) * 0.5  # two rows per event
    keys = np.repeat(np.arange(12), 2)
    hit = keys < 6
    p_frame = np.where(keys < 6, 1e-4, 0.08)
    usable = np.ones(24, bool)
    plain, hits, n = alignment_p_value(p_frame, hit, keys, usable)
    spanned, _, _ = alignment_p_value(p_frame, hit, keys, usable, times=times)
    assert (hits, n) == (6, 12)
    assert plain == pytest.approx(poisson_binomial_tail(np.array([1e-4] * 6 + [0.08] * 6), 6))
    assert spanned == pytest.approx(1e-24 * 78 / SPAN_WEIGHT, rel=1e-6) and spanned < plain * 1e-12

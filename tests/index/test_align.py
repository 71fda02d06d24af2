import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fp.index.align import BIN, Candidates, hypotheses


def synthetic(offset, speed, n=40, noise_hits=200, seed=0, video=7, mirrored=False):
    rng = np.random.default_rng(seed)
    qt = np.arange(n) * 0.2
    true_rt = offset + speed * qt + rng.normal(0, 0.03, n)
    nq = rng.integers(0, n, noise_hits)
    noise_rt = rng.uniform(0, 600, noise_hits)
    q_idx = np.concatenate([np.arange(n), nq])
    return Candidates(q_idx, qt[q_idx], np.concatenate([np.full(n, video), rng.integers(1, 5, noise_hits)]),
                      np.concatenate([true_rt, noise_rt]), np.concatenate([rng.integers(0, 6, n), rng.integers(8, 15, noise_hits)]),
                      np.full(n + noise_hits, mirrored))


@settings(max_examples=30, deadline=None)
@given(offset=st.floats(0, 500), shift=st.floats(-30, 30))
def test_shifting_the_query_shifts_the_offset(offset, shift):
    base = hypotheses(synthetic(offset + 40, 1.0), radius=14)[0]
    moved = hypotheses(synthetic(offset + 40 + shift, 1.0), radius=14)[0]
    assert base.video_id == moved.video_id == 7
    assert abs((moved.offset - base.offset) - shift) <= BIN


@settings(max_examples=15, deadline=None)
@given(speed=st.floats(0.9, 1.1))
def test_speed_changes_are_found(speed):
    top = hypotheses(synthetic(100.0, speed, n=100), radius=14)[0]
    assert top.video_id == 7
    assert abs(top.speed - speed) <= 0.025  # the vote grid steps by 0.02
    assert abs(top.ref_time(10.0) - (100 + speed * 10)) <= 0.6


def test_no_candidates_no_hypotheses():
    empty = Candidates(*(np.zeros(0) for _ in range(5)), np.zeros(0, bool))
    assert hypotheses(empty, radius=14) == []

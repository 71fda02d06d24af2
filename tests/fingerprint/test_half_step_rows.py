"""A suspect's half-step rows (PHASE_VIEW): the whole picture half a sampling step after each
sample, hashed beside the samples without changing them."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from fp.fingerprint.pipeline import QUERY, REFERENCE, fingerprint_video
from fp.fingerprint.types import PHASE_VIEW

from ..conftest import clip


def test_half_step_rows_sit_between_the_samples_and_leave_them_as_they_were():
    path = clip("cockatoo.mp4")
    with_half = fingerprint_video(path, QUERY)
    without = fingerprint_video(path, replace(QUERY, phase_rows=False))
    rest = with_half.select(with_half.views != PHASE_VIEW)
    assert np.array_equal(rest.times, without.times) and np.array_equal(rest.views, without.views)
    assert np.array_equal(rest.codes, without.codes) and np.array_equal(rest.mirror_codes, without.mirror_codes)
    samples = without.times[without.views == 0]
    halves = with_half.times[with_half.views == PHASE_VIEW]
    assert len(halves) >= len(samples) - 1
    after = np.searchsorted(samples, halves, "right")
    assert np.all(after >= 1) and not np.isin(halves, samples).any()  # each after a sample, never on one ...
    assert np.all(np.abs(halves - samples[after - 1] - 0.1) < 0.03)  # ... half a step after one
    assert len(np.unique(after)) == len(after)  # one per step
    assert not (fingerprint_video(path, REFERENCE).views == PHASE_VIEW).any()  # references: samples only

"""Copies played faster or slower than the voted speeds (align.SPEEDS, 0.88-1.12): found near
where the lines cross; their spans are reported on a refit of the accepted line over a wider
window (verify.span_line)."""
from __future__ import annotations

import numpy as np
import pytest

from fp.index.align import fit_line
from fp.index.verify import SPAN_FIT, SPAN_SPEEDS

from ..conftest import best_match, write_video
from .test_matcher import iou
from .test_matcher_scenes import _frames


@pytest.mark.parametrize("name, start, speed", [("bbb_first60s.mp4", 5.0, 1.5), ("bbb_first60s.mp4", 5.0, 0.67),
                                                ("cockatoo.mp4", 1.0, 1.33)])
def test_a_copy_sped_past_the_voted_speeds_gets_its_speed_and_span(session_library, tmp_path, name, start, speed):
    frames = _frames(name, start, start + 6.0 * speed, fps=30 / speed)
    suspect = write_video(tmp_path / f"speed_{speed}.mp4", frames[:180], fps=30)
    best = best_match(session_library, suspect, name.rsplit(".", 1)[0])
    # reported on the voted line the spans came out 0.5-0.8 of the truth (benchmarks/scripts/beyond_ranges.py)
    assert abs(best.speed - speed) < 0.1, best.speed
    assert iou(best.ref_span, (start, start + 6.0 * speed)) > 0.9, best.ref_span
    assert best.query_span[1] - best.query_span[0] > 5.0, best.query_span


def test_the_span_fit_trusts_a_slope_over_four_seconds_up_to_twice_as_fast():
    q = np.linspace(0.0, 5.0, 26)
    a, b = fit_line(q, 10.0 + 1.5 * q + np.random.default_rng(0).normal(0, 0.05, len(q)), 1.12, 10.0, SPAN_FIT, SPAN_SPEEDS)
    assert abs(a - 1.5) < 0.05 and abs(b - 10.0) < 0.2
    # too short to tell speeds apart, or past 2x: the voted speed stays
    assert fit_line(q[:10], 10.0 + 1.5 * q[:10], 1.12, 10.0, SPAN_FIT, SPAN_SPEEDS)[0] == 1.12
    assert fit_line(q, 10.0 + 2.5 * q, 1.12, 10.0, SPAN_FIT, SPAN_SPEEDS)[0] == 1.12
    assert fit_line(q, 10.0 + 1.5 * q, 1.12, 10.0)[0] == 1.12  # the verifier's own fit: 10 s, 0.8-1.25

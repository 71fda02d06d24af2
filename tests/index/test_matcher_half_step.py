"""Copies of fast motion cut at the other phase of the 5-a-second sampling. `pattern.mp4` (a
ThreatExchange test pattern, tests/data/README.md) changes 4-26 of 64 bits from one frame to
the next; a copy whose frames fall half a step (0.1 s) from every stored reference frame sits
8-26 bits off on the true line, while the frame half a step later lands on a stored one (0-6
bits). The suspect's half-step frames (PHASE_VIEW) read the line again (matcher._verify_half_step).
"""
from __future__ import annotations

import shutil
from pathlib import Path

import av
import numpy as np
import pytest

from fp.fingerprint.pipeline import QUERY, fingerprint_video
from fp.fingerprint.types import PHASE_VIEW
from fp.index.indexer import index_paths
from fp.index.library import Library
from fp.index.matcher import Matcher

from ..conftest import write_video

DATA = Path(__file__).resolve().parents[1] / "data"
PATTERN = DATA / "fast" / "pattern.mp4"


@pytest.fixture(scope="module")
def with_pattern(session_library, tmp_path_factory):
    root = tmp_path_factory.mktemp("half_step") / "lib"
    shutil.copytree(session_library, root)
    with Library(root) as lib:
        assert index_paths(lib, [PATTERN], workers=1).count("indexed") == 1
    return root


def _cut(path: Path, start: float, length: float = 2.4) -> Path:
    with av.open(str(PATTERN)) as src:
        frames = [f.to_ndarray(format="rgb24") for f in src.decode(video=0) if start - 1e-6 <= f.time < start + length - 1e-6]
    return write_video(path, frames, fps=30)


@pytest.mark.parametrize("start", [3.1, 4.3])
def test_a_fast_copy_cut_between_the_stored_frames_is_found_on_the_half_steps(with_pattern, tmp_path, start):
    fpr = fingerprint_video(_cut(tmp_path / f"odd_{start}.mp4", start), QUERY)
    with Library(with_pattern) as lib:
        matcher = Matcher(lib)
        found = matcher.match_fingerprint(fpr)
        samples_only = matcher.match_fingerprint(fpr.select(fpr.views != PHASE_VIEW))
    assert [m.title for m in found.matches] == ["pattern"], found.nearest
    assert abs(found.matches[0].ref_span[0] - start) < 0.4
    assert samples_only.verdict == "no_match"  # what the half steps add, not a copy found anyway
    # The frame pairs (evidence) are the half-step frames the line was proven on, at their own
    # times: each lands on the stored frame it copies.
    q_t, ref_t, _ = np.array(found.matches[0].pairs).T
    assert np.median(ref_t - q_t) == pytest.approx(start, abs=0.04)


def test_a_copy_on_the_stored_phase_matches_as_before(with_pattern, tmp_path):
    fpr = fingerprint_video(_cut(tmp_path / "even.mp4", 3.2), QUERY)
    with Library(with_pattern) as lib:
        matcher = Matcher(lib)
        found = matcher.match_fingerprint(fpr)
        samples_only = matcher.match_fingerprint(fpr.select(fpr.views != PHASE_VIEW))
    assert [m.title for m in found.matches] == ["pattern"]
    assert found.matches[0].chance == samples_only.matches[0].chance


@pytest.mark.parametrize("name", ["rabbit.mp4", "pig.mp4"])
def test_unrelated_footage_stays_unmatched_with_the_half_steps(with_pattern, name):
    with Library(with_pattern) as lib:
        result = Matcher(lib).match_file(DATA / "negatives" / name)
    assert result.verdict == "no_match", [(m.title, m.chance) for m in result.matches]

"""Lines past any threshold are rejected without their backgrounds (verify's `give_up`): the
library floor alone is a lower bound of a line's chance, so skipping the rest changes no verdict
and no chance at or below GIVE_UP."""
from __future__ import annotations

import math

import pytest

from fp.index import matcher as matcher_module
from fp.index.library import Library
from fp.index.matcher import Matcher
from fp.index.verify import verify

from ..conftest import clip, write_video
from .test_matcher_scenes import _frames
from ..fingerprint.test_turned import crop


@pytest.fixture(scope="module")
def suspects(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("give_up")
    cropped = write_video(tmp / "elf_crop.mp4", _frames("elf.mp4", 2.0, 8.0, fps=30, edit=lambda img: crop(img, 0.3, 0.85, 0.95)), fps=30)
    return [cropped, clip("frog.mp4"), clip("stream-of-water.mp4")]


def _outcome(result):
    near = result.nearest["chance"] if result.nearest else None
    if result.nearest and near <= matcher_module.GIVE_UP:
        assert "chance_at_least" not in result.nearest  # at or below GIVE_UP every chance is exact
    return result.verdict, [(m.title, m.chance, m.query_span) for m in result.matches], near


def test_a_line_given_up_on_is_one_the_full_check_rejects_too(session_library, suspects, monkeypatch):
    calls = []

    def spy(*args):
        fast, full = verify(*args), verify(*args[:-1])
        calls.append((args[-1], fast, full))
        return fast

    with Library(session_library) as lib:
        monkeypatch.setattr(matcher_module, "GIVE_UP", math.inf)  # every line checked in full
        full = [_outcome(Matcher(lib).match_file(s)) for s in suspects]
        monkeypatch.undo()
        monkeypatch.setattr(matcher_module, "verify", spy)
        results = [Matcher(lib).match_file(s) for s in suspects]
        fast = [_outcome(r) for r in results]

    given_up = [(g, f, v) for g, f, v in calls if f.at_least]
    assert given_up, "no line was given up on"
    for give_up, bound, exact in given_up:
        assert bound.p_value > give_up and bound.p_value <= exact.p_value * (1 + 1e-9)
        assert bound.hit_keys == exact.hit_keys
    for give_up, v, exact in calls:
        if not v.at_least:
            assert v.p_value == exact.p_value
    assert fast[0][0] == "match" and full[0][0] == "match"
    for (verdict, matches, near), (verdict0, matches0, near0) in zip(fast, full):
        assert (verdict, matches) == (verdict0, matches0)
        if near0 is not None and near0 <= matcher_module.GIVE_UP:
            assert near == near0
        elif near0 is not None:
            assert near is not None and matcher_module.GIVE_UP <= near <= near0
    marked = [r.nearest for r in results if r.nearest and r.nearest.get("chance_at_least")]
    assert marked and all(n["chance"] >= matcher_module.GIVE_UP for n in marked)

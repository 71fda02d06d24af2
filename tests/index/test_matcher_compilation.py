"""A "best scenes" compilation: several excerpts of one title in one upload. Each excerpt is a
line through the same reference; a line is judged over the run of hits it holds (chance.span_p_value),
not over the other excerpts' frames, which sit elsewhere in the same title and look like its
background; after a match the video's hits on the rows it does not explain are voted again
(Matcher._other_lines): the first vote gives a video two lines, often one line at two speeds."""
from __future__ import annotations

import pytest

from fp.index.library import Library
from fp.index.matcher import MatchConfig, Matcher

from ..conftest import write_video
from .test_matcher import iou
from .test_matcher_scenes import _frames


@pytest.mark.parametrize("excerpts", [
    [(5.0, 11.0)],  # alone: one match (2.7e-13 before), no second line voted from what is left
    [(5.0, 11.0), (30.0, 36.0)],  # before: no match (nearest 0.0043)
    [(5.0, 10.0), (20.0, 25.0), (40.0, 45.0)],  # before: no match (nearest 126)
])
def test_every_excerpt_of_one_title_is_found(session_library, tmp_path, excerpts):
    frames = [f for a, b in excerpts for f in _frames("bbb_first60s.mp4", a, b, fps=30)]
    suspect = write_video(tmp_path / "best_scenes.mp4", frames, fps=30)
    with Library(session_library) as lib:
        result = Matcher(lib).match_file(suspect)
    assert result.verdict == "match", result.nearest
    assert {m.title for m in result.matches} == {"bbb_first60s"}
    found = sorted(m.ref_span for m in result.matches)
    assert len(found) == len(excerpts), found
    at = 0.0
    for (a, b), ref_span, m in zip(excerpts, found, sorted(result.matches, key=lambda m: m.ref_span)):
        assert iou(ref_span, (a, b)) > 0.7, (ref_span, (a, b))
        assert iou(m.query_span, (at, at + b - a)) > 0.7, (m.query_span, at)
        at += b - a


def test_max_matches_counts_titles_not_the_excerpts_of_one(session_library, tmp_path):
    """`max_matches` caps the titles reported; a compilation's excerpts are lines of one title
    (`max_lines` each). Before, it capped lines: max_matches=2 gave two of these four."""
    excerpts = [(5.0, 10.0), (20.0, 25.0), (40.0, 45.0)]
    frames = [f for a, b in excerpts for f in _frames("bbb_first60s.mp4", a, b, fps=30)]
    frames += _frames("cockatoo.mp4", 2.0, 8.0, fps=30)
    suspect = write_video(tmp_path / "two_titles.mp4", frames, fps=30)
    with Library(session_library) as lib:
        every = Matcher(lib).match_file(suspect)
        one = Matcher(lib, MatchConfig(max_matches=1)).match_file(suspect)
        two = Matcher(lib, MatchConfig(max_matches=2)).match_file(suspect)
        two_lines = Matcher(lib, MatchConfig(max_lines=2)).match_file(suspect)
    assert sorted(m.title for m in every.matches) == ["bbb_first60s"] * 3 + ["cockatoo"], every.matches
    (title,) = {m.title for m in one.matches}  # the first title verified (votes' order), alone
    assert len(one.matches) == (3 if title == "bbb_first60s" else 1)
    assert sorted(m.title for m in two.matches) == sorted(m.title for m in every.matches)  # before: 2 matches
    assert sorted(m.title for m in two_lines.matches) == ["bbb_first60s"] * 2 + ["cockatoo"]


def test_six_excerpts_of_slow_shots_each_keep_their_own_rows(session_library, tmp_path):
    """Six 5 s excerpts, 10 s apart in the title. Before, 4 were found: a line at 0.85x, tight on
    the fourth excerpt (30-35 s) and 6 bits off the next ones (one slow shot), claimed their rows,
    and the first excerpt's line reached 1.4 s into the second. Now a match leaves out runs of
    min_span or more of rows whose nearest hash of the title lies more than LOCAL s off its line
    and ELSEWHERE bits closer (_elsewhere): 5 found. The fifth (40-45 s) is still taken: only
    1.2 s of its rows have a closer hash elsewhere among their searched neighbours."""
    excerpts = [(2.0, 7.0), (10.0, 15.0), (20.0, 25.0), (30.0, 35.0), (40.0, 45.0), (50.0, 55.0)]
    frames = [f for a, b in excerpts for f in _frames("bbb_first60s.mp4", a, b, fps=30)]
    suspect = write_video(tmp_path / "six_scenes.mp4", frames, fps=30)
    with Library(session_library) as lib:
        result = Matcher(lib).match_file(suspect)
    assert {m.title for m in result.matches} == {"bbb_first60s"}
    found = [(a, b) for a, b in excerpts  # a match's reference span covers half the excerpt or more
             if any(min(m.ref_span[1], b) - max(m.ref_span[0], a) >= 0.5 * (b - a) for m in result.matches)]
    assert len(found) >= 5, (found, sorted(m.ref_span for m in result.matches))

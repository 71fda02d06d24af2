"""Benchmark generator: real clips end to end, small frames for the edits."""
from __future__ import annotations

import json
import random
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from fp.benchmarks import transforms as tf
from fp.benchmarks.generate import (ClipInfo, find_clips, frame_at, groups_from_clips_json,
                                    make_benchmark, plan_benchmark, probe_clip)
from fp.benchmarks.truth import Truth, TruthFormatError, load_truth, save_truth

SAMPLES = Path(__file__).parents[1] / "data" / "sample_clips"
EDITS = ["mirror", "crop", "letterbox", "speed", "splice", "pip", "fps"]
MAX_HEIGHT = 360
PRESET = "superfast"  # quicker than the default veryfast; same code path


def _mae(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def _fit(frame: np.ndarray, like: np.ndarray) -> np.ndarray:
    return tf.resize_to(frame, like.shape[1], like.shape[0])


@pytest.fixture(scope="module")
def refs_dir(tmp_path_factory) -> Path:
    """The three shortest sample clips, linked into a fresh folder."""
    clips = sorted(find_clips(SAMPLES), key=lambda c: (c.duration, c.path))
    assert len(clips) >= 3, f"need 3 real clips in {SAMPLES}"
    folder = tmp_path_factory.mktemp("refs")
    for clip in clips[:3]:
        (folder / Path(clip.path).name).symlink_to((SAMPLES / clip.path).resolve())
    (folder / "notes.txt").write_text("not a video")
    return folder


@pytest.fixture(scope="module")
def bench(refs_dir, tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("bench")
    calls = []
    truth = make_benchmark(refs_dir, out_dir, seed=7, edits=EDITS, combos_per_ref=1,
                           excerpt_range=(2.0, 4.0), max_height=MAX_HEIGHT, preset=PRESET,
                           workers=2,
                           progress=lambda done, total, label: calls.append((done, total)))
    clips = {c.path: c for c in find_clips(refs_dir)}
    return truth, out_dir, clips, calls


def _only(truth: Truth, edit: str):
    found = [q for q in truth.queries if q.edits == (edit,) and q.kind == "copy"]
    assert found, f"no single-edit {edit} query"
    return found[0]


def _pair(bench, query, q_t: float):
    """(query frame at q_t, reference frame shown there)."""
    truth, out_dir, _, _ = bench
    ref_t = query.ref_span[0] + (q_t - query.query_span[0]) * query.speed
    q_frame = frame_at(out_dir / query.query, q_t)
    ref_frame = frame_at(Path(out_dir / truth.refs_dir) / query.reference, ref_t, MAX_HEIGHT)
    return q_frame, ref_frame


def _mid(query) -> float:
    fps = query.params["encode"]["fps"]
    return round(sum(query.query_span) / 2 * fps) / fps


# -- end to end on real clips ---------------------------------------------------

def test_split_and_counts(bench):
    truth, out_dir, clips, calls = bench
    assert "notes.txt" not in clips
    assert len(truth.references) == 2 and len(truth.negatives) == 1
    assert not set(truth.references) & set(truth.negatives)
    copies = [q for q in truth.queries if q.kind == "copy"]
    # each edit once per reference, one whole title and one combination
    assert len(copies) == 2 * (len(EDITS) + 2)
    assert sum(q.kind == "negative" for q in truth.queries) == 2
    assert calls[-1] == (len(truth.queries), len(truth.queries))
    for query in truth.queries:
        assert (out_dir / query.query).stat().st_size > 1000


def test_truth_round_trips(bench, tmp_path):
    truth, out_dir, _, _ = bench
    assert load_truth(out_dir / "truth.json") == truth
    save_truth(truth, tmp_path / "again.json")
    assert json.loads((tmp_path / "again.json").read_text()) == truth.to_dict()


def test_plan_is_deterministic_per_seed(bench, refs_dir):
    truth, _, _, _ = bench
    clips = find_clips(refs_dir)
    kwargs = dict(edits=EDITS, combos_per_ref=1, excerpt_range=(2.0, 4.0), max_height=MAX_HEIGHT,
                  preset=PRESET)
    first = plan_benchmark(clips, seed=7, **kwargs).plans
    again = plan_benchmark(clips, seed=7, **kwargs).plans
    other = plan_benchmark(clips, seed=8, **kwargs).plans
    assert [p.to_dict() for p in first] == [p.to_dict() for p in again]
    assert [p.truth for p in first] == list(truth.queries)
    assert [p.truth.query for p in first] != [p.truth.query for p in other]


def test_spans_inside_clip_bounds(bench):
    truth, out_dir, clips, _ = bench
    excerpt_lengths = []
    for query in truth.queries:
        if query.reference is None:
            continue
        clip = clips[query.reference]
        start, end = query.ref_span
        assert clip.start - 1e-3 <= start < end <= clip.end + 1e-3, query.query
        q_start, q_end = query.query_span
        assert q_end - q_start == pytest.approx((end - start) / query.speed, abs=2e-3)
        excerpt_lengths.append(end - start)
    assert min(excerpt_lengths) == pytest.approx(min(2.0, min(c.duration for c in clips.values())),
                                                 abs=2e-3)


def test_query_durations_match_spans(bench):
    truth, out_dir, _, _ = bench
    for query in truth.queries:
        info = probe_clip(out_dir / query.query)
        assert info is not None, query.query
        fps = query.params["encode"]["fps"]
        assert info.fps == pytest.approx(fps, rel=0.02)
        assert info.duration == pytest.approx(query.params["encode"]["duration"], abs=1.5 / fps)
        if query.query_span and "splice" not in query.edits:
            assert query.query_span[0] == 0.0
            assert info.duration == pytest.approx(query.query_span[1], abs=1.5 / fps)


def test_negatives_are_unrelated(bench):
    truth, _, _, _ = bench
    negatives = [q for q in truth.queries if q.kind == "negative"]
    for query in negatives:
        assert query.reference is None and query.ref_span is None
        assert query.params["source"] in truth.negatives
    # unrelated footage only ever comes from the negatives
    for query in truth.queries:
        for name, params in query.params["edits"].items():
            for key in ("background", "prefix", "suffix"):
                if key in params:
                    assert params[key]["path"] in truth.negatives, (name, query.query)


def test_mirror_flips_the_copy(bench):
    query = _only(bench[0], "mirror")
    assert query.mirrored
    q_frame, ref_frame = _pair(bench, query, _mid(query))
    ref_frame = _fit(ref_frame, q_frame)
    flipped = _mae(q_frame, ref_frame[:, ::-1])
    assert flipped < 10
    assert flipped < 0.6 * _mae(q_frame, ref_frame)


def test_crop_shows_the_cropped_region(bench):
    query = _only(bench[0], "crop")
    p = query.params["edits"]["crop"]
    q_frame, ref_frame = _pair(bench, query, _mid(query))
    height, width = ref_frame.shape[:2]
    crop_w, crop_h = round(width * (1 - p["frac"])), round(height * (1 - p["frac"]))
    x0, y0 = round((width - crop_w) * p["x_pos"]), round((height - crop_h) * p["y_pos"])
    region = _fit(ref_frame[y0:y0 + crop_h, x0:x0 + crop_w], q_frame)
    assert q_frame.shape == ref_frame.shape
    assert _mae(q_frame, region) < 10
    assert _mae(q_frame, region) < 0.8 * _mae(q_frame, ref_frame)


def test_letterbox_bars_have_the_bar_colour(bench):
    query = _only(bench[0], "letterbox")
    p = query.params["edits"]["letterbox"]
    q_frame, ref_frame = _pair(bench, query, _mid(query))
    pad = round(ref_frame.shape[0] * p["frac"])
    boxed_h = ref_frame.shape[0] + 2 * pad
    scale = min(1.0, MAX_HEIGHT / boxed_h)  # the writer caps the height
    assert q_frame.shape[0] == pytest.approx(boxed_h * scale, abs=2)
    pad = int(pad * scale)
    top, bottom = q_frame[:pad - 2], q_frame[-(pad - 2):]
    if p["style"] == "noise":
        assert top.std() > 15 and bottom.std() > 15
    else:
        level = tf.BAR_COLOURS[p["style"]]
        assert abs(top.mean() - level) < 8 and abs(bottom.mean() - level) < 8
        assert top.std() < 6
    content = q_frame[pad:q_frame.shape[0] - pad]
    assert _mae(content, _fit(ref_frame, content)) < 10


def test_speed_changes_duration_and_timing(bench):
    truth, out_dir, _, _ = bench
    query = _only(truth, "speed")
    factor = query.params["edits"]["speed"]["factor"]
    assert query.speed == factor and abs(factor - 1) >= 0.03
    info = probe_clip(out_dir / query.query)
    span = query.ref_span[1] - query.ref_span[0]
    assert info.duration == pytest.approx(span / factor, abs=0.1)
    fps = query.params["encode"]["fps"]
    late = round(0.9 * query.query_span[1] * fps) / fps
    q_frame, ref_frame = _pair(bench, query, late)
    assert _mae(q_frame, _fit(ref_frame, q_frame)) < 10


def test_splice_puts_the_copy_inside_unrelated_footage(bench):
    query = _only(bench[0], "splice")
    p = query.params["edits"]["splice"]
    assert query.query_span[0] == pytest.approx(p["prefix_s"]) and query.query_span[0] >= 1.0
    q_frame, ref_frame = _pair(bench, query, _mid(query))
    inside = _mae(q_frame, _fit(ref_frame, q_frame))
    assert inside < 10
    before = frame_at(bench[1] / query.query, query.query_span[0] / 2)
    assert _mae(before, _fit(ref_frame, before)) > 2 * inside


def test_pip_places_the_copy_over_other_footage(bench):
    query = _only(bench[0], "pip")
    p = query.params["edits"]["pip"]
    assert tf.PIP_AREA[0] <= p["area"] <= tf.PIP_AREA[1]
    q_frame, ref_frame = _pair(bench, query, _mid(query))
    height, width = q_frame.shape[:2]
    scale = p["area"] ** 0.5
    inner_w, inner_h = round(width * scale), round(height * scale)
    x0, y0 = round((width - inner_w) * p["x_pos"]), round((height - inner_h) * p["y_pos"])
    inner = q_frame[y0 + 2:y0 + inner_h - 2, x0 + 2:x0 + inner_w - 2]
    expected = tf.resize_to(ref_frame, inner_w, inner_h)[2:-2, 2:-2]
    assert _mae(inner, expected) < 12
    assert _mae(q_frame, _fit(ref_frame, q_frame)) > 2 * _mae(inner, expected)


def test_fps_edit_sets_the_frame_rate(bench):
    truth, out_dir, _, _ = bench
    query = _only(truth, "fps")
    fps = query.params["edits"]["fps"]["fps"]
    assert fps in tf.FPS_CHOICES
    assert probe_clip(out_dir / query.query).fps == pytest.approx(fps, rel=0.02)


def test_refuses_a_non_empty_output_folder(bench, refs_dir):
    from fp.benchmarks.truth import BenchmarkError
    with pytest.raises(BenchmarkError, match="not empty"):
        make_benchmark(refs_dir, bench[1], edits=["mirror"])


# -- planning without video -----------------------------------------------------

def _fake(path: str, duration: float) -> ClipInfo:
    return ClipInfo(path=path, start=0.0, end=duration, fps=25.0, width=640, height=360,
                    frames=int(duration * 25))


def test_groups_go_to_one_side_and_variants_become_natural_queries(tmp_path):
    clips = [_fake("a/long.mp4", 40.0), _fake("a/cut.mp4", 10.0), _fake("b.mp4", 12.0),
             _fake("c.mp4", 9.0), _fake("d.mp4", 6.0)]
    clips_json = tmp_path / "clips.json"
    clips_json.write_text(json.dumps({"version": 1, "clips": [
        {"path": "a/long.mp4", "group": "a"},
        {"path": "a/cut.mp4", "group": "a", "variant_of": "a/long.mp4", "offset": 20.0,
         "rate": 1.0}]}))
    groups, variants = groups_from_clips_json(clips_json)
    for seed in range(6):
        plan = plan_benchmark(clips, seed=seed, edits=["mirror"], combos=False,
                              groups=groups, variants=variants)
        refs, negs, plans = plan.references, plan.negatives, plan.plans
        names = {c.path for c in refs} | {c.path for c in negs}
        assert "a/cut.mp4" not in names and len(negs) >= 1
        natural = [p.truth for p in plans if p.truth.kind == "natural"]
        if "a/long.mp4" in {c.path for c in refs}:
            assert len(natural) == 1
            assert natural[0].reference == "a/long.mp4"
            assert natural[0].ref_span == (20.0, 30.0) and natural[0].query_span == (0.0, 10.0)
        else:
            assert natural == []


def test_unknown_edit_is_a_clear_error():
    with pytest.raises(tf.EditError, match="unknown edit"):
        plan_benchmark([_fake("a.mp4", 10)], edits=["mirror", "wobble"])


def test_no_negatives_drops_footage_edits():
    plan = plan_benchmark([_fake("a.mp4", 10), _fake("b.mp4", 8)],
                          edits=["pip", "splice", "mirror"], combos=False)
    refs, negs, plans = plan.references, plan.negatives, plan.plans
    assert negs == [] or len(refs) == 1
    if not negs:
        assert all(set(p.truth.edits) <= {"mirror"} for p in plans)


# -- truth file validation ----------------------------------------------------

def _truth_dict() -> dict:
    return {"version": 1, "seed": 0, "references": ["r.mp4"], "negatives": ["n.mp4"],
            "queries": [{"query": "q.mp4", "reference": "r.mp4", "ref_span": [1, 3],
                         "query_span": [0, 2], "speed": 1.0, "mirrored": False,
                         "edits": [], "params": {}, "kind": "copy"}]}


@pytest.mark.parametrize("change, message", [
    (lambda d: d.update(version=2), "version"),
    (lambda d: d["queries"][0].update(reference="x.mp4"), "not listed"),
    (lambda d: d["queries"][0].update(kind="negative"), "null exactly"),
    (lambda d: d["queries"][0].update(ref_span=[3, 1]), "start < end"),
    (lambda d: d["queries"][0].update(query_span=None), "both"),
    (lambda d: d["queries"][0].update(speed=0), "speed"),
    (lambda d: d["queries"].append(dict(d["queries"][0])), "repeat"),
    (lambda d: d.update(negatives=["r.mp4"]), "also listed"),
])
def test_loader_names_file_and_problem(tmp_path, change, message):
    data = _truth_dict()
    change(data)
    path = tmp_path / "truth.json"
    path.write_text(json.dumps(data))
    with pytest.raises(TruthFormatError, match=message) as info:
        load_truth(path)
    assert str(path) in str(info.value)


def test_loader_rejects_bad_json(tmp_path):
    path = tmp_path / "truth.json"
    path.write_text("{not json")
    with pytest.raises(TruthFormatError, match="not valid JSON"):
        load_truth(path)


# -- edits on small generated frames ------------------------------------------

def _frame(height: int = 90, width: int = 160, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (9, 16, 3), dtype=np.uint8)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


@pytest.mark.parametrize("style", ["black", "grey", "white"])
def test_bars_are_the_requested_colour(style):
    frame = _frame()
    boxed = tf.bars("letterbox", 0.1, style)(frame)
    assert boxed.shape == (108, 160, 3)
    level = tf.BAR_COLOURS[style]
    assert (boxed[:9] == level).all() and (boxed[-9:] == level).all()
    assert (boxed[9:-9] == frame).all()
    pillar = tf.bars("pillarbox", 0.1, style)(frame)
    assert pillar.shape == (90, 192, 3) and (pillar[:, :16] == tf.BAR_COLOURS[style]).all()


def test_noise_bars_are_noisy():
    boxed = tf.bars("pillarbox", 0.15, "noise", seed=3)(_frame())
    assert boxed[:, :20].std() > 20


@settings(max_examples=30, deadline=None)
@given(frac=st.floats(0.1, 0.2), x_pos=st.floats(0, 1), y_pos=st.floats(0, 1))
def test_crop_keeps_size_and_shows_a_window(frac, x_pos, y_pos):
    frame = _frame(seed=1)
    out = tf.crop(frac, x_pos, y_pos)(frame)
    assert out.shape == frame.shape
    height, width = frame.shape[:2]
    crop_w, crop_h = round(width * (1 - frac)), round(height * (1 - frac))
    x0, y0 = round((width - crop_w) * x_pos), round((height - crop_h) * y_pos)
    assert (out[0, 0].astype(int) - frame[y0, x0]).__abs__().max() <= 40


def test_rotate_hides_the_corners():
    frame = np.full((90, 160, 3), 200, np.uint8)
    out = tf.rotate(6.0)(frame)
    assert out.shape == frame.shape and out.min() >= 190


def test_reframe_is_vertical_with_sharp_centre():
    frame = _frame(180, 320)
    out = tf.reframe_vertical(20.0, max_height=720)(frame)
    height, width = out.shape[:2]
    assert abs(width / height - 9 / 16) < 0.02 and width % 2 == 0 and height % 2 == 0
    fg_h = round(180 * width / 320)
    y0 = (height - fg_h) // 2
    assert _mae(out[y0:y0 + fg_h], tf.resize_to(frame, width, fg_h)) < 3


def test_logo_and_caption_change_only_part_of_the_frame():
    frame = _frame()
    marked = tf.logo("HDTV", [200, 0, 0], 0.2, "tr", 1.0)(frame)
    changed = np.abs(marked.astype(int) - frame).sum(axis=2) > 0
    assert changed[:, 80:].sum() > 0 and changed[:, :80].sum() == 0
    assert 0.02 < changed.mean() < 0.1
    captioned = tf.caption("link in bio", 0.9, 0.06, [255, 255, 255])(frame)
    changed = np.abs(captioned.astype(int) - frame).sum(axis=2) > 0
    assert changed[:45].sum() == 0 and changed[45:].sum() > 0


def test_mirror_greyscale_and_scale():
    frame = _frame()
    assert (tf.mirror()(frame) == frame[:, ::-1]).all()
    grey = tf.greyscale()(frame)
    assert (grey[..., 0] == grey[..., 1]).all() and (grey[..., 1] == grey[..., 2]).all()
    assert tf.scale_to_height(240)(_frame(360, 640)).shape == (240, 426, 3)


def test_speed_and_splice_retime_the_stream():
    frames = [(i / 10, np.full((4, 6, 3), i, np.uint8)) for i in range(10)]
    fast = list(tf.change_speed(1.25)(iter(frames)))
    assert fast[-1][0] == pytest.approx(0.9 / 1.25)
    unrelated = iter([(i / 10, np.full((8, 8, 3), 255, np.uint8)) for i in range(100)])
    spliced = list(tf.splice(unrelated, 0.5, iter([(0.0, frames[0][1])]), 0.3, 1.0)(iter(frames)))
    times = [t for t, _ in spliced]
    assert times == sorted(times)
    assert all(f.shape == (4, 6, 3) for _, f in spliced)
    assert [t for t, f in spliced if f[0, 0, 0] == 255] == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])
    assert spliced[5][0] == pytest.approx(0.5) and spliced[-1][0] == pytest.approx(1.5)


def test_sampled_params_are_reproducible():
    ctx = tf.EditContext(footage=(tf.Footage("n.mp4", 20.0),), source_fps=25.0)
    first = tf.sample_edits(tf.EDIT_NAMES, random.Random(5), ctx)
    again = tf.sample_edits(tf.EDIT_NAMES, random.Random(5), ctx)
    assert first == again
    assert [e.name for e in first] == list(tf.EDIT_NAMES)
    json.dumps([e.to_dict() for e in first])


def test_footage_shorter_than_the_shortest_excerpt_is_never_a_reference():
    from fp.benchmarks.generate import split_clips

    clips = [ClipInfo(path=f"c{i}.mp4", start=0.0, end=d, fps=25.0, width=640, height=360, frames=int(d * 25))
             for i, d in enumerate([3.0, 4.0, 12.0, 20.0, 30.0, 8.0])]
    for seed in range(10):
        refs, negs, _ = split_clips(clips, random.Random(seed), 0.25, None, {}, min_ref_seconds=5.0)
        assert {"c0.mp4", "c1.mp4"} <= {c.path for c in negs}
        assert all(c.duration >= 5.0 for c in refs) and len(refs) >= 3


def _real_stream(name="bbb_first60s.mp4", n=5):
    import av

    from .conftest import clip
    out = []
    with av.open(str(clip(name))) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i % 10 == 0:
                out.append((f.time, f.to_ndarray(format="bgr24")))
            if len(out) >= n:
                break
    return out


@pytest.mark.parametrize("aspect, pos", [(9 / 16, 0.0), (9 / 16, 1.0), (1.0, 0.5)])
def test_cut_to_fill_keeps_that_shape_of_the_picture(aspect, pos):
    _, frame = _real_stream(n=1)[0]
    out = tf.cut_to_fill(aspect, pos)(frame)
    assert abs(out.shape[1] / out.shape[0] - aspect) < 0.02
    h, w = frame.shape[:2]
    cw = round(h * aspect)
    x0 = round((w - cw) * pos)
    expected = tf.resize_to(frame[:, x0:x0 + cw], out.shape[1], out.shape[0])
    assert _mae(out, expected) < 3


@pytest.mark.parametrize("top, squeeze, fill", [(True, False, 255), (False, True, 0), (True, True, 90)])
def test_meme_puts_a_band_of_words_beside_the_whole_picture(top, squeeze, fill):
    _, frame = _real_stream(n=1)[0]
    h, w = frame.shape[:2]
    out = tf.meme("when the movie hits different", 0.3, top, fill, squeeze)(frame)
    assert out.shape[1] == w and out.shape[0] % 2 == 0 and (out.shape[0] == h) == squeeze
    strip_h = round(out.shape[0] * 0.3)
    band, picture = (out[:strip_h], out[strip_h:]) if top else (out[-strip_h:], out[:-strip_h])
    assert 0.6 < float(np.mean(band == fill)) < 0.99  # words on a plain band
    assert _mae(picture, tf.resize_to(frame, w, picture.shape[0])) < 1  # the whole picture, at most squeezed


@pytest.mark.parametrize("place, fit", [("top", "cover"), ("right", "fit")])
def test_split_screen_puts_the_copy_in_its_part(place, fit):
    copy, other = _real_stream(), _real_stream("cockatoo.mp4")
    frames = list(tf.split_screen(iter(other), place, 0.5, fit)(iter(copy)))
    assert len(frames) == len(copy)
    (_, out), (_, frame) = frames[-1], copy[-1]
    h, w = out.shape[:2]
    assert (h > w) == (place in ("top", "bottom"))
    part = out[: h // 2] if place == "top" else out[:, w // 2:]
    ph, pw = part.shape[:2]
    if fit == "cover":
        expected = tf.cover(frame, pw, ph)
    else:
        scale = min(pw / frame.shape[1], ph / frame.shape[0])
        iw, ih = round(frame.shape[1] * scale), round(frame.shape[0] * scale)
        y0, x0 = (ph - ih) // 2, (pw - iw) // 2
        part, expected = part[y0 + 2: y0 + ih - 2, x0 + 2: x0 + iw - 2], tf.resize_to(frame, iw, ih)[2:-2, 2:-2]
    assert _mae(part, expected) < 4

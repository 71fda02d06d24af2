"""The widened benchmark (issue 11): wider edits, multi-scene titles, same-set and other
unrelated footage, short copies; a small one generated end to end from real clips."""
from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from fp.benchmarks import transforms as tf
from fp.benchmarks.generate import (ClipInfo, find_clips, frame_at, known_sets, make_benchmark,
                                    plan_benchmark, probe_clip, split_clips)
from fp.benchmarks.harness import reference_paths, run_benchmark
from fp.benchmarks.truth import Truth, TruthFormatError, load_truth, resolve_refs_dir, save_truth
from fp.index.inner_check import MAX_LINE_CHANCE

SAMPLES = Path(__file__).parents[1] / "data" / "sample_clips"
CLIPS = ("elf.mp4", "frog.mp4", "flower.mp4", "friday.mp4", "stream-of-water.mp4")
MAX_HEIGHT = 240


def _frame(height: int = 90, width: int = 160, seed: int = 0) -> np.ndarray:
    import cv2
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (9, 16, 3), dtype=np.uint8)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


def _mae(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


# -- edits on small frames ------------------------------------------------------------

@pytest.mark.parametrize("canvas, aspect", [("9x16", 9 / 16), ("16x9", 16 / 9)])
@pytest.mark.parametrize("scale", [0.3, 0.6, 1.0])
def test_reframe_both_ways_puts_a_scaled_picture_on_a_darkened_blur(canvas, aspect, scale):
    frame = _frame(180, 320) if canvas == "9x16" else _frame(320, 180)
    out = tf.reframe(canvas, scale, 20.0, 0.5, max_height=640)(frame)
    height, width = out.shape[:2]
    assert abs(width / height - aspect) < 0.02
    fit = min(width / frame.shape[1], height / frame.shape[0]) * scale
    fg_w, fg_h = round(frame.shape[1] * fit), round(frame.shape[0] * fit)
    x0, y0 = (width - fg_w) // 2, (height - fg_h) // 2
    inner = out[y0 + 2:y0 + fg_h - 2, x0 + 2:x0 + fg_w - 2]
    assert _mae(inner, tf.resize_to(frame, fg_w, fg_h)[2:-2, 2:-2]) < 6
    if scale < 1:  # background all round (both ways), blurred and about half as bright
        back = out[:max(2, y0 - 2)] if canvas == "9x16" else out[:, :max(2, x0 - 2)]
        assert back.std() < frame.std() and back.mean() < 0.7 * frame.mean()


def test_tiny_reframe_has_the_requested_short_side():
    out = tf.reframe("16x9", 0.5, 10.0, 0.0, max_height=720, short_side=144)(_frame(360, 640))
    assert min(out.shape[:2]) == 144 and abs(out.shape[1] / out.shape[0] - 16 / 9) < 0.03


def test_reframe_rejects_bad_parameters():
    with pytest.raises(tf.EditError, match="canvas"):
        tf.reframe("4x3")
    with pytest.raises(tf.EditError, match="scale"):
        tf.reframe("9x16", scale=0.0)


def test_old_reframe_params_still_build_the_old_edit():
    # truth files written before issue 11 hold only blur_sigma for reframe_9x16
    ctx = tf.EditContext(max_height=720)
    old = tf.EDIT_SPECS["reframe_9x16"].build({"blur_sigma": 20.0}, ctx)
    frame = _frame(180, 320)
    assert np.array_equal(old(frame), tf.reframe_vertical(20.0, 720)(frame))
    fg_h = round(180 * old(frame).shape[1] / 320)
    y0 = (old(frame).shape[0] - fg_h) // 2
    assert _mae(old(frame)[y0 + 2:y0 + fg_h - 2], tf.resize_to(frame, old(frame).shape[1], fg_h)[2:-2]) < 4


def test_speed_degraded_retimes_adds_noise_and_asks_for_a_low_bitrate():
    ctx = tf.EditContext(source_fps=25.0)
    edits = tf.sample_edits(["speed_degraded"], random.Random(1), ctx)
    params = edits[0].params
    assert tf.speed_of(edits) == params["factor"] and tf.bitrate_of(edits) == params["kbps_360p"]
    frames = [(i / 10, np.full((8, 8, 3), 128, np.uint8)) for i in range(10)]
    out = list(tf.build_pipeline(edits, ctx)(iter(frames)))
    assert out[-1][0] == pytest.approx(0.9 / params["factor"])
    assert any(f.std() > 0 for _, f in out)
    assert not tf.compatible(["speed", "speed_degraded"]) and not tf.compatible(["low_bitrate", "speed_degraded"])
    assert not tf.compatible(["reframe_9x16", "reframe_16x9"]) and tf.compatible(["reframe_9x16", "logo"])


def test_sampled_ranges_are_the_widened_ones():
    ctx = tf.EditContext(footage=(tf.Footage("n.mp4", 20.0),), source_fps=25.0)
    rng = random.Random(0)
    draws = [tf.sample_edits(tf.EDIT_NAMES, rng, ctx) for _ in range(300)]
    by = {name: [next(e.params for e in d if e.name == name) for d in draws] for name in tf.EDIT_NAMES}
    crop = [p["frac"] for p in by["crop"]]
    assert tf.CROP_FRAC[0] <= min(crop) < 0.1 and 0.2 < max(crop) <= tf.CROP_FRAC[1]  # beyond 0.1-0.2
    angles = [abs(p["angle_deg"]) for p in by["rotate"]]
    assert min(angles) < 2 and max(angles) > 6
    speeds = [p["factor"] for p in by["speed"]]
    assert min(speeds) < 0.9 and max(speeds) > 1.1 and all(abs(s - 1) >= 0.03 for s in speeds)
    scales = [p["scale"] for p in by["reframe_9x16"] + by["reframe_16x9"]]
    assert min(scales) < 0.4 and max(scales) > 0.9
    assert any(p["darken"] > 0.3 for p in by["reframe_16x9"]) and any(p["darken"] == 0 for p in by["reframe_16x9"])
    assert {p["canvas"] for p in by["reframe_tiny"]} == {"9x16", "16x9"}
    assert all(tf.TINY_SHORT_SIDE[0] <= p["short_side"] <= tf.TINY_SHORT_SIDE[1] for p in by["reframe_tiny"])
    areas = [p["area"] for p in by["pip"]]
    assert min(areas) < 1 / 3 and max(areas) > 1 / 2
    assert min(p["kbps_360p"] for p in by["low_bitrate"]) < 120
    assert any(p["y_frac"] < 0.5 for p in by["caption"]) and any(p["y_frac"] > 0.5 for p in by["caption"])
    assert {p["fps"] for p in by["fps"]} - {15, 24, 60}


# -- planning -------------------------------------------------------------------------

def _fake(path: str, duration: float, width: int = 640, height: int = 360) -> ClipInfo:
    return ClipInfo(path=path, start=0.0, end=duration, fps=25.0, width=width, height=height,
                    frames=int(duration * 25))


FAKES = [_fake("t/elf.mp4", 8), _fake("t/frog.mp4", 8), _fake("t/pig.mp4", 7), _fake("t/rabbit.mp4", 8),
         _fake("long.mp4", 60), _fake("bird.mp4", 14), _fake("talk.mp4", 6), _fake("tall.mp4", 20, 480, 720),
         _fake("tiny.mp4", 3), _fake("pattern.mp4", 6), _fake("city.mp4", 12), _fake("sea.mp4", 9)]
SETS = {c.path: "table" for c in FAKES[:4]}


def test_same_set_footage_is_split_between_references_and_negatives():
    for seed in range(8):
        refs, negs, _ = split_clips(FAKES, random.Random(seed), 0.1, None, {}, min_ref_seconds=5.0,
                                    sets=SETS, unused={"pattern.mp4"})
        on_table = [c.path for c in refs if c.path in SETS]
        assert len(on_table) == 1 and sum(c.path in SETS for c in negs) == 3
        assert {"tiny.mp4", "pattern.mp4"} <= {c.path for c in negs}


def _widened(seed: int = 0, **kwargs):
    motion = {"long.mp4": 2.0, "bird.mp4": 20.0, "talk.mp4": 6.0}
    return plan_benchmark(FAKES, seed=seed, edits=["mirror", "crop", "pip"], negatives_fraction=0.1,
                          titles=2, sets=SETS, unused={"pattern.mp4"}, negatives_total=60,
                          short_copies_per_ref=3, motion=lambda p: motion.get(p, 10.0), **kwargs)


def test_titles_join_scenes_with_a_same_set_scene_and_the_stillest_clip():
    plan = _widened()
    assert len(plan.titles) == 2
    first, second = plan.titles
    scenes = [s.source for t in plan.titles for s in t.scenes]
    assert len(scenes) == len(set(scenes)) and "tall.mp4" not in scenes  # landscape scenes, each once
    assert any(s in SETS for s in (x.source for x in first.scenes))
    assert "long.mp4" in {s.source for s in first.scenes}  # the stillest clip, in the first title
    long_scene = next(s for s in first.scenes if s.source == "long.mp4")
    assert 10.0 <= long_scene.length <= 20.0  # a long clip gives an excerpt
    for title in plan.titles:
        ats = [s.at for s in title.scenes]
        assert ats[0] == 0 and all(b == pytest.approx(a.at + a.length, abs=1e-3)
                                   for a, b in zip(title.scenes, ats[1:]))
    paths = [c.path for c in plan.references]
    assert first.path in paths and second.path in paths and not set(scenes) & set(paths)


def test_copies_of_titles_stay_inside_them_and_short_copies_are_2_to_3_s():
    plan = _widened()
    durations = {t.path: t.duration for t in plan.titles}
    copies = [p.truth for p in plan.plans if p.truth.reference in durations]
    assert copies
    for q in copies:
        assert 0 <= q.ref_span[0] < q.ref_span[1] <= durations[q.reference] + 1e-3
    shorts = [p.truth for p in plan.plans if p.truth.group == "short"]
    assert len(shorts) == 3 * len(plan.references)
    assert all(2.0 - 1e-3 <= q.ref_span[1] - q.ref_span[0] <= 3.0 + 1e-3 for q in shorts)


def test_negatives_of_every_kind_and_same_set_ones_come_from_the_table():
    plan = _widened()
    negs = [p for p in plan.plans if p.truth.kind == "negative"]
    assert len(negs) == 60
    groups = {p.truth.group for p in negs}
    assert groups == {"same_set", "heldout", "same_source", "card", "black", "static"}
    for p in negs:
        if p.truth.group == "same_set":
            assert p.source in SETS and p.source in {c.path for c in plan.negatives}
        if p.truth.group == "same_source":  # the rest of a clip one title shows an excerpt of
            scene = next(s for t in plan.titles for s in t.scenes if s.source == p.source)
            start, end = p.source_span
            assert end <= scene.start - 2.9 or start >= scene.end + 2.9
        if p.truth.group in ("card", "black"):
            assert p.synthetic["kind"] in ("card", "credits", "black") and p.source == ""


def test_widened_plan_is_deterministic():
    first, again = _widened(3), _widened(3)
    assert [p.to_dict() for p in first.plans] == [p.to_dict() for p in again.plans]
    assert first.titles == again.titles
    assert [p.truth.query for p in _widened(4).plans] != [p.truth.query for p in first.plans]


# -- truth ----------------------------------------------------------------------------

def test_truth_keeps_titles_and_groups(tmp_path):
    plan = _widened()
    truth = Truth(seed=0, references=tuple(c.path for c in plan.references),
                  negatives=tuple(c.path for c in plan.negatives),
                  queries=tuple(p.truth for p in plan.plans), titles=tuple(plan.titles))
    save_truth(truth, tmp_path / "truth.json")
    assert load_truth(tmp_path / "truth.json") == truth
    data = json.loads((tmp_path / "truth.json").read_text())
    data["titles"][0]["path"] = "nowhere.mp4"
    (tmp_path / "bad.json").write_text(json.dumps(data))
    with pytest.raises(TruthFormatError, match="titles\\[0\\].*not listed"):
        load_truth(tmp_path / "bad.json")
    data = truth.to_dict()
    data["titles"][0]["scenes"][0]["at"] = -1
    (tmp_path / "bad.json").write_text(json.dumps(data))
    with pytest.raises(TruthFormatError, match="'at'"):
        load_truth(tmp_path / "bad.json")


# -- end to end on real clips ------------------------------------------------------------

@pytest.fixture(scope="module")
def widened(tmp_path_factory):
    refs = tmp_path_factory.mktemp("refs")
    for name in CLIPS:
        (refs / name).symlink_to((SAMPLES / name).resolve())
    out = tmp_path_factory.mktemp("widened")
    truth = make_benchmark(refs, out, **_small(refs))
    return refs, out, truth


def _small(refs: Path) -> dict:
    return dict(seed=2, edits=["mirror"], combos=False, whole_title=False, titles=1,
                sets=known_sets(find_clips(refs)), negatives_total=14, short_copies_per_ref=1,
                max_height=MAX_HEIGHT, excerpt_range=(5.0, 6.0), preset="ultrafast", workers=2)


def test_a_title_is_rendered_from_its_scenes(widened):
    refs, out, truth = widened
    (title,) = truth.titles
    mirror = resolve_refs_dir(out / "truth.json", truth)
    assert mirror == (out / "refs").resolve() and title.path in truth.references
    info = probe_clip(mirror / title.path)
    assert info.duration == pytest.approx(title.duration, abs=0.05) and info.height == MAX_HEIGHT
    listed = json.loads((mirror / "clips.json").read_text())["clips"]
    assert {"path": title.path, "use": False}.items() <= next(c for c in listed if c["path"] == title.path).items()
    for scene in title.scenes:  # the middle of each scene shows its source there
        mid = scene.length / 2
        shown = frame_at(mirror / title.path, scene.at + mid)
        source = tf.cover(frame_at(refs / scene.source, scene.start + mid), shown.shape[1], shown.shape[0])
        other = tf.cover(frame_at(refs / CLIPS[4], 1.0), shown.shape[1], shown.shape[0])
        assert _mae(shown, source) < 12 and _mae(shown, source) < 0.5 * _mae(shown, other)


def test_the_set_is_split_and_negatives_are_rendered(widened):
    refs, out, truth = widened
    scenes = {s.source for s in truth.titles[0].scenes}
    assert len({"elf.mp4", "frog.mp4"} & scenes) == 1 and len({"elf.mp4", "frog.mp4"} & set(truth.negatives)) == 1
    negs = [q for q in truth.queries if q.kind == "negative"]
    assert len(negs) == 14 and {"same_set", "card", "static"} <= {q.group for q in negs}
    card = next(q for q in negs if q.group == "card")
    assert probe_clip(out / card.query).duration == pytest.approx(card.params["encode"]["duration"], abs=0.1)


def test_the_harness_finds_titles_in_the_recorded_refs_folder(widened):
    refs, out, truth = widened
    paths = reference_paths(out / "truth.json", truth, refs)  # titles are not under refs
    assert all(p.exists() for p in paths)
    res = run_benchmark(out / "truth.json", refs, out / "run", workers=2, baseline=False, inner_check=True)
    fp, plain, check = res["fp"], res["fp_without_inner_check"], res["inner_check"]
    assert 0 < check["unmatched"] <= plain["queries"] - plain["true_matches"] and check["unrelated_unmatched"] <= fp["negatives"]
    assert all(c["line_chance"] <= MAX_LINE_CHANCE for c in check["checks"] if c["passed"])  # the gate held
    assert fp["true_matches"] == plain["true_matches"] + len(check["rescued"]) and not check["wrong_title"]
    assert "## The inner-view check" in (out / "run" / "report.md").read_text()
    assert fp["errors"] == 0 and fp["negatives"] == 14 and fp["short_copies"] == len(truth.references)
    assert set(fp["negatives_by_group"]) >= {"same_set", "card", "static", "all"}
    assert fp["negatives_by_group"]["all"]["upper95"] == pytest.approx(1 - 0.05 ** (1 / 14)) \
        or fp["negatives_by_group"]["all"]["false_matches"] > 0
    assert truth.titles[0].path in fp["recall_by_reference"]
    assert "short_2_3s" in fp["recall_by_edit"]
    assert "## Unrelated queries" in (out / "run" / "report.md").read_text()


def test_a_rerun_of_the_same_plan_renders_only_what_is_missing(widened, tmp_path):
    refs, out, truth = widened
    gone = out / truth.queries[-1].query
    gone.unlink()
    before = {q.query: (out / q.query).stat().st_mtime_ns for q in truth.queries[:-1]}
    calls = []
    again = make_benchmark(refs, out, overwrite=True, progress=lambda d, t, label: calls.append(label), **_small(refs))
    assert again == truth and gone.exists()
    assert calls == [truth.queries[-1].query]
    assert all((out / q).stat().st_mtime_ns == t for q, t in before.items())
    assert not list(out.rglob("*.part.*"))

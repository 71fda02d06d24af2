"""Accuracy guard: every seller-style edit of the benchmark, on real clips, end to end.

A small `fp bench`: three references (a cartoon, a bird, a toy on a wooden table) and one
held-out clip shot on the same table, every single edit once per reference on a 5-8 s excerpt
(short copies are the hard ones). Keeps the gains of issue 6 from slipping back.

The edits are the widened ones of issue 11 (wider parameter ranges; reframes both ways with
the picture at 0.3-1.0 of the canvas, tiny re-uploads). fp at the start of issue 11 missed
5 of these 78 copies (reframe_9x16 1/3, reframe_16x9 2/3, reframe_tiny 2/3, rotate 2/3): the
floors below are that level; raise them as fp meets the issue's targets (>= 0.97 per edit).
"""
import shutil

import pytest

from fp.benchmarks.generate import make_benchmark
from fp.benchmarks.harness import run_benchmark
from fp.benchmarks.transforms import DEFAULT_EDITS

from .conftest import clip

CLIPS = ("bbb_first60s.mp4", "cockatoo.mp4", "elf.mp4", "frog.mp4")


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    base = tmp_path_factory.mktemp("accuracy")
    refs = base / "refs"
    refs.mkdir()
    for name in CLIPS:
        shutil.copy(clip(name), refs / name)
    truth = make_benchmark(refs, base / "data", seed=3, combos=False, whole_title=False,
                           excerpt_range=(5.0, 8.0), workers=2)
    return truth, run_benchmark(base / "data" / "truth.json", refs, base / "run", workers=2, baseline=False)


def test_split_has_a_same_table_negative(results):
    truth, _ = results
    assert len(truth.references) == 3 and len(truth.negatives) == 1
    assert {*truth.references, *truth.negatives} >= {"elf.mp4", "frog.mp4"}


def test_no_false_match(results):
    _, res = results
    assert res["fp"]["false_matches"] == 0, res["fp"]["false_match_queries"]


REFRAMES = ("reframe_9x16", "reframe_16x9", "reframe_tiny")


def test_every_edit_is_caught(results):
    _, res = results
    by_edit = res["fp"]["recall_by_edit"]
    assert set(by_edit) >= set(DEFAULT_EDITS)
    missed = {e: f"{v['found']}/{v['n']}" for e, v in by_edit.items() if v["found"] < v["n"]}
    assert res["fp"]["recall"] >= 0.93, missed
    assert all(v["found"] >= v["n"] - 1 for e, v in by_edit.items() if e not in REFRAMES), missed
    assert sum(by_edit[e]["found"] for e in REFRAMES) >= 5, missed  # of 9


def test_spans_are_accurate(results):
    _, res = results
    assert res["fp"]["query_span_iou"] >= 0.9 and res["fp"]["ref_span_iou"] >= 0.9

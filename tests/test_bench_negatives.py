"""Unrelated queries: how many of each kind are drawn, and what the rendered ones look like."""
from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest

from fp.benchmarks import negatives as neg
from fp.benchmarks.truth import BenchmarkError
from fp.benchmarks.videoio import ClipInfo


def _clip(path: str, duration: float) -> ClipInfo:
    return ClipInfo(path=path, start=0.0, end=duration, fps=30.0, width=640, height=360,
                    frames=int(duration * 30))


SOURCES = [neg.HeldOut(_clip("frog.mp4", 8.0), 0.0, 8.0, "same_set"),
           neg.HeldOut(_clip("water.mp4", 3.0), 0.0, 3.0, "heldout"),
           neg.HeldOut(_clip("bbb.mp4", 60.0), 20.0, 60.0, "same_source")]


def test_draws_split_the_total_by_kind_and_windows_stay_inside_their_source():
    draws = neg.draw_negatives(random.Random(0), SOURCES, 300)
    counts = Counter(d.group for d in draws)
    assert sum(counts.values()) == 300
    for group in ("card", "black", "static", "same_source"):
        assert counts[group] == round(300 * neg.SHARES[group])
    assert counts["same_set"] > 0 and counts["heldout"] > 0
    by_path = {s.clip.path: s for s in SOURCES}
    for d in draws:
        if d.span is not None:
            source = by_path[d.clip.path]
            assert source.start - 1e-3 <= d.span[0] < d.span[1] <= source.end + 1e-3
            assert d.duration == pytest.approx(d.span[1] - d.span[0], abs=1e-3)
            assert d.group == source.group
        else:
            assert d.synthetic["kind"] in ("card", "credits", "black", "still") and d.duration >= 2.0
    lengths = [d.duration for d in draws if d.group == "same_source"]
    assert min(lengths) < 4 and max(lengths) > 15  # 2-30 s windows


def test_without_same_source_footage_its_share_goes_to_windows():
    draws = neg.draw_negatives(random.Random(1), SOURCES[:2], 40)
    assert len(draws) == 40 and "same_source" not in {d.group for d in draws}


def test_no_footage_is_an_error():
    with pytest.raises(BenchmarkError, match="held-out footage"):
        neg.draw_negatives(random.Random(0), [], 10)


def _frames(params: dict, duration: float, still=None) -> list[tuple[float, np.ndarray]]:
    return list(neg.synthetic_frames(params, duration, still))


def test_a_title_card_shows_text_and_fades_in():
    params = dict(neg._card(random.Random(3)), background="black", fade_s=0.5, lines=["THE END"])
    frames = _frames(params, 3.0)
    assert len(frames) == 90 and frames[-1][0] == pytest.approx(89 / 30)
    middle = frames[45][1]
    assert middle.shape == (params["height"], params["width"], 3)
    assert (middle.max(axis=2) > 150).mean() > 0.002  # bright text
    assert frames[0][1].mean() < 0.2 * middle.mean()  # faded in from black


@pytest.mark.parametrize("background", ["black", "solid", "gradient"])
def test_cards_render_on_every_background(background):
    params = dict(neg._card(random.Random(6)), background=background, fade_s=0.0)
    (t, frame), = _frames(params, 1 / 30)
    assert frame.flags["C_CONTIGUOUS"] and frame.shape == (params["height"], params["width"], 3)
    assert (frame.max(axis=2) > 150).mean() > 0.002
    if background == "gradient":
        assert not np.array_equal(frame[0, 0], frame[-1, 0]) or params["bg_colour"] == params["bg_colour2"]


def test_credits_roll_up():
    params = neg._credits(random.Random(4))
    frames = _frames(params, 8.0)
    early, late = frames[0][1], frames[-1][1]
    assert early.max() < 30  # black before the first line comes up
    assert late.max() > 150 and not np.array_equal(frames[-10][1], late)


def test_black_is_black():
    frames = _frames(neg._black(random.Random(5)), 2.0)
    assert all(f.mean() <= 20 for _, f in frames)


def test_a_still_holds_one_real_frame_with_noise_and_a_slow_zoom():
    rng = np.random.default_rng(0)
    picture = np.clip(rng.normal(128, 40, (90, 160, 3)), 0, 255).astype(np.uint8)
    params = {"kind": "still", "source": "x.mp4", "t": 1.0, "zoom": 0.08, "noise": 3.0, "seed": 1}
    frames = _frames(params, 4.0, picture)
    first, second, last = frames[0][1], frames[1][1], frames[-1][1]
    step = np.abs(first.astype(int) - second).mean()
    assert 0 < step < 8  # noise, barely any motion
    assert np.abs(first.astype(int) - last).mean() > step  # zoomed in by the end
    with pytest.raises(BenchmarkError, match="source frame"):
        neg.synthetic_frames(params, 1.0)
    with pytest.raises(BenchmarkError, match="unknown"):
        neg.synthetic_frames({"kind": "sparkles"}, 1.0)

"""Look-alike level lines: footage of one set whose frames all sit near the radius. The rabbit and
the pig are toys filmed by one camera on one table; a window of the rabbit fits the pig (its
picture zoomed out) at ~11 of 64 bits on every hit, a chance a copy would have at a looser
threshold. Lines this loose are declared only at MatchConfig.lookalike_chance (RESULTS.md "Tenth
pass": held-out calibration draws declared such lines at 1e-4 to 3e-3). So are lines whose hit frames
are near-blank (a dark card, a fade)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fp.benchmarks.calibrate import window
from fp.fingerprint.pipeline import QUERY, fingerprint_video
from fp.index.indexer import index_paths
from fp.index.library import Library
from fp.cli.render import match_table
from fp.index.matcher import MatchConfig, Matcher

NEGATIVES = Path(__file__).resolve().parents[1] / "data" / "negatives"


@pytest.fixture(scope="module")
def with_pig(session_library, tmp_path_factory):
    root = tmp_path_factory.mktemp("lookalike") / "lib"
    shutil.copytree(session_library, root)
    with Library(root) as lib:
        assert index_paths(lib, [NEGATIVES / "pig.mp4"], workers=1).count("indexed") == 1
    return root


def test_a_same_set_window_at_lookalike_level_needs_the_stricter_chance(with_pig):
    rabbit = window(fingerprint_video(NEGATIVES / "rabbit.mp4", QUERY), 0.75, 3.0)
    with Library(with_pig) as lib:
        loose = Matcher(lib, MatchConfig(max_chance=0.05, lookalike_chance=1.0)).match_fingerprint(rabbit)
        ruled = Matcher(lib, MatchConfig(max_chance=0.05)).match_fingerprint(rabbit)
    assert [m.title for m in loose.matches] == ["pig"], loose.nearest
    line = loose.matches[0]
    assert line.mean_distance >= 10 and 1e-4 < line.chance <= 0.05, (line.mean_distance, line.chance)
    assert ruled.verdict == "no_match" and ruled.nearest["title"] == "pig"
    assert ruled.nearest["look_alike"] is True and ruled.nearest["chance"] == pytest.approx(line.chance, rel=0.01)
    assert "look-alike of pig refused" in match_table([ruled])  # the table says why there is no match


def test_the_rule_reads_the_mean_hit_distance_as_a_share_of_the_hash(with_pig):
    import numpy as np

    from fp.index.align import Hypothesis
    from fp.index.verify import Verified

    with Library(with_pig) as lib:
        m = Matcher(lib)
    h = Hypothesis(1, False, 1.0, 0.0, 1.0)

    def line(distances, nbits, keys=3):
        d = np.asarray(distances)
        return Verified(h, 1.0, 0.0, np.ones(len(d), bool), d, np.zeros(len(d)), 0.0, keys, keys, nbits)

    def alike(v, quality=100):
        return m._lookalike(v, np.full(len(v.hit), quality))

    def accepts(v, chance, quality=100):
        return m._accepts(v, chance, np.broadcast_to(quality, len(v.hit)))

    assert alike(line([10, 10, 10], 64)) and alike(line([40, 40], 256))
    assert not alike(line([8, 10, 12, 6], 64)) and not alike(line([36, 40], 256))
    assert accepts(line([4, 6], 64), 2e-3) and not accepts(line([12, 12], 64), 2e-3)
    assert accepts(line([12, 12], 64), 5e-5) and not accepts(line([4, 6], 64, keys=1), 1e-9)
    # Hits on near-blank frames (mean quality under blank_quality) are held to the same limit.
    assert alike(line([4, 6], 64), quality=20) and not alike(line([4, 6], 64), quality=30)
    assert not accepts(line([4, 6], 64), 2e-3, [12, 28]) and accepts(line([4, 6], 64), 5e-5, [12, 28])
    assert accepts(line([4, 6], 64), 2e-3, [12, 60])


def test_a_dark_card_fitting_a_fade_to_black_needs_the_stricter_chance(session_library, tmp_path):
    # Seed 3's one unrelated clip declared a copy of another title (RESULTS.md "Fourteenth
    # pass"): a "PART 2" card (dark gradient, small text, fading in and out) fitted the rocket's
    # fade out of black inside a multi-scene title (9 frames, 4.4 bits on average). Near-blank frames
    # on both sides: the pHash bits are set by faint gradients, which many unrelated cards share.
    from fp.benchmarks.negatives import synthetic_frames

    from ..conftest import write_video

    root = tmp_path / "lib"
    shutil.copytree(session_library, root)
    with Library(root) as lib:
        assert index_paths(lib, [NEGATIVES / "rocket.mkv"], workers=1).count("indexed") == 1
    card = {"kind": "card", "width": 854, "height": 480, "lines": ["PART 2"], "font": 2, "size_frac": 0.0879,
            "colour": [255, 210, 0], "background": "black", "bg_colour": [44, 6, 37], "bg_colour2": [104, 12, 25], "fade_s": 0.8953}
    path = write_video(tmp_path / "card.mp4", [f for _, f in synthetic_frames(card, 2.3668)], fps=30)
    fpr = fingerprint_video(path, QUERY)
    with Library(root) as lib:
        loose = Matcher(lib, MatchConfig(max_chance=0.01, blank_quality=0)).match_fingerprint(fpr)
        ruled = Matcher(lib, MatchConfig(max_chance=0.01)).match_fingerprint(fpr)
    assert [m.title for m in loose.matches] == ["rocket"], loose.nearest
    line = loose.matches[0]
    assert line.mean_distance <= 6 and 1e-4 < line.chance <= 0.01, (line.mean_distance, line.chance)
    assert ruled.verdict == "no_match" and ruled.nearest["title"] == "rocket" and ruled.nearest["look_alike"] is True

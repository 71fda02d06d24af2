"""Tilted copies: a film turned a few degrees (zoomed to hide the corners, or with black
corners) to dodge matching. The stored views miss by 12-20 bits; the suspect's picture turned
back (views TURNED_VIEW + i) proves the alignment its other views found."""
from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from fp.benchmarks.calibrate import window
from fp.fingerprint.pipeline import QUERY, fingerprint_video
from fp.index.indexer import index_paths
from fp.index.library import Library
from fp.index.matcher import Matcher

from ..conftest import best_match, write_video
from .test_matcher_scenes import _frames


def _tilt(degrees: float, zoomed: bool):
    def run(img: np.ndarray) -> np.ndarray:
        h, w = img.shape[:2]
        rad = math.radians(abs(degrees))
        zoom = math.cos(rad) + max(w / h, h / w) * math.sin(rad) if zoomed else 1.0
        matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, zoom)
        border = cv2.BORDER_REFLECT if zoomed else cv2.BORDER_CONSTANT
        return cv2.warpAffine(img, matrix, (w, h), flags=cv2.INTER_CUBIC, borderMode=border)
    return run


@pytest.mark.parametrize("name, start, degrees, zoomed", [
    ("bbb_first60s.mp4", 20.0, 7.0, True),
    ("bbb_first60s.mp4", 20.0, -9.0, False),
    ("elf.mp4", 0.0, 7.0, False),
])
def test_a_tilted_copy_matches_where_it_was_cut(session_library, tmp_path, name, start, degrees, zoomed):
    frames = _frames(name, start, start + 6.0, fps=30, edit=_tilt(degrees, zoomed))
    suspect = write_video(tmp_path / f"tilt_{degrees}.mp4", frames, fps=30)
    best = best_match(session_library, suspect, name.rsplit(".", 1)[0])
    lo, hi = max(best.ref_span[0], start), min(best.ref_span[1], start + 6.0)
    assert hi - lo >= 3.0, best.ref_span
    # Without the turned views the same suspect is matched far more weakly, or not at all (0.04-0.1
    # in most runs; one run of the suite matched the elf copy at 1.7e-4: the plain result differs
    # between runs, see the closing note of issue 11's third pass).
    with Library(session_library) as lib:
        plain = Matcher(lib, query_config=replace(QUERY, turned_views=False)).match_file(suspect)
    weaker = [m.chance for m in plain.matches if m.title == best.title] or [plain.nearest["chance"] if plain.nearest else 1.0]
    assert min(weaker) > 10 * best.chance, (weaker, best.chance)
    assert best.seen_as.startswith(("picture turned", "picture zoomed out")), best.seen_as  # what proved it


NEGATIVES = Path(__file__).resolve().parents[1] / "data" / "negatives"


def test_a_turn_must_gain_over_its_span_not_only_on_its_hits(tmp_path):
    """Unrelated footage that one turn happened to fit: 8 s of a NASA promo's end cards (a logo
    on black) against a toy rabbit on a table. Its 9 turned hits were 4 bits closer than the
    untouched picture (picked for being close), the frames across their span 2; read over the
    hits alone, that gain made a false match (chance 1.1e-3). A tilted copy gains 6-13 on nearly
    every frame (the tests above)."""
    with Library(tmp_path / "lib") as lib:
        report = index_paths(lib, [NEGATIVES / "rabbit.mp4"], workers=1)
        assert report.count("indexed") == 1, report.to_dict()
        matcher = Matcher(lib)
        suspect = window(fingerprint_video(NEGATIVES / "rocket.mkv", matcher.query_config), 41.938, 8.0)
        result = matcher.match_fingerprint(suspect)
    assert result.verdict == "no_match", [(m.title, m.chance, m.ref_span) for m in result.matches]

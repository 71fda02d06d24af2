"""Cards: a logo or text on black is hashed by a small part of the frame, and a pale object in
the middle of a scene hashes alike. A suspect's such frames score quality 0 (hashers.FLAT_SHARE,
FingerprintConfig.flat_cards) and are not evidence; a reference keeps them (they are the
background its other frames are judged against)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from fp.benchmarks.calibrate import window
from fp.fingerprint import hashers
from fp.fingerprint.hashers import DctHasher
from fp.fingerprint.pipeline import QUERY, REFERENCE, fingerprint_video
from fp.index.indexer import index_paths
from fp.index.library import Library
from fp.index.matcher import Matcher

from ..conftest import clip

NEGATIVES = Path(__file__).resolve().parents[1] / "data" / "negatives"


def _card(background: np.ndarray) -> np.ndarray:
    img = background.copy()
    yy, xx = np.mgrid[:128, :128]
    disc = (yy - 64) ** 2 + (xx - 64) ** 2 < 18 ** 2
    img[disc] = 200 + (np.random.default_rng(2).integers(0, 55, disc.sum())).astype(np.uint8)
    return img


def test_a_logo_on_black_is_flat_and_the_same_logo_in_a_scene_is_not():
    scene = np.random.default_rng(1).integers(0, 255, (128, 128)).astype(np.uint8)
    batch = DctHasher(8).hash_batch([_card(np.zeros((128, 128), np.uint8)), _card(scene), scene])
    assert batch.flat[0] >= hashers.FLAT_SHARE
    assert batch.flat[1] < 0.2 and batch.flat[2] < 0.2
    assert (batch.quality > 50).all()  # sharp edges: the gradient alone does not tell a card


def test_real_scenes_keep_their_frames():
    for name in ("bbb_first60s.mp4", "friday.mp4", "flower.mp4", "chroma-keying-video.mp4"):
        fpr = fingerprint_video(clip(name), QUERY)
        assert (fpr.quality >= 8).mean() > 0.95, name


def test_end_cards_do_not_match_an_object_on_a_table(tmp_path, monkeypatch):
    """A NASA promo's end cards (logos on black) against a toy rabbit on a table: matched at 7e-4
    by the plain matcher while the cards scored like scenes."""
    rocket = NEGATIVES / "rocket.mkv"
    with Library(tmp_path / "lib") as lib:
        assert index_paths(lib, [NEGATIVES / "rabbit.mp4"], workers=1).count("indexed") == 1
        matcher = Matcher(lib)
        suspect = window(fingerprint_video(rocket, matcher.query_config), 41.5, 8.0)
        assert matcher.match_fingerprint(suspect).verdict == "no_match"
        card_rows = (suspect.times >= 2.5) & (suspect.times < 7.0) & (suspect.views == 0)
        assert (suspect.quality[card_rows] == 0).mean() > 0.8
        as_reference = fingerprint_video(rocket, REFERENCE)  # a reference keeps its cards
        cards = (as_reference.times >= 44.0) & (as_reference.times < 48.5) & (as_reference.views == 0)
        assert (as_reference.quality[cards] >= 8).mean() > 0.8
        monkeypatch.setattr(hashers, "FLAT_SHARE", 1.01)  # the frames scored as before
        before = window(fingerprint_video(rocket, matcher.query_config), 41.5, 8.0)
        assert matcher.match_fingerprint(before).verdict == "match"

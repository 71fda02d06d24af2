"""Meme-format copies: the picture below (or above) a still band of words, as reposting apps
and AugLy's `meme_format` make them. The band is not a bar (words on it) and does not move, so
neither the active area nor a split screen took it off; the picture beside it is a query view
of its own (fingerprint/inset.py `_caption_band`)."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from fp.benchmarks import transforms
from fp.fingerprint.inset import detect_insets
from fp.fingerprint.normalise import shrink

from ..conftest import best_match, write_video
from .test_matcher_scenes import _frames


def meme(img: np.ndarray, band: float, top: bool, fill: int = 255) -> tuple[np.ndarray, float]:
    """The benchmark generator's `meme` edit, its band (of grey level `fill`, `band` of the
    output's height) added above the whole picture (or below); and where the picture starts (or
    ends) as a share of the height."""
    out_h, strip_h = transforms.meme_rows(img.shape[0], band, squeeze=False)
    out = transforms.meme(transforms.MEME_TEXTS[0], band, top, fill, squeeze=False)(img)
    return out, (strip_h if top else out_h - strip_h) / out_h


@pytest.mark.parametrize("copy, start, band, top, fill", [
    ("elf.mp4", 1.0, 0.18, False, 255),
    ("bbb_first60s.mp4", 20.0, 0.15, True, 255),
    ("flower.mp4", 1.0, 0.15, True, 255),  # the flowers were not matched before the band rule
    ("flower.mp4", 1.0, 0.2, True, 0),  # a black band, white words: nor by a band's grey lines alone
])
def test_a_meme_format_copy_matches(session_library, tmp_path, copy, start, band, top, fill):
    frames = [meme(f, band, top, fill)[0] for f in _frames(copy, start, start + 6.0, fps=30)]
    suspect = write_video(tmp_path / f"meme_{copy}.mp4", frames, fps=30)
    best = best_match(session_library, suspect, copy.rsplit(".", 1)[0])
    assert abs(best.ref_span[0] - start) < 1.0
    assert best.seen_as.startswith("inset"), best.seen_as


@pytest.mark.parametrize("name, band, top, fill", [
    *((name, band, top, 255) for name in ("bbb_first60s.mp4", "cockatoo.mp4", "friday.mp4")
      for band, top in ((0.25, True), (0.15, True), (0.18, False))),
    # The flower's dark top meets a black band in a faint line, straight for 0.59 of the width
    # (a split screen's line needs 0.85): the band's own tests decide.
    ("flower.mp4", 0.15, True, 0),
])
def test_the_picture_beside_a_still_band_of_words_is_an_inset(name, band, top, fill):
    # Before the band rule the rectangle search found the picture in 13 of 30 white-band layouts
    # of the five sample clips (bands of 0.15-0.4 above, 0.18 and 0.25 below): none of bbb's or
    # the cockatoo's, none with a band of 0.15; 30 of 30 with it.
    made = [meme(f, band, top, fill) for f in _frames(name, 1.0, 4.0, fps=10)]
    found = detect_insets([shrink(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)) for img, _ in made])
    at = made[0][1]
    picture = (0.0, at, 1.0, 1.0) if top else (0.0, 0.0, 1.0, at)
    assert any(max(abs(a.left - picture[0]), abs(a.top - picture[1]), abs(a.right - picture[2]), abs(a.bottom - picture[3])) < 0.02
               for a in found), (picture, found)

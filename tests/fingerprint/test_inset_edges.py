"""An inset whose picture is dark at one end (a title card's black above its text) is hashed
twice: cut at the flat lines, as a barred picture is, and whole, as its reference keeps it
when the reference's 10 s window holds other shots."""
from __future__ import annotations

import cv2
import numpy as np

from fp.fingerprint.pipeline import QUERY, REFERENCE, fingerprint_video
from fp.fingerprint.types import INSET_VIEW, INSETS
from fp.index.hamming import popcount_distances

from ..conftest import write_video
from ..index.test_matcher_scenes import _frames
from .test_inset import reframe


def _card(rgb: np.ndarray) -> np.ndarray:
    """The top third of a frame black, as a title card's."""
    out = rgb.copy()
    out[: out.shape[0] // 3] = 8
    return out


def _reframed(rgb: np.ndarray) -> np.ndarray:
    grey = reframe(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), (360, 640), 0.9, 20, 1.0)[0]
    return cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB)


def _distances(fpr, view, ref):
    rows = fpr.views == view
    out = []
    for t, code in zip(fpr.times[rows], fpr.codes[rows]):
        near = (ref.views == 0) & (np.abs(ref.times - t) <= 0.11)
        out.append(int(popcount_distances(code[None], ref.codes[near]).min()))
    return np.array(out)


def test_a_dark_edged_inset_is_hashed_cut_and_whole(tmp_path):
    card = [_card(f) for f in _frames("elf.mp4", 0.0, 4.0, fps=25)]
    rest = _frames("elf.mp4", 4.0, 10.0, fps=25)
    ref = fingerprint_video(write_video(tmp_path / "ref.mp4", card + rest, fps=25), REFERENCE)
    suspect = fingerprint_video(write_video(tmp_path / "card.mp4", [_reframed(f) for f in card], fps=25), QUERY)
    cut, whole = INSET_VIEW, INSET_VIEW + INSETS
    assert (suspect.views == cut).any() and (suspect.views == whole).any(), np.unique(suspect.views)
    # The reference's window kept the black rows (the rest of its 10 s has picture there).
    assert np.median(_distances(suspect, whole, ref)) <= 6
    assert np.median(_distances(suspect, cut, ref)) >= 12


def test_an_inset_without_one_sided_flat_lines_is_hashed_once(tmp_path):
    frames = _frames("elf.mp4", 0.0, 4.0, fps=25)
    suspect = fingerprint_video(write_video(tmp_path / "plain.mp4", [_reframed(f) for f in frames], fps=25), QUERY)
    assert (suspect.views == INSET_VIEW).any()
    assert not (suspect.views >= INSET_VIEW + INSETS).any()

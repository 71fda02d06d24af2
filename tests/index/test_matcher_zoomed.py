"""Deep crops: a film cropped 27-30 % (past the stored 15 % crops) and enlarged back. Its
untouched picture hits the stored views loosely; the suspect's picture zoomed back out (a
view beside the turned ones, normalise.ZOOMS) proves the alignment those loose hits voted."""
from __future__ import annotations

import pytest

from fp.index.library import Library
from fp.index.matcher import Matcher

from ..conftest import best_match, write_video
from ..fingerprint.test_turned import crop
from .test_matcher_scenes import _frames


@pytest.mark.parametrize("name, start, frac, x, y", [
    ("flower.mp4", 0.0, 0.27, 0.8, 0.3),
    ("cockatoo.mp4", 2.0, 0.27, 0.5, 0.5),
    ("bbb_first60s.mp4", 40.0, 0.27, 0.5, 0.5),
])
def test_a_deep_crop_matches_where_it_was_cut(session_library, tmp_path, monkeypatch, name, start, frac, x, y):
    frames = _frames(name, start, start + 6.0, fps=30, edit=lambda img: crop(img, frac, x, y))
    suspect = write_video(tmp_path / f"crop_{frac}.mp4", frames, fps=30)
    best = best_match(session_library, suspect, name.rsplit(".", 1)[0])
    lo, hi = max(best.ref_span[0], start), min(best.ref_span[1], start + 6.0)
    assert hi - lo >= 3.0, best.ref_span
    # Without the zoomed-out view the same suspect is not matched (chance 0.03-70 when written; an
    # elf crop at 1.1 in one run matched untouched at 0.0026 in another, which is why it is not here).
    monkeypatch.setattr("fp.fingerprint.pipeline.ZOOMS", ())
    with Library(session_library) as lib:
        plain = Matcher(lib).match_file(suspect)
    weaker = [m.chance for m in plain.matches if m.title == best.title] or [plain.nearest["chance"] if plain.nearest else 1.0]
    assert min(weaker) > 10 * best.chance, (weaker, best.chance)

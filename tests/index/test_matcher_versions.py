"""A library holding several versions of one film (an SD master, a greyscale or logo-stamped
broadcast cut): a copy is as close to every version as to the one verified, and those versions are
not unrelated footage. Counted as such (the library null and the frame's neighbours in other
videos), three more versions of one clip lost 13 of 63 of its copies (RESULTS.md)."""
from __future__ import annotations

import shutil

import cv2
import numpy as np
import pytest

from fp.index.chance import null_cdf
from fp.index.indexer import index_paths
from fp.index.library import Library
from fp.index.matcher import Matcher
from fp.index import same_footage
from fp.index.same_footage import sharing_pairs

from ..conftest import clip
from .test_matcher import crop_logo_mirror, disguise

BBB = "bbb_first60s.mp4"


def sd_master(img):
    h, w = img.shape[:2]
    return cv2.resize(img, (w // 2 // 2 * 2, h // 2 // 2 * 2), interpolation=cv2.INTER_AREA)


def broadcast(img):
    out = cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    cv2.putText(out, "TV1", (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (255, 255, 255), 2)
    return out


@pytest.fixture(scope="module")
def libraries(session_library, tmp_path_factory):
    """(the five-clip library, the same with two more versions of Big Buck Bunny's first 40 s)."""
    tmp = tmp_path_factory.mktemp("versions")
    versions = [disguise(clip(BBB), tmp / f"bbb_{name}.mp4", 0.0, 40.0, edit)
                for name, edit in (("sd", sd_master), ("broadcast", broadcast))]
    root = tmp / "lib"
    shutil.copytree(session_library, root)
    with Library(root) as lib:
        report = index_paths(lib, versions, workers=1)
    assert report.count("indexed") == 2
    # fp index says so: a copy of either may be reported against each version.
    assert len(report.notes) == 2 and all("holds footage of bbb_first60s (id" in n for n in report.notes), report.notes
    assert "bbb_sd (id" in report.notes[1], report.notes
    with Library(session_library, create=False, readonly=True) as lib:
        bbb = next(v.id for v in lib.videos() if v.title == "bbb_first60s")
    sd_out, bc_out = report.outcomes
    assert sd_out.shares_footage_with == (bbb,) and bc_out.shares_footage_with == (bbb, sd_out.video_id), report.outcomes
    return session_library, root


@pytest.fixture(scope="module")
def suspect(tmp_path_factory):
    return disguise(clip(BBB), tmp_path_factory.mktemp("suspect") / "travel_vlog.mp4", 21.0, 6.0, crop_logo_mirror)


def best(library, path):
    with Library(library, create=False) as lib:
        result = Matcher(lib).match_file(path)
    assert result.verdict == "match", result.nearest
    return result.matches[0]


def test_versions_in_the_library_do_not_hide_a_copy(libraries, suspect):
    alone, with_versions = (best(lib, suspect) for lib in libraries)
    assert alone.title == "bbb_first60s"
    assert with_versions.title.startswith("bbb")
    # The versions are no look-alikes: the chance stays where one version leaves it (the
    # library is larger, so a little more), not orders of magnitude above.
    assert with_versions.chance <= max(alone.chance * 100, 1e-12), (alone.chance, with_versions.chance)


def test_the_null_leaves_out_pairs_of_versions(libraries):
    """The library-wide null distance distribution is the same with the versions as without."""
    cdfs = []
    for root in libraries:
        with Library(root, create=False) as lib:
            codes, vids = lib.null_sample("search")
        cdfs.append(null_cdf(codes, vids, 64))
    # Near-identical distances (the versions' frames against each other) stay as rare.
    assert cdfs[1][6] <= 3 * cdfs[0][6], (cdfs[0][:8], cdfs[1][:8])


def test_sharing_pairs_tells_versions_from_other_footage():
    rng = np.random.default_rng(1)
    film = rng.integers(0, 256, (40, 8), dtype=np.uint8)
    version = film.copy()
    version[:, 0] ^= 1  # one bit off on every frame: the same pictures re-encoded
    other = rng.integers(0, 256, (40, 8), dtype=np.uint8)
    other[:3] = film[:3]  # a shared studio logo: three frames of forty
    codes = np.concatenate([film, version, other])
    vids = np.repeat([1, 2, 3], 40)
    same = sharing_pairs(codes, vids)
    assert same[0, 40] and same[40, 0]  # the film and its version
    assert not same[0, 80] and not same[40, 80]  # the film and the other with its logo
    assert not same[0, 1]  # never a video with itself (the null does not read those pairs anyway)


def test_a_film_indexed_after_its_trailer_is_noted(tmp_path, monkeypatch):
    """The film holds the trailer's footage, not the other way round: found from either side.
    A two-hour film's rows are read spread thin (MAX_ROWS over its length): here 10 over 60 s,
    too few in the trailer's 8 s to hold it, so the trailer's own rows must find it in the film."""
    monkeypatch.setattr(same_footage, "MAX_ROWS", 10)
    trailer = disguise(clip(BBB), tmp_path / "trailer.mp4", 30.0, 8.0, lambda img: img)
    with Library(tmp_path / "lib") as lib:
        first = index_paths(lib, [trailer, clip("friday.mp4")], workers=1)
        then = index_paths(lib, [clip(BBB)], workers=1)
    assert first.count("indexed") == 2 and not first.notes, first.notes
    assert len(then.notes) == 1 and "holds footage of trailer (id" in then.notes[0], then.notes

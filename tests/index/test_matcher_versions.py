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
        assert index_paths(lib, versions, workers=1).count("indexed") == 2
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

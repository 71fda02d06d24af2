"""Identity is content: duplicates are reported, never crash a batch, never delete another film."""
from __future__ import annotations

import json
import os
import shutil

import pytest
from click.testing import CliRunner

from fp.cli.main import cli
from fp.fingerprint.errors import DuplicateContentError
from fp.fingerprint.pipeline import REFERENCE, fingerprint_video
from fp.index.library import Library, content_hash

from ..conftest import clip


def _run(*args, **kwargs):
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False, **kwargs)
    return result


def _summary(result) -> dict:
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("workers", [1, 2])
def test_same_bytes_twice_in_one_batch_are_reported_as_duplicates(tmp_path, workers):
    refs = tmp_path / "refs"
    refs.mkdir()
    shutil.copy(clip("friday.mp4"), refs / "a.mp4")
    shutil.copy(clip("flower.mp4"), refs / "b.mp4")
    (refs / "a_link.mp4").symlink_to(refs / "a.mp4")
    # The same file twice, a folder twice, and a symlink beside its target, with workers in flight.
    result = _run("index", refs / "a.mp4", refs, refs, "--library", tmp_path / "lib", "--workers", workers, "--json")
    assert result.exit_code == 0, result.output
    summary = _summary(result)
    assert summary["indexed"] == 2 and summary["failed"] == 0
    assert summary["duplicate"] == 5  # a.mp4 x2 more (folder twice), a_link x2, b.mp4 once more
    dup = [f for f in summary["files"] if f["status"] == "duplicate"]
    assert all(f["reason"].startswith("same content as ") for f in dup)
    assert any("same content as a " in f["reason"] for f in dup if f["path"].endswith("a_link.mp4"))
    with Library(tmp_path / "lib", create=False) as lib:
        assert sorted(v.title for v in lib.videos()) == ["a", "b"]
        assert lib.verify() == []


def test_overlapping_runs_skip_and_report_copies(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    shutil.copy(clip("friday.mp4"), one / "film.mp4")
    shutil.copy(clip("friday.mp4"), two / "copy.mp4")
    assert _run("index", one, "--library", tmp_path / "lib").exit_code == 0
    result = _run("index", one, two, "--library", tmp_path / "lib", "--json")
    assert result.exit_code == 0, result.output
    by_name = {os.path.basename(f["path"]): f for f in _summary(result)["files"]}
    assert by_name["film.mp4"]["status"] == "skipped"
    assert by_name["copy.mp4"]["status"] == "duplicate" and "same content as film" in by_name["copy.mp4"]["reason"]


def test_adding_known_bytes_raises_a_named_error_not_a_sqlite_one(tmp_path):
    digest = content_hash(clip("friday.mp4"))
    fpr = fingerprint_video(clip("friday.mp4"), REFERENCE)
    with Library(tmp_path / "lib") as lib:
        lib.add(fpr, path="/x/friday.mp4", title="friday", content_hash=digest, size=1)
        with pytest.raises(DuplicateContentError, match="same content as friday"):
            lib.add(fpr, path="/y/other.mp4", title="other", content_hash=digest, size=1)
        assert len(lib.videos()) == 1


def test_same_name_in_two_folders_keeps_both_films_with_absolute_paths(tmp_path, monkeypatch):
    for studio, source in (("studioA", "friday.mp4"), ("studioB", "flower.mp4")):
        (tmp_path / studio).mkdir()
        shutil.copy(clip(source), tmp_path / studio / "film.mp4")
    lib = tmp_path / "lib"
    monkeypatch.chdir(tmp_path / "studioA")
    assert _run("index", "film.mp4", "--library", lib).exit_code == 0
    monkeypatch.chdir(tmp_path / "studioB")
    result = _run("index", "film.mp4", "--library", lib, "--json")
    assert result.exit_code == 0 and _summary(result)["indexed"] == 1
    with Library(lib, create=False) as opened:
        paths = sorted(v.path for v in opened.videos())
    assert paths == [str(tmp_path / "studioA" / "film.mp4"), str(tmp_path / "studioB" / "film.mp4")]

"""fp library remove / set-metadata / disable, and metadata CSVs: by id or exact title, nothing silent."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

from fp.cli.main import cli
from fp.index.library import Library
from fp.index.matcher import Matcher

from ..conftest import clip


FP = [sys.executable, "-m", "fp.cli.main"]


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def lib_dir(tmp_path):
    """Four videos: two titled "movie", one titled "5", one "flower" (ids 1..4)."""
    refs = tmp_path / "refs"
    refs.mkdir()
    for name, source in (("a.mp4", "friday.mp4"), ("b.mp4", "elf.mp4"), ("c.mp4", "cockatoo.mp4"), ("d.mp4", "flower.mp4")):
        shutil.copy(clip(source), refs / name)
    (tmp_path / "meta.csv").write_text("path,title\nrefs/a.mp4,movie\nrefs/b.mp4,movie\nrefs/c.mp4,5\nrefs/d.mp4,flower\n")
    result = run("index", refs, "--library", tmp_path / "lib", "--metadata", tmp_path / "meta.csv", "--workers", 1)
    assert result.exit_code == 0, result.output
    return tmp_path / "lib"


def titles(lib_dir) -> dict[int, str]:
    with Library(lib_dir, create=False) as lib:
        return {v.id: v.title for v in lib.videos()}


def test_an_ambiguous_title_is_refused_unless_all(lib_dir):
    before = titles(lib_dir)
    result = run("library", "remove", "movie", "--library", lib_dir)
    assert result.exit_code == 2 and "2 videos have this title" in result.stderr
    assert titles(lib_dir) == before
    result = run("library", "remove", "movie", "--all", "--library", lib_dir, "--json")
    assert result.exit_code == 0 and len(json.loads(result.stdout)["removed"]) == 2
    assert sorted(titles(lib_dir).values()) == ["5", "flower"]


def test_digits_are_an_id_and_a_clash_with_a_title_must_be_resolved(lib_dir):
    ids = {t: i for i, t in titles(lib_dir).items()}
    flower = ids["flower"]
    result = run("library", "remove", str(flower), "--library", lib_dir)
    assert result.exit_code == 0 and "flower" not in titles(lib_dir).values()
    assert ids["5"] != 5  # "5" is a title; no video has the id 5: digits alone are refused
    result = run("library", "remove", "5", "--library", lib_dir)
    assert result.exit_code == 2 and "say --id or --title" in result.stderr
    assert "5" in titles(lib_dir).values()
    result = run("library", "remove", "5", "--title", "--library", lib_dir)
    assert result.exit_code == 0 and "5" not in titles(lib_dir).values()


def test_set_metadata_and_rerun_with_metadata_updates(lib_dir, tmp_path):
    ids = {t: i for i, t in titles(lib_dir).items()}
    result = run("library", "set-metadata", ids["flower"], "--set", "rights_holder=Studio A", "--set",
                 "licensed_sellers=shop1;shop2", "--library", lib_dir, "--json")
    assert result.exit_code == 0, result.output
    with Library(lib_dir, create=False) as lib:
        assert lib.video(ids["flower"]).metadata == {"rights_holder": "Studio A", "licensed_sellers": "shop1;shop2"}
    # A re-run with --metadata on indexed files updates them and says so.
    (tmp_path / "meta2.csv").write_text("path,title,rights_holder\nrefs/d.mp4,flower,Studio B\n")
    result = run("index", tmp_path / "refs" / "d.mp4", "--library", lib_dir, "--metadata", tmp_path / "meta2.csv", "--json")
    assert result.exit_code == 0
    summary = json.loads(result.stdout)
    assert summary["updated"] == 1 and "rights_holder" in summary["files"][0]["reason"]
    with Library(lib_dir, create=False) as lib:
        assert lib.video(ids["flower"]).metadata["rights_holder"] == "Studio B"


def test_metadata_rows_that_match_nothing_or_repeat_are_reported(tmp_path):
    refs = tmp_path / "refs"
    refs.mkdir()
    shutil.copy(clip("friday.mp4"), refs / "a.mp4")
    (tmp_path / "meta.csv").write_text(
        "path,title\nrefs/a.mp4,first\nrefs/missing.mp4,ghost\nrefs/a.mp4,second\n")
    result = run("index", refs, "--library", tmp_path / "lib", "--metadata", tmp_path / "meta.csv", "--json")
    assert result.exit_code == 0
    problems = json.loads(result.stdout)["metadata_problems"]
    assert [p["line"] for p in problems] == [2, 3]
    assert "duplicate row" in problems[0]["reason"] and "no file matches" in problems[1]["reason"]
    assert "meta.csv:3: no file matches" in result.stderr
    assert titles(tmp_path / "lib") == {1: "second"}


def test_disabled_titles_are_kept_but_never_matched(session_library, tmp_path):
    lib_dir = tmp_path / "lib"
    shutil.copytree(session_library, lib_dir)
    result = run("match", clip("friday.mp4"), "--library", lib_dir, "--json")
    assert json.loads(result.stdout.splitlines()[0])["verdict"] == "match"
    assert run("library", "disable", "friday", "--library", lib_dir).exit_code == 0
    result = run("match", clip("friday.mp4"), "--library", lib_dir, "--json")
    assert json.loads(result.stdout.splitlines()[0])["verdict"] == "no_match"
    assert "disabled" in run("library", "list", "--library", lib_dir).stdout
    assert run("library", "enable", "friday", "--library", lib_dir).exit_code == 0
    with Library(lib_dir, create=False) as lib:
        assert Matcher(lib).match_file(clip("friday.mp4")).verdict == "match"


def test_a_reference_whose_name_is_not_utf8_is_indexed_and_read_back_exactly(tmp_path):
    """Linux names are bytes: b"fr\\xffog.mp4" used to end `fp index` in a UnicodeEncodeError
    traceback (SQLite text cannot hold it). Its path is kept as its bytes and comes back exact
    everywhere it is read; its title is text, the byte written \\xff."""
    refs = tmp_path / "refs"
    refs.mkdir()
    ref = refs / os.fsdecode(b"fr\xffog.mp4")
    shutil.copy(clip("frog.mp4"), ref)
    shutil.copy(clip("elf.mp4"), refs / "elf.mp4")
    lib = tmp_path / "lib"

    def fp(*args):
        done = subprocess.run(FP + [str(a) for a in args], capture_output=True, timeout=180)
        assert done.returncode == 0 and b"Traceback" not in done.stderr, done.stderr.decode("utf-8", "replace")
        return done

    def listed() -> dict:
        return {v["title"]: v for v in json.loads(fp("library", "list", "--library", lib, "--json").stdout)}

    report = json.loads(fp("index", refs, "--library", lib, "--json", "-q", "--workers", 1).stdout)
    assert report["indexed"] == 2 and report["failed"] == 0
    assert os.fsencode(listed()["fr\\xffog"]["path"]) == os.fsencode(str(ref))
    assert "\tfr\\xffog\t" in fp("library", "list", "--library", lib).stdout.decode("utf-8")  # the byte as \xff
    assert fp("library", "verify", "--library", lib).stdout.strip() == b"ok"
    assert json.loads(fp("index", ref, "--library", lib, "--json", "-q").stdout)["skipped"] == 1  # found again by path

    suspect = tmp_path / "suspect.mp4"
    shutil.copy(clip("frog.mp4"), suspect)
    done = fp("match", suspect, "--library", lib, "--json", "--evidence", tmp_path / "evidence")
    found = json.loads(done.stdout.splitlines()[0])["matches"][0]
    assert os.fsencode(found["ref_path"]) == os.fsencode(str(ref)) and found["title"] == "fr\\xffog"
    assert found["evidence"] and os.path.getsize(found["evidence"]) > 0 and b"cannot open" not in done.stderr

    fp("library", "shard", "--shards", 2, "--library", lib)  # copied between stores as it is
    assert os.fsencode(listed()["fr\\xffog"]["path"]) == os.fsencode(str(ref))
    fp("library", "remove", ref, "--library", lib)  # named by its exact path
    assert list(listed()) == ["elf"]

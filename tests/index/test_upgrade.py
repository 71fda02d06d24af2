"""A library made by an earlier fp (format 1: one SQLite row per hash) is upgraded in place, from
its stored hashes, with a backup; it then matches as before."""
from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from fp.cli.main import cli
from fp.fingerprint.errors import LibraryFormatError
from fp.index.library import Library
from fp.index.matcher import Matcher
from fp.index.store import FORMAT_VERSION

from ..conftest import clip

V1 = Path(__file__).resolve().parents[1] / "data" / "library_v1"


@pytest.fixture
def v1_dir(tmp_path):
    target = tmp_path / "lib"
    shutil.copytree(V1, target)
    return target


def _version(root: Path) -> int:
    with sqlite3.connect(root / "library.sqlite") as db:
        return int(db.execute("SELECT value FROM meta WHERE key = 'format_version'").fetchone()[0])


def test_opening_an_old_library_upgrades_it_in_place_with_a_backup(v1_dir, caplog):
    assert _version(v1_dir) == 1
    with Library(v1_dir, create=False, readonly=True) as lib:
        titles = sorted(v.title for v in lib.videos())
        result = Matcher(lib).match_file(clip("friday.mp4"))
        assert lib.verify() == []
        stats = lib.stats()
    assert "upgrad" in caplog.text
    assert titles == ["flower", "friday"]
    assert result.verdict == "match" and result.matches[0].title == "friday"
    assert result.matches[0].query_span[1] - result.matches[0].query_span[0] > 5.0
    assert _version(v1_dir) == FORMAT_VERSION and _version_of_backup(v1_dir) == 1
    assert not (v1_dir / "frames.lookup.npz").exists()  # format-1 derived files are gone
    assert stats["hashes"] > 0 and stats["fine_hashes"] > 0


def _version_of_backup(root: Path) -> int:
    with sqlite3.connect(root / "library.v1-backup.sqlite") as db:
        return int(db.execute("SELECT value FROM meta WHERE key = 'format_version'").fetchone()[0])


def test_explicit_upgrade_command_and_a_read_only_old_library(v1_dir):
    (v1_dir / "library.sqlite").chmod(0o444)
    try:
        result = CliRunner().invoke(cli, ["library", "info", "--library", str(v1_dir)])
        # root may write a 0444 file; then the upgrade simply happens
        if _version(v1_dir) == 1:
            assert result.exit_code == 1 and "fp library upgrade" in result.stderr
    finally:
        (v1_dir / "library.sqlite").chmod(0o644)
    result = CliRunner().invoke(cli, ["library", "upgrade", "--library", str(v1_dir), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["format_version"] == FORMAT_VERSION
    with Library(v1_dir, create=False) as lib:
        assert len(lib.videos()) == 2 and lib.verify() == []


def test_a_newer_format_is_refused_clearly(v1_dir):
    with sqlite3.connect(v1_dir / "library.sqlite") as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'format_version'")
    with pytest.raises(LibraryFormatError, match="format version 99"):
        Library(v1_dir, create=False)

"""Library faults: empty or damaged database, read-only libraries, derived files that do not fit,
flipped FAISS codes, a full disk, Ctrl-C. Each gives one clear message and loses nothing."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import faiss
import numpy as np
import pytest
from click.testing import CliRunner

from fp.cli.main import cli
from fp.index.indexer import index_paths
from fp.index.library import DB_NAME, INDEX_NAME, Library
from fp.index.matcher import Matcher

from ..conftest import clip


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def lib_dir(session_library, tmp_path):
    target = tmp_path / "lib"
    shutil.copytree(session_library, target)
    return target


def test_an_empty_database_file_is_an_error_not_an_empty_library(lib_dir):
    (lib_dir / DB_NAME).write_bytes(b"")
    for args in (("match", clip("friday.mp4")), ("library", "info"), ("index", clip("frog.mp4"))):
        result = run(*args, "--library", lib_dir)
        assert result.exit_code == 1, (args, result.output)
        assert "empty file (0 bytes)" in result.stderr and "Traceback" not in result.output
    result = run("library", "verify", "--library", lib_dir)
    assert result.exit_code == 1 and "empty file (0 bytes)" in result.stdout
    assert (lib_dir / DB_NAME).stat().st_size == 0  # nothing was written into it


def test_page_corruption_gives_one_clear_error_and_verify_names_it(lib_dir):
    db = lib_dir / DB_NAME
    data = bytearray(db.read_bytes())
    page = 4096
    assert len(data) > 8 * page
    for start in range(2 * page, len(data) - page, 3 * page):  # smash many pages, keep the header
        data[start:start + 512] = os.urandom(512)
    db.write_bytes(bytes(data))
    for p in lib_dir.glob("frames.*"):
        p.unlink()  # force reading every frame row
    result = run("match", clip("friday.mp4"), "--library", lib_dir, "--json")
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "damaged" in result.output
    result = run("library", "verify", "--library", lib_dir, "--json")
    out = json.loads(result.stdout)
    assert result.exit_code == 1 and not out["ok"] and ("integrity check failed" in out["problems"][0] or "malformed" in out["problems"][0])


@contextmanager
def read_only_view(folder: Path, mount_point: Path):
    """`folder` seen through a read-only bind mount (as a read-only share would be)."""
    mount_point.mkdir()
    try:
        subprocess.run(["mount", "--bind", str(folder), str(mount_point)], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("needs permission to bind-mount (root in CI)")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(mount_point)], check=True, capture_output=True)
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False, capture_output=True)


def test_a_read_only_library_is_read_and_refuses_writes_clearly(lib_dir, tmp_path):
    with Library(lib_dir) as lib:
        lib.save_index()
    with read_only_view(lib_dir, tmp_path / "ro") as ro:
        result = run("match", clip("friday.mp4"), "--library", ro, "--json")
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout.splitlines()[0])["verdict"] == "match"
        for args in (("library", "info"), ("library", "list"), ("library", "verify")):
            result = run(*args, "--library", ro)
            assert result.exit_code == 0, (args, result.output)
        result = run("index", clip("frog.mp4"), "--library", ro)
        assert result.exit_code == 1 and "read-only" in result.stderr and "Traceback" not in result.output


def _restore_older_backup(lib_dir: Path, tmp_path: Path) -> Path:
    """library.sqlite from a backup taken before the last video was added, beside today's FAISS files."""
    backup = tmp_path / "backup.sqlite"
    with Library(lib_dir) as lib:
        lib.save_index()
        shutil.copy(lib_dir / DB_NAME, backup)
        index_paths(lib, [clip("frog.mp4")])
    shutil.copy(backup, lib_dir / DB_NAME)
    for extra in lib_dir.glob(DB_NAME + "-*"):
        extra.unlink()
    return lib_dir


def test_a_database_restored_from_backup_beside_a_newer_index_is_rebuilt_once(lib_dir, tmp_path, caplog):
    _restore_older_backup(lib_dir, tmp_path)
    with Library(lib_dir, create=False, readonly=True) as lib:
        result = Matcher(lib).match_file(clip("friday.mp4"))  # was: KeyError
        assert result.verdict == "match"
    assert "does not fit" in caplog.text
    caplog.clear()
    with Library(lib_dir, create=False, readonly=True) as lib:  # saved: not rebuilt on every run
        assert Matcher(lib).match_file(clip("friday.mp4")).verdict == "match"
        assert lib.verify() == []
    assert "rebuild" not in caplog.text


@pytest.mark.parametrize("damage", ["index", "state", "state_types"])
def test_damaged_derived_files_are_rebuilt_and_saved(lib_dir, damage, caplog):
    with Library(lib_dir) as lib:
        lib.save_index()
        n = len(lib.index)
    if damage == "index":
        path = lib_dir / "frames.faiss"
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    else:
        state = json.loads((lib_dir / "frames.state.json").read_text())
        if damage == "state":
            state["edited_by_hand"] = True  # an unknown key
        else:
            state["max_video_id"] = None  # a wrong type
        (lib_dir / "frames.state.json").write_text(json.dumps(state))
    result = run("match", clip("friday.mp4"), "--library", lib_dir, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.splitlines()[0])["verdict"] == "match"
    with Library(lib_dir, create=False) as lib:
        assert len(lib.index) == n and lib.verify() == []


def test_verify_catches_flipped_faiss_codes(lib_dir):
    with Library(lib_dir) as lib:
        lib.save_index()
    index = faiss.read_index_binary(str(lib_dir / INDEX_NAME))
    inner = faiss.downcast_IndexBinary(faiss.downcast_IndexBinary(index).index)
    codes = faiss.vector_to_array(inner.xb)
    codes[::8] ^= 0xFF  # one byte of every code
    faiss.copy_array_to_vector(codes, inner.xb)
    faiss.write_index_binary(index, str(lib_dir / INDEX_NAME))
    result = run("library", "verify", "--library", lib_dir, "--json")
    out = json.loads(result.stdout)
    assert result.exit_code == 1 and any("FAISS codes differ" in p for p in out["problems"])
    assert run("library", "rebuild", "--library", lib_dir).exit_code == 0
    assert run("library", "verify", "--library", lib_dir).exit_code == 0


def test_a_full_disk_names_the_real_cause_and_leaves_no_temp_files(tmp_path):
    small = tmp_path / "small"
    small.mkdir()
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=160k", "tmpfs", str(small)], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("needs permission to mount a small tmpfs (root in CI)")
    try:
        refs = [clip(n) for n in ("bbb_first60s.mp4", "cockatoo.mp4", "elf.mp4", "frog.mp4", "flower.mp4")]
        result = run("index", *refs, "--library", small / "lib", "--workers", 1)
        assert result.exit_code == 1 and "Traceback" not in result.output
        assert "database or disk is full" in result.stderr and "library.sqlite" in result.stderr
        assert not [p for p in (small / "lib").iterdir() if p.name.endswith(".tmp")]
        with Library(small / "lib", create=False, readonly=True) as lib:
            assert lib.store.integrity_problems() == []
            titles = [v.title for v in lib.videos()]
        assert len(titles) < len(refs)  # it really ran out of space
    finally:
        subprocess.run(["umount", "-l", str(small)], check=False, capture_output=True)


def test_ctrl_c_with_workers_exits_130_with_a_summary_and_no_traceback(tmp_path):
    refs = tmp_path / "refs"
    refs.mkdir()
    for i in range(16):  # distinct bytes, each a real minute of video to decode (still running at the 4 s Ctrl-C)
        data = clip("bbb_first60s.mp4").read_bytes() + bytes([i]) * 16
        (refs / f"film{i}.mp4").write_bytes(data)
    proc = subprocess.Popen([sys.executable, "-m", "fp.cli.main", "index", str(refs), "--library", str(tmp_path / "lib"),
                             "--workers", "2", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    time.sleep(4.0)
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole process group
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and err.count("interrupted") == 1
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["interrupted"] is True
    with Library(tmp_path / "lib", create=False) as lib:
        assert len(lib.videos()) == summary["indexed"] and lib.verify() == []

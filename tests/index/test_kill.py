"""SIGKILL `fp index` at several moments: the library must open, verify clean, and resume."""
import os
import signal
import subprocess
import sys
import time

import pytest

from fp.index.library import Library

from ..conftest import clips_folder

NAMES = ["friday.mp4", "flower.mp4", "stream-of-water.mp4", "elf.mp4", "cockatoo.mp4"]


def run_index(refs, lib):
    return subprocess.Popen([sys.executable, "-m", "fp.cli.main", "index", str(refs), "--library", str(lib), "--workers", "1", "-q", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.fixture(scope="module")
def refs(tmp_path_factory):
    return clips_folder(tmp_path_factory.mktemp("refs"), NAMES)


@pytest.fixture(scope="module")
def clean(refs, tmp_path_factory):
    lib_dir = tmp_path_factory.mktemp("clean") / "lib"
    proc = run_index(refs, lib_dir)
    proc.communicate(timeout=600)
    assert proc.returncode == 0
    with Library(lib_dir) as lib:
        return {(v.title, v.n_hashes) for v in lib.videos()}


@pytest.mark.parametrize("delay", [0.8, 1.6, 2.4, 3.2, 4.5])
def test_sigkill_leaves_a_consistent_resumable_library(refs, clean, tmp_path, delay):
    lib_dir = tmp_path / "lib"
    proc = run_index(refs, lib_dir)
    time.sleep(delay)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    if (lib_dir / "library.sqlite").exists():
        with Library(lib_dir) as lib:
            assert lib.verify() == []
            for v in lib.videos():  # no half-indexed video is visible
                assert (v.title, v.n_hashes) in clean
            partial = {(v.title, v.n_hashes) for v in lib.videos()}
    else:
        partial = set()
    resumed = run_index(refs, lib_dir)
    out, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, err
    import json

    summary = json.loads(out)
    assert summary["indexed"] == len(NAMES) - len(partial)
    assert summary["skipped"] == len(partial)
    with Library(lib_dir) as lib:
        assert {(v.title, v.n_hashes) for v in lib.videos()} == clean
        assert lib.verify() == []


def test_a_kill_while_the_library_file_is_created_leaves_no_half_made_library(tmp_path):
    lib_dir = tmp_path / "lib"
    # SIGKILL at the worst moment of creation: the schema written, the settings not yet
    code = ("import os, signal, sys; from fp.index.store import Store; from fp.index.library import Library;"
            "Store._init_meta = lambda self, params: os.kill(os.getpid(), signal.SIGKILL);"
            f"Library({str(lib_dir)!r})")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True)
    assert proc.returncode == -signal.SIGKILL
    with Library(lib_dir) as lib:  # a new library, not "not an fp library"
        assert lib.videos() == [] and lib.verify() == []
    assert not list(lib_dir.glob("library.sqlite.new-*"))

"""`fp library shard` and `fp index` on one library: the write lock keeps every indexed video."""
import json
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest
from click.testing import CliRunner

from fp.cli.main import cli
from fp.fingerprint.errors import LibraryError
from fp.index import writelock
from fp.index.indexer import index_paths
from fp.index.library import Library
from fp.index.shards import open_library, read_manifest, reshard

from ..conftest import clip, clips_folder, reshard_held

BASE = ["friday.mp4", "stream-of-water.mp4"]
MORE = ["cockatoo.mp4", "flower.mp4", "elf.mp4", "frog.mp4", "bbb_first60s.mp4"]
IN_USE = "in use by another fp process"


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A library of two videos, copied by each test."""
    root = tmp_path_factory.mktemp("base") / "lib"
    with open_library(root) as lib:
        assert index_paths(lib, [clip(n) for n in BASE]).count("indexed") == 2
    return root


@pytest.fixture(scope="module")
def more(tmp_path_factory):
    return clips_folder(tmp_path_factory.mktemp("more"), MORE)


def _library(base, tmp_path, shards=1):
    root = tmp_path / "lib"
    shutil.copytree(base, root)
    if shards > 1:
        reshard(root, shards)
    return root


def _state(root):
    """(shards, video ids, problems) of the library in `root`."""
    with open_library(root, create=False, readonly=True) as lib:
        shards = getattr(lib, "n_shards", 1)
        return shards, [v.id for v in lib.videos()], lib.verify()


def test_reshard_refuses_while_an_index_runs_and_works_after(base, tmp_path):
    root = _library(base, tmp_path)
    running, finish = threading.Event(), threading.Event()
    reports = []

    def slow_progress(*_):
        running.set()
        finish.wait(30)

    def index():  # opened in its thread: SQLite connections stay in theirs
        with open_library(root) as lib:
            reports.append(index_paths(lib, [clip("elf.mp4")], progress=slow_progress))

    thread = threading.Thread(target=index)
    thread.start()
    try:
        assert running.wait(30)
        with pytest.raises(LibraryError, match=IN_USE):
            reshard(root, 2)
        assert read_manifest(root) is None and not (root / "shards").exists()
    finally:
        finish.set()
        thread.join(30)
    assert reports[0].count("indexed") == 1
    assert _state(root) == (1, [1, 2, 3], [])
    assert reshard(root, 2).videos == 3
    assert _state(root) == (2, [1, 2, 3], [])


@pytest.mark.parametrize("shards, then", [(1, [2]), (3, [1]), (1, [2, 1])], ids=["1-2", "3-1", "1-2-1"])
def test_an_index_opened_before_a_reshard_writes_nothing(base, tmp_path, shards, then):
    root = _library(base, tmp_path, shards)
    with open_library(root) as lib:
        for n in then:  # the re-shard runs between `fp index` opening the library and indexing
            reshard(root, n)
        with pytest.raises(LibraryError, match="re-sharded"):
            index_paths(lib, [clip("elf.mp4")])
    assert _state(root) == (then[-1], [1, 2], [])


def _index_cli(root):
    started = time.monotonic()
    result = CliRunner().invoke(cli, ["index", str(clip("elf.mp4")), "--library", str(root), "-q"])
    return result, time.monotonic() - started


def test_an_index_waits_for_a_reshard_then_fails_naming_the_library(base, tmp_path, monkeypatch):
    root = _library(base, tmp_path)
    monkeypatch.setattr(writelock, "WAIT", 0.5)
    holder = reshard_held(root, 1.0)
    result, waited = _index_cli(root)
    holder.join()
    assert result.exit_code == 1 and waited >= 0.5
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and str(root) in lines[0] and "re-sharded" in lines[0], result.output
    assert _state(root) == (1, [1, 2], [])

    monkeypatch.setattr(writelock, "WAIT", 10.0)
    holder = reshard_held(root, 0.5)  # a re-shard that ends while the index waits: it then runs
    result, waited = _index_cli(root)
    holder.join()
    assert result.exit_code == 0 and waited >= 0.4, result.output
    assert _state(root) == (1, [1, 2, 3], [])


def _start_index(folder, root):
    return subprocess.Popen([sys.executable, "-m", "fp.cli.main", "index", str(folder), "--library", str(root),
                             "--workers", "1", "-q", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for_videos(root, n, proc, timeout=60.0):
    deadline = time.monotonic() + timeout
    while len(_state(root)[1]) < n:
        assert proc.poll() is None and time.monotonic() < deadline, "fp index ended before the re-shard"
        time.sleep(0.05)


@pytest.mark.parametrize("shards, to", [(1, 2), (3, 1)])
def test_reshard_racing_a_real_index_loses_no_video(base, more, tmp_path, shards, to):
    root = _library(base, tmp_path, shards)
    proc = _start_index(more, root)
    try:
        _wait_for_videos(root, len(BASE) + 1, proc)  # indexing has begun, more files to go
        with pytest.raises(LibraryError, match=IN_USE):
            reshard(root, to)
    finally:
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    report = json.loads(out)
    indexed = {f["video_id"] for f in report["files"] if f["status"] == "indexed"}
    assert report["indexed"] == len(MORE) == len(indexed)
    shards_now, ids, problems = _state(root)
    assert (shards_now, problems) == (shards, []) and set(ids) == {1, 2} | indexed
    assert reshard(root, to).videos == len(ids)  # both finished: the re-shard runs
    assert _state(root) == (to, ids, [])


def test_a_killed_index_releases_the_library(base, more, tmp_path):
    root = _library(base, tmp_path)
    proc = _start_index(more, root)
    try:
        _wait_for_videos(root, len(BASE) + 1, proc)
        with pytest.raises(LibraryError, match=IN_USE):
            reshard(root, 2)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.communicate(timeout=60)
    kept = _state(root)[1]
    assert reshard(root, 2).videos == len(kept)
    assert _state(root) == (2, kept, [])


EDITS = {  # an `fp library` edit, the Library method doing it, and what the library holds after it
    "remove": (["library", "remove", "1"], "remove", lambda videos: [v.id for v in videos] == [2]),
    "set-metadata": (["library", "set-metadata", "2", "--set", "owner=X"], "set_metadata",
                     lambda videos: videos[1].metadata == {"owner": "X"}),
    "disable": (["library", "disable", "1"], "set_enabled", lambda videos: not videos[0].enabled),
}


@pytest.mark.parametrize("edit", EDITS)
def test_a_library_edit_holds_the_write_lock_until_it_has_written(base, tmp_path, monkeypatch, edit):
    """A re-shard tried in the middle of the edit (once the library is open) is refused, and the
    edit is kept: before, the lock was dropped after opening, the re-shard moved the videos and
    the edit went to the old store (`fp library remove` said "removed" and the video stayed)."""
    root = _library(base, tmp_path)
    args, method, edited = EDITS[edit]
    real, refused = getattr(Library, method), []

    def write_during_a_reshard(self, *a, **kw):  # the real method, with a re-shard tried first
        with pytest.raises(LibraryError, match=IN_USE):
            reshard(root, 2)
        refused.append(True)
        return real(self, *a, **kw)

    monkeypatch.setattr(Library, method, write_during_a_reshard)
    result = CliRunner().invoke(cli, args + ["--library", str(root)])
    assert result.exit_code == 0 and refused == [True], result.output
    with open_library(root, create=False, readonly=True) as lib:
        assert getattr(lib, "n_shards", 1) == 1 and edited(lib.videos()) and lib.verify() == []

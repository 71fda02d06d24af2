"""Folder walks: links followed once, content decides, nothing unreadable is skipped silently."""
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from fp.cli.main import cli
from fp.index.indexer import find_videos
from fp.index.walk import walk_paths

from ..conftest import clip, textured_frames, write_video


def _fp(*args, cwd=None, unprivileged=False):
    """Run the real CLI in a subprocess; `unprivileged`: as root without the capabilities that
    let root read any file (the same interpreter and packages stay usable)."""
    cmd = [sys.executable, "-m", "fp.cli.main", *map(str, args)]
    if unprivileged:
        cmd = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *cmd]
    home = str(cwd or tempfile.gettempdir())
    env = {**os.environ, "HOME": home, "MPLCONFIGDIR": home}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=cwd, env=env)


def test_symlinked_subfolder_is_followed_once_and_a_link_to_an_ancestor_does_not_loop(tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    shutil.copy(clip("friday.mp4"), outside / "friday.mp4")
    refs = tmp_path / "refs"
    (refs / "sub").mkdir(parents=True)
    (refs / "sub" / "linked").symlink_to(outside, target_is_directory=True)
    (refs / "sub" / "up").symlink_to(refs, target_is_directory=True)  # a link to an ancestor
    (refs / "up2").symlink_to(tmp_path, target_is_directory=True)  # ... and to the folder above

    files, problems = find_videos([refs])
    assert problems == []
    assert [f.name for f in files] == ["friday.mp4"], files  # found once, through one of the links
    r = CliRunner().invoke(cli, ["index", str(refs), "--library", str(tmp_path / "lib"), "--json", "-q"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["indexed"] == 1


def test_broken_links_and_fifos_are_reported_and_the_commands_exit_nonzero(tmp_path):
    refs = tmp_path / "refs"
    refs.mkdir()
    shutil.copy(clip("friday.mp4"), refs / "friday.mp4")
    (refs / "gone.mp4").symlink_to(tmp_path / "deleted.mp4")
    (refs / "gone_folder").symlink_to(tmp_path / "deleted_folder", target_is_directory=True)
    os.mkfifo(refs / "pipe.mp4")  # opening it would block the walk forever
    (refs / "self").symlink_to(refs / "self")  # a link loop

    walk = walk_paths([refs])
    reasons = {Path(p.path).name: p.reason for p in walk.problems}
    assert set(reasons) == {"gone.mp4", "gone_folder", "pipe.mp4", "self"}
    assert "broken link" in reasons["gone.mp4"] and "deleted.mp4" in reasons["gone.mp4"]
    assert "FIFO" in reasons["pipe.mp4"] and "loop" in reasons["self"]
    assert [f.name for f in walk.files] == ["friday.mp4"]

    lib = tmp_path / "lib"
    r = CliRunner().invoke(cli, ["index", str(refs), "--library", str(lib), "--json", "-q"])
    assert r.exit_code == 1, r.output
    summary = json.loads(r.stdout)
    assert summary["indexed"] == 1 and summary["failed"] == 4
    assert {Path(f["path"]).name for f in summary["files"] if f["status"] == "failed"} == set(reasons)
    r = CliRunner().invoke(cli, ["match", str(refs), "--library", str(lib), "--json", "-q"])
    assert r.exit_code == 1, r.output
    rows = [json.loads(line) for line in r.stdout.splitlines() if "summary" not in line]
    assert sorted(Path(row["query"]).name for row in rows if row["verdict"] == "error") == sorted(reasons)
    assert [row["verdict"] for row in rows if row["query"].endswith("friday.mp4")] == ["match"]


@pytest.fixture
def shared_tmp():
    """A temporary folder an unprivileged user can enter (pytest's tmp_path is private to root)."""
    root = Path(tempfile.mkdtemp(prefix="fp-walk-"))
    root.chmod(0o755)
    yield root
    for dirpath, dirnames, _ in os.walk(root):
        for d in dirnames:
            os.chmod(os.path.join(dirpath, d), 0o755)
    shutil.rmtree(root)


def test_unreadable_folders_and_files_are_reported_when_run_without_privileges(shared_tmp):
    """Root reads everything, so as root the CLI runs without root's read capabilities (setpriv)."""
    user = None
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: cannot make a file unreadable")
        user = True
    refs = shared_tmp / "refs"
    (refs / "locked_folder").mkdir(parents=True)
    shutil.copy(clip("friday.mp4"), refs / "friday.mp4")
    shutil.copy(clip("elf.mp4"), refs / "locked_folder" / "elf.mp4")
    shutil.copy(clip("cockatoo.mp4"), refs / "locked_video.bin")
    (refs / "locked_folder").chmod(0)
    (refs / "locked_video.bin").chmod(0)
    for p in (shared_tmp, refs, refs / "friday.mp4"):
        p.chmod(p.stat().st_mode | stat.S_IRWXO if p.is_dir() else 0o644)
    lib, work = shared_tmp / "lib", shared_tmp / "work"
    for folder in (lib, work):
        folder.mkdir()
        folder.chmod(0o777)

    r = _fp("index", refs, "--library", lib, "--json", "-q", cwd=work, unprivileged=bool(user))
    assert r.returncode == 1, r.stderr
    summary = json.loads(r.stdout)
    failed = {Path(f["path"]).name: f["reason"] for f in summary["files"] if f["status"] == "failed"}
    assert summary["indexed"] == 1
    assert set(failed) == {"locked_folder", "locked_video.bin"}, failed
    assert all("permission denied" in reason for reason in failed.values())

    r = _fp("index", refs, "--library", lib, "-q", cwd=work, unprivileged=bool(user))
    assert r.returncode == 1 and "locked_folder" in r.stdout + r.stderr and "locked_video.bin" in r.stdout + r.stderr
    r = _fp("match", refs, "--library", lib, "--json", "-q", cwd=work, unprivileged=bool(user))
    assert r.returncode == 1, r.stderr
    rows = {Path(json.loads(line)["query"]).name: json.loads(line) for line in r.stdout.splitlines() if "summary" not in line}
    assert rows["friday.mp4"]["verdict"] == "match"
    assert rows["locked_folder"]["verdict"] == rows["locked_video.bin"]["verdict"] == "error"


def _small_video(path: Path, seed: int, **kw) -> Path:
    """A short real encoded video (its own content), written under its true container's name."""
    suffix = {"libx264": ".mp4"}.get(kw.get("codec", "libx264"), ".avi")
    real = write_video(path.with_name(path.name + ".tmp" + kw.pop("container", suffix)), textured_frames(40, seed=seed), **kw)
    real.rename(path)
    return path


def test_content_decides_in_walked_folders_and_non_videos_are_counted_not_failed(tmp_path):
    refs = tmp_path / "refs"
    refs.mkdir()
    videos = {
        "holiday.jpg": _small_video(refs / "holiday.jpg", 1),
        "notes.txt": _small_video(refs / "notes.txt", 2, container=".mkv"),
        "invoice.pdf": _small_video(refs / "invoice.pdf", 3, codec="mpeg4"),
        ".hidden": _small_video(refs / ".hidden", 4, container=".ts"),
    }
    import cv2

    cv2.imwrite(str(refs / "photo.jpg"), next(textured_frames(1)))
    (refs / "readme.txt").write_text("just text\n" * 50)
    (refs / "._holiday.mp4").write_bytes(b"\x00\x05\x16\x07" + bytes(np.random.default_rng(0).integers(0, 255, 4000, np.uint8)))
    (refs / "empty").write_bytes(b"")
    (refs / "firmware.bin").write_bytes(np.random.default_rng(1).bytes(1_000_000))  # FFmpeg reads a .bin as text-art "video"

    walk = walk_paths([refs])
    assert sorted(f.name for f in walk.files) == sorted(videos)
    assert sorted(f.name for f in walk.not_video) == ["._holiday.mp4", "empty", "firmware.bin", "photo.jpg", "readme.txt"]
    assert walk.problems == ()

    lib = tmp_path / "lib"
    r = CliRunner().invoke(cli, ["index", str(refs), "--library", str(lib), "--json", "-q"])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert (summary["indexed"], summary["failed"], summary["not_video"]) == (4, 0, 5)
    assert sorted(Path(p).name for p in summary["not_video_files"]) == sorted(f.name for f in walk.not_video)
    r = CliRunner().invoke(cli, ["match", str(refs), "--library", str(lib), "--json", "-q"])
    tail = json.loads(r.stdout.splitlines()[-1])["summary"]  # the batch's last line names the files it passed over
    assert r.exit_code == 0 and tail["suspects"] == 4  # the four videos, whatever their verdicts
    assert sorted(Path(p).name for p in tail["not_video"]) == sorted(f.name for f in walk.not_video)
    assert "5 files in the folders given hold no video (not matched): " in r.stderr
    # A non-video named explicitly is still an error.
    r = CliRunner().invoke(cli, ["index", str(refs / "readme.txt"), "--library", str(lib), "--json", "-q"])
    assert r.exit_code == 1 and json.loads(r.stdout)["failed"] == 1

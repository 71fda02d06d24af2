"""Walk the paths given to `fp index` / `fp match`: which files to fingerprint, what could not be read.

Folders are walked recursively, following links to folders (each folder once per argument,
so a link to an ancestor cannot loop). Every file in a walked folder is judged by content:
a file with a video extension is taken as it claims (decoding reports it when it is not a
video); any other file, hidden ones included, is probed by FFmpeg and taken when it holds a
video stream. A file named on the command line is always taken (decoding decides).
"""
from __future__ import annotations

import errno
import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from fp.fingerprint.decode import probe
from fp.fingerprint.errors import VideoDecodeError

log = logging.getLogger(__name__)

VIDEO_EXTENSIONS = {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".wmv", ".flv", ".ts", ".mts", ".m2ts", ".mpg", ".mpeg", ".3gp", ".ogv", ".y4m"}
_SPECIAL = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


@dataclass(frozen=True)
class WalkProblem:
    """A path that could not be read, and why."""

    path: str
    reason: str

    def to_dict(self) -> dict:
        return {"path": self.path, "reason": self.reason}


@dataclass(frozen=True)
class Walk:
    files: tuple[Path, ...]  # to fingerprint, in walk order
    problems: tuple[WalkProblem, ...]  # folders and files that could not be read
    not_video: tuple[Path, ...]  # files in walked folders that hold no video (not errors)

    def to_dict(self) -> dict:
        return {"files": len(self.files), "not_video": len(self.not_video), "problems": [p.to_dict() for p in self.problems]}


def walk_paths(paths: Iterable[str | os.PathLike]) -> Walk:
    files: list[Path] = []
    problems: list[WalkProblem] = []
    not_video: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            _walk_folder(p, files, problems, not_video)
        elif p.exists() or p.is_symlink():
            files.append(p)  # named explicitly: decoding says what is wrong with it
        else:
            problems.append(WalkProblem(str(p), _stat_reason(p)))
    return Walk(tuple(files), tuple(problems), tuple(not_video))


def _walk_folder(root: Path, files: list, problems: list, not_video: list) -> None:
    seen: set[tuple[int, int]] = set()  # (device, inode) of folders walked under this root
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            st = folder.stat()
        except OSError as exc:
            problems.append(WalkProblem(str(folder), _os_reason(exc, folder)))
            continue
        if (st.st_dev, st.st_ino) in seen:
            log.debug("%s: folder already walked (a link back to it), not walked again", folder)
            continue
        seen.add((st.st_dev, st.st_ino))
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            problems.append(WalkProblem(str(folder), "cannot list folder: " + _os_reason(exc, folder)))
            continue
        subfolders = []
        for entry in entries:
            path = Path(entry.path)
            try:
                st = path.stat()  # follows links
            except OSError as exc:
                problems.append(WalkProblem(str(path), _os_reason(exc, path)))
                continue
            if stat.S_ISDIR(st.st_mode):
                subfolders.append(path)
            elif stat.S_ISREG(st.st_mode):
                _judge_file(path, st.st_size, files, problems, not_video)
            else:  # never opened: reading a FIFO would block
                kind = next((name for test, name in _SPECIAL if test(st.st_mode)), "not a regular file")
                problems.append(WalkProblem(str(path), f"{kind}, not a regular file: not read"))
        stack.extend(reversed(subfolders))  # depth first, in name order


def _judge_file(path: Path, size: int, files: list, problems: list, not_video: list) -> None:
    hidden = path.name.startswith(".")
    if path.suffix.lower() in VIDEO_EXTENSIONS and not hidden:
        files.append(path)
        return
    try:
        with open(path, "rb") as fh:  # a cheap check that it can be read at all
            fh.read(1)
    except OSError as exc:
        problems.append(WalkProblem(str(path), _os_reason(exc, path)))
        return
    if size == 0:
        not_video.append(path)
        return
    try:
        probe(path)
    except VideoDecodeError as exc:
        if exc.reason in ("permission denied", "no such file"):
            problems.append(WalkProblem(str(path), exc.reason))
        else:
            not_video.append(path)
        return
    files.append(path)


def _os_reason(exc: OSError, path: Path) -> str:
    if exc.errno == errno.ENOENT:
        if path.is_symlink():
            return f"broken link (to {os.readlink(path)})"
        return "vanished while walking"
    if exc.errno == errno.ELOOP:
        return "symbolic link loop"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    return exc.strerror or str(exc)


def _stat_reason(p: Path) -> str:
    try:
        p.stat()
    except OSError as exc:
        if exc.errno == errno.ENOENT and not p.is_symlink():
            return "no such file or folder"
        return _os_reason(exc, p)
    return "no such file or folder"

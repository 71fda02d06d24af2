"""The upload spool, shared by every server on one service folder without one sweeping another's uploads.

Layout: `<spool>/server-<random id>/<upload id>/<file>`. Each server claims a folder of its own
and holds a flock on it (on the folder's descriptor, as index/writelock.py does) for as long as
it runs; the kernel drops the lock when the process ends, however it ends. A sweep (at a
server's start and stop) removes the uploads no job names from every server folder whose lock
is free, then the folder once empty; a live server's folder is never entered. A running server
also sweeps the folder of a server that died beside it when it takes over its jobs (worker.py,
`sweep_gone`), once per dead folder. Top-level entries
of other shapes (the spool of an earlier fp, stray files) are removed unless a job names them.
Claiming and sweeping hold a flock on the spool folder itself, so no sweep meets a server folder
made but not yet locked. The same lock says whether a server still runs: each running job
names its server's folder (jobs.py), and a server (at its start, and its worker between jobs)
requeues only jobs whose folder's lock is free.
"""
from __future__ import annotations

import fcntl
import logging
import os
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

log = logging.getLogger(__name__)

SERVER_PREFIX = "server-"


def _lock(fd: int, blocking: bool) -> bool | None:
    """Flock `fd` exclusive: True taken, False held by someone else, None where flock is refused."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except BlockingIOError:
        return False
    except OSError as exc:  # e.g. NFS refuses a flock on a folder
        log.warning("cannot lock the upload spool (%s)", exc.strerror or exc)
        return None
    return True


@contextmanager
def _spool_locked(root: Path) -> Iterator[None]:
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        _lock(fd, blocking=True)
        yield
    finally:
        os.close(fd)


def _remove(entry: Path) -> None:
    if entry.is_dir() and not entry.is_symlink():
        shutil.rmtree(entry, ignore_errors=True)
    else:
        entry.unlink(missing_ok=True)


class Spool:
    """One server's part of the spool folder `root`."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self._folder: Path | None = None
        self._fd: int | None = None
        self._swept: set[str] = set()  # folders of gone servers this one has swept (nothing new comes into them)

    @property
    def folder(self) -> Path:
        """This server's folder, where its uploads go (claimed on first use)."""
        return self.claim()

    def claim(self) -> Path:
        """Make and lock this server's folder (once; again after `release`)."""
        if self._fd is None:
            self.root.mkdir(parents=True, exist_ok=True)
            with _spool_locked(self.root):
                folder = self.root / f"{SERVER_PREFIX}{uuid.uuid4().hex}"
                folder.mkdir()
                fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
                _lock(fd, blocking=False)  # a new folder: nobody else holds it
            self._folder, self._fd = folder, fd
        return self._folder

    @property
    def name(self) -> str:
        """This server's folder name: the owner it records on the jobs it runs (jobs.py)."""
        return self.claim().name

    def running(self, name: str) -> bool:
        """Whether the server owning the folder `name` still runs (its lock is held). A folder
        gone, or one whose lock cannot be tested (flock refused), counts as its server gone."""
        if not name.startswith(SERVER_PREFIX) or "/" in name:
            return False
        try:
            fd = os.open(self.root / name, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            return False
        try:
            return _lock(fd, blocking=False) is False
        finally:
            os.close(fd)  # a free lock taken to test it goes with the descriptor

    def release(self) -> None:
        """Let go of this server's folder: the next sweep (this one's at stop, or another server's) clears it."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def sweep(self, keep: set[str]) -> int:
        """Remove every upload no live server owns and no job names (`keep`: upload folder names); how many."""
        if not self.root.is_dir():
            return 0
        removed = 0
        with _spool_locked(self.root):
            for entry in sorted(self.root.iterdir()):
                if _is_server(entry):
                    removed += self._sweep_folder(entry, keep)
                elif entry.name not in keep:
                    _remove(entry)
                    removed += 1
        return removed

    def sweep_gone(self, keep: Callable[[], set[str]]) -> int:
        """Sweep the folders of servers gone since this one last swept (between its jobs: it has just
        taken over their jobs); `keep` (upload folder names jobs name) is asked only when there is one."""
        if not self.root.is_dir():
            return 0
        with _spool_locked(self.root):
            gone = [entry for entry in sorted(self.root.iterdir())
                    if _is_server(entry) and entry.name not in self._swept and not self.running(entry.name)]
            if not gone:
                return 0
            names = keep()
            return sum(self._sweep_folder(entry, names) for entry in gone)

    def _sweep_folder(self, folder: Path, keep: set[str]) -> int:
        """Sweep one server's folder if its server is gone, and remember that it was."""
        removed = _sweep_server(folder, keep)
        if removed is None:
            return 0
        self._swept.add(folder.name)
        return removed


def _is_server(entry: Path) -> bool:
    return entry.name.startswith(SERVER_PREFIX) and entry.is_dir() and not entry.is_symlink()


def _sweep_server(folder: Path, keep: set[str]) -> int | None:
    """Clear the folder of a server that has gone (its lock is free); None while it runs."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return None
    try:
        if not _lock(fd, blocking=False):  # its server runs (or flock cannot tell)
            return None
        unneeded = [entry for entry in folder.iterdir() if entry.name not in keep]
        for entry in unneeded:
            _remove(entry)
        if not any(folder.iterdir()):
            folder.rmdir()
        return len(unneeded)
    finally:
        os.close(fd)

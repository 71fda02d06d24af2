"""The write lock of a library folder: an advisory flock on the folder itself.

Writers (`fp index`; `fp library remove`, `set-metadata`, ... for their whole edit) hold it
shared, so any number run at once; re-sharding holds it exclusive, so it never moves a library
under a writer. Readers take no lock. The kernel drops a flock when its descriptor closes, so an exit, Ctrl-C or crash
releases it. Locking the folder, not a file in it, leaves nothing behind and needs no write
permission: a read-only folder is locked as any other and its writers meet the library's own
read-only error. Where the folder cannot be opened or locked (missing, or a file system
without flock on folders), nothing is locked, as before the lock existed.
"""
from __future__ import annotations

import fcntl
import logging
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from fp.fingerprint.errors import LibraryBusyError, LibraryError

log = logging.getLogger(__name__)

WAIT = 5.0  # seconds a writer waits for a re-shard to finish before giving up
POLL = 0.05  # seconds between tries while waiting


def _open(root: Path) -> int | None:
    """A descriptor of the library folder; None when there is none to lock (not made yet)."""
    try:
        return os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return None  # missing, a file, or unreadable: the library's own error follows


def _try(fd: int, mode: int, root) -> bool:
    """Take the lock if free; True also where the folder cannot be locked at all."""
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError as exc:  # e.g. NFS refuses an exclusive flock on a folder (EBADF)
        log.warning("%s: cannot lock the library folder (%s); not guarded against a concurrent re-shard",
                    root, exc.strerror or exc)
    return True


@contextmanager
def shared(root: str | os.PathLike, wait: float | None = None) -> Iterator[None]:
    """Hold the lock shared (as a writer); wait up to `wait` (default WAIT) seconds for a re-shard to finish."""
    fd = _open(Path(root))
    try:
        deadline = time.monotonic() + (WAIT if wait is None else wait)
        while fd is not None and not _try(fd, fcntl.LOCK_SH, root):
            if time.monotonic() >= deadline:
                raise LibraryBusyError(f"{root}: being re-sharded by another fp process (fp library shard); "
                                   "try again when it has finished")
            time.sleep(POLL)
        yield
    finally:
        if fd is not None:
            os.close(fd)


@contextmanager
def exclusive(root: str | os.PathLike) -> Iterator[None]:
    """Hold the lock alone (to re-shard), or fail at once when anyone else holds it."""
    fd = _open(Path(root))
    try:
        if fd is not None and not _try(fd, fcntl.LOCK_EX, root):
            raise LibraryError(f"{root}: the library is in use by another fp process (fp index or a library edit?); "
                               "try again when it has finished")
        yield
    finally:
        if fd is not None:
            os.close(fd)

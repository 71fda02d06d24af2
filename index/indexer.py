"""Index many files into a library: walk, skip what is indexed, fingerprint in parallel, add."""
from __future__ import annotations

import logging
import os
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from fp.fingerprint.decode import check_readable
from fp.fingerprint.errors import FpError, InputError, VideoDecodeError
from fp.fingerprint.pipeline import fingerprint_video

from .library import Library, content_hash
from .listings import read_path_csv
from .walk import Walk, walk_paths

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FileOutcome:
    path: str
    status: str  # "indexed" | "skipped" | "failed"
    title: str | None = None
    video_id: int | None = None
    reason: str | None = None
    duration: float = 0.0
    hashes: int = 0
    partial: bool = False  # only part of the file decoded (the reason is in warnings)
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {**asdict(self), "warnings": list(self.warnings)}


@dataclass
class IndexReport:
    outcomes: list[FileOutcome] = field(default_factory=list)
    elapsed: float = 0.0
    not_video: int = 0  # files in walked folders that hold no video

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    @property
    def failed(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    def to_dict(self) -> dict:
        hours = sum(o.duration for o in self.outcomes if o.status == "indexed") / 3600
        return {
            "indexed": self.count("indexed"),
            "skipped": self.count("skipped"),
            "failed": self.count("failed"),
            "not_video": self.not_video,
            "partial": sum(o.partial for o in self.outcomes),
            "hours_indexed": round(hours, 4),
            "hashes_added": sum(o.hashes for o in self.outcomes),
            "elapsed": round(self.elapsed, 3),
            "realtime_multiple": round(hours * 3600 / self.elapsed, 2) if self.elapsed else None,
            "files": [o.to_dict() for o in self.outcomes],
        }


def find_videos(paths: Iterable[str | os.PathLike]) -> tuple[list[Path], list[FileOutcome]]:
    """Files named directly, and video files found (by content) under folders (see walk.py)."""
    walk = walk_paths(paths)
    return list(walk.files), _unreadable(walk)


def _unreadable(walk: Walk) -> list[FileOutcome]:
    return [FileOutcome(p.path, "failed", reason=p.reason) for p in walk.problems]


def read_metadata_csv(path: str | os.PathLike) -> dict[str, dict]:
    """Reference metadata (title, rights_holder, licensed_sellers, ...) keyed by resolved path."""
    return read_path_csv(path, "metadata", keep_path=False)


def _fingerprint_job(path: str, config):
    try:
        return path, fingerprint_video(path, config), None
    except VideoDecodeError as exc:
        return path, None, exc.reason
    except FpError as exc:
        return path, None, str(exc)
    except MemoryError:
        return path, None, "out of memory while decoding"
    except Exception as exc:  # a decoder crash inside one file must not stop the batch
        log.exception("unexpected error fingerprinting %s", path)
        return path, None, f"unexpected error: {type(exc).__name__}: {exc}"


def index_paths(
    library: Library,
    paths: Iterable[str | os.PathLike],
    *,
    title: str | None = None,
    metadata: dict[str, dict] | None = None,
    workers: int = 1,
    strict: bool = False,
    progress: Callable[[FileOutcome, int, int], None] | None = None,
    save_every: float = 300.0,
) -> IndexReport:
    """Index video files into `library`. Each file is added in one transaction, so a crash
    loses at most the files in flight; re-running completes only what is missing."""
    start = time.perf_counter()
    walk = walk_paths(paths)
    files, problems = list(walk.files), _unreadable(walk)
    report = IndexReport(outcomes=list(problems), not_video=len(walk.not_video))
    if strict and problems:
        raise InputError(f"{problems[0].path}: {problems[0].reason}")
    if title is not None and len(files) != 1:
        raise InputError(f"--title names one video, but {len(files)} files were given")
    metadata = metadata or {}
    todo: list[tuple[Path, str, int]] = []
    total = len(files) + len(problems)

    def done(outcome: FileOutcome) -> None:
        report.outcomes.append(outcome)
        if progress:
            progress(outcome, len(report.outcomes), total)
        if strict and outcome.status == "failed":
            raise VideoDecodeError(outcome.path, outcome.reason or "failed")

    for f in files:
        try:
            check_readable(f)
            digest = content_hash(f)
        except VideoDecodeError as exc:
            done(FileOutcome(str(f), "failed", reason=exc.reason))
            continue
        except OSError as exc:
            done(FileOutcome(str(f), "failed", reason=exc.strerror or str(exc)))
            continue
        existing = library.find_content(digest)
        if existing is not None:
            done(FileOutcome(str(f), "skipped", title=existing.title, video_id=existing.id, reason="already indexed"))
            continue
        todo.append((f, digest, f.stat().st_size))

    last_save = time.monotonic()
    by_path = {str(f): (f, digest, size) for f, digest, size in todo}

    def add(path: str, fpr, reason: str | None) -> None:
        nonlocal last_save
        f, digest, size = by_path[path]
        if fpr is None:
            done(FileOutcome(path, "failed", reason=reason))
            return
        meta = dict(metadata.get(str(f.resolve()), {}))
        name = title or meta.pop("title", None) or f.stem
        video_id = library.add(fpr, path=str(f), title=name, content_hash=digest, size=size, metadata=meta)
        partial = fpr.meta.get("partial_reason")
        done(FileOutcome(path, "indexed", title=name, video_id=video_id, duration=fpr.duration, hashes=len(fpr),
                         partial=bool(partial), warnings=(f"partial file, indexed what decodes: {partial}",) if partial else ()))
        if time.monotonic() - last_save > save_every:
            library.save_index()
            last_save = time.monotonic()

    try:
        if workers <= 1 or len(todo) <= 1:
            for f, _, _ in todo:
                add(*_fingerprint_job(str(f), library.config))
        else:
            _run_parallel(todo, workers, library.config, add)
    finally:
        if report.count("indexed"):
            library.save_index()
        report.elapsed = time.perf_counter() - start
    return report


def _run_parallel(todo, workers, config, add) -> None:
    """Fingerprint in worker processes. A worker that dies (a decoder crash) takes the files in
    flight with it: those are retried one at a time, and the one that crashes alone fails."""
    queue = [str(f) for f, _, _ in todo]
    isolate: list[str] = []
    while queue or isolate:
        alone = bool(isolate)
        batch = [isolate.pop(0)] if alone else queue
        with ProcessPoolExecutor(max_workers=1 if alone else workers) as pool:
            pending: dict = {}
            try:
                while batch or pending:
                    while batch and len(pending) < (1 if alone else workers * 2):
                        path = batch.pop(0)
                        pending[pool.submit(_fingerprint_job, path, config)] = path
                    finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in finished:
                        outcome = fut.result()  # raises BrokenProcessPool while fut is still pending
                        del pending[fut]
                        add(*outcome)
            except BrokenProcessPool:
                if alone:
                    add(next(iter(pending.values())), None, "the decoder crashed on this file (worker process died)")
                else:
                    isolate += list(pending.values())

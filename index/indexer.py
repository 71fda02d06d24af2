"""Index many files into a library: walk, skip what is indexed, fingerprint in parallel, add."""
from __future__ import annotations

import functools
import logging
import os
import signal
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from fp.fingerprint.decode import check_readable
from fp.fingerprint.errors import DuplicateContentError, FpError, InputError, VideoDecodeError
from fp.fingerprint.pipeline import decode_warnings, fingerprint_video

from . import writelock
from .library import Library, content_hash
from .pools import process_pool
from .listings import CsvProblem, PathTable, read_path_csv
from .same_footage import versions_of
from .shards import check_current
from .store import VideoRecord, text_title
from .walk import Walk, walk_paths

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FileOutcome:
    path: str
    status: str  # "indexed" | "updated" (metadata) | "skipped" (already indexed) | "duplicate" | "failed"
    title: str | None = None
    video_id: int | None = None
    reason: str | None = None
    duration: float = 0.0
    hashes: int = 0
    partial: bool = False  # only part of the file decoded (the reason is in warnings)
    warnings: tuple[str, ...] = ()
    shares_footage_with: tuple[int, ...] = ()  # ids of videos indexed before that hold footage of it

    def to_dict(self) -> dict:
        return {**asdict(self), "warnings": list(self.warnings), "shares_footage_with": list(self.shares_footage_with)}


STATUSES = ("indexed", "updated", "skipped", "duplicate", "failed")


@dataclass
class IndexReport:
    outcomes: list[FileOutcome] = field(default_factory=list)
    elapsed: float = 0.0
    interrupted: bool = False
    csv_problems: list[CsvProblem] = field(default_factory=list)  # metadata rows not used as written
    notes: list[str] = field(default_factory=list)  # things a user should know, one line each
    not_video: int = 0  # files in walked folders that hold no video
    not_video_files: list[str] = field(default_factory=list)  # ... and which they are

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    @property
    def failed(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    def to_dict(self) -> dict:
        hours = sum(o.duration for o in self.outcomes if o.status == "indexed") / 3600
        return {
            **{status: self.count(status) for status in STATUSES},
            "not_video": self.not_video,
            "not_video_files": list(self.not_video_files),
            "partial": sum(o.partial for o in self.outcomes),
            "hours_indexed": round(hours, 4),
            "hashes_added": sum(o.hashes for o in self.outcomes),
            "elapsed": round(self.elapsed, 3),
            "realtime_multiple": round(hours * 3600 / self.elapsed, 2) if self.elapsed else None,
            "interrupted": self.interrupted,
            "metadata_problems": [p.to_dict() for p in self.csv_problems],
            "notes": list(self.notes),
            "files": [o.to_dict() for o in self.outcomes],
        }


def find_videos(paths: Iterable[str | os.PathLike]) -> tuple[list[Path], list[FileOutcome]]:
    """Files named directly, and video files found (by content) under folders (see walk.py)."""
    walk = walk_paths(paths)
    return list(walk.files), _unreadable(walk)


def _unreadable(walk: Walk) -> list[FileOutcome]:
    return [FileOutcome(p.path, "failed", reason=p.reason) for p in walk.problems]


def read_metadata_csv(path: str | os.PathLike) -> PathTable:
    """Reference metadata (title, rights_holder, licensed_sellers, ...) keyed by resolved path."""
    return read_path_csv(path, "metadata", keep_path=False)


def _ignore_sigint() -> None:
    """Workers leave Ctrl-C to the parent, which stops the batch and reports what finished."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


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


def _changes(video: VideoRecord, wanted: dict) -> dict:
    """The metadata keys (title included) whose wanted value differs from the stored one."""
    stored = {**video.metadata, "title": video.title}
    return {k: v for k, v in wanted.items() if stored.get(k) != v}


def _under_write_lock(index):
    """Run `index` holding the library's write lock shared, so no re-shard moves it meanwhile."""
    @functools.wraps(index)
    def locked(library, *args, **kwargs):
        with writelock.shared(library.root):
            if not library.readonly:
                check_current(library)  # not re-sharded between its opening and this lock
            return index(library, *args, **kwargs)
    return locked


@_under_write_lock
def index_paths(
    library: Library,
    paths: Iterable[str | os.PathLike],
    *,
    title: str | None = None,
    metadata: PathTable | dict[str, dict] | None = None,
    workers: int = 1,
    strict: bool = False,
    progress: Callable[[FileOutcome, int, int], None] | None = None,
    save_every: float = 300.0,
    runner: Callable[[list[str], object, Callable], None] | None = None,
) -> IndexReport:
    """Index video files into `library`. Each file is added in one transaction, so a crash
    loses at most the files in flight; re-running completes only what is missing.

    Identity is content: bytes already indexed (or met earlier in this batch) are reported
    as "duplicate" or "skipped", never added twice; a metadata row (or `title`) for an
    indexed file updates its metadata ("updated"). Ctrl-C stops the batch and returns the
    report with `interrupted` set, after saving what was indexed.

    The run holds the library's write lock shared (writelock.py): other writers run alongside,
    `fp library shard` waits; started during a re-shard, it waits a few seconds, then fails.

    `runner(paths, config, add)` fingerprints the files to add somewhere else (a Ray cluster,
    see ray_index.py) and calls `add(path, fingerprint, None)` or `add(path, None, reason)` for
    each, here, where the library is written. `workers` > 1 fingerprints in processes started
    from a forkserver (pools.py): a calling script must keep its work under `if __name__ == "__main__":`.
    """
    start = time.perf_counter()
    walk = walk_paths(paths)
    files, problems = list(walk.files), _unreadable(walk)
    report = IndexReport(outcomes=list(problems), not_video=len(walk.not_video), not_video_files=[str(p) for p in walk.not_video])
    if strict and problems:
        raise InputError(f"{problems[0].path}: {problems[0].reason}")
    if title is not None and len(files) != 1:
        raise InputError(f"--title names one video, but {len(files)} files were given")
    if metadata is None:
        metadata = {}
    if isinstance(metadata, PathTable):
        report.csv_problems += list(metadata.problems) + metadata.unused(str(f.resolve()) for f in files)
    todo: list[tuple[Path, str, int]] = []
    total = len(files) + len(problems)
    first_of: dict[str, Path] = {}  # content hash -> first file with it in this batch

    def done(outcome: FileOutcome) -> None:
        report.outcomes.append(outcome)
        if progress:
            progress(outcome, len(report.outcomes), total)
        if strict and outcome.status == "failed":
            raise VideoDecodeError(outcome.path, outcome.reason or "failed")

    def wanted_metadata(f: Path) -> tuple[str, dict]:
        meta = dict(metadata.get(str(f.resolve()), {}) or {})
        name = title or meta.pop("title", None) or f.stem
        return text_title(name), meta  # as the store keeps it (a name that is not UTF-8: \xNN)

    try:
        for f in files:
            try:
                check_readable(f)
                digest = content_hash(f)
                size = f.stat().st_size
            except VideoDecodeError as exc:
                done(FileOutcome(str(f), "failed", reason=exc.reason))
                continue
            except OSError as exc:
                done(FileOutcome(str(f), "failed", reason=exc.strerror or str(exc)))
                continue
            if digest in first_of:
                name, _ = wanted_metadata(first_of[digest])
                done(FileOutcome(str(f), "duplicate", title=name, reason=f"same content as {name} ({first_of[digest]})"))
                continue
            first_of[digest] = f
            existing = library.find_content(digest)
            if existing is not None:
                done(_known(library, existing, f, wanted_metadata, explicit=title is not None or str(f.resolve()) in metadata))
                continue
            todo.append((f, digest, size))

        last_save = time.monotonic()
        by_path = {str(f): (f, digest, size) for f, digest, size in todo}

        def add(path: str, fpr, reason: str | None) -> None:
            nonlocal last_save
            f, digest, size = by_path[path]
            if fpr is None:
                done(FileOutcome(path, "failed", reason=reason))
                return
            name, meta = wanted_metadata(f)
            older = library.find_path(os.path.abspath(f))
            try:
                video_id = library.add(fpr, path=os.path.abspath(f), title=name, content_hash=digest, size=size, metadata=meta)
            except DuplicateContentError as exc:  # indexed meanwhile by another fp process
                done(FileOutcome(path, "duplicate", title=exc.existing_title, video_id=exc.existing_id,
                                 reason=f"same content as {exc.existing_title}"))
                return
            note = None
            if older:
                ids = ", ".join(str(v.id) for v in older)
                note = (f"this path held other content before (id {ids}): both are kept; "
                        f"`fp library remove {older[0].id}` drops the old one")
                report.notes.append(f"{path}: {note}")
            shared = _note_shared_footage(library, video_id, path, report)
            partial = fpr.meta.get("partial_reason")
            stored = library.video(video_id).n_hashes  # rows as stored (repeats merged): what `fp library info` counts
            done(FileOutcome(path, "indexed", title=name, video_id=video_id, reason=note, duration=fpr.duration, hashes=stored,
                             partial=bool(partial), warnings=decode_warnings(fpr, "indexed"), shares_footage_with=shared))
            if time.monotonic() - last_save > save_every:
                library.save_index()
                last_save = time.monotonic()

        if runner is not None:
            runner([str(f) for f, _, _ in todo], library.config, add)
        elif workers <= 1 or len(todo) <= 1:
            for f, _, _ in todo:
                add(*_fingerprint_job(str(f), library.config))
        else:
            _run_parallel(todo, workers, library.config, add)
    except KeyboardInterrupt:
        report.interrupted = True
    except BaseException:
        _save_quietly(library, report)  # what was indexed stays indexed; the real error is raised
        raise
    finally:
        report.elapsed = time.perf_counter() - start
    if report.count("indexed"):
        if report.interrupted:
            _save_quietly(library, report)
        else:
            library.save_index()
    return report


def _known(library: Library, video: VideoRecord, f: Path, wanted_metadata, explicit: bool) -> FileOutcome:
    """Outcome for a file whose bytes are already indexed: skipped, or its metadata updated."""
    name, meta = wanted_metadata(f)
    same_file = video.path == os.path.abspath(f) or Path(video.path).resolve() == f.resolve()
    if explicit:
        named = name != f.stem or "title" in meta  # a title was given, not the file-name default
        changes = _changes(video, {**meta, **({"title": name} if named else {})})
        if changes:
            library.set_metadata(video.id, changes)
            return FileOutcome(str(f), "updated", title=changes.get("title", video.title), video_id=video.id,
                               reason="metadata updated: " + ", ".join(sorted(changes)))
    if same_file:
        return FileOutcome(str(f), "skipped", title=video.title, video_id=video.id, reason="already indexed")
    return FileOutcome(str(f), "duplicate", title=video.title, video_id=video.id,
                       reason=f"same content as {video.title} (id {video.id}, {video.path})")


def _note_shared_footage(library: Library, video_id: int, path: str, report: IndexReport) -> tuple[int, ...]:
    """Say when a new reference holds footage of one already indexed (another version, a trailer):
    a copy may then be reported against each. Returns their ids."""
    try:
        shared = tuple(versions_of(library, video_id))
    except Exception as exc:  # a note, not the index: never fail an add over it
        log.warning("%s: could not look for other versions of it: %s", path, exc)
        return ()
    if shared:
        names = ", ".join(f"{library.video(v).title} (id {v})" for v in shared)
        report.notes.append(f"{path}: holds footage of {names}, already indexed: a copy of it may be reported "
                            "against each (the chance model counts them as one footage)")
    return shared


def _save_quietly(library: Library, report: IndexReport) -> None:
    if not report.count("indexed"):
        return
    try:
        library.save_index()
    except FpError as exc:
        log.warning("could not save the FAISS index after an error (it is rebuilt on next open): %s", exc)


def _run_parallel(todo, workers, config, add) -> None:
    """Fingerprint in worker processes. A worker that dies (a decoder crash) takes the files in
    flight with it: those are retried one at a time, and the one that crashes alone fails.
    Ctrl-C stops the workers at once (they ignore SIGINT; the parent terminates them)."""
    queue = [str(f) for f, _, _ in todo]
    isolate: list[str] = []
    while queue or isolate:
        alone = bool(isolate)
        batch = [isolate.pop(0)] if alone else queue
        pool = process_pool(1 if alone else workers, initializer=_ignore_sigint)
        pending: dict = {}
        try:
            while batch or pending:
                while batch and len(pending) < (1 if alone else workers * 2):
                    # submit raises BrokenProcessPool once a worker has died: pop only what was taken
                    pending[pool.submit(_fingerprint_job, batch[0], config)] = batch[0]
                    batch.pop(0)
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
        except BaseException:
            _terminate(pool)
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _terminate(pool: ProcessPoolExecutor) -> None:
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        proc.terminate()

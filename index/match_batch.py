"""Match many suspects against one library: the batch API beside `index_paths()`.

`match_paths()` yields one MatchResult per suspect, in input order, and never stops the batch
on one suspect: a file that cannot be read or decoded, a bad fingerprint file, an evidence
folder that cannot be written, a library error while matching it, even a decoder crash that
kills a worker process, each give that suspect verdict "error" with the reason; the rest go
on. `strict=True` makes the first failure fatal instead. The CLI and a service only format.
"""
from __future__ import annotations

import logging
import os
import signal
import sqlite3
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterable, Iterator, Union

from fp.fingerprint.errors import FpError, InputError, VideoDecodeError
from fp.fingerprint.serialize import load_fingerprint
from fp.fingerprint.types import Fingerprint

from .listings import PathTable, flags_for
from .walk import walk_paths
from .matcher import SCHEMA_VERSION, Matcher, MatchResult
from .pools import process_pool
from .shards import open_library
from .triage import triage_file

log = logging.getLogger(__name__)

CRASHED = "the decoder crashed on this file (worker process died)"
LOOKAHEAD = 4  # jobs in flight or waiting to be yielded, per worker


@dataclass(frozen=True)
class HashFile:
    """A suspect given as a fingerprint JSON file (what `fp fingerprint --json` writes): matched
    without decoding. Evidence frames come from the video the fingerprint names, if it exists."""

    path: str


Suspect = Union[str, os.PathLike, HashFile, Fingerprint]


@dataclass(frozen=True)
class BatchSummary:
    """What a batch did: counts per verdict, time, and whether it was interrupted."""

    suspects: int
    matched: int  # verdict "match"
    no_match: int
    errors: int  # verdict "error"
    with_matches: int  # suspects with a match, also those whose evidence could not be written
    elapsed: float
    workers: int
    interrupted: bool = False
    listing_problems: tuple = ()  # CsvProblem: listings rows that matched no suspect, repeated rows
    not_video: tuple = ()  # walked files that hold no video (not matched)

    @classmethod
    def of(cls, results: list[MatchResult], elapsed: float, workers: int = 1, interrupted: bool = False,
           listing_problems=(), not_video=()) -> "BatchSummary":
        return cls(len(results), sum(r.verdict == "match" for r in results), sum(r.verdict == "no_match" for r in results),
                   sum(r.verdict == "error" for r in results), sum(bool(r.matches) for r in results), elapsed, workers,
                   interrupted, tuple(listing_problems), tuple(not_video))

    def to_dict(self) -> dict:
        return {"schema_version": SCHEMA_VERSION, "summary": {
            "suspects": self.suspects, "match": self.matched, "no_match": self.no_match, "error": self.errors,
            "with_matches": self.with_matches, "elapsed": round(self.elapsed, 3), "workers": self.workers, "interrupted": self.interrupted,
            "listing_problems": [p.to_dict() for p in self.listing_problems], "not_video": list(self.not_video)}}


def listing_problems(listings, results: list[MatchResult]) -> list:
    """Listings rows that were not used as written: repeated, without a path, or naming no suspect."""
    if not isinstance(listings, PathTable):
        return []
    return list(listings.problems) + listings.unused(_key(r.query) for r in results)


@dataclass(frozen=True)
class _Job:
    """One suspect to match: a video file, a fingerprint file, a fingerprint, or a path that failed
    before matching (`failed` holds the reason)."""

    index: int
    query: str
    video: str | None = None
    hashes: str | None = None
    fingerprint: Fingerprint | None = None
    failed: str | None = None


@dataclass(frozen=True)
class _Outcome:
    index: int
    result: MatchResult
    fatal: type[FpError] | None = None  # the error class `strict` raises for this failure


def match_paths(
    matcher: Matcher,
    paths: Iterable[Suspect],
    *,
    listings: dict[str, dict] | None = None,
    evidence_dir: str | os.PathLike | None = None,
    workers: int = 1,
    strict: bool = False,
    progress: Callable[[float, int], None] | None = None,
    not_video: Callable[[list[str]], None] | None = None,
    triage: bool = False,
) -> Iterator[MatchResult]:
    """Match suspects (video files, folders walked for videos, `HashFile`s, `Fingerprint`s)
    against the matcher's library; yield one result per suspect in input order.

    `listings` maps resolved suspect paths to listing rows (see `read_listings`); `evidence_dir`
    gets one PNG per match (`Match.evidence` names it); `workers` > 1 matches in that many
    processes, each opening the library once (started from a forkserver, pools.py: a calling
    script must keep its work under `if __name__ == "__main__":`); `progress(files_done, total)` may be fractional;
    `not_video(paths)` hears which files in the folders given hold no video; `triage` decodes
    each video's keyframes first and matches it fully only when one is near a reference (triage.py).
    """
    jobs, skipped = _jobs(paths)
    if not_video:
        not_video(skipped)
    listings = listings or {}
    done = 0

    def finish(outcome: _Outcome) -> MatchResult:
        nonlocal done
        done += 1
        if progress:
            progress(done, len(jobs))
        if outcome.fatal is not None and strict:
            raise outcome.fatal(f"{outcome.result.query}: {outcome.result.error}")
        return attach_listing(outcome.result, listings.get(_key(outcome.result.query)))

    workers = min(workers, sum(j.failed is None for j in jobs))  # no idle process opens the library
    prefetch = getattr(matcher, "prefetch", None)  # a matcher that fingerprints elsewhere (ray_match.py)
    if workers <= 1 or prefetch is not None:
        if prefetch is not None:
            prefetch([job.video for job in jobs if job.video is not None], triage=triage)
        for job in jobs:
            step = (lambda d, t, base=done: progress(base + (d / t if t else 0), len(jobs))) if progress else None
            yield finish(_run(matcher, job, evidence_dir, step, triage))
        return
    lib = matcher.library
    setup = (str(lib.root), lib.config, matcher.config, matcher.query_config, triage)
    outcomes = _parallel(jobs, workers, setup, evidence_dir)
    try:
        for outcome in outcomes:
            yield finish(outcome)
    finally:
        outcomes.close()  # stops the pool now, also when the caller stops early or strict raised


def attach_listing(result: MatchResult, listing: dict | None) -> MatchResult:
    """`result` with its seller listing and the flags that compare it with what was found."""
    if not listing:
        return result
    best = result.matches[0] if result.matches else None
    flags = flags_for(listing, best.title if best else None, best.metadata if best else {})
    return replace(result, listing={**listing, "flags": flags})


def _key(query: str) -> str:
    try:
        return str(Path(query).resolve())
    except (OSError, RuntimeError, ValueError):
        return query


def _jobs(paths: Iterable[Suspect]) -> tuple[list[_Job], list[str]]:
    """Suspects in input order (folders expand in place to the videos found under them), and
    the walked files that hold no video."""
    jobs: list[_Job] = []
    skipped: list[str] = []
    for item in paths:
        if isinstance(item, Fingerprint):
            jobs.append(_Job(len(jobs), item.source, fingerprint=item))
        elif isinstance(item, HashFile):
            jobs.append(_Job(len(jobs), str(item.path), hashes=str(item.path)))
        else:
            walk = walk_paths([item])
            skipped += [str(p) for p in walk.not_video]
            jobs += [_Job(len(jobs) + i, p.path, failed=p.reason or "cannot be read") for i, p in enumerate(walk.problems)]
            jobs += [_Job(len(jobs) + i, str(f), video=str(f)) for i, f in enumerate(walk.files)]
    return jobs, skipped


def _run(matcher: Matcher, job: _Job, evidence_dir, progress=None, triage: bool = False) -> _Outcome:
    """Match one suspect; every failure becomes its error result (and the class `strict` raises)."""
    start = time.perf_counter()

    def failed(reason: str, fatal: type[FpError]) -> _Outcome:
        return _Outcome(job.index, MatchResult(job.query, "error", error=reason, elapsed=time.perf_counter() - start), fatal)

    if job.failed is not None:
        return failed(job.failed, InputError)
    video = job.video
    try:
        if job.video is not None:
            result = triage_file(matcher, job.video) if triage else None
            if result is None:
                result = matcher.match_file(job.video, progress=progress)
        else:
            fpr = job.fingerprint or load_fingerprint(job.hashes, matcher.query_config.hash_params())
            if fpr.params != matcher.query_config.hash_params():
                raise InputError(f"{job.query}: fingerprint made with other hash settings than the library's")
            video = fpr.source if os.path.isfile(fpr.source) else None
            result = matcher.match_fingerprint(fpr, query=job.query)
            result = replace(result, elapsed=time.perf_counter() - start)
    except VideoDecodeError as exc:
        return failed(exc.reason, InputError)
    except FpError as exc:
        return failed(str(exc), InputError if isinstance(exc, InputError) else FpError)
    except sqlite3.Error as exc:
        return failed(f"library error: {exc}", FpError)
    except MemoryError:
        return failed("out of memory while matching", FpError)
    except Exception as exc:  # a decoder or library fault on one suspect must not stop the batch
        log.debug("unexpected error matching %s", job.query, exc_info=True)
        return failed(f"unexpected error: {type(exc).__name__}: {exc}", FpError)
    if evidence_dir is not None and result.matches:
        from .evidence import add_evidence

        try:
            result = add_evidence(result, evidence_dir, video=video)
        except FpError as exc:
            reason = f"matched, but no evidence was written: {exc}"
            return _Outcome(job.index, replace(result, verdict="error", error=reason), type(exc))
    return _Outcome(job.index, result)


# -- worker processes ----------------------------------------------------------------------------
_worker: tuple[Matcher | None, str | None] = (None, None)  # this process's matcher, or why it has none
_worker_triage = False  # this process's jobs take the keyframe first pass


def _init_worker(root: str, library_config, match_config, query_config, triage: bool = False) -> None:
    """Pool initializer: open the library and its Matcher once for every job of this process."""
    global _worker, _worker_triage
    _worker_triage = triage
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: no worker tracebacks
    try:
        import faiss

        faiss.omp_set_num_threads(1)  # one core per worker; the pool is the parallelism
        _worker = (Matcher(open_library(root, library_config, create=False, readonly=True), match_config, query_config), None)
    except FpError as exc:
        _worker = (None, str(exc))
    except Exception as exc:  # noqa: BLE001 - reported on every job of this worker
        _worker = (None, f"cannot open the library in a worker: {type(exc).__name__}: {exc}")


def _match_job(job: _Job, evidence_dir) -> _Outcome:
    matcher, problem = _worker
    if matcher is None:
        return _Outcome(job.index, MatchResult(job.query, "error", error=problem), FpError)
    return _run(matcher, job, evidence_dir, triage=_worker_triage)


def _parallel(jobs: list[_Job], workers: int, setup: tuple, evidence_dir) -> Iterator[_Outcome]:
    """Outcomes in input order from a process pool. A worker that dies (a decoder crash) takes the
    jobs in flight with it: those are retried one at a time, and one that crashes alone fails."""
    queue = deque(jobs)
    suspects: deque[_Job] = deque()  # jobs in flight when a worker died, retried alone
    ready: dict[int, _Outcome] = {}
    pending: dict = {}
    pool, size = None, 0
    next_index = 0
    try:
        while next_index < len(jobs):
            if next_index in ready:
                yield ready.pop(next_index)
                next_index += 1
                continue
            want = 1 if suspects else workers
            if pool is not None and size != want and not pending:
                _stop(pool)
                pool = None
            if pool is None:
                pool, size = process_pool(want, initializer=_init_worker, initargs=setup), want
            source, limit = (suspects, 1) if suspects else (queue, workers * LOOKAHEAD)
            broken = False
            while source and len(pending) + len(ready) < limit:
                job = source.popleft()
                if job.failed is not None:
                    ready[job.index] = _run(None, job, None)
                    continue
                try:
                    pending[pool.submit(_match_job, job, evidence_dir)] = job
                except BrokenProcessPool:  # a worker died since the last wait: this job never ran
                    source.appendleft(job)
                    broken = True
                    break
            if not pending and not broken:
                continue
            finished = () if broken else wait(pending, return_when=FIRST_COMPLETED)[0]
            for fut in finished:
                if isinstance(fut.exception(), BrokenProcessPool):
                    broken = True
                    continue
                outcome = fut.result()
                del pending[fut]
                ready[outcome.index] = outcome
            if broken:
                for fut in [f for f in pending if f.done() and f.exception() is None]:
                    outcome = fut.result()  # finished before the worker died
                    del pending[fut]
                    ready[outcome.index] = outcome
                lost = sorted(pending.values(), key=lambda j: j.index)
                pending.clear()
                _stop(pool)
                pool = None
                if size == 1 and len(lost) == 1:
                    job = lost[0]
                    log.warning("%s: %s", job.query, CRASHED)
                    ready[job.index] = _Outcome(job.index, MatchResult(job.query, "error", error=CRASHED), FpError)
                else:
                    suspects.extendleft(reversed(lost))
    finally:
        if pool is not None:
            _stop(pool)


def _stop(pool: ProcessPoolExecutor) -> None:
    """Shut the pool down now: queued jobs cancelled, running workers ended (after Ctrl-C or a
    fatal failure nobody waits for them)."""
    terminate = getattr(pool, "terminate_workers", None)  # Python 3.14+
    if terminate is not None:
        terminate()
        return
    processes = list((getattr(pool, "_processes", None) or {}).values())  # shutdown() forgets them
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=5)

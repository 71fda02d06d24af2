"""The worker: one thread that owns the library and its Matcher (loaded once) and runs jobs.

It claims jobs from SQLite one at a time. Before each job it checks the library's generation
(and the service's own count of reference edits) and rebuilds the Matcher when they moved,
so references added, removed, disabled or edited through the API are seen by the next job.
Between jobs, at most every RECOVER_SECONDS, it requeues the running jobs of a server that
died beside it (jobs.recover, the rule a start applies), so they need no restart to run again,
and sweeps the uploads it left half-sent (spool.Spool.sweep_gone).
The library is opened as `fp match` opens it (shards.open_library: one library or every shard
of a sharded one); when `fp library shard` has replaced the layout since, the worker reopens
it before the next job. A job that outwaits a re-shard (LibraryBusyError: only a reference add
writes) goes back to the queue for a later try, up to `reshard_patience` seconds.
"""
from __future__ import annotations

import logging
import math
import threading
import time
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import Callable

import fp
from fp import FpError, Match, Matcher, MatchResult
from fp.fingerprint.errors import LibraryBusyError, LibraryError
from fp.index import writelock
from fp.index.library import Library, content_hash
from fp.index.listings import flags_for
from fp.index.match_batch import HashFile, attach_listing, match_paths
from fp.index.shards import ShardedLibrary, check_current, open_library
from fp.schema import versioned

from .jobs import EVIDENCE_PRIORITY, FollowUp, JobRecord, JobStore, MatchRow
from .metrics import Metrics
from .sellers import licence_status
from .settings import ServiceSettings
from .uploads import discard_spooled

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5
RECOVER_SECONDS = 5.0  # how often, at most, a running worker looks for jobs whose server died
BUSY_RETRY_SECONDS = 10.0  # a job that found the library being re-sharded waits this long in the queue before its next try


class JobFailed(Exception):
    def __init__(self, message: str, result: dict | None = None):
        self.result = result
        super().__init__(message)


class Worker:
    def __init__(self, settings: ServiceSettings, jobs: JobStore, metrics: Metrics | None = None,
                 owner: Callable[[], str | None] = lambda: None, running: Callable[[str], bool] = lambda owner: True,
                 sweep: Callable[[], int] = lambda: 0):
        self.settings = settings
        self.jobs = jobs
        self.owner = owner  # the name each claimed job records as its server's (the spool folder, jobs.recover)
        self.running = running  # whether the server a job names still runs (spool.Spool.running)
        self.sweep = sweep  # removes the half-sent uploads of servers gone since the last call (spool.Spool.sweep_gone)
        self._recovered_at = -math.inf
        self.metrics = metrics
        self.state = "starting"  # starting | ready | error | stopped
        self.error: str | None = None
        self.library_stats: dict = {}
        self.hash_params: dict | None = None
        self.refs_version = 0  # bumped by the API after a reference edit
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._library: Library | ShardedLibrary | None = None
        self._matcher: Matcher | None = None
        self._matcher_key: tuple | None = None
        self.current_job: str | None = None
        self.fp_version = fp.__version__

    # -- control (any thread) --------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="fp-worker", daemon=True)
        self._thread.start()

    def wait_ready(self, timeout: float) -> bool:
        return self._ready.wait(timeout)

    def wake(self) -> None:
        self._wake.set()

    def references_changed(self) -> None:
        self.refs_version += 1
        self.wake()

    def recover(self) -> dict:
        """Requeue the running jobs whose server is gone, or fail those tried `max_attempts` times
        (jobs.recover): at a start, and between jobs while this server runs."""
        self._recovered_at = time.monotonic()
        return self.jobs.recover(self.settings.max_attempts, self.running)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the running job; one still running after `timeout` goes back to the queue
        (a planned stop does not count as one of its attempts)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive() and self.current_job is not None:
                self.jobs.release(self.current_job)

    # -- the thread ------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._library = self._open()
            self.hash_params = self._library.config.hash_params()
            self._refresh()
            self.state = "ready"
        except FpError as exc:
            self.state, self.error = "error", str(exc)
            log.error("worker cannot open the library: %s", exc)
            return
        finally:
            self._ready.set()
        try:
            while not self._stop.is_set():
                if time.monotonic() - self._recovered_at >= RECOVER_SECONDS:
                    self._take_over()
                job = self.jobs.claim_next(self.owner())
                if job is None:
                    self._wake.wait(POLL_SECONDS)
                    self._wake.clear()
                    continue
                self.current_job = job.id
                try:
                    self._process(job)
                finally:
                    self.current_job = None
        finally:
            self.state = "stopped"
            self._library.close()

    def _take_over(self) -> None:
        """Requeue the jobs of servers that died while this one runs. Only where this server sees
        its own lock held: where locks cannot be tested every server looks gone, also live ones."""
        if not self.running(self.owner()):
            self._recovered_at = time.monotonic()
            return
        recovered = self.recover()
        if any(recovered.values()):
            log.warning("a server stopped while running jobs: %(requeued)d requeued, %(failed)d failed", recovered)
        removed = self.sweep()  # after the requeue: the uploads of requeued jobs are named by them, so kept
        if removed:
            log.warning("removed %d upload(s) a stopped server left in the spool", removed)

    def _open(self) -> Library | ShardedLibrary:
        # under the write lock (opening may upgrade a file), so never in the middle of a re-shard
        return open_library(self.settings.library, create=False)

    def _follow_layout(self) -> None:
        """Reopen the library when a re-shard replaced the layout this worker opened."""
        try:
            check_current(self._library)
            return
        except LibraryError as exc:
            log.info("reopening the library: %s", exc)
        fresh = self._open()
        self._library.close()
        self._library, self._matcher_key = fresh, None  # a new Matcher; nothing saved into the old layout

    def _refresh(self) -> None:
        """(Re)build the Matcher when the library's layout, contents or references changed since it was built."""
        try:
            self._follow_layout()
        except LibraryError as exc:  # e.g. re-sharded again at once: the layout opened is still whole
            log.warning("matching the library as opened: %s", exc)
        lib = self._library
        key = (lib.generation, self.refs_version)
        if key == self._matcher_key:
            return
        if self._matcher_key is not None and key[0] != self._matcher_key[0]:
            self._save_index()  # caught up (or rebuilt after a removal): the next start loads it as is
        self._matcher = Matcher(lib)
        self._matcher_key = key
        stats = lib.stats()
        videos = lib.videos()
        self.library_stats = {**stats, "generation": key[0],
                              "enabled_videos": sum(1 for v in videos if getattr(v, "enabled", True))}
        log.info("matcher ready: %d videos, generation %d", stats["videos"], key[0])

    def _save_index(self) -> None:
        """Save the FAISS index under the library's write lock. Saving is only a head start for the
        next open, so it is skipped, never waited for, while a re-shard runs, and skipped after one
        moved the library (the files this worker opened are no longer the library's)."""
        lib = self._library
        with ExitStack() as held:
            try:
                held.enter_context(writelock.shared(lib.root, wait=0))
                check_current(lib)
            except LibraryError as exc:
                log.warning("FAISS index not saved: %s", exc)
                return
            lib.save_index()

    def _process(self, job: JobRecord) -> None:
        started = time.time()
        status = "done"
        try:
            self._refresh()
            handler = {"match": self._match, "match_hashes": self._match_hashes,
                       "add_reference": self._add_reference, "evidence": self._evidence}[job.kind]
            handler(job)
        except JobFailed as exc:
            status = "failed"
            self.jobs.fail(job.id, str(exc), exc.result)
        except LibraryBusyError:  # an add outwaited a re-shard: nothing written, so it is tried again later
            status = self._retry_later(job)
        except FpError as exc:
            status = "failed"
            self.jobs.fail(job.id, str(exc))
        except Exception as exc:  # one bad job must not stop the worker
            status = "failed"
            log.exception("job %s (%s) failed", job.id, job.kind)
            self.jobs.fail(job.id, f"internal error: {type(exc).__name__}: {exc}")
        if self.metrics is not None and status != "queued":
            now = time.time()
            self.metrics.observe_job(job.kind, status, now - job.created_at, now - started)

    def _retry_later(self, job: JobRecord) -> str:
        """Requeue a job the library's re-shard held up, for a later try; fail it once it has
        waited `reshard_patience` seconds since it first did. Its new status."""
        now = time.time()
        waited = now - (job.busy_since or now)
        if waited >= self.settings.reshard_patience:
            self.jobs.fail(job.id, f"{self.settings.library}: still being re-sharded (fp library shard) {waited:.0f} s after "
                                   "this job first waited for it; the reference was not added, send it again once it has finished")
            return "failed"
        log.info("job %s (%s): the library is being re-sharded; tried again in %g s", job.id, job.kind, BUSY_RETRY_SECONDS)
        self.jobs.release(job.id, not_before=now + BUSY_RETRY_SECONDS)
        return "queued"

    # -- job kinds ------------------------------------------------------------------------
    def _match(self, job: JobRecord) -> None:
        file = Path(job.input["file"])
        try:
            sha = job.sha256 or content_hash(file)
        except OSError as exc:
            raise JobFailed(f"{job.name or file.name}: {exc.strerror or exc}") from exc
        self._run_match(job, file, sha)

    def _match_hashes(self, job: JobRecord) -> None:
        self._run_match(job, HashFile(job.input["file"]), job.sha256)

    def _run_match(self, job: JobRecord, suspect, sha256: str | None) -> None:
        """Match one suspect through `match_paths` (every failure becomes an error result)."""
        name = job.name or "suspect"
        result = next(match_paths(self._matcher, [suspect]))
        result = replace(result, query=name)
        if result.verdict == "error":
            self._discard(job)
            raise JobFailed(result.error or "failed", versioned(result.to_dict()))
        lib = self._library
        kept = []
        for m in result.matches:  # a reference removed or disabled since the index was loaded
            video = lib.video(m.video_id)
            if video is not None and getattr(video, "enabled", True):
                kept.append(replace(m, metadata=video.metadata, title=video.title))
        result = replace(result, matches=tuple(kept), verdict="match" if kept else "no_match", nearest=None if kept else result.nearest)
        listing = job.listing.to_dict()
        result = attach_listing(result, listing)
        rows = []
        for rank, m in enumerate(kept, start=1):
            rows.append(MatchRow(rank, m.video_id, m.title, _text(m.metadata.get("rights_holder")),
                                 licence_status(job.listing, m.metadata),
                                 tuple(flags_for(listing, m.title, m.metadata)) if listing else (),
                                 m.confidence, m.chance, m.to_dict(with_pairs=True)))
        follow = [FollowUp("evidence", {"job_id": job.id}, EVIDENCE_PRIORITY)] if rows and self.settings.evidence else []
        self.jobs.finish(job.id, result=versioned(result.to_dict()), verdict=result.verdict, generation=self._matcher_key[0],
                         fp_version=self.fp_version, sha256=sha256, matches=rows, follow_ups=follow)
        if not kept:
            self._discard(job)

    def _add_reference(self, job: JobRecord) -> None:
        from fp.index.indexer import index_paths  # holds the write lock while it writes (index_paths)

        path = Path(job.input["path"])
        metadata = dict(job.input.get("metadata") or {})
        with writelock.shared(self.settings.library):  # as write_library: no re-shard until the add is in
            self._follow_layout()  # into the layout now in the folder, the shard `fp index` would pick
            report = index_paths(self._library, [path], title=job.input.get("title"),
                                 metadata={str(path.resolve()): metadata}, workers=1)
        outcome = report.outcomes[0]
        if outcome.status == "failed":
            raise JobFailed(f"{path.name}: {outcome.reason}", outcome.to_dict())
        self._refresh()
        self.jobs.finish(job.id, result=outcome.to_dict(), verdict=outcome.status, generation=self._matcher_key[0],
                         fp_version=self.fp_version)

    def _evidence(self, job: JobRecord) -> None:
        from fp.index.evidence import write_evidence

        from .review import ReviewStore

        target = self.jobs.get(job.input["job_id"])
        review = ReviewStore(self.jobs.db)
        written = 0
        for item in review.matches_of(target.id):
            if item.evidence:
                continue
            folder = self.settings.evidence_dir / target.id / str(item.rank)
            # suspect frames from the spooled video; a hashes job has none (never a file its JSON names)
            video = target.input["file"] if target.kind == "match" else None
            paths = write_evidence(MatchResult(target.name or "suspect", "match", matches=(match_from_dict(item.match),)),
                                   folder, video=video)
            if paths:
                review.set_evidence(item.id, str(paths[0].relative_to(self.settings.service_dir)))
                written += 1
        self.jobs.finish(job.id, result={"job_id": target.id, "images": written})

    def _discard(self, job: JobRecord) -> None:
        """Delete a spooled suspect nobody needs any more (no match: no evidence, no notice)."""
        file = job.input.get("file")
        if file and job.input.get("spooled"):
            discard_spooled(Path(file))


def match_from_dict(d: dict) -> Match:
    """A Match back from `Match.to_dict(with_pairs=True)` (to redraw its evidence)."""
    fields = {k: v for k, v in d.items() if k in Match.__dataclass_fields__}
    fields["query_span"] = tuple(d["query_span"])
    fields["ref_span"] = tuple(d["ref_span"])
    fields["pairs"] = tuple(tuple(p) for p in d.get("pairs", ()))
    return Match(**fields)


def _text(value) -> str | None:
    return str(value) if value not in (None, "") else None

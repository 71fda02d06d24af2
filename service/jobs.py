"""Jobs in SQLite: submitted, claimed by the worker, finished or failed; recovered after a crash.

A job row is written before the client gets its id, and every change of state is one
transaction, so a server killed at any moment (even SIGKILL) restarts with each job either
queued, finished, or found 'running' - and `recover()` requeues those (or fails them after
`max_attempts`, so a file that kills the process cannot loop forever). A running job names its
owner, the server running it (its spool folder, locked while it runs: spool.py), so a server
starting beside another on one service folder leaves that one's running jobs alone, and a
server still running takes over the jobs of one that died beside it (worker.py).
"""
from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from fp.schema import versioned

from .db import ServiceDB

KINDS = ("match", "match_hashes", "add_reference", "evidence")
EVIDENCE_PRIORITY = 10  # drawn after every waiting match (lower runs first)


@dataclass(frozen=True)
class Listing:
    """What a seller's listing says about a suspect (all optional)."""

    listing_id: str | None = None
    seller_id: str | None = None
    claimed_title: str | None = None
    licence_id: str | None = None

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}

    def __bool__(self) -> bool:
        return bool(self.to_dict())


@dataclass(frozen=True)
class JobRecord:
    id: str
    kind: str
    status: str  # queued | running | done | failed
    input: dict
    listing: Listing = field(default_factory=Listing)
    name: str | None = None
    sha256: str | None = None
    key_id: str | None = None
    role: str | None = None
    verdict: str | None = None
    result: dict | None = None
    error: str | None = None
    library_generation: int | None = None
    fp_version: str | None = None
    attempts: int = 0
    busy_since: float | None = None  # when it first found the library being re-sharded (then retried later)
    created_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed")

    def to_dict(self) -> dict:
        """The job as the API shows it; `result` is a line of `fp match --json` for match jobs."""
        return versioned({
            "id": self.id, "kind": self.kind, "status": self.status, "result": self.result, "error": self.error,
            "name": self.name, "sha256": self.sha256, "listing": self.listing.to_dict(),
            "library_generation": self.library_generation, "fp_version": self.fp_version, "attempts": self.attempts,
            "created_at": self.created_at, "started_at": self.started_at, "finished_at": self.finished_at,
            **({"waiting": {"reason": "the library is being re-sharded (fp library shard); tried again shortly",
                            "since": self.busy_since}} if self.status == "queued" and self.busy_since is not None else {}),
        })


@dataclass(frozen=True)
class MatchRow:
    """One match of a finished job, as the review queue keeps it."""

    rank: int
    video_id: int
    title: str
    rights_holder: str | None
    licence_status: str
    flags: tuple[str, ...]
    confidence: float
    chance: float
    match: dict  # Match.to_dict(with_pairs=True)


@dataclass(frozen=True)
class FollowUp:
    kind: str
    input: dict
    priority: int = 0


_COLUMNS = ("id, kind, status, input, name, sha256, key_id, role, listing_id, seller_id, claimed_title, licence_id, verdict,"
            " result, error, library_generation, fp_version, attempts, busy_since, created_at, started_at, finished_at")


def _record(row) -> JobRecord:
    d = dict(row)
    listing = Listing(d.pop("listing_id"), d.pop("seller_id"), d.pop("claimed_title"), d.pop("licence_id"))
    d["input"] = json.loads(d["input"])
    d["result"] = json.loads(d["result"]) if d["result"] else None
    return JobRecord(listing=listing, **d)


class JobStore:
    def __init__(self, db: ServiceDB):
        self.db = db

    def submit(self, kind: str, input: dict, *, key_id: str | None = None, role: str | None = None, name: str | None = None,
               sha256: str | None = None, listing: Listing = Listing(), priority: int = 0) -> JobRecord:
        if kind not in KINDS:
            raise ValueError(f"unknown job kind {kind!r}")
        job_id = uuid.uuid4().hex
        with self.db.write() as conn:
            self._insert(conn, job_id, kind, input, key_id, role, name, sha256, listing, priority)
        return self.get(job_id)

    @staticmethod
    def _insert(conn, job_id, kind, input, key_id, role, name, sha256, listing: Listing, priority) -> None:
        conn.execute(
            "INSERT INTO jobs(id, kind, status, priority, key_id, role, input, name, sha256, listing_id, seller_id,"
            " claimed_title, licence_id, created_at) VALUES (?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (job_id, kind, priority, key_id, role, json.dumps(input), name, sha256, listing.listing_id, listing.seller_id,
             listing.claimed_title, listing.licence_id, time.time()))

    def get(self, job_id: str) -> JobRecord | None:
        with self.db.read() as conn:
            row = conn.execute(f"SELECT {_COLUMNS} FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _record(row) if row else None

    def claim_next(self, owner: str | None = None) -> JobRecord | None:
        """Mark the next queued job running (highest priority, then oldest; none put off till later) by `owner` and return it."""
        with self.db.write() as conn:
            row = conn.execute("SELECT id FROM jobs WHERE status = 'queued' AND (not_before IS NULL OR not_before <= ?)"
                               " ORDER BY priority, seq LIMIT 1", (time.time(),)).fetchone()
            if row is None:
                return None
            conn.execute("UPDATE jobs SET status = 'running', started_at = ?, attempts = attempts + 1, owner = ? WHERE id = ?",
                         (time.time(), owner, row["id"]))
            found = conn.execute(f"SELECT {_COLUMNS} FROM jobs WHERE id = ?", (row["id"],)).fetchone()
        return _record(found)

    def finish(self, job_id: str, *, result: dict | None, verdict: str | None = None, generation: int | None = None,
               fp_version: str | None = None, sha256: str | None = None, matches: list[MatchRow] = (),
               follow_ups: list[FollowUp] = ()) -> None:
        """Store a job's result, its match rows and any follow-up jobs in one transaction."""
        with self.db.write() as conn:
            conn.execute(
                "UPDATE jobs SET status = 'done', result = ?, verdict = ?, library_generation = ?, fp_version = ?,"
                " sha256 = COALESCE(?, sha256), error = NULL, finished_at = ? WHERE id = ?",
                (json.dumps(result) if result is not None else None, verdict, generation, fp_version, sha256, time.time(), job_id))
            conn.execute("DELETE FROM matches WHERE job_id = ? AND decision IS NULL", (job_id,))
            for m in matches:
                conn.execute(
                    "INSERT OR IGNORE INTO matches(job_id, rank, video_id, title, rights_holder, licence_status, flags, confidence,"
                    " chance, match) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (job_id, m.rank, m.video_id, m.title, m.rights_holder, m.licence_status, json.dumps(list(m.flags)),
                     m.confidence, m.chance, json.dumps(m.match)))
            for f in follow_ups:
                self._insert(conn, uuid.uuid4().hex, f.kind, f.input, None, None, None, None, Listing(), f.priority)

    def fail(self, job_id: str, error: str, result: dict | None = None) -> None:
        with self.db.write() as conn:
            conn.execute("UPDATE jobs SET status = 'failed', error = ?, result = ?, verdict = ?, finished_at = ? WHERE id = ?",
                         (error, json.dumps(result) if result is not None else None, result.get("verdict") if result else None,
                          time.time(), job_id))

    def release(self, job_id: str, not_before: float | None = None) -> None:
        """Put a running job back in the queue without counting the attempt: a planned stop, or
        (`not_before`: not claimed before then) a library being re-sharded, whose first such time
        `busy_since` keeps."""
        busy = None if not_before is None else time.time()
        with self.db.write() as conn:
            conn.execute("UPDATE jobs SET status = 'queued', started_at = NULL, attempts = MAX(attempts - 1, 0), owner = NULL,"
                         " not_before = ?, busy_since = COALESCE(busy_since, ?) WHERE id = ? AND status = 'running'",
                         (not_before, busy, job_id))

    def recover(self, max_attempts: int, running: Callable[[str], bool] = lambda owner: False) -> dict:
        """At a start, and between a running server's jobs: jobs left 'running' by a server that
        is gone go back to the queue, or fail once tried `max_attempts` times. `running(owner)` says whether a job's server still runs
        (its jobs are left to it); a job without an owner (claimed by an earlier fp) counts as gone."""
        with self.db.write() as conn:  # no server claims or finishes a job meanwhile
            rows = conn.execute("SELECT id, owner, attempts FROM jobs WHERE status = 'running'").fetchall()
            gone = [row for row in rows if not (row["owner"] and running(row["owner"]))]
            failed = [row["id"] for row in gone if row["attempts"] >= max_attempts]
            requeued = [row["id"] for row in gone if row["attempts"] < max_attempts]
            error = f"the server stopped while running this job ({max_attempts} attempts); not retried again"
            conn.executemany("UPDATE jobs SET status = 'failed', finished_at = ?, error = ?, owner = NULL WHERE id = ?",
                             [(time.time(), error, job_id) for job_id in failed])
            conn.executemany("UPDATE jobs SET status = 'queued', started_at = NULL, owner = NULL WHERE id = ?",
                             [(job_id,) for job_id in requeued])
        return {"requeued": len(requeued), "failed": len(failed)}

    def spool_folders(self) -> set[str]:
        """Names of the spool folders holding a job's file, whatever its status (a match keeps its
        suspect for evidence)."""
        with self.db.read() as conn:
            rows = conn.execute("SELECT json_extract(input, '$.file') FROM jobs WHERE json_extract(input, '$.spooled')")
            return {Path(file).parent.name for (file,) in rows if file}

    def counts(self) -> dict[tuple[str, str], int]:
        with self.db.read() as conn:
            rows = conn.execute("SELECT kind, status, COUNT(*) FROM jobs GROUP BY kind, status").fetchall()
        return {(k, s): n for k, s, n in rows}

    def queue_depth(self) -> int:
        with self.db.read() as conn:
            return conn.execute("SELECT COUNT(*) FROM jobs WHERE status = 'queued'").fetchone()[0]

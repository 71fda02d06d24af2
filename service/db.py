"""The service's own SQLite (jobs, match rows awaiting review, decisions, keys, sessions).

Kept apart from library.sqlite: the library is the reference truth; this file is the
service's work log. Every call opens its own short-lived connection, so any thread may use
a ServiceDB; writes take SQLite's write lock (BEGIN IMMEDIATE) for their whole transaction.
"""
from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from fp.fingerprint.errors import LibraryError

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,               -- match | match_hashes | add_reference | evidence
    status TEXT NOT NULL,             -- queued | running | done | failed
    priority INTEGER NOT NULL DEFAULT 0,
    key_id TEXT,
    role TEXT,
    input TEXT NOT NULL,              -- JSON: what the worker needs (spooled file, path, title, ...)
    name TEXT,                        -- the suspect as the client named it
    sha256 TEXT,
    listing_id TEXT, seller_id TEXT, claimed_title TEXT, licence_id TEXT,
    verdict TEXT,
    result TEXT,                      -- JSON: the same object as a line of `fp match --json`
    error TEXT,
    library_generation INTEGER,
    fp_version TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    owner TEXT,                       -- while running: the spool folder of the server running it (spool.py)
    not_before REAL,                  -- queued: not claimed before this time (waiting out a re-shard)
    busy_since REAL,                  -- when it first found the library being re-sharded
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL
);
CREATE INDEX IF NOT EXISTS jobs_queue ON jobs(status, priority, seq);
CREATE INDEX IF NOT EXISTS jobs_seller ON jobs(seller_id);
CREATE TABLE IF NOT EXISTS matches (
    id INTEGER PRIMARY KEY,
    job_id TEXT NOT NULL REFERENCES jobs(id),
    rank INTEGER NOT NULL,
    video_id INTEGER NOT NULL,
    title TEXT NOT NULL,
    rights_holder TEXT,
    licence_status TEXT NOT NULL,     -- licensed | unlicensed | unknown
    flags TEXT NOT NULL DEFAULT '[]',
    confidence REAL NOT NULL,
    chance REAL NOT NULL,
    match TEXT NOT NULL,              -- JSON of the Match with its frame pairs (redraws evidence)
    evidence TEXT,                    -- PNG path relative to the service folder
    decision TEXT,                    -- NULL (pending) | confirmed | rejected
    decided_by TEXT,
    decided_at REAL,
    note TEXT,
    UNIQUE (job_id, rank)
);
CREATE INDEX IF NOT EXISTS matches_decision ON matches(decision);
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY,
    match_id INTEGER NOT NULL REFERENCES matches(id),
    decision TEXT NOT NULL,
    key_id TEXT,
    note TEXT,
    decided_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS keys (
    id TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    hash TEXT NOT NULL,
    label TEXT,
    created_at REAL NOT NULL,
    revoked_at REAL,
    rights_holder TEXT
);
CREATE TABLE IF NOT EXISTS sessions (
    hash TEXT PRIMARY KEY,
    key_id TEXT NOT NULL REFERENCES keys(id),
    expires_at REAL NOT NULL
);
"""


class ServiceDB:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.read() as db:
                db.executescript("BEGIN IMMEDIATE;" + _SCHEMA + "COMMIT;")
            with self.write() as db:
                version = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
                if version is None:
                    db.execute("INSERT INTO meta(key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
                elif int(version[0]) != SCHEMA_VERSION:
                    raise LibraryError(f"{self.path}: service database version {version[0]}, this fp reads {SCHEMA_VERSION}")
                if "rights_holder" not in {r[1] for r in db.execute("PRAGMA table_info(keys)")}:  # made before keys had one
                    db.execute("ALTER TABLE keys ADD COLUMN rights_holder TEXT")
                columns = {r[1] for r in db.execute("PRAGMA table_info(jobs)")}
                for column in ("owner TEXT", "not_before REAL", "busy_since REAL"):  # made before jobs had them
                    if column.split()[0] not in columns:
                        db.execute(f"ALTER TABLE jobs ADD COLUMN {column}")
        except (sqlite3.DatabaseError, OSError) as exc:
            raise LibraryError(f"{self.path}: cannot open the service database ({exc})") from exc

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA foreign_keys=ON")
        return db

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        db = self._connect()
        try:
            yield db
        finally:
            db.close()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One transaction holding the write lock: committed on success, rolled back on error."""
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        finally:
            db.close()

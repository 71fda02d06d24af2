"""SQLite store: the library's source of truth (videos, frame hashes, settings).

One transaction per video: a video and all its frame rows appear together or not at all,
so a crash (even SIGKILL) never leaves a half-indexed video visible. WAL mode lets
`fp match` read while `fp index` writes.
"""
from __future__ import annotations

import functools
import json
import os
import sqlite3
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import quote

import numpy as np

from fp.fingerprint.errors import DuplicateContentError, LibraryError, LibraryFormatError, LibraryReadOnlyError
from fp.fingerprint.types import Fingerprint

FORMAT_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS videos (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL,
    title TEXT NOT NULL,
    content_hash TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL,
    duration REAL NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    n_frames INTEGER NOT NULL,
    n_hashes INTEGER NOT NULL,
    metadata TEXT NOT NULL DEFAULT '{}',
    added_at REAL NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS videos_path ON videos(path);
CREATE INDEX IF NOT EXISTS videos_title ON videos(title);
CREATE TABLE IF NOT EXISTS frames (
    id INTEGER PRIMARY KEY,
    video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    t REAL NOT NULL,
    view INTEGER NOT NULL,
    quality INTEGER NOT NULL,
    code BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS frames_video ON frames(video_id);
CREATE TABLE IF NOT EXISTS fine (
    frame_id INTEGER PRIMARY KEY REFERENCES frames(id) ON DELETE CASCADE,
    code BLOB NOT NULL
);
"""


@dataclass(frozen=True)
class VideoRecord:
    id: int
    path: str
    title: str
    content_hash: str
    size: int
    duration: float
    width: int
    height: int
    n_frames: int
    n_hashes: int
    metadata: dict
    added_at: float
    enabled: bool = True  # a disabled title stays in the library but is never matched

    def to_dict(self) -> dict:
        return asdict(self)


_VIDEO_COLUMNS = "id, path, title, content_hash, size, duration, width, height, n_frames, n_hashes, metadata, added_at, enabled"


def _db_errors(method):
    """Turn SQLite's exceptions into LibraryError naming the file and the reason."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except sqlite3.DatabaseError as exc:
            raise self._error(exc) from exc
    return wrapper


class Store:
    """Thin typed access to the SQLite file. Not thread-safe; one per process.

    `readonly=True` opens without ever writing (a read-only mount, no write permission, or a
    reader that must not change anything); writing methods then raise LibraryReadOnlyError.
    """

    def __init__(self, path: Path, hash_params: dict, create: bool = True, readonly: bool = False):
        self.path = Path(path)
        self.readonly = readonly
        exists = self.path.exists()
        if not exists and (not create or readonly):
            raise LibraryError(f"{self.path}: no library here")
        if exists and self.path.stat().st_size == 0:
            raise LibraryError(f"{self.path}: empty file (0 bytes), not an fp library; restore it from a backup "
                               "or delete it to start a new library")
        if not readonly and exists and not _writable(self.path):
            raise LibraryReadOnlyError(f"{self.path}: the library is read-only (no write permission or a read-only mount)")
        try:
            self.db = self._connect()
            if readonly:
                self._check_meta(hash_params)
            else:
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=NORMAL")
                self.db.execute("PRAGMA foreign_keys=ON")
                with self.transaction():
                    if exists:
                        self._check_meta(hash_params)
                    for statement in _SCHEMA.split(";"):
                        if statement.strip():
                            self.db.execute(statement)
                    if not exists:
                        self._init_meta(hash_params)
                    self._migrate()
        except sqlite3.DatabaseError as exc:
            raise self._error(exc) from exc

    def _connect(self) -> sqlite3.Connection:
        if not self.readonly:
            return sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
        uri = f"file:{quote(str(self.path.absolute()))}"
        db = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=60.0, isolation_level=None)
        try:
            db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            return db
        except sqlite3.OperationalError:
            # A WAL library on a read-only mount: nobody can write it, so read it as immutable.
            db.close()
            return sqlite3.connect(f"{uri}?immutable=1", uri=True, isolation_level=None)

    def _error(self, exc: sqlite3.DatabaseError) -> LibraryError:
        text = str(exc)
        if "readonly" in text or "read-only" in text:
            return LibraryReadOnlyError(f"{self.path}: the library is read-only ({text})")
        if "full" in text:
            return LibraryError(f"{self.path}: cannot write the library database ({text})")
        if isinstance(exc, sqlite3.OperationalError) and "locked" in text:
            return LibraryError(f"{self.path}: the library database is busy ({text}); try again")
        return LibraryError(f"{self.path}: the library database is damaged or not an fp library ({text}); "
                            "`fp library verify` checks it, a backup restores it")

    def transaction(self):
        return _Transaction(self.db)

    def _init_meta(self, hash_params: dict) -> None:
        self._set("format_version", str(FORMAT_VERSION))
        self._set("hash_params", json.dumps(hash_params, sort_keys=True))
        self._set("generation", "0")
        self._set("created_at", str(time.time()))
        self._set("library_id", uuid.uuid4().hex)

    def _check_meta(self, hash_params: dict) -> None:
        has_meta = self.db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone()
        meta = dict(self.db.execute("SELECT key, value FROM meta")) if has_meta else {}
        if "format_version" not in meta:
            raise LibraryError(f"{self.path}: not an fp library (no format version recorded)")
        version = int(meta.get("format_version", "0"))
        if version != FORMAT_VERSION:
            raise LibraryFormatError(
                f"{self.path}: library format version {version}, this fp reads version {FORMAT_VERSION}"
            )
        stored = json.loads(meta["hash_params"])
        if stored != hash_params:
            raise LibraryFormatError(
                f"{self.path}: library made with hasher {json.dumps(stored, sort_keys=True)}, "
                f"this fp uses {json.dumps(hash_params, sort_keys=True)}"
            )

    def _migrate(self) -> None:
        """Bring a library made by an earlier fp of the same format up to date (in place)."""
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(videos)")}
        if "enabled" not in columns:
            self.db.execute("ALTER TABLE videos ADD COLUMN enabled INTEGER NOT NULL DEFAULT 1")
        if self.meta("library_id") is None:
            self._set("library_id", uuid.uuid4().hex)

    def _writing(self) -> None:
        if self.readonly:
            raise LibraryReadOnlyError(f"{self.path}: opened read-only")

    def _set(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    @_db_errors
    def meta(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    @property
    def generation(self) -> int:
        return int(self.meta("generation", "0"))

    def _bump(self) -> None:
        self.db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")

    @_db_errors
    def add_video(self, fingerprint: Fingerprint, *, path: str, title: str, content_hash: str, size: int, metadata: dict) -> int:
        """Insert a video and all its hashes in one transaction. Identity is content: bytes
        already in the library raise DuplicateContentError; another file at the same path is
        another video (nothing is replaced)."""
        self._writing()
        fpr = fingerprint
        with self.transaction():
            twin = self.db.execute("SELECT id, title FROM videos WHERE content_hash = ?", (content_hash,)).fetchone()
            if twin is not None:
                raise DuplicateContentError(path, twin[1], twin[0])
            cur = self.db.execute(
                "INSERT INTO videos(path, title, content_hash, size, duration, width, height, n_frames, n_hashes, metadata, added_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (path, title, content_hash, size, fpr.duration, fpr.width, fpr.height,
                 int((fpr.views == 0).sum()), len(fpr), json.dumps(metadata, sort_keys=True), time.time()),
            )
            video_id = int(cur.lastrowid)
            rows = zip(
                [video_id] * len(fpr), fpr.times.tolist(), fpr.views.tolist(), fpr.quality.tolist(),
                (bytes(c) for c in fpr.codes),
            )
            self.db.executemany("INSERT INTO frames(video_id, t, view, quality, code) VALUES (?, ?, ?, ?, ?)", rows)
            if fpr.fine_codes is not None:
                ids = [i for (i,) in self.db.execute("SELECT id FROM frames WHERE video_id = ? ORDER BY id", (video_id,))]
                self.db.executemany("INSERT INTO fine(frame_id, code) VALUES (?, ?)",
                                    ((ids[i], bytes(fpr.fine_codes[i])) for i in np.nonzero(fpr.fine_rows)[0].tolist()))
            self._bump()
        return video_id

    @_db_errors
    def remove_video(self, video_id: int) -> None:
        self._writing()
        with self.transaction():
            self.db.execute("DELETE FROM frames WHERE video_id = ?", (video_id,))
            self.db.execute("DELETE FROM videos WHERE id = ?", (video_id,))
            self._bump()
            self._set("removed_generation", str(self.generation))

    @_db_errors
    def set_metadata(self, video_id: int, metadata: dict, title: str | None = None) -> None:
        """Replace a video's metadata (and title, when given). Hashes are untouched."""
        self._writing()
        with self.transaction():
            self.db.execute("UPDATE videos SET metadata = ? WHERE id = ?", (json.dumps(metadata, sort_keys=True), video_id))
            if title is not None:
                self.db.execute("UPDATE videos SET title = ? WHERE id = ?", (title, video_id))

    @_db_errors
    def set_enabled(self, video_id: int, enabled: bool) -> None:
        self._writing()
        with self.transaction():
            self.db.execute("UPDATE videos SET enabled = ? WHERE id = ?", (int(bool(enabled)), video_id))

    @_db_errors
    def videos(self) -> list[VideoRecord]:
        rows = self.db.execute(f"SELECT {self._columns()} FROM videos ORDER BY id").fetchall()
        return [_record(r) for r in rows]

    @_db_errors
    def video(self, video_id: int) -> VideoRecord | None:
        row = self.db.execute(f"SELECT {self._columns()} FROM videos WHERE id = ?", (video_id,)).fetchone()
        return _record(row) if row else None

    @_db_errors
    def find_content(self, content_hash: str) -> VideoRecord | None:
        row = self.db.execute(f"SELECT {self._columns()} FROM videos WHERE content_hash = ?", (content_hash,)).fetchone()
        return _record(row) if row else None

    @_db_errors
    def find_path(self, path: str) -> list[VideoRecord]:
        rows = self.db.execute(f"SELECT {self._columns()} FROM videos WHERE path = ? ORDER BY id", (path,)).fetchall()
        return [_record(r) for r in rows]

    def _columns(self) -> str:
        """The video columns (a read-only library made before `enabled` existed reads as all enabled)."""
        if not hasattr(self, "_video_columns"):
            have = {row[1] for row in self.db.execute("PRAGMA table_info(videos)")}
            self._video_columns = _VIDEO_COLUMNS if "enabled" in have else _VIDEO_COLUMNS.replace("enabled", "1")
        return self._video_columns

    @_db_errors
    def frames_after(self, frame_id: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(ids, video_ids, times, views, codes) of frames with id > frame_id, ordered by id."""
        rows = self.db.execute(
            "SELECT id, video_id, t, view, code FROM frames WHERE id > ? ORDER BY id", (frame_id,)
        ).fetchall()
        if not rows:
            return (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.uint8), None)
        ids, vids, ts, views, codes = zip(*rows)
        return (np.asarray(ids, np.int64), np.asarray(vids, np.int64), np.asarray(ts, np.float64),
                np.asarray(views, np.uint8), np.frombuffer(b"".join(codes), np.uint8).reshape(len(rows), -1))

    @_db_errors
    def video_frames(self, video_id: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(times, views, codes, quality) of one video."""
        rows = self.db.execute("SELECT t, view, code, quality FROM frames WHERE video_id = ? ORDER BY id", (video_id,)).fetchall()
        if not rows:
            return np.zeros(0), np.zeros(0, np.uint8), np.zeros((0, 0), np.uint8), np.zeros(0, np.uint8)
        ts, views, codes, quality = zip(*rows)
        return (np.asarray(ts), np.asarray(views, np.uint8),
                np.frombuffer(b"".join(codes), np.uint8).reshape(len(rows), -1), np.asarray(quality, np.uint8))

    @_db_errors
    def has_fine(self) -> bool:
        """Whether any video carries fine hashes (libraries made before them have none)."""
        return self.db.execute("SELECT 1 FROM fine LIMIT 1").fetchone() is not None

    @_db_errors
    def video_fine(self, video_id: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(times, fine codes, quality) of one video's whole-picture rows; empty when it has none."""
        rows = self.db.execute(
            "SELECT f.t, x.code, f.quality FROM frames f JOIN fine x ON x.frame_id = f.id WHERE f.video_id = ? ORDER BY f.id",
            (video_id,)).fetchall()
        if not rows:
            return np.zeros(0), np.zeros((0, 0), np.uint8), np.zeros(0, np.uint8)
        ts, codes, quality = zip(*rows)
        return np.asarray(ts), np.frombuffer(b"".join(codes), np.uint8).reshape(len(rows), -1), np.asarray(quality, np.uint8)

    @_db_errors
    def fine_sample(self, limit: int = 3000) -> tuple[np.ndarray, np.ndarray]:
        """(fine codes, video ids) of up to `limit` whole-picture rows spread over the library."""
        n = self.db.execute("SELECT COUNT(*) FROM fine").fetchone()[0]
        step = max(1, n // limit)
        rows = self.db.execute(
            "SELECT x.code, f.video_id FROM fine x JOIN frames f ON f.id = x.frame_id WHERE x.rowid % ? = 0 LIMIT ?",
            (step, limit)).fetchall()
        if not rows:
            return np.zeros((0, 0), np.uint8), np.zeros(0, np.int64)
        codes, vids = zip(*rows)
        return np.frombuffer(b"".join(codes), np.uint8).reshape(len(rows), -1), np.asarray(vids, np.int64)

    @_db_errors
    def counts(self) -> dict:
        n_videos, hours = self.db.execute("SELECT COUNT(*), COALESCE(SUM(duration), 0) / 3600.0 FROM videos").fetchone()
        n_frames = self.db.execute("SELECT COUNT(*) FROM frames").fetchone()[0]
        max_id = self.db.execute("SELECT COALESCE(MAX(id), 0) FROM frames").fetchone()[0]
        n_fine = self.db.execute("SELECT COUNT(*) FROM fine").fetchone()[0]
        return {"videos": n_videos, "hours": hours, "hashes": n_frames, "fine_hashes": n_fine, "max_frame_id": max_id}

    def integrity_problems(self) -> list[str]:
        """What is wrong with the database file (empty list: nothing found)."""
        try:
            report = [row[0] for row in self.db.execute("PRAGMA integrity_check(20)")]
        except sqlite3.DatabaseError as exc:
            return [f"{self.path}: SQLite cannot read the database ({exc})"]
        if report != ["ok"]:
            return [f"{self.path}: SQLite integrity check failed: " + "; ".join(report[:5])]
        problems = []
        try:
            orphans = self.db.execute("SELECT COUNT(*) FROM frames WHERE video_id NOT IN (SELECT id FROM videos)").fetchone()[0]
            if orphans:
                problems.append(f"{orphans} frame rows belong to no video")
            bad = self.db.execute(
                "SELECT v.id, v.title, v.n_hashes, COUNT(f.id) FROM videos v LEFT JOIN frames f ON f.video_id = v.id"
                " GROUP BY v.id HAVING COUNT(f.id) != v.n_hashes"
            ).fetchall()
        except sqlite3.DatabaseError as exc:
            return problems + [f"{self.path}: SQLite cannot read the database ({exc})"]
        for vid, title, expected, found in bad:
            problems.append(f"video {vid} ({title}): {found} hashes stored, {expected} expected")
        return problems

    @_db_errors
    def rows_up_to(self, frame_id: int) -> int:
        """How many frame rows have an id <= frame_id (what a saved FAISS index should hold)."""
        return self.db.execute("SELECT COUNT(*) FROM frames WHERE id <= ?", (frame_id,)).fetchone()[0]

    def checkpoint(self) -> None:
        if self.readonly:
            return
        try:
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.OperationalError:
            pass  # a reader holds the log; it is folded in later

    def close(self) -> None:
        self.db.close()


class _Transaction:
    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type, exc, tb):
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")
        return False


def _record(row) -> VideoRecord:
    r = list(row)
    r[10] = json.loads(r[10])
    r[12] = bool(r[12])
    return VideoRecord(*r)


def _writable(path: Path) -> bool:
    """Whether SQLite can write the file and create its journal beside it."""
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK | os.X_OK)

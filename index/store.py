"""SQLite store: the library's source of truth (videos, frame hashes, settings).

One transaction per video: a video and all its frame rows appear together or not at all,
so a crash (even SIGKILL) never leaves a half-indexed video visible. WAL mode lets
`fp match` read while `fp index` writes.
"""
from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from fp.fingerprint.errors import LibraryError, LibraryFormatError
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
    added_at REAL NOT NULL
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

    def to_dict(self) -> dict:
        return asdict(self)


class Store:
    """Thin typed access to the SQLite file. Not thread-safe; one per process."""

    def __init__(self, path: Path, hash_params: dict, create: bool = True):
        self.path = Path(path)
        if not self.path.exists() and not create:
            raise LibraryError(f"{self.path}: no library here")
        try:
            self.db = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            with self.transaction():
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        self.db.execute(statement)
                self._init_meta(hash_params)
        except sqlite3.DatabaseError as exc:
            raise LibraryError(f"{self.path}: not a readable fp library ({exc})") from exc

    def transaction(self):
        return _Transaction(self.db)

    def _init_meta(self, hash_params: dict) -> None:
        meta = dict(self.db.execute("SELECT key, value FROM meta"))
        if not meta:
            self._set("format_version", str(FORMAT_VERSION))
            self._set("hash_params", json.dumps(hash_params, sort_keys=True))
            self._set("generation", "0")
            self._set("created_at", str(time.time()))
            return
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

    def _set(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def meta(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    @property
    def generation(self) -> int:
        return int(self.meta("generation", "0"))

    def _bump(self) -> None:
        self.db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")

    def add_video(self, fingerprint: Fingerprint, *, path: str, title: str, content_hash: str, size: int, metadata: dict) -> int:
        """Insert a video and all its hashes in one transaction; replaces an older version of `path`."""
        fpr = fingerprint
        with self.transaction():
            for (old_id,) in self.db.execute("SELECT id FROM videos WHERE path = ? AND content_hash != ?", (path, content_hash)).fetchall():
                self.db.execute("DELETE FROM frames WHERE video_id = ?", (old_id,))
                self.db.execute("DELETE FROM videos WHERE id = ?", (old_id,))
                self._set("removed_generation", str(self.generation + 1))
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

    def remove_video(self, video_id: int) -> None:
        with self.transaction():
            self.db.execute("DELETE FROM frames WHERE video_id = ?", (video_id,))
            self.db.execute("DELETE FROM videos WHERE id = ?", (video_id,))
            self._bump()
            self._set("removed_generation", str(self.generation))

    def videos(self) -> list[VideoRecord]:
        rows = self.db.execute("SELECT * FROM videos ORDER BY id").fetchall()
        return [_record(r) for r in rows]

    def video(self, video_id: int) -> VideoRecord | None:
        row = self.db.execute("SELECT * FROM videos WHERE id = ?", (video_id,)).fetchone()
        return _record(row) if row else None

    def find_content(self, content_hash: str) -> VideoRecord | None:
        row = self.db.execute("SELECT * FROM videos WHERE content_hash = ?", (content_hash,)).fetchone()
        return _record(row) if row else None

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

    def video_frames(self, video_id: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(times, views, codes, quality) of one video."""
        rows = self.db.execute("SELECT t, view, code, quality FROM frames WHERE video_id = ? ORDER BY id", (video_id,)).fetchall()
        if not rows:
            return np.zeros(0), np.zeros(0, np.uint8), np.zeros((0, 0), np.uint8), np.zeros(0, np.uint8)
        ts, views, codes, quality = zip(*rows)
        return (np.asarray(ts), np.asarray(views, np.uint8),
                np.frombuffer(b"".join(codes), np.uint8).reshape(len(rows), -1), np.asarray(quality, np.uint8))

    def has_fine(self) -> bool:
        """Whether any video carries fine hashes (libraries made before them have none)."""
        return self.db.execute("SELECT 1 FROM fine LIMIT 1").fetchone() is not None

    def video_fine(self, video_id: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(times, fine codes, quality) of one video's whole-picture rows; empty when it has none."""
        rows = self.db.execute(
            "SELECT f.t, x.code, f.quality FROM frames f JOIN fine x ON x.frame_id = f.id WHERE f.video_id = ? ORDER BY f.id",
            (video_id,)).fetchall()
        if not rows:
            return np.zeros(0), np.zeros((0, 0), np.uint8), np.zeros(0, np.uint8)
        ts, codes, quality = zip(*rows)
        return np.asarray(ts), np.frombuffer(b"".join(codes), np.uint8).reshape(len(rows), -1), np.asarray(quality, np.uint8)

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

    def counts(self) -> dict:
        n_videos, hours = self.db.execute("SELECT COUNT(*), COALESCE(SUM(duration), 0) / 3600.0 FROM videos").fetchone()
        n_frames = self.db.execute("SELECT COUNT(*) FROM frames").fetchone()[0]
        max_id = self.db.execute("SELECT COALESCE(MAX(id), 0) FROM frames").fetchone()[0]
        n_fine = self.db.execute("SELECT COUNT(*) FROM fine").fetchone()[0]
        return {"videos": n_videos, "hours": hours, "hashes": n_frames, "fine_hashes": n_fine, "max_frame_id": max_id}

    def integrity_problems(self) -> list[str]:
        problems = []
        if self.db.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            problems.append("SQLite integrity check failed")
        orphans = self.db.execute("SELECT COUNT(*) FROM frames WHERE video_id NOT IN (SELECT id FROM videos)").fetchone()[0]
        if orphans:
            problems.append(f"{orphans} frame rows belong to no video")
        bad = self.db.execute(
            "SELECT v.id, v.title, v.n_hashes, COUNT(f.id) FROM videos v LEFT JOIN frames f ON f.video_id = v.id"
            " GROUP BY v.id HAVING COUNT(f.id) != v.n_hashes"
        ).fetchall()
        for vid, title, expected, found in bad:
            problems.append(f"video {vid} ({title}): {found} hashes stored, {expected} expected")
        return problems

    def checkpoint(self) -> None:
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
    return VideoRecord(*r)

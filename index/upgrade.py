"""Upgrade a library made by an earlier fp, in place, from its stored hashes (never by decoding).

Format 1 kept one SQLite row per hash (`frames`, `fine`); format 2 keeps packed per-video
arrays (`packed`, see packed.py). The upgrade first copies the database with SQLite's online
backup (`library.v1-backup.sqlite` beside it), then converts every video in one transaction,
so a crash leaves either the old library or the new one, and the backup either way.
"""
from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path

import numpy as np

from fp.fingerprint.errors import LibraryError
from fp.fingerprint.types import Fingerprint

from .packed import first_stage, null_sample, pack
from .store import _SCHEMA, FORMAT_VERSION

log = logging.getLogger(__name__)

DB_NAME = "library.sqlite"
OLD_DERIVED = ("frames.faiss", "frames.lookup.npz", "frames.state.json")


def upgrade_library(root: str | os.PathLike, hash_params: dict) -> Path:
    """Convert the format-1 library in `root` to the current format; returns the backup's path."""
    root = Path(root)
    db_path = root / DB_NAME
    backup = root / "library.v1-backup.sqlite"
    try:
        db = sqlite3.connect(db_path, timeout=60.0, isolation_level=None)
        version = int(db.execute("SELECT value FROM meta WHERE key = 'format_version'").fetchone()[0])
        if version == FORMAT_VERSION:
            db.close()
            return backup
        if version != 1:
            raise LibraryError(f"{db_path}: cannot upgrade format version {version}")
        with sqlite3.connect(backup) as copy:
            db.backup(copy)
        copy.close()
        db.execute("BEGIN IMMEDIATE")
        try:
            n = _convert(db, hash_params)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("VACUUM")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
    except sqlite3.DatabaseError as exc:
        raise LibraryError(f"{db_path}: upgrade failed, the library is unchanged ({exc}); backup: {backup}") from exc
    for name in OLD_DERIVED:
        (root / name).unlink(missing_ok=True)
    log.warning("%s: upgraded %d videos to format version %d (backup of the old file: %s)", db_path, n, FORMAT_VERSION, backup)
    return backup


def _convert(db: sqlite3.Connection, hash_params: dict) -> int:
    columns = [row[1] for row in db.execute("PRAGMA table_info(videos)")]
    keep = [c for c in ("id", "path", "title", "content_hash", "size", "duration", "width", "height", "n_frames", "n_hashes",
                        "metadata", "added_at", "enabled") if c in columns]
    db.execute("ALTER TABLE videos RENAME TO videos_v1")
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            db.execute(statement)
    db.execute(f"INSERT INTO videos({', '.join(keep)}) SELECT {', '.join(keep)} FROM videos_v1 ORDER BY id")
    has_fine = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'fine'").fetchone() is not None
    videos = db.execute("SELECT id, duration, width, height FROM videos ORDER BY id").fetchall()
    for video_id, duration, width, height in videos:
        fpr = _fingerprint(db, video_id, duration, width, height, hash_params, has_fine)
        search, fine = pack(fpr)
        for kind, stream in (("search", search), ("fine", fine)):
            if stream is not None:
                blobs = stream.to_blobs()
                db.execute("INSERT INTO packed(video_id, kind, n, nbytes, times, labels, codes) VALUES (?, ?, ?, ?, ?, ?, ?)",
                           (video_id, kind, len(stream), stream.nbytes_per_code, blobs["times"], blobs["labels"], blobs["codes"]))
        for kind, codes in null_sample(search, fine).items():
            db.execute("INSERT INTO sample(video_id, kind, nbytes, codes) VALUES (?, ?, ?, ?)",
                       (video_id, kind, codes.shape[1], codes.tobytes()))
        db.execute("UPDATE videos SET n_hashes = ?, n_fine = ?, n_search = ? WHERE id = ?",
                   (len(search), len(fine) if fine is not None else 0, len(first_stage(search)), video_id))
    for table in ("fine", "frames", "videos_v1"):
        db.execute(f"DROP TABLE IF EXISTS {table}")
    db.execute("UPDATE meta SET value = ? WHERE key = 'format_version'", (str(FORMAT_VERSION),))
    db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")
    return len(videos)


def _fingerprint(db, video_id: int, duration: float, width: int, height: int, hash_params: dict, has_fine: bool) -> Fingerprint:
    """A video's format-1 rows as a Fingerprint (what `pack` takes)."""
    rows = db.execute("SELECT id, t, view, quality, code FROM frames WHERE video_id = ? ORDER BY id", (video_id,)).fetchall()
    nbytes = len(rows[0][4]) if rows else 8
    ids = np.asarray([r[0] for r in rows], np.int64)
    times = np.asarray([r[1] for r in rows], np.float64)
    views = np.asarray([r[2] for r in rows], np.uint8)
    quality = np.asarray([r[3] for r in rows], np.uint8)
    codes = np.frombuffer(b"".join(r[4] for r in rows), np.uint8).reshape(len(rows), nbytes)
    fine_codes = None
    if has_fine:
        fine = db.execute("SELECT x.frame_id, x.code FROM fine x JOIN frames f ON f.id = x.frame_id WHERE f.video_id = ?"
                          " ORDER BY x.frame_id", (video_id,)).fetchall()
        if fine:
            width_fine = len(fine[0][1])
            fine_codes = np.zeros((len(rows), width_fine), np.uint8)
            pos = np.searchsorted(ids, np.asarray([f[0] for f in fine], np.int64))
            fine_codes[pos] = np.frombuffer(b"".join(f[1] for f in fine), np.uint8).reshape(len(fine), width_fine)
    return Fingerprint(source=str(video_id), hasher=hash_params.get("hasher", ""), params=hash_params, duration=duration,
                       width=width, height=height, times=times, codes=codes, quality=quality, views=views,
                       fine_codes=fine_codes)


"""SQLite store: the library's source of truth (videos, their packed hashes, settings).

One transaction per video: a video and all its hashes appear together or not at all, so a
crash (even SIGKILL) never leaves a half-indexed video visible. A video's hashes are a few
BLOBs in one row per kind (`index/packed.py`), not one row per hash. WAL mode lets
`fp match` read while `fp index` writes.
"""
from __future__ import annotations

import functools
import json
import logging
import os
import sqlite3
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator
from urllib.parse import quote

import numpy as np

from fp.fingerprint.errors import DuplicateContentError, LibraryError, LibraryFormatError, LibraryReadOnlyError
from fp.fingerprint.types import Fingerprint

from .packed import Stream, first_stage

log = logging.getLogger(__name__)

FORMAT_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS videos (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
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
    enabled INTEGER NOT NULL DEFAULT 1,
    n_fine INTEGER NOT NULL DEFAULT 0,
    n_search INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS videos_path ON videos(path);
CREATE INDEX IF NOT EXISTS videos_title ON videos(title);
CREATE TABLE IF NOT EXISTS packed (
    video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    n INTEGER NOT NULL,
    nbytes INTEGER NOT NULL,
    times BLOB NOT NULL,
    labels BLOB NOT NULL,
    codes BLOB NOT NULL,
    PRIMARY KEY (video_id, kind)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sample (
    video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    nbytes INTEGER NOT NULL,
    codes BLOB NOT NULL,
    PRIMARY KEY (video_id, kind)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS removals (video_id INTEGER PRIMARY KEY, generation INTEGER NOT NULL);
"""

KINDS = ("search", "fine")
UPGRADABLE = (1,)  # older formats `index/upgrade.py` converts in place


class LibraryNeedsUpgrade(LibraryFormatError):
    """An older format this fp converts in place (with a backup), never by re-decoding."""

    def __init__(self, message: str, version: int):
        super().__init__(message)
        self.version = version


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
    n_fine: int = 0  # rows of 256-bit verification hashes
    n_search: int = 0  # of the search rows, those FAISS holds (packed.first_stage)

    def to_dict(self) -> dict:
        return asdict(self)


def path_value(path: str) -> str | bytes:
    """A path as the `path` column holds it: text when the name is UTF-8 (every library before
    this rule), else the name's own bytes (os.fsencode) as a BLOB. A name that is not UTF-8 (a
    surrogate-escaped str on Linux) cannot be SQLite text; a BLOB keeps it exact and needs no
    format change (the column has TEXT affinity, which leaves a BLOB as it is)."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return os.fsencode(path)


def text_title(title: str) -> str:
    """A title as text: a byte of a name that is not UTF-8 (surrogate escape, a title taken from
    such a file name) is written as \\xNN, as the terminal table shows it. A title is for
    reading (tables, notices, the service's database); the exact file name stays in `path`."""
    try:
        return title.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a lone surrogate no file name gives (e.g. from JSON): \\uNNNN
        return title.encode("utf-8", "backslashreplace").decode("utf-8")


_VIDEO_COLUMNS = "id, path, title, content_hash, size, duration, width, height, n_frames, n_hashes, metadata, added_at, enabled, n_fine, n_search"


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
        self._hash_params = hash_params
        exists = self.path.exists()
        if not exists and (not create or readonly):
            raise LibraryError(f"{self.path}: no library here")
        if exists and self.path.stat().st_size == 0:
            raise LibraryError(f"{self.path}: empty file (0 bytes), not an fp library; restore it from a backup "
                               "or delete it to start a new library")
        if not exists and create and not readonly:
            exists = self._create()
        if not readonly and exists and not _writable(self.path):
            raise LibraryReadOnlyError(f"{self.path}: the library is read-only (no write permission or a read-only mount)")
        try:
            self.db = self._connect()
            if readonly or exists:
                self._check_meta(hash_params)  # before anything is written: another program's SQLite stays as it was
            if not readonly:
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=NORMAL")
                self.db.execute("PRAGMA foreign_keys=ON")
                with self.transaction():
                    for statement in _SCHEMA.split(";"):
                        if statement.strip():
                            self.db.execute(statement)
                    if not exists:
                        self._init_meta(hash_params)
                    self._migrate()
        except sqlite3.DatabaseError as exc:
            raise self._error(exc) from exc

    def _create(self) -> bool:
        """Make a new library file whole or not at all: built beside, then linked into place (a
        kill while creating leaves no half-made library; a racing creator's file wins)."""
        for stale in self.path.parent.glob(self.path.name + ".new-*"):
            if not _alive(stale.name.rsplit("-", 1)[-1]):
                stale.unlink(missing_ok=True)
        tmp = self.path.with_name(f"{self.path.name}.new-{os.getpid()}")
        try:
            db = sqlite3.connect(tmp, isolation_level=None)
            try:
                self.db = db
                with self.transaction():
                    for statement in _SCHEMA.split(";"):
                        if statement.strip():
                            db.execute(statement)
                    self._init_meta(self._hash_params)
            finally:
                db.close()
            try:
                os.link(tmp, self.path)
            except FileExistsError:
                pass
        except sqlite3.DatabaseError as exc:
            raise self._error(exc) from exc
        finally:
            tmp.unlink(missing_ok=True)
        return True

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
        if version in UPGRADABLE:
            raise LibraryNeedsUpgrade(f"{self.path}: library made by an earlier fp (format version {version}); "
                                      f"`fp library upgrade` brings it to version {FORMAT_VERSION}", version)
        if version != FORMAT_VERSION:
            raise LibraryFormatError(
                f"{self.path}: library format version {version}, this fp reads version {FORMAT_VERSION}"
            )
        try:
            stored = json.loads(meta["hash_params"])
        except (TypeError, ValueError):
            raise LibraryError(f"{self.path}: damaged library: its hash settings are not readable JSON") from None
        if stored != hash_params:
            raise LibraryFormatError(
                f"{self.path}: library made with hasher {json.dumps(stored, sort_keys=True)}, "
                f"this fp uses {json.dumps(hash_params, sort_keys=True)}"
            )

    def _migrate(self) -> None:
        """Settings an earlier fp of this format did not record."""
        if self.meta("library_id") is None:
            self._set("library_id", uuid.uuid4().hex)
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(videos)")}
        if "n_search" not in columns:  # format-2 libraries from before first-stage rows were counted
            self.db.execute("ALTER TABLE videos ADD COLUMN n_search INTEGER NOT NULL DEFAULT 0")
            for (vid,) in self.db.execute("SELECT id FROM videos").fetchall():
                stream = self.stream(vid, "search")
                self.db.execute("UPDATE videos SET n_search = ? WHERE id = ?", (len(first_stage(stream)) if stream else 0, vid))

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
    def advance_generation(self, at_least: int) -> None:
        """Raise the generation to `at_least` (never lower it): a re-shard's new store carries on
        from the layout it replaces."""
        self._writing()
        with self.transaction():
            self.db.execute("UPDATE meta SET value = MAX(CAST(value AS INTEGER), ?) WHERE key = 'generation'", (at_least,))

    @_db_errors
    def add_video(self, fingerprint: Fingerprint, *, path: str, title: str, content_hash: str, size: int, metadata: dict,
                  search: Stream, fine: Stream | None, sample: dict[str, np.ndarray], n_search: int, video_id: int | None = None) -> int:
        """Insert a video with its packed hashes in one transaction. Identity is content: bytes
        already in the library raise DuplicateContentError; another file at the same path is
        another video (nothing is replaced). `video_id` is given by a sharded library (its ids
        are library-wide); otherwise the store numbers videos itself."""
        self._writing()
        fpr = fingerprint
        with self.transaction():
            twin = self.db.execute("SELECT id, title FROM videos WHERE content_hash = ?", (content_hash,)).fetchone()
            if twin is not None:
                raise DuplicateContentError(path, twin[1], twin[0])
            cur = self.db.execute(
                "INSERT INTO videos(id, path, title, content_hash, size, duration, width, height, n_frames, n_hashes, n_fine,"
                " n_search, metadata, added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (video_id, path_value(path), text_title(title), content_hash, size, fpr.duration, fpr.width, fpr.height, int((fpr.views == 0).sum()),
                 len(search), len(fine) if fine is not None else 0, n_search, json.dumps(metadata, sort_keys=True), time.time()),
            )
            video_id = int(cur.lastrowid)
            if video_id >= 2**31:
                raise LibraryError(f"{self.path}: video ids are exhausted")
            for kind, stream in (("search", search), ("fine", fine)):
                if stream is not None:
                    self._put_stream(video_id, kind, stream)
            for kind, codes in sample.items():
                self.db.execute("INSERT INTO sample(video_id, kind, nbytes, codes) VALUES (?, ?, ?, ?)",
                                (video_id, kind, codes.shape[1], np.ascontiguousarray(codes, np.uint8).tobytes()))
            self._bump()
        return video_id

    def _put_stream(self, video_id: int, kind: str, stream: Stream) -> None:
        blobs = stream.to_blobs()
        self.db.execute("INSERT OR REPLACE INTO packed(video_id, kind, n, nbytes, times, labels, codes) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (video_id, kind, len(stream), stream.nbytes_per_code, blobs["times"], blobs["labels"], blobs["codes"]))

    @_db_errors
    def remove_video(self, video_id: int) -> None:
        self._writing()
        with self.transaction():
            for table in ("packed", "sample"):
                self.db.execute(f"DELETE FROM {table} WHERE video_id = ?", (video_id,))
            self.db.execute("DELETE FROM videos WHERE id = ?", (video_id,))
            self._bump()
            self._set("removed_generation", str(self.generation))
            self.db.execute("INSERT OR REPLACE INTO removals(video_id, generation) VALUES (?, ?)", (video_id, self.generation))

    @_db_errors
    def set_metadata(self, video_id: int, metadata: dict, title: str | None = None) -> None:
        """Replace a video's metadata (and title, when given). Hashes are untouched."""
        self._writing()
        with self.transaction():
            self.db.execute("UPDATE videos SET metadata = ? WHERE id = ?", (json.dumps(metadata, sort_keys=True), video_id))
            if title is not None:
                self.db.execute("UPDATE videos SET title = ? WHERE id = ?", (text_title(title), video_id))

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
        rows = self.db.execute(f"SELECT {self._columns()} FROM videos WHERE path = ? ORDER BY id", (path_value(path),)).fetchall()
        return [_record(r) for r in rows]

    def _columns(self) -> str:
        """The video columns (a read-only library made before `enabled` existed reads as all enabled;
        before `n_search`, every search row counts as indexed)."""
        if not hasattr(self, "_video_columns"):
            have = {row[1] for row in self.db.execute("PRAGMA table_info(videos)")}
            columns = _VIDEO_COLUMNS if "enabled" in have else _VIDEO_COLUMNS.replace("enabled", "1")
            self._video_columns = columns if "n_search" in have else columns.replace("n_search", "n_hashes")
        return self._video_columns

    def _searched(self) -> str:
        return "n_search" if "n_search" in self._columns() else "n_hashes"

    @_db_errors
    def stream(self, video_id: int, kind: str = "search") -> Stream | None:
        """One video's packed rows of `kind` (None when it has none)."""
        row = self.db.execute("SELECT n, nbytes, times, labels, codes FROM packed WHERE video_id = ? AND kind = ?",
                              (video_id, kind)).fetchone()
        if row is None:
            return None
        try:
            return Stream.from_blobs(*row)
        except (ValueError, Exception) as exc:  # zlib.error, bad sizes: the file was damaged
            raise LibraryError(f"{self.path}: the packed hashes of video {video_id} are damaged ({exc}); "
                               "`fp library verify` checks the library") from exc

    def streams(self, kind: str = "search", after: int = 0) -> Iterator[tuple[int, Stream]]:
        """(video id, stream) of every video with id > after, in id order, one at a time."""
        ids = [vid for (vid,) in self._query("SELECT video_id FROM packed WHERE kind = ? AND video_id > ? ORDER BY video_id",
                                             (kind, after))]
        for vid in ids:
            stream = self.stream(vid, kind)
            if stream is not None:
                yield vid, stream

    @_db_errors
    def has_streams_after(self, kind: str, after: int) -> bool:
        return self.db.execute("SELECT 1 FROM packed WHERE kind = ? AND video_id > ? LIMIT 1", (kind, after)).fetchone() is not None

    @_db_errors
    def _query(self, sql: str, args=()) -> list:
        return self.db.execute(sql, args).fetchall()

    @_db_errors
    def has_fine(self) -> bool:
        """Whether any video carries fine hashes (libraries made before them have none)."""
        return self.db.execute("SELECT 1 FROM packed WHERE kind = 'fine' LIMIT 1").fetchone() is not None

    @_db_errors
    def null_sample(self, kind: str, limit: int | None = 3000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """(codes, video ids) of up to `limit` whole-picture hashes spread over the library
        (every one in video id order when `limit` is None)."""
        rows = self.db.execute("SELECT video_id, nbytes, codes FROM sample WHERE kind = ? ORDER BY video_id", (kind,)).fetchall()
        if not rows:
            return np.zeros((0, 0), np.uint8), np.zeros(0, np.int64)
        nbytes = rows[0][1]
        codes = [np.frombuffer(c, np.uint8).reshape(-1, nbytes) for _, nb, c in rows if nb == nbytes]
        vids = np.concatenate([np.full(len(c), v, np.int64) for (v, nb, _), c in zip([r for r in rows if r[1] == nbytes], codes)])
        return spread_sample(np.concatenate(codes), vids, limit, seed)

    @_db_errors
    def removed_since(self, generation: int) -> list[int]:
        return [vid for (vid,) in self.db.execute("SELECT video_id FROM removals WHERE generation > ?", (generation,))]

    @_db_errors
    def counts(self) -> dict:
        n_videos, hours, hashes, fine, searched, max_id = self.db.execute(
            "SELECT COUNT(*), COALESCE(SUM(duration), 0) / 3600.0, COALESCE(SUM(n_hashes), 0), COALESCE(SUM(n_fine), 0),"
            f" COALESCE(SUM({self._searched()}), 0),"
            " MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'videos'), 0), COALESCE(MAX(id), 0)) FROM videos").fetchone()
        return {"videos": n_videos, "hours": hours, "hashes": hashes, "fine_hashes": fine, "search_hashes": searched,
                "max_video_id": max_id}

    @_db_errors
    def hashes_up_to(self, video_id: int) -> int:
        """First-stage rows of the videos with id <= video_id (what a saved FAISS index should hold)."""
        return self.db.execute(f"SELECT COALESCE(SUM({self._searched()}), 0) FROM videos WHERE id <= ?", (video_id,)).fetchone()[0]

    # -- moving videos between stores (re-sharding; never re-decoding) ------------------------
    @_db_errors
    def copy_videos_from(self, source: "Store", video_ids: list[int]) -> None:
        """Copy videos (their row, metadata, packed hashes and null-sample rows) from another
        store, keeping their ids, in one transaction."""
        self._writing()
        columns = _VIDEO_COLUMNS
        with self.transaction():
            for video_id in video_ids:
                row = source.db.execute(f"SELECT {source._columns()} FROM videos WHERE id = ?", (video_id,)).fetchone()
                if row is None:
                    raise LibraryError(f"{source.path}: no video with id {video_id} to copy")
                self.db.execute(f"INSERT INTO videos({columns}) VALUES ({', '.join('?' * len(row))})", row)
                for table, cols in (("packed", "video_id, kind, n, nbytes, times, labels, codes"),
                                    ("sample", "video_id, kind, nbytes, codes")):
                    for values in source.db.execute(f"SELECT {cols} FROM {table} WHERE video_id = ?", (video_id,)):
                        self.db.execute(f"INSERT INTO {table}({cols}) VALUES ({', '.join('?' * len(values))})", values)
            self._bump()

    @_db_errors
    def reserve_ids(self, upto: int) -> None:
        """Never hand out a video id <= `upto` (ids a library used before, also of removed videos)."""
        self._writing()
        with self.transaction():
            if self.db.execute("SELECT 1 FROM sqlite_sequence WHERE name = 'videos'").fetchone() is None:
                self.db.execute("INSERT INTO sqlite_sequence(name, seq) VALUES ('videos', ?)", (upto,))
            else:
                self.db.execute("UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = 'videos'", (upto,))

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
            orphans = self.db.execute("SELECT COUNT(*) FROM packed WHERE video_id NOT IN (SELECT id FROM videos)").fetchone()[0]
            if orphans:
                problems.append(f"{orphans} packed hash rows belong to no video")
            for (vid,) in self.db.execute("SELECT id FROM videos WHERE NOT json_valid(metadata) ORDER BY id"):
                problems.append(f"video {vid}: its metadata is not readable JSON")
            videos = self.db.execute("SELECT id, title, n_hashes, n_fine FROM videos ORDER BY id").fetchall()
            for vid, title, n_hashes, n_fine in videos:
                for kind, expected in (("search", n_hashes), ("fine", n_fine)):
                    try:
                        stream = self.stream(vid, kind)
                    except LibraryError as exc:
                        problems.append(f"video {vid} ({title}): {kind} hashes unreadable ({exc.__cause__})")
                        continue
                    found = len(stream) if stream is not None else 0
                    if found != expected:
                        problems.append(f"video {vid} ({title}): {found} {kind} hashes stored, {expected} expected")
        except sqlite3.DatabaseError as exc:
            return problems + [f"{self.path}: SQLite cannot read the database ({exc})"]
        return problems

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


def spread_sample(codes: np.ndarray, vids: np.ndarray, limit: int | None, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Up to `limit` rows of (codes, vids), in their order, drawn with a fixed seed (one rule for
    a library and for its shards' rows put together)."""
    if limit is not None and len(codes) > limit:
        take = np.sort(np.random.default_rng(seed).choice(len(codes), limit, replace=False))
        codes, vids = codes[take], vids[take]
    return codes, vids


def _record(row) -> VideoRecord:
    r = list(row)
    try:
        r[10] = json.loads(r[10])
    except (TypeError, ValueError):  # a damaged row: the video stays usable, `verify` names it
        log.warning("video %s: its metadata is not readable JSON; read as none", r[0])
        r[10] = {}
    if isinstance(r[1], bytes):  # a name that is not UTF-8, kept as its bytes (path_value)
        r[1] = os.fsdecode(r[1])
    r[12] = bool(r[12])
    return VideoRecord(*r)


def _alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def _writable(path: Path) -> bool:
    """Whether SQLite can write the file and create its journal beside it."""
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK | os.X_OK)

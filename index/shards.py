"""A library split into shards: N full libraries (a store and a FAISS index each) in one folder.

Layout of a sharded library folder (one shard, today's layout, has none of this):

    shards.json           the manifest: how many shards, which folder holds them, the rule
    shards/ids.sqlite     library-wide video ids (never reused, also after re-sharding)
    shards/n4-1a2b3c4d/000 ... 003   one full Library each

A video lives in shard `sha256(content) mod N` (`shard_of`): the same bytes always land in the
same shard, so each shard's own duplicate check is the library's. Video ids are the library's,
so a sharded library and the one library it was split from report the same ids.

`ShardedLibrary` answers everything `Library` does by asking every shard in this process and
merging: k-NN search results are merged in the order one index over all videos gives (distance,
then video id and time; FAISS's exact search keeps the k smallest by distance then insertion
order), and the chance model's null sample is the whole library's. So matching a sharded
library gives the same results as matching the library it was split from (as long as each
index is exact, FAISS's flat kind below 10M search rows, see faiss_factory.py).

`reshard()` re-partitions by copying each video's packed rows between stores (no decoding):
the new shards are built in a new folder and the manifest is replaced in one rename, so a
crash leaves either the old layout or the new one. The new layout's generation (the sum of its
shards') starts above the old one's, so a generation never goes back. It holds the folder's
write lock alone (writelock.py): it refuses to start while `fp index` runs, and writers wait for it.
"""
from __future__ import annotations

import itertools
import json
import logging
import os
import shutil
import sqlite3
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import quote

import numpy as np

from fp.fingerprint.errors import DuplicateContentError, InputError, LibraryError, LibraryReadOnlyError
from fp.fingerprint.pipeline import REFERENCE, FingerprintConfig
from fp.fingerprint.types import Fingerprint

from . import writelock
from .library import DB_NAME, INDEX_NAME, Library
from .store import VideoRecord, spread_sample

log = logging.getLogger(__name__)

MANIFEST = "shards.json"
SHARDS_DIR = "shards"
IDS_DB = "ids.sqlite"
MANIFEST_FORMAT = 1
RULE = "sha256-mod"  # shard = first 64 bits of the content's sha256, modulo the number of shards
MAX_SHARDS = 1000
COPY_BATCH = 200  # videos copied per transaction when re-sharding


def shard_of(content_hash: str, n_shards: int) -> int:
    """The shard holding the video with this content hash (hex sha256)."""
    return int(content_hash[:16], 16) % n_shards


@dataclass(frozen=True)
class Manifest:
    shards: int
    folder: str  # relative to the library folder
    rule: str = RULE
    format: int = MANIFEST_FORMAT

    def shard_dirs(self, root: Path) -> list[Path]:
        return [Path(root) / self.folder / f"{i:03d}" for i in range(self.shards)]

    def to_dict(self) -> dict:
        return {"format": self.format, "shards": self.shards, "folder": self.folder, "rule": self.rule}


def read_manifest(root: str | os.PathLike) -> Manifest | None:
    """The manifest of a sharded library, None for a library of one shard (or no library)."""
    path = Path(root) / MANIFEST
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise LibraryError(f"{path}: unreadable shard manifest ({exc})") from exc
    try:
        manifest = Manifest(int(data["shards"]), str(data["folder"]), str(data.get("rule", RULE)), int(data.get("format", 1)))
    except (KeyError, TypeError, ValueError) as exc:
        raise LibraryError(f"{path}: damaged shard manifest ({exc})") from exc
    if manifest.format != MANIFEST_FORMAT or manifest.rule != RULE:
        raise LibraryError(f"{path}: shard manifest format {manifest.format} ({manifest.rule}); this fp reads "
                           f"format {MANIFEST_FORMAT} ({RULE})")
    if not 1 <= manifest.shards <= MAX_SHARDS or Path(manifest.folder).is_absolute() or ".." in Path(manifest.folder).parts:
        raise LibraryError(f"{path}: damaged shard manifest (shards {manifest.shards}, folder {manifest.folder})")
    return manifest


def _write_manifest(root: Path, manifest: Manifest | None) -> None:
    """Replace (or, with None, remove) the manifest in one step: the commit point of re-sharding."""
    path = root / MANIFEST
    if manifest is None:
        path.unlink(missing_ok=True)
        return
    tmp = root / f".{MANIFEST}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(manifest.to_dict(), indent=1) + "\n")
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def open_library(root: str | os.PathLike, config: FingerprintConfig = REFERENCE, create: bool = True,
                 readonly: bool = False) -> "Library | ShardedLibrary":
    """The library in `root`: a ShardedLibrary when it has a shard manifest, else a Library.
    A writer opens under the write lock, so never in the middle of a re-shard."""
    if readonly:
        return _open(root, config, create, readonly)
    with writelock.shared(root):
        return _open(root, config, create, readonly)


@contextmanager
def write_library(root: str | os.PathLike, config: FingerprintConfig = REFERENCE,
                  create: bool = True) -> Iterator["Library | ShardedLibrary"]:
    """The library in `root` opened to write, with the write lock held shared until the block
    ends (as `fp index` holds it): a re-shard cannot move the library under an edit."""
    with writelock.shared(root), _open(root, config, create, readonly=False) as library:
        yield library


def _open(root, config: FingerprintConfig, create: bool, readonly: bool) -> "Library | ShardedLibrary":
    manifest = read_manifest(root)
    if manifest is None:
        return Library(root, config, create=create, readonly=readonly)
    return ShardedLibrary(root, config, readonly=readonly, manifest=manifest)


def check_current(library: "Library | ShardedLibrary") -> None:
    """Raise when `library` is no longer the layout in its folder: re-sharded since it was opened."""
    own = library.manifest.folder if isinstance(library, ShardedLibrary) else library.store.meta("library_id")
    if layout(library.root) != own:
        raise LibraryError(f"{library.root}: re-sharded by another fp process (fp library shard) after this one "
                           "opened it; nothing was written, run the command again")


def layout(root: str | os.PathLike) -> str | None:
    """What names the layout now in `root`: a sharded library's shard folder, one library's id
    (None: no library). A re-shard changes it at its commit, nothing else does."""
    manifest = read_manifest(root)
    return manifest.folder if manifest is not None else _library_id(Path(root))


def _library_id(root: Path) -> str | None:
    """The id of the library file now in `root` (None when there is none)."""
    path = Path(root) / DB_NAME
    if not path.exists():
        return None
    try:
        db = sqlite3.connect(f"file:{quote(str(path.absolute()))}?mode=ro", uri=True, timeout=60.0)
        try:
            row = db.execute("SELECT value FROM meta WHERE key = 'library_id'").fetchone()
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        raise LibraryError(f"{path}: cannot read the library's id ({exc})") from exc
    return row[0] if row else None


class VideoIds:
    """Library-wide video ids for a sharded library: an AUTOINCREMENT table, so ids are handed
    out once each, in commit order, by any number of processes."""

    def __init__(self, path: Path, readonly: bool = False):
        self.path = path
        try:
            if readonly:
                self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=60.0, isolation_level=None)
            else:
                self.db = sqlite3.connect(path, timeout=60.0, isolation_level=None)
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("CREATE TABLE IF NOT EXISTS ids (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                                "content_hash TEXT NOT NULL, added_at REAL NOT NULL)")
        except sqlite3.DatabaseError as exc:
            raise LibraryError(f"{path}: cannot open the library's video ids ({exc})") from exc

    def allocate(self, content_hash: str) -> int:
        try:
            cur = self.db.execute("INSERT INTO ids(content_hash, added_at) VALUES (?, ?)", (content_hash, time.time()))
        except sqlite3.DatabaseError as exc:
            raise LibraryError(f"{self.path}: cannot take a new video id ({exc})") from exc
        return int(cur.lastrowid)

    def last(self) -> int:
        try:
            row = self.db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'ids'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise LibraryError(f"{self.path}: cannot read the library's video ids ({exc})") from exc
        return int(row[0]) if row else 0

    def reserve(self, upto: int) -> None:
        """Never hand out an id <= `upto`."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            if self.db.execute("SELECT 1 FROM sqlite_sequence WHERE name = 'ids'").fetchone() is None:
                self.db.execute("INSERT INTO sqlite_sequence(name, seq) VALUES ('ids', ?)", (upto,))
            else:
                self.db.execute("UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = 'ids'", (upto,))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self.db.close()


# -- merging what shards answer -----------------------------------------------------------------
def merge_search(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]], k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge per-shard k-NN results (distances, video ids, times; each row sorted) into the k
    nearest over all shards, ordered as one exact index over every video orders them: by
    distance, then by (video id, time), rows of one video keeping their shard's order."""
    n = len(parts[0][0]) if parts else 0
    width = min(k, sum(p[0].shape[1] for p in parts))
    if not parts or width == 0:
        return np.zeros((n, 0), np.int32), np.full((n, 0), -1, np.int64), np.zeros((n, 0))
    dist = np.concatenate([np.asarray(p[0]) for p in parts], axis=1)
    vids = np.concatenate([np.asarray(p[1], np.int64) for p in parts], axis=1)
    times = np.concatenate([np.asarray(p[2], np.float64) for p in parts], axis=1)
    missing = vids < 0  # a shard with fewer than k rows (never ahead of a real neighbour)
    if missing.any():
        dist = np.where(missing, np.iinfo(np.int32).max, dist)
    rows = np.arange(n)[:, None]
    for key in ("times", "vids", "dist"):  # stable sorts, least significant key first
        order = np.argsort({"times": times, "vids": vids, "dist": dist}[key], axis=1, kind="stable")
        dist, vids, times = dist[rows, order], vids[rows, order], times[rows, order]
    return dist[:, :width].astype(parts[0][0].dtype, copy=False), vids[:, :width], times[:, :width]


def merge_null_samples(parts: list[tuple[np.ndarray, np.ndarray]], limit: int | None, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The whole library's null sample from every shard's full sample (see Store.null_sample)."""
    parts = [p for p in parts if len(p[0])]
    if not parts:
        return np.zeros((0, 0), np.uint8), np.zeros(0, np.int64)
    nbytes = min(parts, key=lambda p: p[1][0])[0].shape[1]  # the width of the first video's rows
    parts = [p for p in parts if p[0].shape[1] == nbytes]
    codes = np.concatenate([p[0] for p in parts])
    vids = np.concatenate([p[1] for p in parts])
    order = np.argsort(vids, kind="stable")
    return spread_sample(codes[order], vids[order], limit, seed)


# -- the sharded library --------------------------------------------------------------------------
class ShardedLibrary:
    """N Libraries behind the interface of one (see the module notes). Writing needs the folder
    to itself only when re-sharding; adding, removing and matching work as on one Library."""

    def __init__(self, root: str | os.PathLike, config: FingerprintConfig = REFERENCE, readonly: bool = False,
                 manifest: Manifest | None = None):
        self.root = Path(root)
        self.config = config
        self.readonly = readonly
        self.manifest = manifest or read_manifest(self.root)
        if self.manifest is None:
            raise LibraryError(f"{self.root}: not a sharded library (no {MANIFEST})")
        self.nbits = int(config.hash_params()["hash_size"]) ** 2
        self.shards: list[Library] = []
        try:
            for folder in self.manifest.shard_dirs(self.root):
                if not (folder / DB_NAME).exists():
                    raise LibraryError(f"{folder}: shard missing from the sharded library {self.root} "
                                       f"({MANIFEST} names {self.manifest.shards} shards)")
                self.shards.append(Library(folder, config, create=False, readonly=readonly))
            self._ids = VideoIds(self.root / SHARDS_DIR / IDS_DB, readonly=readonly)
        except BaseException:
            self.close()
            raise
        self._owner: dict[int, int] = {}  # video id -> shard

    @property
    def n_shards(self) -> int:
        return len(self.shards)

    def shard_for(self, content_hash: str) -> Library:
        return self.shards[shard_of(content_hash, len(self.shards))]

    def owner(self, video_id: int) -> int | None:
        """Index of the shard holding `video_id` (None when no shard does)."""
        if video_id not in self._owner:
            self._owner = {v.id: i for i, shard in enumerate(self.shards) for v in shard.videos()}
        return self._owner.get(video_id)

    def _holder(self, video_id: int) -> Library:
        i = self.owner(video_id)
        if i is None:
            raise InputError(f"no video with id {video_id} in {self.root}")
        return self.shards[i]

    # -- writing -----------------------------------------------------------------------------
    def add(self, fingerprint: Fingerprint, *, path: str, title: str, content_hash: str, size: int, metadata: dict | None = None) -> int:
        shard = self.shard_for(content_hash)
        twin = shard.find_content(content_hash)
        if twin is not None:
            raise DuplicateContentError(path, twin.title, twin.id)
        if self.readonly:
            raise LibraryReadOnlyError(f"{self.root}: opened read-only")
        video_id = self._ids.allocate(content_hash)
        added = shard.add(fingerprint, path=path, title=title, content_hash=content_hash, size=size, metadata=metadata,
                          video_id=video_id)
        self._owner[added] = self.shards.index(shard)
        return added

    def remove(self, video_id: int) -> None:
        self._holder(video_id).remove(video_id)
        self._owner.pop(video_id, None)

    def set_metadata(self, video_id: int, metadata: dict, replace: bool = False) -> VideoRecord:
        return self._holder(video_id).set_metadata(video_id, metadata, replace=replace)

    def set_enabled(self, video_id: int, enabled: bool) -> VideoRecord:
        return self._holder(video_id).set_enabled(video_id, enabled)

    def save_index(self) -> None:
        for shard in self.shards:
            shard.save_index()

    def rebuild_index(self) -> None:
        for shard in self.shards:
            shard.rebuild_index()

    # -- what matching reads (Matcher uses these, as on one Library) -------------------------------
    def search(self, codes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return merge_search([shard.search(codes, k) for shard in self.shards], k)

    @property
    def hashes(self) -> int:
        return sum(shard.hashes for shard in self.shards)

    def stream(self, video_id: int, kind: str = "search"):
        i = self.owner(video_id)
        return None if i is None else self.shards[i].stream(video_id, kind)

    def null_sample(self, kind: str = "search", limit: int | None = 3000) -> tuple[np.ndarray, np.ndarray]:
        return merge_null_samples([shard.null_sample(kind, None) for shard in self.shards], limit)

    @property
    def has_fine(self) -> bool:
        return any(shard.has_fine for shard in self.shards)

    @property
    def generation(self) -> int:
        """The sum of the shards' generations: moves whenever any shard changes."""
        return sum(shard.generation for shard in self.shards)

    # -- reading -------------------------------------------------------------------------------
    def videos(self) -> list[VideoRecord]:
        return sorted((v for shard in self.shards for v in shard.videos()), key=lambda v: v.id)

    def video(self, video_id: int) -> VideoRecord | None:
        i = self.owner(video_id)
        return None if i is None else self.shards[i].video(video_id)

    def find_content(self, digest: str) -> VideoRecord | None:
        return self.shard_for(digest).find_content(digest)

    def find_path(self, path: str) -> list[VideoRecord]:
        return sorted((v for shard in self.shards for v in shard.find_path(path)), key=lambda v: v.id)

    find_title = Library.find_title
    resolve = Library.resolve

    def stats(self) -> dict:
        parts = [shard.stats() for shard in self.shards]
        total = lambda key: sum(p[key] for p in parts)
        hours = sum(p["hours"] for p in parts)
        size = total("bytes") + sum(f.stat().st_size for f in (self.root / SHARDS_DIR).glob(IDS_DB + "*"))
        return {
            "library": str(self.root),
            "videos": total("videos"),
            "hours": round(hours, 4),
            "hashes": total("hashes"),
            "indexed_hashes": total("indexed_hashes"),
            "fine_hashes": total("fine_hashes"),
            "bytes": size,
            "sqlite_bytes": total("sqlite_bytes"),
            "index_bytes": total("index_bytes"),
            "bytes_per_video_hour": round(size / hours) if hours else None,
            "index_type": ",".join(sorted({p["index_type"] for p in parts})),
            "hasher": self.config.hash_params(),
            "format_version": parts[0]["format_version"],
            "generation": total("generation"),
            "shards": self.n_shards,
            "shard_folder": self.manifest.folder,
            "per_shard": [{"shard": i, "videos": p["videos"], "hours": p["hours"], "hashes": p["hashes"], "bytes": p["bytes"],
                           "index_type": p["index_type"]} for i, p in enumerate(parts)],
        }

    def verify(self) -> list[str]:
        """Each shard's own checks, and that every video sits in its shard under a unique id."""
        problems = []
        seen: dict[int, int] = {}
        for i, (shard, folder) in enumerate(zip(self.shards, self.manifest.shard_dirs(self.root))):
            problems += [f"shard {i:03d}: {p}" for p in shard.verify()]
            for v in shard.videos():
                if shard_of(v.content_hash, self.n_shards) != i:
                    problems.append(f"shard {i:03d}: video {v.id} ({v.title}) belongs in shard "
                                    f"{shard_of(v.content_hash, self.n_shards):03d} (`fp library shard` re-partitions)")
                if v.id in seen:
                    problems.append(f"video id {v.id} is in shards {seen[v.id]:03d} and {i:03d}")
                seen[v.id] = i
        if seen and self._ids.last() < max(seen):
            problems.append(f"{self.root / SHARDS_DIR / IDS_DB}: hands out ids from {self._ids.last() + 1}, "
                            f"but video {max(seen)} exists")
        return problems

    def close(self) -> None:
        for shard in self.shards:
            shard.close()
        ids = getattr(self, "_ids", None)
        if ids is not None:
            ids.close()

    def __enter__(self) -> "ShardedLibrary":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# -- re-partitioning --------------------------------------------------------------------------------
@dataclass(frozen=True)
class ShardReport:
    library: str
    shards_before: int
    shards: int
    videos: int
    moved: int  # videos now in another shard than before (all of them when a folder changes)
    elapsed: float

    def to_dict(self) -> dict:
        return {"library": self.library, "shards_before": self.shards_before, "shards": self.shards, "videos": self.videos,
                "moved": self.moved, "elapsed": round(self.elapsed, 3)}


def reshard(root: str | os.PathLike, n_shards: int, config: FingerprintConfig = REFERENCE,
            progress: Callable[[int, int], None] | None = None) -> ShardReport:
    """Re-partition the library in `root` into `n_shards` (1: back to one library, today's
    layout), moving packed hashes between stores without decoding. An empty library is made
    when there is none. Needs the library to itself: fails at once while a writer holds its
    write lock (writelock.py), and writers wait while it runs."""
    if not 1 <= n_shards <= MAX_SHARDS:
        raise InputError(f"--shards {n_shards}: give a number from 1 to {MAX_SHARDS}")
    with writelock.exclusive(root):
        return _reshard(Path(root), n_shards, config, progress)


def _reshard(root: Path, n_shards: int, config, progress) -> ShardReport:
    start = time.perf_counter()
    before = read_manifest(root)
    with _open(root, config, create=True, readonly=False) as source:
        n_before = source.n_shards if isinstance(source, ShardedLibrary) else 1
        videos = source.videos()
        holders = source.shards if isinstance(source, ShardedLibrary) else [source]
        if n_before == n_shards:
            return ShardReport(str(root), n_before, n_shards, len(videos), 0, time.perf_counter() - start)
        last_id = max([h.store.counts()["max_video_id"] for h in holders] +
                      ([source._ids.last()] if isinstance(source, ShardedLibrary) else []))
        _clean_leftovers(root, before)
        by_target: dict[int, list[tuple[Library, int]]] = {}
        for video in videos:
            holder = holders[source.owner(video.id)] if isinstance(source, ShardedLibrary) else source
            by_target.setdefault(shard_of(video.content_hash, n_shards), []).append((holder, video.id))
        generation = source.generation + 1  # the new layout's: above the old one's, whatever its copies counted
        if n_shards == 1:
            _build_single(root, config, by_target.get(0, []), last_id, generation, progress, len(videos))
        else:
            _build_shards(root, config, n_shards, by_target, last_id, generation, progress, len(videos))
    _drop_old(root, before)
    moved = len(videos) if n_before == 1 or n_shards == 1 else sum(
        shard_of(v.content_hash, n_before) != shard_of(v.content_hash, n_shards) for v in videos)
    return ShardReport(str(root), n_before, n_shards, len(videos), moved, time.perf_counter() - start)


def _copy(targets: dict[int, Library], by_target: dict[int, list[tuple[Library, int]]], progress, total: int) -> None:
    """Copy videos (in id order) from their holders into their new shards, a few hundred per transaction."""
    done = 0
    for target_index, items in sorted(by_target.items()):
        for holder, group in itertools.groupby(items, key=lambda item: item[0]):
            ids = [video_id for _, video_id in group]
            for at in range(0, len(ids), COPY_BATCH):
                holder.copy_videos_to(targets[target_index], ids[at: at + COPY_BATCH])
                done += len(ids[at: at + COPY_BATCH])
                if progress:
                    progress(done, total)


def _carry_generation(targets: list[Library], generation: int) -> None:
    """Make the new layout's generation (the sum of its stores') at least `generation`: a sharded
    library's generation never goes back when it is split or joined."""
    short = generation - sum(target.generation for target in targets)
    if short > 0:
        targets[0].store.advance_generation(targets[0].generation + short)


def _build_shards(root: Path, config, n_shards: int, by_target, last_id: int, generation: int, progress,
                  total: int) -> None:
    folder = f"{SHARDS_DIR}/n{n_shards}-{uuid.uuid4().hex[:8]}"
    manifest = Manifest(n_shards, folder)
    (root / SHARDS_DIR).mkdir(parents=True, exist_ok=True)
    targets = {i: Library(d, config) for i, d in enumerate(manifest.shard_dirs(root))}
    try:
        _copy(targets, by_target, progress, total)
        _carry_generation(list(targets.values()), generation)
        for target in targets.values():
            target.store.reserve_ids(last_id)
            target.rebuild_index()  # builds and saves FAISS, folds the write-ahead log in
    finally:
        for target in targets.values():
            target.close()
    ids = VideoIds(root / SHARDS_DIR / IDS_DB)
    try:
        ids.reserve(last_id)
    finally:
        ids.close()
    _write_manifest(root, manifest)  # the commit point


def _build_single(root: Path, config, items, last_id: int, generation: int, progress, total: int) -> None:
    work = root / SHARDS_DIR / f"single-{uuid.uuid4().hex[:8]}"
    target = Library(work, config)
    try:
        _copy({0: target}, {0: items}, progress, total)
        _carry_generation([target], generation)
        target.store.reserve_ids(last_id)
        target.rebuild_index()
    finally:
        target.close()
    for name in (DB_NAME + "-wal", DB_NAME + "-shm"):  # a stale log must never meet the new database
        (root / name).unlink(missing_ok=True)
    for path in sorted(work.iterdir()):
        if path.name.startswith(DB_NAME) or path.name.startswith(Path(INDEX_NAME).stem + "."):
            os.replace(path, root / path.name)
    _write_manifest(root, None)  # the commit point: without a manifest the folder is one library
    shutil.rmtree(work, ignore_errors=True)


def _drop_old(root: Path, before: Manifest | None) -> None:
    """Remove the layout a committed re-shard replaced."""
    now = read_manifest(root)
    if before is None and now is not None:
        for path in root.iterdir():
            if path.is_file() and (path.name.startswith(DB_NAME) or path.name.startswith(Path(INDEX_NAME).stem + ".")):
                path.unlink()
    if before is not None and (now is None or now.folder != before.folder):
        shutil.rmtree(root / before.folder, ignore_errors=True)
    if now is None:
        shutil.rmtree(root / SHARDS_DIR, ignore_errors=True)


def _clean_leftovers(root: Path, current: Manifest | None) -> None:
    """Shard folders of a re-shard that was killed before its commit (the manifest never named them)."""
    base = root / SHARDS_DIR
    if not base.is_dir():
        return
    keep = Path(current.folder).name if current else None
    for path in base.iterdir():
        if path.is_dir() and path.name != keep:
            log.warning("%s: removing the leftovers of an unfinished re-shard", path)
            shutil.rmtree(path, ignore_errors=True)

"""The public reference library: SQLite store + FAISS index, opened from a folder."""
from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import numpy as np

from fp.fingerprint.errors import InputError, LibraryError
from fp.fingerprint.pipeline import REFERENCE, FingerprintConfig
from fp.fingerprint.types import Fingerprint

from .faiss_index import FrameIndex, decode_ids
from .faiss_index import encode_ids
from .packed import Stream, first_stage, null_sample, pack
from .store import LibraryNeedsUpgrade, Store, VideoRecord

log = logging.getLogger(__name__)

DB_NAME = "library.sqlite"
INDEX_NAME = "frames.faiss"


def _sorted_pairs(ids: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ids and codes ordered by (id, code): one order for two copies of the same multiset."""
    keys = [codes[:, j] for j in range(codes.shape[1] - 1, -1, -1)] + [ids]
    order = np.lexsort(keys) if len(ids) else np.zeros(0, np.int64)
    return ids[order], codes[order]


def content_hash(path: str | os.PathLike) -> str:
    """sha256 of the file's bytes (fast next to decoding; decides 'already indexed')."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


class Library:
    """A folder holding `library.sqlite` (truth) and `frames.faiss` (derived, rebuilt when stale).

    `readonly=True` never writes the database (matching, listing and checking a library on a
    read-only mount); derived FAISS files are still saved when the folder allows it. A read-only
    library maps a current IVF index from its file (FrameIndex.load) rather than reading it.
    """

    def __init__(self, root: str | os.PathLike, config: FingerprintConfig = REFERENCE, create: bool = True,
                 readonly: bool = False):
        self.root = Path(root)
        self.config = config
        self.readonly = readonly
        if self.root.exists() and not self.root.is_dir():
            raise LibraryError(f"{self.root}: not a folder")
        if (self.root / "shards.json").exists():  # shards.MANIFEST: never make a second library beside the shards
            raise LibraryError(f"{self.root}: a sharded library; open it with fp.index.shards.open_library")
        if not (self.root / DB_NAME).exists():
            if not create or readonly:
                raise LibraryError(f"{self.root}: no fp library here (run `fp index` first)")
            try:
                self.root.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise LibraryError(f"{self.root}: cannot create library folder ({exc.strerror})") from exc
        self.store = self._open_store(create, readonly)
        self.nbits = int(config.hash_params()["hash_size"]) ** 2
        self._index: FrameIndex | None = None

    def _open_store(self, create: bool, readonly: bool) -> Store:
        """The store; a library made by an earlier fp is upgraded in place first (with a backup)."""
        params = self.config.hash_params()
        try:
            return Store(self.root / DB_NAME, params, create=create, readonly=readonly)
        except LibraryNeedsUpgrade as exc:
            from .upgrade import upgrade_library

            if not os.access(self.root, os.W_OK | os.X_OK) or not os.access(self.root / DB_NAME, os.W_OK):
                raise LibraryNeedsUpgrade(f"{exc} (needs write access to {self.root})", exc.version) from None
            log.warning("%s; upgrading it in place now", exc)
            upgrade_library(self.root, params)
            return Store(self.root / DB_NAME, params, create=create, readonly=readonly)

    # -- writing -------------------------------------------------------------------------
    def add(self, fingerprint: Fingerprint, *, path: str, title: str, content_hash: str, size: int, metadata: dict | None = None,
            video_id: int | None = None) -> int:
        """Add one video; raises DuplicateContentError when its bytes are already indexed.
        `video_id`: the id a sharded library gave it (see shards.py)."""
        if fingerprint.params != self.config.hash_params():
            raise LibraryError(f"{path}: fingerprint made with other settings than the library's")
        search, fine = pack(fingerprint)
        return self.store.add_video(fingerprint, path=path, title=title, content_hash=content_hash, size=size,
                                    metadata=metadata or {}, search=search, fine=fine, sample=null_sample(search, fine),
                                    n_search=len(first_stage(search)), video_id=video_id)

    def copy_videos_to(self, target: "Library", video_ids: list[int]) -> None:
        """Copy videos with their ids, metadata and packed hashes into another library (re-sharding
        moves videos so, without decoding). The target's FAISS index catches up on its next use."""
        target.store.copy_videos_from(self.store, video_ids)

    def remove(self, video_id: int) -> None:
        self.store.remove_video(video_id)
        if self._index is not None:
            self._index.remove_video(video_id)
            self._index.state.removed_generation = self._removed_generation()

    def set_metadata(self, video_id: int, metadata: dict, replace: bool = False) -> VideoRecord:
        """Merge `metadata` into a video's (or replace it); a `title` key renames the video."""
        video = self._existing(video_id)
        merged = dict(metadata) if replace else {**video.metadata, **metadata}
        title = merged.pop("title", None)
        self.store.set_metadata(video_id, {k: v for k, v in merged.items() if v is not None}, title=title)
        return self._existing(video_id)

    def set_enabled(self, video_id: int, enabled: bool) -> VideoRecord:
        """Disable a title (kept, never matched) or enable it again."""
        self._existing(video_id)
        self.store.set_enabled(video_id, enabled)
        return self._existing(video_id)

    def _existing(self, video_id: int) -> VideoRecord:
        video = self.store.video(video_id)
        if video is None:
            raise InputError(f"no video with id {video_id} in {self.root}")
        return video

    def find_content(self, digest: str) -> VideoRecord | None:
        return self.store.find_content(digest)

    # -- the derived index ---------------------------------------------------------------
    @property
    def index(self) -> FrameIndex:
        """The FAISS index, caught up with the store (videos added or removed since it was
        saved). Saved files that do not fit the store (damaged, edited, or beside a database
        restored from an older backup) are rebuilt once and saved again."""
        if self._index is None:
            loaded = FrameIndex.load(self.root / INDEX_NAME, self.nbits, mapped=self.readonly)
            if loaded is not None and loaded.mapped and self._stale(loaded):  # changed since its save: read it to catch up
                loaded = FrameIndex.load(self.root / INDEX_NAME, self.nbits)
            damaged = loaded is None and (self.root / INDEX_NAME).exists()
            if loaded is not None:
                self._apply_removals(loaded)
                if not self._fits(loaded):
                    log.warning("%s: saved FAISS index does not fit library.sqlite (restored from a backup?); rebuilding it",
                                self.root / INDEX_NAME)
                    loaded, damaged = None, True
            self._index = loaded if loaded is not None else self._empty_index()
            changed = self._catch_up()
            if damaged or (changed and self.readonly):
                self._try_save()
            return self._index
        if self._index.mapped and self._stale(self._index):  # the library changed: open the newest save
            self._index = None
            return self.index
        self._apply_removals(self._index)
        self._catch_up()
        return self._index

    def _stale(self, index: FrameIndex) -> bool:
        """Videos added or removed since `index` was saved."""
        return (index.state.removed_generation != self._removed_generation()
                or self.store.has_streams_after("search", index.state.max_video_id))

    def _removed_generation(self) -> int:
        return int(self.store.meta("removed_generation", "0"))

    def _apply_removals(self, index: FrameIndex) -> None:
        if index.state.removed_generation != self._removed_generation():
            for video_id in self.store.removed_since(index.state.removed_generation):
                index.remove_video(video_id)
            index.state.removed_generation = self._removed_generation()

    def _empty_index(self) -> FrameIndex:
        counts = self.store.counts()
        index = FrameIndex(self.nbits, counts["search_hashes"])
        index.state.removed_generation = self._removed_generation()
        index.state.library_id = self.store.meta("library_id", "") or ""
        if index.needs_training:
            index.train(self._training_sample(index.training_rows))
        return index

    def _training_sample(self, limit: int) -> np.ndarray:
        """Search hashes spread over the library (for an IVF index's k-means)."""
        counts = self.store.counts()
        share = min(1.0, 1.2 * limit / max(counts["search_hashes"], 1))
        rng = np.random.default_rng(0)
        parts = []
        for _, stream in self.store.streams("search"):
            codes = first_stage(stream).codes
            parts.append(codes[rng.random(len(codes)) < share])
        return np.concatenate(parts) if parts else np.zeros((0, self.nbits // 8), np.uint8)

    def _fits(self, index: FrameIndex) -> bool:
        """A saved index may lag the store (videos added since its save), never differ from it."""
        state = index.state
        return (state.library_id == (self.store.meta("library_id", "") or "")
                and state.removed_generation == self._removed_generation()
                and state.generation <= self.store.generation
                and state.max_video_id <= self.store.counts()["max_video_id"]
                and self.store.hashes_up_to(state.max_video_id) == len(index))

    def _catch_up(self) -> bool:
        index = self._index
        added = 0
        for video_id, stream in self.store.streams("search", after=index.state.max_video_id):
            index.add_video(video_id, stream)
            added += len(stream)
        if added:
            log.info("added %d hashes to the FAISS index", added)
        index.state.generation = self.store.generation
        return bool(added)

    def _try_save(self) -> None:
        """Save a rebuilt index when the folder is writable (a read-only library rebuilds in memory)."""
        if not os.access(self.root, os.W_OK | os.X_OK):
            log.info("%s: read-only folder, the rebuilt FAISS index is kept in memory only", self.root)
            return
        try:
            self._index.save(self.root / INDEX_NAME)
        except LibraryError as exc:
            log.warning("%s", exc)

    def save_index(self) -> None:
        """Save the FAISS index and fold SQLite's write-ahead log into the database file. An index
        the library has outgrown (faiss_factory's rule picks another for its size) is rebuilt first."""
        index = self.index
        if index.outgrown:
            log.info("%s: %d hashes outgrew the %s index; rebuilding it", self.root, len(index), index.state.kind)
            self._index = index = self._empty_index()
            self._catch_up()
        index.save(self.root / INDEX_NAME)
        self.store.checkpoint()

    # -- what matching reads ------------------------------------------------------------
    def search(self, codes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The k nearest reference hashes of each row of `codes`: (distances, video ids, start
        times); video id -1 where fewer than k exist."""
        distances, ids = self.index.search(codes, k)
        videos, times = decode_ids(ids)
        return distances, videos, times

    @property
    def hashes(self) -> int:
        """Search hashes in the index."""
        return len(self.index)

    def stream(self, video_id: int, kind: str = "search") -> Stream | None:
        """One video's packed hashes ("search": 64-bit, whole picture and crop views; "fine":
        256-bit of whole pictures), None when it has none."""
        return self.store.stream(video_id, kind)

    def null_sample(self, kind: str = "search", limit: int | None = 3000) -> tuple[np.ndarray, np.ndarray]:
        """(codes, video ids) of whole-picture hashes spread over the library, for the chance model
        (all of them, in video id order, when `limit` is None)."""
        return self.store.null_sample(kind, limit)

    @property
    def has_fine(self) -> bool:
        return self.store.has_fine()

    @property
    def generation(self) -> int:
        """Bumped by every add or removal (by any process): a cached view is stale when it moved."""
        return self.store.generation

    # -- reading -------------------------------------------------------------------------
    def videos(self) -> list[VideoRecord]:
        return self.store.videos()

    def video(self, video_id: int) -> VideoRecord | None:
        return self.store.video(video_id)

    def find_path(self, path: str) -> list[VideoRecord]:
        """Videos stored under exactly this (absolute) path."""
        return self.store.find_path(path)

    def find_title(self, title: str) -> list[VideoRecord]:
        """Videos whose title or stored path is exactly `title`."""
        return [v for v in self.videos() if v.title == title or v.path == title]

    def resolve(self, ref: str, by: str = "auto", all_matches: bool = False) -> list[VideoRecord]:
        """The videos a user means by `ref`: an id (digits) or an exact title or path.

        `by` is "id", "title" or "auto" (digits are an id; when a title is spelt the same the
        user must say which). A title held by several videos is refused unless `all_matches`.
        Raises InputError naming the reason.
        """
        digits = ref.isascii() and ref.isdigit()  # str.isdigit also takes '²' and other scripts' digits
        by_id = [v for v in [self.video(int(ref))] if v is not None] if digits and int(ref) < 2**63 else []
        by_title = self.find_title(ref)
        if by == "id" or (by == "auto" and digits):
            if not digits:
                raise InputError(f"{ref}: not a video id")
            if by == "auto" and by_title and [v.id for v in by_title] != [v.id for v in by_id]:
                raise InputError(f"{ref}: a title is spelt like this id; say --id or --title")
            found = by_id
        else:
            found = by_title
        if not found:
            raise InputError(f"{ref}: no such video {'id' if by == 'id' or (by == 'auto' and digits) else 'title'} in {self.root}")
        if len(found) > 1 and not all_matches:
            ids = ", ".join(str(v.id) for v in found)
            raise InputError(f"{ref}: {len(found)} videos have this title (ids {ids}); name one by id, or pass --all")
        return found

    def stats(self) -> dict:
        counts = self.store.counts()
        db_bytes = sum(f.stat().st_size for f in self.root.glob(DB_NAME + "*"))
        index_bytes = sum(f.stat().st_size for f in self.root.glob("frames.*"))
        return {
            "library": str(self.root),
            "videos": counts["videos"],
            "hours": round(counts["hours"], 4),
            "hashes": counts["hashes"],
            "indexed_hashes": counts["search_hashes"],  # of them, in FAISS (the first stage)
            "fine_hashes": counts["fine_hashes"],  # 256-bit verification hashes of whole pictures
            "bytes": db_bytes + index_bytes,
            "sqlite_bytes": db_bytes,
            "index_bytes": index_bytes,
            "bytes_per_video_hour": round((db_bytes + index_bytes) / counts["hours"]) if counts["hours"] else None,
            "index_type": self.index.state.kind,
            "hasher": self.config.hash_params(),
            "format_version": int(self.store.meta("format_version")),
            "generation": self.store.generation,
        }

    def verify(self) -> list[str]:
        """Consistency problems (empty list: clean): store integrity and FAISS against SQLite."""
        problems = self.store.integrity_problems()
        if problems:
            return problems
        path = self.root / INDEX_NAME
        saved = FrameIndex.load(path, self.nbits)
        if saved is None:
            if path.exists():
                problems.append(f"{path}: FAISS index files are damaged (`fp library rebuild` fixes it)")
            return problems  # or not saved yet (e.g. killed early): built on next open
        self._apply_removals(saved)
        if not self._fits(saved):
            return [f"{path}: FAISS index does not fit library.sqlite (stale or from another state; `fp library rebuild` fixes it)"]
        # A saved index may lag SQLite (killed before its periodic save): every open catches it
        # up. Every hash it does hold must be SQLite's, id for id and code for code.
        ids, codes = saved.contents()
        expected_ids, expected_codes = [], []
        for video_id, stream in self.store.streams("search"):
            if video_id > saved.state.max_video_id:
                break
            stream = first_stage(stream)
            expected_ids.append(encode_ids(video_id, stream.t0))
            expected_codes.append(stream.codes)
        if expected_ids:
            want_ids, want_codes = np.concatenate(expected_ids), np.concatenate(expected_codes)
        else:
            want_ids, want_codes = np.zeros(0, np.int64), np.zeros((0, self.nbits // 8), np.uint8)
        if not np.array_equal(_sorted_pairs(ids, codes)[0], _sorted_pairs(want_ids, want_codes)[0]):
            problems.append(f"{path}: FAISS index ids differ from SQLite's (`fp library rebuild` fixes it)")
            return problems
        have, want = _sorted_pairs(ids, codes)[1], _sorted_pairs(want_ids, want_codes)[1]
        wrong = int((have != want).any(axis=1).sum())
        if wrong:
            problems.append(f"{path}: {wrong} of {len(ids)} FAISS codes differ from SQLite's (`fp library rebuild` fixes it)")
        return problems

    def rebuild_index(self) -> None:
        self._index = self._empty_index()
        self._catch_up()
        self.save_index()

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> "Library":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

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

from .faiss_index import FrameIndex
from .store import Store, VideoRecord

log = logging.getLogger(__name__)

DB_NAME = "library.sqlite"
INDEX_NAME = "frames.faiss"


def content_hash(path: str | os.PathLike) -> str:
    """sha256 of the file's bytes (fast next to decoding; decides 'already indexed')."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


class Library:
    """A folder holding `library.sqlite` (truth) and `frames.faiss` (derived, rebuilt when stale).

    `readonly=True` never writes the database (matching, listing and checking a library on a
    read-only mount); derived FAISS files are still saved when the folder allows it.
    """

    def __init__(self, root: str | os.PathLike, config: FingerprintConfig = REFERENCE, create: bool = True,
                 readonly: bool = False):
        self.root = Path(root)
        self.config = config
        self.readonly = readonly
        if self.root.exists() and not self.root.is_dir():
            raise LibraryError(f"{self.root}: not a folder")
        if not (self.root / DB_NAME).exists():
            if not create or readonly:
                raise LibraryError(f"{self.root}: no fp library here (run `fp index` first)")
            try:
                self.root.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise LibraryError(f"{self.root}: cannot create library folder ({exc.strerror})") from exc
        self.store = Store(self.root / DB_NAME, config.hash_params(), create=create, readonly=readonly)
        self.nbits = int(config.hash_params()["hash_size"]) ** 2
        self._index: FrameIndex | None = None

    # -- writing -------------------------------------------------------------------------
    def add(self, fingerprint: Fingerprint, *, path: str, title: str, content_hash: str, size: int, metadata: dict | None = None) -> int:
        """Add one video; raises DuplicateContentError when its bytes are already indexed."""
        if fingerprint.params != self.config.hash_params():
            raise LibraryError(f"{path}: fingerprint made with other settings than the library's")
        return self.store.add_video(fingerprint, path=path, title=title, content_hash=content_hash, size=size, metadata=metadata or {})

    def remove(self, video_id: int) -> None:
        self.store.remove_video(video_id)
        self._index = None

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
        """The FAISS index, caught up with the store. Saved files that do not fit the store
        (damaged, edited, or beside a database restored from an older backup) are rebuilt once
        and saved again, not rebuilt on every run."""
        if self._index is None:
            loaded = FrameIndex.load(self.root / INDEX_NAME, self.nbits)
            damaged = loaded is None and (self.root / INDEX_NAME).exists()
            if loaded is not None and not self._fits(loaded):
                if loaded.state.removed_generation != self._removed_generation():
                    log.info("%s: videos were removed since the FAISS index was saved; rebuilding it", self.root / INDEX_NAME)
                else:
                    log.warning("%s: saved FAISS index does not fit library.sqlite (restored from a backup?); rebuilding it",
                                self.root / INDEX_NAME)
                loaded = None
                damaged = True
            self._index = loaded if loaded is not None else self._empty_index()
            self._catch_up()
            if damaged:
                self._try_save()
            return self._index
        if self._index.state.removed_generation != self._removed_generation():
            self._index = self._empty_index()
        self._catch_up()
        return self._index

    def _removed_generation(self) -> int:
        return int(self.store.meta("removed_generation", "0"))

    def _empty_index(self) -> FrameIndex:
        index = FrameIndex(self.nbits, self.store.counts()["hashes"])
        index.state.removed_generation = self._removed_generation()
        index.state.library_id = self.store.meta("library_id", "") or ""
        return index

    def _fits(self, index: FrameIndex) -> bool:
        """A saved index may lag the store (appends since its save), never differ from it."""
        state = index.state
        return (state.library_id == (self.store.meta("library_id", "") or "")
                and state.removed_generation == self._removed_generation()
                and state.generation <= self.store.generation
                and self.store.rows_up_to(state.max_frame_id) == len(index))

    def _catch_up(self) -> None:
        index = self._index
        ids, vids, times, views, codes = self.store.frames_after(index.state.max_frame_id)
        if len(ids):
            log.info("adding %d hashes to the FAISS index", len(ids))
            index.add(ids, vids, times, views, codes)
        index.state.generation = self.store.generation

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
        """Save the FAISS index and fold SQLite's write-ahead log into the database file."""
        index = self.index
        index.save(self.root / INDEX_NAME)
        self.store.checkpoint()

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
        by_id = [v for v in [self.video(int(ref))] if v is not None] if ref.isdigit() else []
        by_title = self.find_title(ref)
        if by == "id" or (by == "auto" and ref.isdigit()):
            if not ref.isdigit():
                raise InputError(f"{ref}: not a video id")
            if by == "auto" and by_title and [v.id for v in by_title] != [v.id for v in by_id]:
                raise InputError(f"{ref}: a title is spelt like this id; say --id or --title")
            found = by_id
        else:
            found = by_title
        if not found:
            raise InputError(f"{ref}: no such video {'id' if by == 'id' or (by == 'auto' and ref.isdigit()) else 'title'} in {self.root}")
        if len(found) > 1 and not all_matches:
            ids = ", ".join(str(v.id) for v in found)
            raise InputError(f"{ref}: {len(found)} videos have this title (ids {ids}); name one by id, or pass --all")
        return found

    def codes_for(self, frame_ids: np.ndarray) -> np.ndarray:
        """Codes of the given frame ids, from SQLite, in the same order."""
        out = []
        for chunk in np.array_split(frame_ids, len(frame_ids) // 900 + 1):
            if len(chunk):
                marks = ",".join("?" * len(chunk))
                rows = dict(self.store.db.execute(f"SELECT id, code FROM frames WHERE id IN ({marks})", [int(i) for i in chunk]))
                out += [rows[int(i)] for i in chunk]
        if not out:
            return np.zeros((0, self.nbits // 8), np.uint8)
        return np.frombuffer(b"".join(out), np.uint8).reshape(len(out), -1)

    def stats(self) -> dict:
        counts = self.store.counts()
        db_bytes = sum(f.stat().st_size for f in self.root.glob(DB_NAME + "*"))
        index_bytes = sum(f.stat().st_size for f in self.root.glob("frames.*"))
        return {
            "library": str(self.root),
            "videos": counts["videos"],
            "hours": round(counts["hours"], 4),
            "hashes": counts["hashes"],
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
        if not self._fits(saved):
            problems.append(f"{path}: FAISS index does not fit library.sqlite (stale or from another state; "
                            "`fp library rebuild` fixes it)")
            return problems
        # A saved index that lags behind SQLite (killed before its periodic save) is fine:
        # every open catches it up. Every row it does hold must equal SQLite's, code for code.
        ids, vids, times, _views, codes = self.store.frames_after(0)
        covered = ids <= saved.state.max_frame_id
        ids, vids, times, codes = ids[covered], vids[covered], times[covered], codes[covered]
        if not np.array_equal(np.sort(saved.ids), ids):
            problems.append(f"{path}: FAISS index ids differ from SQLite's (`fp library rebuild` fixes it)")
            return problems
        if len(ids):
            stored = saved.stored_codes(ids)
            wrong = int((np.asarray(stored, np.uint8) != codes).any(axis=1).sum())
            if wrong:
                problems.append(f"{path}: {wrong} of {len(ids)} FAISS codes differ from SQLite's (`fp library rebuild` fixes it)")
            ok, lvid, lt, _ = saved.lookup(ids)
            if not ok.all() or not np.array_equal(lvid, vids) or not np.allclose(lt, times):
                problems.append(f"{path}: FAISS lookup table differs from SQLite (`fp library rebuild` fixes it)")
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

"""The public reference library: SQLite store + FAISS index, opened from a folder."""
from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import numpy as np

from fp.fingerprint.errors import LibraryError
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
    """A folder holding `library.sqlite` (truth) and `frames.faiss` (derived, rebuilt when stale)."""

    def __init__(self, root: str | os.PathLike, config: FingerprintConfig = REFERENCE, create: bool = True):
        self.root = Path(root)
        self.config = config
        if self.root.exists() and not self.root.is_dir():
            raise LibraryError(f"{self.root}: not a folder")
        if not (self.root / DB_NAME).exists():
            if not create:
                raise LibraryError(f"{self.root}: no fp library here (run `fp index` first)")
            try:
                self.root.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise LibraryError(f"{self.root}: cannot create library folder ({exc.strerror})") from exc
        self.store = Store(self.root / DB_NAME, config.hash_params(), create=create)
        self.nbits = int(config.hash_params()["hash_size"]) ** 2
        self._index: FrameIndex | None = None

    # -- writing -------------------------------------------------------------------------
    def add(self, fingerprint: Fingerprint, *, path: str, title: str, content_hash: str, size: int, metadata: dict | None = None) -> int:
        if fingerprint.params != self.config.hash_params():
            raise LibraryError(f"{path}: fingerprint made with other settings than the library's")
        video_id = self.store.add_video(fingerprint, path=path, title=title, content_hash=content_hash, size=size, metadata=metadata or {})
        return video_id

    def remove(self, video_id: int) -> None:
        self.store.remove_video(video_id)
        self._index = None

    def find_content(self, digest: str) -> VideoRecord | None:
        return self.store.find_content(digest)

    # -- the derived index ---------------------------------------------------------------
    @property
    def index(self) -> FrameIndex:
        """The FAISS index, caught up with the store (rebuilt if a removal happened since)."""
        if self._index is None:
            self._index = FrameIndex.load(self.root / INDEX_NAME, self.nbits)
        removed = int(self.store.meta("removed_generation", "0"))
        if self._index is None or self._index.state.removed_generation != removed:
            counts = self.store.counts()
            self._index = FrameIndex(self.nbits, counts["hashes"])
            self._index.state.removed_generation = removed
        self._catch_up()
        return self._index

    def _catch_up(self) -> None:
        index = self._index
        ids, vids, times, views, codes = self.store.frames_after(index.state.max_frame_id)
        if len(ids):
            log.info("adding %d hashes to the FAISS index", len(ids))
            index.add(ids, vids, times, views, codes)
        index.state.generation = self.store.generation

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

    def find_title(self, title: str) -> list[VideoRecord]:
        return [v for v in self.videos() if v.title == title or v.path == title]

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
        }

    def verify(self) -> list[str]:
        """Consistency problems (empty list: clean): store integrity and FAISS against SQLite."""
        problems = self.store.integrity_problems()
        saved = FrameIndex.load(self.root / INDEX_NAME, self.nbits)
        if saved is None:
            return problems  # derived state not saved yet (e.g. killed early): rebuilt on next open
        ids, vids, times, views, codes = self.store.frames_after(0)
        removed = int(self.store.meta("removed_generation", "0"))
        # A saved index that lags behind SQLite (killed before its periodic save) is fine:
        # every open catches it up. It must never hold rows SQLite does not.
        covered = ids[ids <= saved.state.max_frame_id]
        if saved.state.removed_generation == removed and np.array_equal(np.sort(saved.ids), covered):
            ids, vids, times, codes = (a[: len(covered)] for a in (ids, vids, times, codes))
        else:
            problems.append(f"FAISS index holds {len(saved)} hashes, SQLite {len(ids)} (stale: `fp library rebuild` fixes it)")
            return problems
        if len(ids):
            sample = np.linspace(0, len(ids) - 1, min(len(ids), 256)).astype(int)
            found = saved.index.reconstruct_batch(ids[sample]) if hasattr(saved.index, "reconstruct_batch") else None
            if found is not None and not np.array_equal(np.asarray(found, np.uint8), codes[sample]):
                problems.append("FAISS codes differ from SQLite codes")
            ok, lvid, lt, _ = saved.lookup(ids[sample])
            if not ok.all() or not np.array_equal(lvid, vids[sample]) or not np.allclose(lt, times[sample]):
                problems.append("FAISS lookup table differs from SQLite")
        return problems

    def rebuild_index(self) -> None:
        self._index = FrameIndex(self.nbits, self.store.counts()["hashes"])
        self._index.state.removed_generation = int(self.store.meta("removed_generation", "0"))
        self._catch_up()
        self.save_index()

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> "Library":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


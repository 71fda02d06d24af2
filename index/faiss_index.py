"""The FAISS binary index over frame codes, derived from the SQLite store.

Saved beside the store with a sidecar that records which store state it reflects
(generation, last frame id, last removal) so a stale index is caught up or rebuilt.
"""
from __future__ import annotations

import json
import logging
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from fp.fingerprint.errors import LibraryError

from . import faiss_factory

log = logging.getLogger(__name__)


@dataclass
class IndexState:
    generation: int
    removed_generation: int
    max_frame_id: int
    kind: str
    library_id: str = ""  # the store this index was built from (a restored backup is another state)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


class FrameIndex:
    """FAISS index + the per-id lookup arrays (video id, time, view) for search results."""

    def __init__(self, nbits: int, n_expected: int = 0):
        self.nbits = nbits
        self.index = faiss_factory.make_binary_index(nbits, max(n_expected, 1))
        self.ids = np.zeros(0, np.int64)
        self.video_ids = np.zeros(0, np.int64)
        self.times = np.zeros(0, np.float64)
        self.views = np.zeros(0, np.uint8)
        self.state = IndexState(0, 0, 0, faiss_factory.index_kind(self.index))

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def add(self, ids: np.ndarray, video_ids: np.ndarray, times: np.ndarray, views: np.ndarray, codes: np.ndarray) -> None:
        if len(ids) == 0:
            return
        codes = faiss_factory.check_codes(codes, self.nbits)
        if faiss_factory.needs_training(self.index):
            faiss_factory.train(self.index, codes)
        self.index.add_with_ids(codes, np.ascontiguousarray(ids, dtype=np.int64))
        self.ids = np.concatenate([self.ids, ids])
        self.video_ids = np.concatenate([self.video_ids, video_ids])
        self.times = np.concatenate([self.times, times])
        self.views = np.concatenate([self.views, views])
        self.state.max_frame_id = int(max(self.state.max_frame_id, ids.max()))

    def search(self, codes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """k nearest codes per query row: (distances, frame ids), -1 ids where fewer exist."""
        if len(self) == 0 or len(codes) == 0:
            return np.zeros((len(codes), 0), np.int32), np.zeros((len(codes), 0), np.int64)
        codes = faiss_factory.check_codes(codes, self.nbits)
        # OpenMP threads only pay for big searches; on small ones they spin and contend.
        threads = faiss.omp_get_max_threads()
        if len(codes) * len(self) < 50_000_000:
            faiss.omp_set_num_threads(1)
        try:
            distances, ids = self.index.search(codes, min(k, len(self)))
        finally:
            faiss.omp_set_num_threads(threads)
        return distances, ids

    def lookup(self, frame_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(found mask, video ids, times, views) for frame ids."""
        pos = np.searchsorted(self.ids, frame_ids)
        pos = np.clip(pos, 0, max(len(self.ids) - 1, 0))
        if len(self.ids) == 0:
            found = np.zeros(len(frame_ids), bool)
            return found, np.zeros(len(frame_ids), np.int64), np.zeros(len(frame_ids)), np.zeros(len(frame_ids), np.uint8)
        found = self.ids[pos] == frame_ids
        return found, self.video_ids[pos], self.times[pos], self.views[pos]

    def stored_codes(self, frame_ids: np.ndarray) -> np.ndarray:
        """The codes FAISS holds for these frame ids (to check them against the store)."""
        inner = faiss_factory.unwrap(self.index)
        if inner is not self.index:  # IndexBinaryIDMap: map ids to positions in the flat index
            id_map = faiss.vector_to_array(self.index.id_map)
            order = np.argsort(id_map)
            pos = order[np.searchsorted(id_map[order], frame_ids)]
            flat = faiss.vector_to_array(faiss.downcast_IndexBinary(inner).xb).reshape(-1, self.nbits // 8)
            return flat[pos]
        self.index.make_direct_map()
        return np.stack([self.index.reconstruct(int(i)) for i in frame_ids]) if len(frame_ids) else np.zeros((0, self.nbits // 8), np.uint8)

    def save(self, path: Path) -> None:
        """Write atomically: index, lookup arrays and state, each replaced in one rename.
        Temporary files are unique per writer and removed when a write fails."""
        path = Path(path)
        targets = (path, path.with_suffix(".lookup.npz"), path.with_suffix(".state.json"))
        temps = [t.with_name(f".{t.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp") for t in targets]
        try:
            faiss.write_index_binary(self.index, str(temps[0]))
            with open(temps[1], "wb") as fh:
                np.savez(fh, ids=self.ids, video_ids=self.video_ids, times=self.times, views=self.views)
            temps[2].write_text(json.dumps({**self.state.to_dict(), "ntotal": len(self)}))
            for tmp, target in zip(temps, targets):
                os.replace(tmp, target)
        except (OSError, RuntimeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc).strip().splitlines()[-1]
            raise LibraryError(f"{path}: cannot save the FAISS index ({reason})") from exc
        finally:
            for tmp in temps:
                tmp.unlink(missing_ok=True)

    @classmethod
    def load(cls, path: Path, nbits: int) -> "FrameIndex | None":
        """The saved index, or None when it is missing or unreadable (it is then rebuilt)."""
        path = Path(path)
        state_file = path.with_suffix(".state.json")
        arrays = path.with_suffix(".lookup.npz")
        if not (path.exists() and state_file.exists() and arrays.exists()):
            return None
        try:
            state = json.loads(state_file.read_text())
            if not isinstance(state, dict):
                raise ValueError("state file is not an object")
            ntotal = int(state.pop("ntotal"))
            state = IndexState(**state)
            for key in ("generation", "removed_generation", "max_frame_id"):
                setattr(state, key, int(getattr(state, key)))
            index = faiss.read_index_binary(str(path))
            with np.load(arrays, allow_pickle=False) as data:
                lookup = {k: np.asarray(data[k]) for k in ("ids", "video_ids", "times", "views")}
        except Exception as exc:  # any damage to a derived file (bad zip, edited JSON, truncated index) means rebuild
            log.warning("%s: unreadable FAISS index files, rebuilding them (%s: %s)", path, type(exc).__name__, exc)
            return None
        if index.d != nbits or index.ntotal != ntotal or any(len(a) != ntotal for a in lookup.values()):
            log.warning("%s: FAISS index does not match its state file, rebuilding", path)
            return None
        self = cls.__new__(cls)
        self.nbits = nbits
        self.index = index
        self.ids, self.video_ids, self.times, self.views = (lookup[k] for k in ("ids", "video_ids", "times", "views"))
        self.state = state
        return self

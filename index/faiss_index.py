"""The FAISS binary index over frame codes, derived from the SQLite store.

Saved beside the store with a sidecar that records which store state it reflects
(generation, last frame id, last removal) so a stale index is caught up or rebuilt.
"""
from __future__ import annotations

import json
import logging
import os
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

    def save(self, path: Path) -> None:
        """Write atomically: index, lookup arrays and state, each replaced in one rename."""
        path = Path(path)
        tmp = path.with_suffix(".tmp")
        try:
            faiss.write_index_binary(self.index, str(tmp))
            os.replace(tmp, path)
            arrays = path.with_suffix(".lookup.npz")
            tmp_arrays = path.with_suffix(".lookup.tmp.npz")
            np.savez(tmp_arrays, ids=self.ids, video_ids=self.video_ids, times=self.times, views=self.views)
            os.replace(tmp_arrays, arrays)
            state = path.with_suffix(".state.json")
            tmp_state = path.with_suffix(".state.tmp")
            tmp_state.write_text(json.dumps({**self.state.to_dict(), "ntotal": len(self)}))
            os.replace(tmp_state, state)
        except (OSError, RuntimeError) as exc:
            raise LibraryError(f"{path}: cannot save the FAISS index ({exc})") from exc

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
            index = faiss.read_index_binary(str(path))
            with np.load(arrays) as data:
                lookup = {k: data[k] for k in ("ids", "video_ids", "times", "views")}
        except (OSError, RuntimeError, ValueError, KeyError) as exc:
            log.warning("%s: unreadable FAISS index, rebuilding (%s)", path, exc)
            return None
        ntotal = state.pop("ntotal", -1)
        if index.d != nbits or index.ntotal != ntotal or len(lookup["ids"]) != ntotal:
            log.warning("%s: FAISS index does not match its state file, rebuilding", path)
            return None
        self = cls.__new__(cls)
        self.nbits = nbits
        self.index = index
        self.ids, self.video_ids, self.times, self.views = (lookup[k] for k in ("ids", "video_ids", "times", "views"))
        self.state = IndexState(**state)
        return self

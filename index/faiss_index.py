"""The FAISS binary index over reference hashes, derived from the SQLite store.

A FAISS id says where its hash comes from, so no lookup table is kept: the video id in the
high 32 bits and the row's start time in centiseconds in the low 32 (`encode_ids`). Removing a
video removes its id range. Saved beside the store with a sidecar recording which store state
it reflects (generation, last video added, last removal, the library's id), so a stale index is
caught up and one that does not fit is rebuilt.
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
from .packed import TIME_UNIT, Stream, first_stage

log = logging.getLogger(__name__)

TIME_BITS = 32  # low bits of an id: the row's start in centiseconds (497 days)


def encode_ids(video_id: int, t0: np.ndarray) -> np.ndarray:
    ticks = np.clip(np.round(np.asarray(t0) / TIME_UNIT), 0, 2**TIME_BITS - 1).astype(np.int64)
    return (np.int64(video_id) << TIME_BITS) | ticks


def decode_ids(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(video ids, start times in seconds); -1 (no result) decodes to video -1."""
    ids = np.asarray(ids, np.int64)
    video = np.where(ids >= 0, ids >> TIME_BITS, -1)
    return video, (ids & (2**TIME_BITS - 1)) * TIME_UNIT


@dataclass
class IndexState:
    generation: int
    removed_generation: int
    max_video_id: int
    kind: str
    library_id: str = ""  # the store this index was built from (a restored backup is another state)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


class FrameIndex:
    """A FAISS binary index whose ids encode (video, time)."""

    def __init__(self, nbits: int, n_expected: int = 0):
        self.nbits = nbits
        self.index = faiss_factory.make_binary_index(nbits, max(n_expected, 1))
        self.state = IndexState(0, 0, 0, faiss_factory.index_kind(self.index))
        self.mapped = False  # memory-mapped from its file (see load): read-only

    def __len__(self) -> int:
        return int(self.index.ntotal)

    @property
    def needs_training(self) -> bool:
        return faiss_factory.needs_training(self.index)

    @property
    def training_rows(self) -> int:
        """Codes to sample for `train` (bounded: faiss_factory.TRAIN_POINTS_PER_LIST per list)."""
        return faiss_factory.training_size(self.index)

    @property
    def outgrown(self) -> bool:
        """The library has grown (or shrunk) past what this index was chosen for."""
        return faiss_factory.outgrown(self.index, self.nbits)

    def train(self, sample: np.ndarray) -> None:
        faiss_factory.train(self.index, faiss_factory.check_codes(sample, self.nbits))

    def add_video(self, video_id: int, stream: Stream) -> None:
        """Add a video's search rows (the first stage of its stream, see packed.first_stage)."""
        self._writable()
        stream = first_stage(stream)
        if len(stream):
            # One video's rows are a small batch: OpenMP threads cost more than they save, and
            # on a loaded machine their spin-waits made IVF adds ~10x slower (benchmarks/SCALE.md).
            threads = faiss.omp_get_max_threads()
            faiss.omp_set_num_threads(1)
            try:
                self.index.add_with_ids(faiss_factory.check_codes(stream.codes, self.nbits), encode_ids(video_id, stream.t0))
            finally:
                faiss.omp_set_num_threads(threads)
        self.state.max_video_id = max(self.state.max_video_id, int(video_id))

    def remove_video(self, video_id: int) -> int:
        """Drop every hash of one video; returns how many there were."""
        self._writable()
        low = int(video_id) << TIME_BITS
        return int(self.index.remove_ids(faiss.IDSelectorRange(low, low + 2**TIME_BITS)))

    def _writable(self) -> None:
        if self.mapped:  # FAISS aborts the process on a write to mapped lists: refuse before it
            raise LibraryError("a memory-mapped FAISS index is read-only (load it unmapped to change it)")

    def search(self, codes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """k nearest hashes per query row: (distances, ids), -1 ids where fewer exist."""
        if len(self) == 0 or len(codes) == 0:
            return np.zeros((len(codes), 0), np.int32), np.full((len(codes), 0), -1, np.int64)
        codes = faiss_factory.check_codes(codes, self.nbits)
        # A still shot repeats its hash: each distinct code is searched once (FAISS answers
        # equal queries alike, so nothing changes but the time: 21 % of real suspects' rows).
        unique, inverse = np.unique(codes, axis=0, return_inverse=True)
        # OpenMP threads only pay for big searches; on small ones they spin and contend.
        threads = faiss.omp_get_max_threads()
        if len(unique) * len(self) < 50_000_000:
            faiss.omp_set_num_threads(1)
        try:
            dist, ids = self.index.search(np.ascontiguousarray(unique), min(k, len(self)))
        finally:
            faiss.omp_set_num_threads(threads)
        inverse = inverse.reshape(-1)
        return dist[inverse], ids[inverse]

    def contents(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids, codes) of everything held, in id order (to check them against the store)."""
        inner = faiss_factory.unwrap(self.index)
        nbytes = self.nbits // 8
        if isinstance(inner, faiss.IndexBinaryIVF):
            invlists = inner.invlists
            ids, codes = [], []
            for lst in range(inner.nlist):
                size = invlists.list_size(lst)
                if size:
                    ids.append(faiss.rev_swig_ptr(invlists.get_ids(lst), size).copy())
                    codes.append(faiss.rev_swig_ptr(invlists.get_codes(lst), size * nbytes).copy().reshape(size, nbytes))
            ids = np.concatenate(ids) if ids else np.zeros(0, np.int64)
            codes = np.concatenate(codes) if codes else np.zeros((0, nbytes), np.uint8)
        else:
            ids = faiss.vector_to_array(self.index.id_map).astype(np.int64)
            codes = faiss.vector_to_array(faiss.downcast_IndexBinary(inner).xb).reshape(-1, nbytes)
        order = np.argsort(ids, kind="stable")
        return ids[order], codes[order]

    def save(self, path: Path) -> None:
        """Write atomically: index and state, each replaced in one rename. Temporary files are
        unique per writer and removed when a write fails."""
        path = Path(path)
        targets = (path, path.with_suffix(".state.json"))
        temps = [t.with_name(f".{t.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp") for t in targets]
        try:
            faiss.write_index_binary(self.index, str(temps[0]))
            temps[1].write_text(json.dumps({**self.state.to_dict(), "ntotal": len(self)}))
            for tmp, target in zip(temps, targets):
                os.replace(tmp, target)
        except (OSError, RuntimeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc).strip().splitlines()[-1]
            raise LibraryError(f"{path}: cannot save the FAISS index ({reason})") from exc
        finally:
            for tmp in temps:
                tmp.unlink(missing_ok=True)

    @classmethod
    def load(cls, path: Path, nbits: int, mapped: bool = False) -> "FrameIndex | None":
        """The saved index, or None when it is missing or unreadable (it is then rebuilt).
        `mapped` maps an IVF index's lists from the file instead of reading them: opening is
        instant, pages are read as searches touch them and are shared by every process that maps
        the same file (a flat index, at most a few MB, is always read)."""
        path = Path(path)
        state_file = path.with_suffix(".state.json")
        if not (path.exists() and state_file.exists()):
            return None
        try:
            state = json.loads(state_file.read_text())
            if not isinstance(state, dict):
                raise ValueError("state file is not an object")
            ntotal = int(state.pop("ntotal"))
            state = IndexState(**state)
            for key in ("generation", "removed_generation", "max_video_id"):
                setattr(state, key, int(getattr(state, key)))
            mapped = mapped and state.kind == faiss_factory.KIND_IVF
            index = faiss.read_index_binary(str(path), faiss.IO_FLAG_MMAP_IFC if mapped else 0)
        except Exception as exc:  # any damage to a derived file (edited JSON, truncated index) means rebuild
            log.warning("%s: unreadable FAISS index files, rebuilding them (%s: %s)", path, type(exc).__name__, exc)
            return None
        if index.d != nbits or index.ntotal != ntotal:
            log.warning("%s: FAISS index does not match its state file, rebuilding", path)
            return None
        self = cls.__new__(cls)
        self.nbits = nbits
        self.index = index
        self.state = state
        self.mapped = mapped
        faiss_factory.apply_rule(index)  # nprobe from the rule, whatever the file was saved with
        return self

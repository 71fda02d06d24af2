"""Per-video packed hash arrays: how a reference's hashes are kept on disk and in memory.

A reference fingerprint becomes two streams of rows in time order: `search` (64-bit hashes of
the whole picture and the crop views, what FAISS indexes and verification scans) and `fine`
(256-bit hashes of whole pictures, for alignments the 64-bit hash cannot prove). Consecutive
near-identical hashes of one view are kept once with the time range they cover, so a held
shot costs one row, not five a second. A stream is a handful of numpy arrays, stored as a few
BLOBs of one SQLite row per video (times and small columns deflated), never one row per hash.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from fp.fingerprint.types import Fingerprint, whole_picture

from .hamming import popcount_distances

TIME_UNIT = 0.01  # seconds: times are stored as integer centiseconds
MERGE_BITS_64 = 2  # consecutive hashes of one view at most this far apart are one row
MERGE_BITS_256 = 8  # the same for the fine hash (a quarter of the bits' tolerance per bit)
MAX_RUN = 1.0  # seconds a merged row may span (keeps voting offsets sharp)
FINE_EVERY = 2  # fine hashes of every n-th whole-picture frame are kept (2.5 a second at 5 fps)
CROP_VIEWS: frozenset[int] | None = None  # crop views kept (None: all nine)
FIRST_STAGE_CROP_EVERY = 1.0  # s: FAISS holds a crop view's rows at most this often (all of view 0);
#                               verification reads every row (benchmarks/SCALE.md: the size levers)
SAMPLE_ROWS = 64  # whole-picture hashes per video kept apart for the chance model's null sample


@dataclass(frozen=True, eq=False)
class Stream:
    """Rows of one video in time order; row i stands for the times [t0[i], t1[i]]."""

    t0: np.ndarray  # float64 seconds
    t1: np.ndarray  # float64 seconds, >= t0
    views: np.ndarray  # uint8: 0 whole picture, 1..9 crop views
    quality: np.ndarray  # uint8 0..100
    codes: np.ndarray  # uint8 (n, nbytes)

    def __len__(self) -> int:
        return len(self.t0)

    @property
    def nbytes_per_code(self) -> int:
        return self.codes.shape[1]

    def select(self, mask: np.ndarray) -> "Stream":
        return Stream(self.t0[mask], self.t1[mask], self.views[mask], self.quality[mask], self.codes[mask])

    @staticmethod
    def empty(nbytes: int) -> "Stream":
        return Stream(np.zeros(0), np.zeros(0), np.zeros(0, np.uint8), np.zeros(0, np.uint8), np.zeros((0, nbytes), np.uint8))

    # -- bytes -----------------------------------------------------------------------------
    def to_blobs(self) -> dict[str, bytes]:
        t0 = np.round(self.t0 / TIME_UNIT).astype(np.int64)
        span = np.round((self.t1 - self.t0) / TIME_UNIT).astype(np.int64)
        steps = np.diff(t0, prepend=0)
        if len(t0) and (steps.min() < 0 or t0.max() >= 2**32 or span.min() < 0):
            raise ValueError("stream rows must be in time order and shorter than 497 days")
        small = np.concatenate([steps.astype("<u4"), span.astype("<u4")]).tobytes()
        return {
            "times": zlib.compress(small, 6),
            "labels": zlib.compress(np.concatenate([self.views, self.quality]).astype(np.uint8).tobytes(), 6),
            "codes": np.ascontiguousarray(self.codes, np.uint8).tobytes(),
        }

    @classmethod
    def from_blobs(cls, n: int, nbytes: int, times: bytes, labels: bytes, codes: bytes) -> "Stream":
        small = np.frombuffer(zlib.decompress(times), "<u4")
        lab = np.frombuffer(zlib.decompress(labels), np.uint8)
        code_arr = np.frombuffer(codes, np.uint8)
        if len(small) != 2 * n or len(lab) != 2 * n or len(code_arr) != n * nbytes:
            raise ValueError(f"packed stream sizes do not agree with its {n} rows")
        t0 = np.cumsum(small[:n].astype(np.int64)) * TIME_UNIT
        return cls(t0, t0 + small[n:] * TIME_UNIT, lab[:n].copy(), lab[n:].copy(), code_arr.reshape(n, nbytes))


def merge_runs(times: np.ndarray, codes: np.ndarray, quality: np.ndarray, max_bits: int, max_run: float = MAX_RUN,
               min_quality: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Rows of one view that start a run, and the time each run ends: a row joins the run of
    the last kept row while it is within `max_bits` of it, no later than `max_run` after it,
    and equally usable (a blank frame never hides a picture)."""
    n = len(times)
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0)
    usable = (quality >= min_quality).tolist()
    # A run spans at most `max_run`, so an anchor is at most `lags` rows back: each row's
    # distance to the rows that far back is computed at once, the anchor walk reads them.
    lags = int((np.searchsorted(times, times + max_run, "right") - np.arange(n)).max())
    near = np.full((lags + 1, n), max_bits + 1, np.int64)
    for lag in range(1, min(lags, n - 1) + 1):
        x = np.ascontiguousarray(codes[lag:]).view(np.uint8) ^ np.ascontiguousarray(codes[:-lag]).view(np.uint8)
        near[lag, lag:] = np.bitwise_count(x).sum(axis=1)
    near = near.tolist()
    t = times.tolist()
    keep = [0]
    a = 0
    for i in range(1, n):
        if t[i] - t[a] > max_run or usable[i] != usable[a] or near[i - a][i] > max_bits:
            keep.append(i)
            a = i
    keep_arr = np.asarray(keep, np.int64)
    ends = np.append(keep_arr[1:] - 1, n - 1)
    return keep_arr, times[ends]


def _stream(times, views, quality, codes, max_bits: int) -> Stream:
    parts = []
    for view in np.unique(views):
        rows = np.nonzero(views == view)[0]
        keep, t1 = merge_runs(times[rows], codes[rows], quality[rows], max_bits)
        r = rows[keep]
        parts.append((times[r], t1, views[r], quality[r], codes[r]))
    if not parts:
        return Stream.empty(codes.shape[1])
    t0, t1, v, q, c = (np.concatenate(x) for x in zip(*parts))
    order = np.lexsort((v, t0))
    return Stream(t0[order], t1[order], v[order], q[order], c[order])


def pack(fpr: Fingerprint, merge: bool = True) -> tuple[Stream, Stream | None]:
    """(search stream, fine stream or None) of a reference fingerprint."""
    nbits = fpr.codes.shape[1] * 8
    merge_64 = round(MERGE_BITS_64 * nbits / 64) if merge else -1
    keep = np.ones(len(fpr), bool) if CROP_VIEWS is None else (fpr.views == 0) | np.isin(fpr.views, sorted(CROP_VIEWS))
    search = _stream(fpr.times[keep], fpr.views[keep], fpr.quality[keep], fpr.codes[keep], merge_64)
    if fpr.fine_codes is None:
        return search, None
    rows = np.nonzero(fpr.fine_rows & whole_picture(fpr.views))[0][::FINE_EVERY]
    fine_bits = fpr.fine_codes.shape[1] * 8
    merge_fine = round(MERGE_BITS_256 * fine_bits / 256) if merge else -1
    fine = _stream(fpr.times[rows], np.zeros(len(rows), np.uint8), fpr.quality[rows], fpr.fine_codes[rows], merge_fine)
    return search, fine


def null_sample(search: Stream, fine: Stream | None, rows: int = SAMPLE_ROWS) -> dict[str, np.ndarray]:
    """Up to `rows` usable whole-picture hashes of each kind, spread over the video."""
    out = {}
    for kind, stream in (("search", search), ("fine", fine)):
        if stream is None:
            continue
        usable = np.nonzero((stream.views == 0) & (stream.quality >= 8))[0]
        if len(usable):
            out[kind] = stream.codes[usable[np.linspace(0, len(usable) - 1, min(len(usable), rows)).astype(int)]]
    return out


def first_stage(stream: Stream) -> Stream:
    """The rows FAISS searches: every whole-picture row, and a crop view's rows at most once per
    FIRST_STAGE_CROP_EVERY seconds (enough to propose a cropped copy's alignment; verification
    then reads all of them from the store)."""
    if not FIRST_STAGE_CROP_EVERY or not len(stream):
        return stream
    # Slots from the stored centisecond ticks: the same rows before and after a save (float
    # times just under a slot edge would otherwise move, and n_search would not fit the index).
    slot = np.round(stream.t0 / TIME_UNIT).astype(np.int64) // round(FIRST_STAGE_CROP_EVERY / TIME_UNIT)
    keep = stream.views == 0
    for view in np.unique(stream.views[stream.views > 0]):
        rows = np.nonzero(stream.views == view)[0]
        first = np.ones(len(rows), bool)
        first[1:] = slot[rows[1:]] != slot[rows[:-1]]
        keep[rows[first]] = True
    return stream.select(keep)

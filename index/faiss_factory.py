"""Build FAISS binary indexes for frame codes, sized for the library.

The rule (``INDEX_KINDS`` and the constants below, measured in benchmarks/SCALE.md "The FAISS
rule" with ``python -m fp.benchmarks.faiss_choice`` on ``fp bench --scale`` libraries):
IndexBinaryFlat below 1M 64-bit codes (FLAT_MAX_CODE_BYTES), then IndexBinaryIVF with nlist
the power of two nearest sqrt(n) and nprobe = nlist / 64, trained by k-means on a bounded
sample (TRAIN_POINTS_PER_LIST codes per list). ``outgrown`` says when a saved index no longer
fits its library (the library rebuilds it at the next save). MultiHash, single-table Hash and
HNSW can be built (``build_index``) for experiments but lost on the clustered benchmark:
MultiHash was slower than flat for exact range search, Hash missed 35-47% of in-radius codes,
HNSW has no range search and builds too slowly.

Every index returned here accepts our own int64 ids through ``add_with_ids``: the IVF index
natively, every other kind wrapped in ``faiss.IndexBinaryIDMap``.

Range search in FAISS binary indexes is strict: ``range_search(codes, r + 1)``
returns the codes at Hamming distance ``<= r``.  ``hamming_radius_arg`` makes
that explicit for callers.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any, Mapping

import faiss
import numpy as np

logger = logging.getLogger(__name__)

#: Index kinds this module can build.
KIND_FLAT = "flat"
KIND_MULTIHASH = "multihash"
KIND_IVF = "ivf"
KIND_HNSW = "hnsw"
KIND_HASH = "hash"
ALL_KINDS = (KIND_FLAT, KIND_MULTIHASH, KIND_IVF, KIND_HNSW, KIND_HASH)


@dataclass(frozen=True)
class IndexChoice:
    """One rung of the recommendation: use ``kind`` while the packed codes
    (``n * nbits / 8`` bytes) are fewer than ``below_code_bytes``.

    Flat search cost is proportional to the bytes scanned, so one byte budget
    covers 64- and 256-bit codes alike (80 MB = 10M 64-bit or 2.5M 256-bit codes).
    """

    kind: str
    below_code_bytes: float
    note: str = ""

    def below_n(self, nbits: int) -> float:
        """The rung's limit in number of codes of ``nbits`` bits."""
        return self.below_code_bytes / (nbits / 8)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "below_code_bytes": self.below_code_bytes, "note": self.note}


#: The rule (benchmarks/SCALE.md, "The FAISS rule"; measured with benchmarks/faiss_choice.py on
#: `fp bench --scale` libraries). Flat scans every code for every query row: exact, but a 60 s
#: suspect's ~1,600 searches (rows and mirrors) cost ~0.5 s per million 64-bit codes on one core.
FLAT_MAX_CODE_BYTES = 8e6  # flat below 1M 64-bit codes (~25 h of first-stage rows) / 250k 256-bit
#: Above it, IndexBinaryIVF: nlist lists of about n / nlist codes each; a query scans nprobe lists.
IVF_LISTS_PER_ROOT = 1  # nlist = the power of two nearest sqrt(n)
IVF_PROBE_DIVISOR = 64  # nprobe = nlist / 64: 1/64 of the codes scanned per query row
IVF_MIN_LISTS = 64
#: k-means on a bounded sample: cost grows with points x lists, so with nlist squared.
TRAIN_POINTS_PER_LIST = 40  # FAISS warns below 39 points per centroid
KMEANS_ITERATIONS = 10
#: A saved index is rebuilt when the library has outgrown it (flat past the limit, or an IVF
#: whose nlist is this factor off the rule's); a shrinking IVF stays until half the flat limit.
REBUILD_FACTOR = 4

INDEX_KINDS: tuple[IndexChoice, ...] = (
    IndexChoice(
        KIND_FLAT,
        below_code_bytes=FLAT_MAX_CODE_BYTES,
        note="exact k-NN, no training, code + 8 B id per row",
    ),
    IndexChoice(
        KIND_IVF,
        below_code_bytes=math.inf,
        note=f"IndexBinaryIVF, nlist ~ {IVF_LISTS_PER_ROOT}*sqrt(n) (power of two), nprobe = nlist/{IVF_PROBE_DIVISOR}, "
        f"trained on {TRAIN_POINTS_PER_LIST} sampled codes per list",
    ),
)

#: Share of inverted lists probed.
IVF_PROBE_FRACTION = 1 / IVF_PROBE_DIVISOR

#: Default Hamming radius (inclusive) per code width, used to size MultiHash.
DEFAULT_RADIUS: Mapping[int, int] = {64: 10, 256: 40}


@dataclass(frozen=True)
class IndexSpec:
    """What to build: an index kind and its construction/search parameters."""

    kind: str
    nbits: int
    params: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "nbits": self.nbits, "params": dict(self.params)}


def hamming_radius_arg(max_distance: int) -> int:
    """The ``radius`` to pass to FAISS binary ``range_search`` for distance <= max_distance."""
    if max_distance < 0:
        raise ValueError(f"max_distance must be >= 0, got {max_distance}")
    return int(max_distance) + 1


def _check_nbits(nbits: int) -> None:
    if not isinstance(nbits, (int, np.integer)) or nbits <= 0 or nbits % 8 != 0:
        raise ValueError(f"nbits must be a positive multiple of 8, got {nbits!r}")


def multihash_params(nbits: int, radius: int | None = None) -> dict[str, int]:
    """Tables and flips so that every code within ``radius`` is found.

    Splits the code into ``nhash`` substrings of ``b`` bits covering all bits;
    by pigeonhole a code at distance <= radius differs in at most
    ``radius // nhash`` bits in one of them, so ``nflip = radius // nhash``
    makes range search exact.  ``b`` is kept at 16 bits (few probes per table:
    1 + 16 + 120 for nflip=2) and at most 64 (FAISS limit).
    """
    _check_nbits(nbits)
    if radius is None:
        radius = DEFAULT_RADIUS.get(int(nbits), max(1, round(nbits * 10 / 64)))
    b = 16 if nbits >= 16 else nbits
    nhash = nbits // b
    nflip = radius // nhash
    return {"nhash": nhash, "b": b, "nflip": nflip}


def choose_spec(nbits: int, n_expected: int) -> IndexSpec:
    """The recommended index for ``n_expected`` codes of ``nbits`` bits."""
    _check_nbits(nbits)
    if n_expected < 0:
        raise ValueError(f"n_expected must be >= 0, got {n_expected}")
    for choice in INDEX_KINDS:
        if n_expected < choice.below_n(nbits):
            kind = choice.kind
            break
    else:  # pragma: no cover - the last rung is unbounded
        kind = INDEX_KINDS[-1].kind
    return IndexSpec(kind, int(nbits), default_params(kind, nbits, n_expected))


def default_params(kind: str, nbits: int, n_expected: int) -> dict[str, Any]:
    """Parameters measured to be a good trade-off for ``kind`` (see SCALE.md)."""
    if kind == KIND_FLAT:
        return {}
    if kind == KIND_MULTIHASH:
        return multihash_params(nbits)
    if kind == KIND_IVF:
        nlist = ivf_nlist(n_expected)
        return {"nlist": nlist, "nprobe": ivf_nprobe(nlist)}
    if kind == KIND_HNSW:
        return {"M": 32, "efSearch": 128}
    if kind == KIND_HASH:
        return {"b": 16, "nflip": 2}
    raise ValueError(f"unknown index kind {kind!r}; expected one of {ALL_KINDS}")


def ivf_nlist(n_expected: int) -> int:
    """The power of two nearest ``IVF_LISTS_PER_ROOT * sqrt(n)``, at least IVF_MIN_LISTS."""
    target = max(float(IVF_MIN_LISTS), IVF_LISTS_PER_ROOT * math.sqrt(max(n_expected, 1)))
    return int(2 ** round(math.log2(target)))


def ivf_nprobe(nlist: int) -> int:
    """Lists a query scans in an IVF of ``nlist`` lists."""
    return max(1, int(round(nlist * IVF_PROBE_FRACTION)))


def training_size(index: faiss.IndexBinary) -> int:
    """Codes to sample for ``train`` (0: the index needs no training)."""
    if not needs_training(index):
        return 0
    return int(getattr(unwrap(index), "nlist", 1)) * TRAIN_POINTS_PER_LIST


def outgrown(index: faiss.IndexBinary, nbits: int) -> bool:
    """Whether the rule would now build a different index for what ``index`` holds: a flat
    index past FLAT_MAX_CODE_BYTES, an IVF below half of it or with nlist REBUILD_FACTOR off."""
    n = int(index.ntotal)
    kind = index_kind(index)
    limit = INDEX_KINDS[0].below_n(nbits)
    if kind == KIND_FLAT:
        return n >= limit
    if kind == KIND_IVF:
        nlist = int(unwrap(index).nlist)
        want = ivf_nlist(n)
        return n < limit / 2 or not want / REBUILD_FACTOR <= nlist <= want * REBUILD_FACTOR
    return False


def apply_rule(index: faiss.IndexBinary) -> None:
    """Set the rule's search parameters on a loaded index (nprobe for its nlist)."""
    if index_kind(index) == KIND_IVF:
        inner = unwrap(index)
        inner.nprobe = ivf_nprobe(int(inner.nlist))


def build_index(spec: IndexSpec) -> faiss.IndexBinary:
    """Build an empty index for ``spec`` that accepts ``add_with_ids``."""
    _check_nbits(spec.nbits)
    d = int(spec.nbits)
    p = dict(spec.params)
    try:
        if spec.kind == KIND_IVF:
            nlist = int(p.get("nlist", 256))
            if nlist < 1:
                raise ValueError(f"nlist must be >= 1, got {nlist}")
            quantizer = faiss.IndexBinaryFlat(d)
            index = faiss.IndexBinaryIVF(quantizer, d, nlist)
            index.nprobe = int(p.get("nprobe", ivf_nprobe(nlist)))
            cp = index.cp
            cp.niter = int(p.get("niter", KMEANS_ITERATIONS))
            cp.max_points_per_centroid = int(p.get("max_points_per_centroid", TRAIN_POINTS_PER_LIST))
            return index
        if spec.kind == KIND_FLAT:
            inner = faiss.IndexBinaryFlat(d)
        elif spec.kind == KIND_MULTIHASH:
            mh = {**multihash_params(d), **p}
            if mh["nhash"] * mh["b"] > d or not 1 <= mh["b"] <= 64:
                raise ValueError(f"multihash needs nhash*b <= {d} and 1 <= b <= 64: {mh}")
            inner = faiss.IndexBinaryMultiHash(d, int(mh["nhash"]), int(mh["b"]))
            inner.nflip = int(mh["nflip"])
        elif spec.kind == KIND_HNSW:
            inner = faiss.IndexBinaryHNSW(d, int(p.get("M", 32)))
            inner.hnsw.efConstruction = int(p.get("efConstruction", 40))
            inner.hnsw.efSearch = int(p.get("efSearch", 128))
        elif spec.kind == KIND_HASH:
            b = int(p.get("b", 16))
            if not 1 <= b <= min(d, 64):
                raise ValueError(f"hash needs 1 <= b <= {min(d, 64)}, got {b}")
            inner = faiss.IndexBinaryHash(d, b)
            inner.nflip = int(p.get("nflip", 2))
        else:
            raise ValueError(f"unknown index kind {spec.kind!r}; expected one of {ALL_KINDS}")
        return faiss.IndexBinaryIDMap(inner)
    except RuntimeError as exc:  # faiss reports its own failures as RuntimeError
        raise ValueError(f"faiss could not build {spec.to_dict()}: {exc}") from exc


def make_binary_index(nbits: int, n_expected: int) -> faiss.IndexBinary:
    """The recommended empty index for about ``n_expected`` codes of ``nbits`` bits.

    Add codes with ``index.add_with_ids(codes_uint8, ids_int64)``.  If
    ``needs_training(index)`` is true, call ``train(index, sample_codes)`` first.
    """
    spec = choose_spec(nbits, n_expected)
    logger.debug("binary index for n=%d nbits=%d: %s", n_expected, nbits, spec.to_dict())
    return build_index(spec)


def unwrap(index: faiss.IndexBinary) -> faiss.IndexBinary:
    """The concrete inner index (through IndexBinaryIDMap), downcast."""
    index = faiss.downcast_IndexBinary(index)
    if isinstance(index, (faiss.IndexBinaryIDMap, faiss.IndexBinaryIDMap2)):
        index = faiss.downcast_IndexBinary(index.index)
    return index


def index_kind(index: faiss.IndexBinary) -> str:
    """Which of ``ALL_KINDS`` an index built here is."""
    inner = unwrap(index)
    for cls, kind in (
        (faiss.IndexBinaryIVF, KIND_IVF),
        (faiss.IndexBinaryMultiHash, KIND_MULTIHASH),
        (faiss.IndexBinaryHash, KIND_HASH),
        (faiss.IndexBinaryHNSW, KIND_HNSW),
        (faiss.IndexBinaryFlat, KIND_FLAT),
    ):
        if isinstance(inner, cls):
            return kind
    raise ValueError(f"not an index kind built by this module: {type(inner).__name__}")


def supports_range_search(index: faiss.IndexBinary) -> bool:
    """IndexBinaryHNSW does not implement range_search in FAISS 1.x."""
    return index_kind(index) != KIND_HNSW


def needs_training(index: faiss.IndexBinary) -> bool:
    """True if ``train`` must be called before adding codes (IVF)."""
    return not bool(index.is_trained)


def check_codes(codes: np.ndarray, nbits: int) -> np.ndarray:
    """Codes as a C-contiguous (n, nbits/8) uint8 array, or ValueError."""
    arr = np.asarray(codes)
    if arr.dtype != np.uint8:
        raise ValueError(f"codes must be uint8 packed bits, got dtype {arr.dtype}")
    if arr.ndim != 2 or arr.shape[1] * 8 != nbits:
        raise ValueError(f"codes must have shape (n, {nbits // 8}), got {arr.shape}")
    return np.ascontiguousarray(arr)


def train(index: faiss.IndexBinary, codes: np.ndarray, seed: int = 0) -> None:
    """Train ``index`` on sample codes (a no-op for kinds that need none).

    IVF needs at least ``nlist`` codes (FAISS k-means); ~40-256 per list is
    better.  Codes should be representative: sample across many videos.
    """
    if not needs_training(index):
        return
    codes = check_codes(codes, index.d)
    inner = unwrap(index)
    nlist = int(getattr(inner, "nlist", 1))
    if codes.shape[0] < nlist:
        raise ValueError(f"training needs at least nlist={nlist} codes, got {codes.shape[0]}")
    # IndexBinaryIVF.train converts *all* given codes to float (4 bytes per bit)
    # before k-means subsamples them, so subsample here: 10M 256-bit codes
    # would otherwise need 10 GB.
    cap = nlist * int(getattr(getattr(inner, "cp", None), "max_points_per_centroid", 256))
    if codes.shape[0] > cap:
        rng = np.random.default_rng(seed)
        pick = np.sort(rng.choice(codes.shape[0], size=cap, replace=False))
        codes = np.ascontiguousarray(codes[pick])
    try:
        index.train(codes)
    except RuntimeError as exc:
        raise ValueError(f"faiss training failed: {exc}") from exc


def set_search_params(index: faiss.IndexBinary, **params: Any) -> None:
    """Set search-time knobs on the inner index: ``nprobe`` (IVF),
    ``efSearch`` (HNSW), ``nflip`` (hash, multihash).  Unknown names raise."""
    inner = unwrap(index)
    for name, value in params.items():
        if name == "nprobe" and isinstance(inner, faiss.IndexBinaryIVF):
            inner.nprobe = int(value)
        elif name == "efSearch" and isinstance(inner, faiss.IndexBinaryHNSW):
            inner.hnsw.efSearch = int(value)
        elif name == "nflip" and isinstance(inner, (faiss.IndexBinaryHash, faiss.IndexBinaryMultiHash)):
            inner.nflip = int(value)
        else:
            raise ValueError(f"{name!r} is not a search parameter of {type(inner).__name__}")

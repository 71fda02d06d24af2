"""FAISS binary indexes from fp.index.faiss_factory against a brute-force Hamming oracle.

Planted codes sit at exact Hamming distances 0, r and r + 1 from each query, so
the tests pin down FAISS's strict radius: range_search(q, r + 1) returns
distance <= r.
"""

from __future__ import annotations

import faiss
import numpy as np
import pytest

from fp.index import faiss_factory as ff

RADIUS = {64: 10, 256: 40}
N_BACKGROUND = 1500
N_QUERIES = 12
ID_OFFSET = 10**12  # our own int64 ids, far from FAISS's sequential ones


@pytest.fixture(autouse=True)
def one_faiss_thread():
    """Tiny indexes: OpenMP start-up and spin-waiting cost more than they save."""
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    yield
    faiss.omp_set_num_threads(before)


def flip_exact(code: np.ndarray, nflips: int, rng: np.random.Generator) -> np.ndarray:
    nbits = code.size * 8
    bits = np.zeros(nbits, dtype=bool)
    bits[rng.choice(nbits, size=nflips, replace=False)] = True
    return code ^ np.packbits(bits)


def hamming_oracle(queries: np.ndarray, library: np.ndarray) -> np.ndarray:
    """(nq, n) Hamming distances by unpacking bits: independent of FAISS."""
    xor = queries[:, None, :] ^ library[None, :, :]
    return np.unpackbits(xor, axis=2).sum(axis=2)


def planted(nbits: int, seed: int = 7):
    """Random background plus, per query, codes at distance 0, r and r + 1."""
    rng = np.random.default_rng(seed)
    r = RADIUS[nbits]
    nbytes = nbits // 8
    queries = rng.integers(0, 256, size=(N_QUERIES, nbytes), dtype=np.uint8)
    near = [flip_exact(q, d, rng) for q in queries for d in (0, r, r + 1)]
    background = rng.integers(0, 256, size=(N_BACKGROUND, nbytes), dtype=np.uint8)
    library = np.ascontiguousarray(np.vstack([background, np.array(near)]))
    order = rng.permutation(len(library))  # planted codes not all at the end
    library = np.ascontiguousarray(library[order])
    ids = (ID_OFFSET + 3 * np.arange(len(library))).astype(np.int64)
    return queries, library, ids, r


def specs(nbits: int) -> list[ff.IndexSpec]:
    """Every kind the factory builds, with parameters that make it exact here."""
    return [
        ff.IndexSpec(ff.KIND_FLAT, nbits),
        ff.IndexSpec(ff.KIND_MULTIHASH, nbits, ff.multihash_params(nbits, RADIUS[nbits])),
        ff.IndexSpec(ff.KIND_IVF, nbits, {"nlist": 16, "nprobe": 16}),  # all lists: exact
        ff.IndexSpec(ff.KIND_HNSW, nbits, {"M": 16, "efSearch": 256}),
        ff.IndexSpec(ff.KIND_HASH, nbits, {"b": 16, "nflip": 2}),
    ]


def built(spec: ff.IndexSpec, library: np.ndarray, ids: np.ndarray) -> faiss.IndexBinary:
    index = ff.build_index(spec)
    if ff.needs_training(index):
        ff.train(index, library)
    assert not ff.needs_training(index)
    index.add_with_ids(library, ids)
    assert index.ntotal == len(library)
    return index


EXACT_KINDS = {ff.KIND_FLAT, ff.KIND_MULTIHASH, ff.KIND_IVF}


@pytest.mark.parametrize("nbits", [64, 256])
@pytest.mark.parametrize("kind", ff.ALL_KINDS)
def test_range_search_matches_oracle(kind: str, nbits: int) -> None:
    queries, library, ids, r = planted(nbits)
    spec = next(s for s in specs(nbits) if s.kind == kind)
    index = built(spec, library, ids)
    assert ff.index_kind(index) == kind
    if not ff.supports_range_search(index):
        with pytest.raises(RuntimeError):
            index.range_search(queries, ff.hamming_radius_arg(r))
        return
    dist = hamming_oracle(queries, library)
    lims, rdist, rids = index.range_search(queries, ff.hamming_radius_arg(r))
    for qi in range(len(queries)):
        got = dict(zip(rids[lims[qi] : lims[qi + 1]].tolist(), rdist[lims[qi] : lims[qi + 1]].tolist()))
        want = {int(ids[j]): int(dist[qi, j]) for j in np.flatnonzero(dist[qi] <= r)}
        # planted: exactly one code at 0 and one at r, both in; the one at r + 1 out
        assert sorted(want.values())[:2] == [0, r]
        assert all(d <= r for d in got.values())
        for i, d in got.items():  # whatever is returned carries our id and its true distance
            assert want[i] == d
        if kind in EXACT_KINDS:
            assert got == want
        else:  # single-table hash is approximate; the identical code is always found
            assert 0 in got.values()


@pytest.mark.parametrize("nbits", [64, 256])
def test_faiss_radius_is_strict(nbits: int) -> None:
    """range_search(q, r) excludes distance r; range_search(q, r + 1) includes it."""
    queries, library, ids, r = planted(nbits)
    index = built(ff.IndexSpec(ff.KIND_FLAT, nbits), library, ids)
    dist = hamming_oracle(queries, library)
    for radius, expected_max in ((r, 0), (r + 1, r), (r + 2, r + 1)):  # planted: 0, r, r + 1
        lims, rdist, _ = index.range_search(queries, radius)
        assert rdist.max() == expected_max
        assert lims[-1] == int((dist < radius).sum())


@pytest.mark.parametrize("nbits", [64, 256])
@pytest.mark.parametrize("kind", ff.ALL_KINDS)
def test_knn_matches_oracle(kind: str, nbits: int) -> None:
    queries, library, ids, r = planted(nbits)
    spec = next(s for s in specs(nbits) if s.kind == kind)
    index = built(spec, library, ids)
    k = 3
    dist = hamming_oracle(queries, library)
    got_d, got_i = index.search(queries, k)
    want_d = np.sort(dist, axis=1)[:, :k]
    id_to_row = {int(i): j for j, i in enumerate(ids)}
    for qi in range(len(queries)):
        found = got_i[qi] >= 0
        # returned ids are ours and their distances are the true ones
        for i, d in zip(got_i[qi][found], got_d[qi][found]):
            assert dist[qi, id_to_row[int(i)]] == d
        if kind in EXACT_KINDS or kind == ff.KIND_HNSW:
            np.testing.assert_array_equal(got_d[qi], want_d[qi])  # 0, r, r + 1
        else:
            assert got_d[qi][0] == 0


def test_recommendation_switches_from_flat_to_ivf() -> None:
    limit = ff.FLAT_MAX_CODE_BYTES
    assert ff.choose_spec(64, int(0.9 * limit / 8)).kind == ff.KIND_FLAT
    assert ff.choose_spec(64, int(1.1 * limit / 8)).kind == ff.KIND_IVF
    assert ff.choose_spec(256, int(0.9 * limit / 32)).kind == ff.KIND_FLAT
    assert ff.choose_spec(256, int(1.1 * limit / 32)).kind == ff.KIND_IVF
    for n in (2_000_000, 16_000_000, 400_000_000):
        spec = ff.choose_spec(64, n)
        nlist = spec.params["nlist"]
        assert nlist & (nlist - 1) == 0  # a power of two ...
        assert ff.IVF_LISTS_PER_ROOT * n**0.5 / 1.5 <= nlist <= ff.IVF_LISTS_PER_ROOT * n**0.5 * 1.5  # ... near F * sqrt(n)
        assert spec.params["nprobe"] == nlist // ff.IVF_PROBE_DIVISOR
        index = ff.build_index(spec)
        assert ff.training_size(index) == nlist * ff.TRAIN_POINTS_PER_LIST  # bounded, whatever n is


def test_outgrown_when_the_library_passes_the_rules_sizes() -> None:
    limit = int(ff.INDEX_KINDS[0].below_n(64))
    flat = ff.build_index(ff.IndexSpec(ff.KIND_FLAT, 64))
    flat.add_with_ids(np.zeros((limit - 1, 8), np.uint8), np.arange(limit - 1, dtype=np.int64))
    assert not ff.outgrown(flat, 64)
    flat.add_with_ids(np.zeros((1, 8), np.uint8), np.array([limit], np.int64))
    assert ff.outgrown(flat, 64)
    _, library, ids, _ = planted(64)
    small_ivf = ff.build_index(ff.IndexSpec(ff.KIND_IVF, 64, {"nlist": 16}))
    ff.train(small_ivf, library)
    small_ivf.add_with_ids(library, ids)
    assert ff.outgrown(small_ivf, 64)  # far below the flat limit: flat is exact and as fast
    ff.unwrap(small_ivf).nprobe = 16
    ff.apply_rule(small_ivf)
    assert ff.unwrap(small_ivf).nprobe == ff.ivf_nprobe(16)


def test_make_binary_index_follows_index_kinds() -> None:
    for nbits in (64, 256):
        for choice in ff.INDEX_KINDS:
            n = 1000 if choice is ff.INDEX_KINDS[0] else int(ff.INDEX_KINDS[0].below_n(nbits)) * 2
            index = ff.make_binary_index(nbits, n)
            assert index.d == nbits
            assert ff.index_kind(index) == ff.choose_spec(nbits, n).kind
        assert ff.index_kind(ff.make_binary_index(nbits, 0)) == ff.INDEX_KINDS[0].kind


@pytest.mark.parametrize("n_expected", [0, 10_000, 1_000_000, 20_000_000])
def test_made_index_round_trips_codes_with_our_ids(n_expected: int) -> None:
    queries, library, ids, r = planted(64)
    index = ff.make_binary_index(64, n_expected)
    if ff.needs_training(index):
        nlist = ff.unwrap(index).nlist
        sample = np.random.default_rng(3).integers(0, 256, size=(nlist, 8), dtype=np.uint8)
        ff.train(index, np.vstack([library, sample]))
        ff.set_search_params(index, nprobe=nlist)  # probe everything: exact, comparable to the oracle
    index.add_with_ids(library, ids)
    lims, rdist, rids = index.range_search(queries, ff.hamming_radius_arg(r))
    dist = hamming_oracle(queries, library)
    assert lims[-1] == int((dist <= r).sum())
    assert set(rids.tolist()) <= set(ids.tolist())
    blob = faiss.serialize_index_binary(index)
    again = faiss.deserialize_index_binary(blob)
    assert ff.index_kind(again) == ff.index_kind(index)
    np.testing.assert_array_equal(again.range_search(queries, ff.hamming_radius_arg(r))[0], lims)


def test_ivf_needs_training_and_train_checks_input() -> None:
    _, library, ids, _ = planted(64)
    index = ff.build_index(ff.IndexSpec(ff.KIND_IVF, 64, {"nlist": 16}))
    assert ff.needs_training(index)
    with pytest.raises(ValueError, match="at least nlist"):
        ff.train(index, library[:8])
    with pytest.raises(ValueError, match="uint8"):
        ff.train(index, library.astype(np.int64))
    with pytest.raises(ValueError, match="shape"):
        ff.train(index, library[:, :4])
    ff.train(index, library)
    assert not ff.needs_training(index)
    ff.train(index, library)  # no-op once trained
    flat = ff.build_index(ff.IndexSpec(ff.KIND_FLAT, 64))
    assert not ff.needs_training(flat)
    ff.train(flat, library)  # no-op


def test_bad_arguments_raise_value_error() -> None:
    with pytest.raises(ValueError):
        ff.make_binary_index(63, 10)
    with pytest.raises(ValueError):
        ff.make_binary_index(64, -1)
    with pytest.raises(ValueError):
        ff.build_index(ff.IndexSpec("annoy", 64))
    with pytest.raises(ValueError):
        ff.hamming_radius_arg(-1)
    with pytest.raises(ValueError):
        ff.set_search_params(ff.build_index(ff.IndexSpec(ff.KIND_FLAT, 64)), nprobe=4)


def test_set_search_params_reaches_inner_index() -> None:
    ivf = ff.build_index(ff.IndexSpec(ff.KIND_IVF, 64, {"nlist": 16}))
    ff.set_search_params(ivf, nprobe=5)
    assert ff.unwrap(ivf).nprobe == 5
    hnsw = ff.build_index(ff.IndexSpec(ff.KIND_HNSW, 64))
    ff.set_search_params(hnsw, efSearch=77)
    assert ff.unwrap(hnsw).hnsw.efSearch == 77
    mh = ff.build_index(ff.IndexSpec(ff.KIND_MULTIHASH, 64))
    ff.set_search_params(mh, nflip=1)
    assert ff.unwrap(mh).nflip == 1


def test_a_growing_library_moves_from_flat_to_ivf_when_saved(tmp_path, monkeypatch) -> None:
    """`fp index` saves the index while the library is small (flat); once the library passes the
    flat limit, the next save rebuilds it as the rule's IVF (here with a limit of 150 codes)."""
    from fp.fingerprint.pipeline import REFERENCE, fingerprint_video
    from fp.index.faiss_index import FrameIndex
    from fp.index.library import INDEX_NAME, Library

    from .conftest import clip

    monkeypatch.setattr(ff, "INDEX_KINDS", (ff.IndexChoice(ff.KIND_FLAT, 150 * 8), ff.IndexChoice(ff.KIND_IVF, np.inf)))
    monkeypatch.setattr(ff, "IVF_MIN_LISTS", 16)
    kinds = []
    with Library(tmp_path / "lib") as lib:
        for name in ("friday.mp4", "elf.mp4"):
            lib.add(fingerprint_video(clip(name), REFERENCE), path=name, title=name, content_hash=name * 4, size=1)
            lib.save_index()
            kinds.append((lib.index.state.kind, len(lib.index)))
    assert kinds[0][0] == ff.KIND_FLAT and kinds[0][1] < 150
    assert kinds[-1][0] == ff.KIND_IVF and kinds[-1][1] >= 150
    with Library(tmp_path / "lib", create=False, readonly=True) as lib:
        saved = FrameIndex.load(tmp_path / "lib" / INDEX_NAME, lib.nbits)
        assert saved.state.kind == ff.KIND_IVF and not saved.outgrown
        assert ff.unwrap(saved.index).nprobe == ff.ivf_nprobe(ff.unwrap(saved.index).nlist)
        assert lib.verify() == []

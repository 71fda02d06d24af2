"""FrameIndex.search: a hash repeated in a suspect (a still shot) is searched once and every
row still gets its own answer."""
from __future__ import annotations

import faiss
import numpy as np

from fp.index import faiss_factory as ff
from fp.index.faiss_index import FrameIndex


def test_repeated_rows_are_searched_once_and_answered_each() -> None:
    rng = np.random.default_rng(11)
    library = rng.integers(0, 256, size=(3000, 8), dtype=np.uint8)
    index = FrameIndex(64)
    index.index = ff.build_index(ff.IndexSpec(ff.KIND_IVF, 64, {"nlist": 16, "nprobe": 16}))  # every list: exact
    ff.train(index.index, library)
    index.index.add_with_ids(library, np.arange(len(library), dtype=np.int64) * 7)
    distinct = library[rng.choice(len(library), 40, replace=False)] ^ rng.integers(0, 4, size=(40, 8), dtype=np.uint8)
    rows = np.ascontiguousarray(distinct[rng.integers(0, 40, size=300)])  # each code about 7 times, shuffled

    faiss.cvar.indexIVF_stats.reset()
    dist, ids = index.search(rows, 5)
    assert faiss.cvar.indexIVF_stats.nq == len(np.unique(rows, axis=0))  # FAISS saw each code once

    alone_d, alone_i = index.index.search(rows, 5)  # every row on its own
    np.testing.assert_array_equal(dist, alone_d)
    np.testing.assert_array_equal(ids, alone_i)
    assert dist.shape == (300, 5) and (ids >= 0).all()

"""Neighbour recall of a library's saved IVF index at several nprobe, against a scan of every list.

Query rows are a random sample of the distinct whole-picture hashes of cached suspects (an
`fp bench --scale` run's OUT/cache/suspects/*.npz). For each nprobe: the share of the true
neighbours within 4, 8, 10 and 14 of 64 bits that FAISS returns, and of the rows that have one.
At a fixed nprobe a library ten times larger is probed over a tenth of the share of its lists:
the rows here at nprobe / 4 say what nlist / 64 -> a fixed 128 would cost at 10,000 h.

    OMP_NUM_THREADS=1 python benchmarks/scripts/nprobe_recall.py /work/scale-data/p18/library-1000h \\
        /work/scale-data/p18/cache/suspects --rows 300
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import faiss
import numpy as np

from fp.benchmarks.synthetic import load_fingerprint

RADIUS = 15  # FAISS's range is strict: distances <= 14
BANDS = (4, 8, 10, 14)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("library", type=Path)
    ap.add_argument("suspects", type=Path)
    ap.add_argument("--rows", type=int, default=300)
    ap.add_argument("--nprobe", default="16,32,64,128,256")
    a = ap.parse_args()
    faiss.omp_set_num_threads(1)
    fprs = [load_fingerprint(f)[0] for f in sorted(a.suspects.glob("*.npz"))]
    codes = np.unique(np.concatenate([f.codes[f.views == 0] for f in fprs]), axis=0)
    rng = np.random.default_rng(0)
    q = np.ascontiguousarray(codes[rng.choice(len(codes), min(a.rows, len(codes)), replace=False)])
    ix = faiss.read_index_binary(str(a.library / "frames.faiss"), faiss.IO_FLAG_MMAP_IFC)
    print(f"nlist {ix.nlist}, {ix.ntotal} rows, {len(q)} query rows")
    ix.nprobe = ix.nlist
    start = time.process_time()
    lims, dist, ids = ix.range_search(q, RADIUS)
    print(f"every list: {time.process_time() - start:.1f} s CPU")
    truth = [dict(zip(ids[lims[i]:lims[i + 1]], dist[lims[i]:lims[i + 1]])) for i in range(len(q))]
    for nprobe in map(int, a.nprobe.split(",")):
        ix.nprobe = nprobe
        start = time.process_time()
        l2, _, i2 = ix.range_search(q, RADIUS)
        cpu = time.process_time() - start
        got = [set(i2[l2[i]:l2[i + 1]]) for i in range(len(q))]
        cells = []
        for band in BANDS:
            want = [{k for k, d in t.items() if d <= band} for t in truth]
            found = sum(len(w & g) for w, g in zip(want, got))
            total = sum(map(len, want))
            rows = sum(bool(w & g) for w, g in zip(want, got))
            cells.append(f"<= {band}: {found}/{total} ({found / max(total, 1):.3f}), rows {rows}/{sum(map(bool, want))}")
        print(f"nprobe {nprobe} ({nprobe / ix.nlist:.4f} of the lists, {cpu:.2f} s CPU) | " + " | ".join(cells))


if __name__ == "__main__":
    main()

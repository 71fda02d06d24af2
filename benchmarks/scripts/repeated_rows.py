"""Match CPU per suspect with every query row sent to FAISS, and with each distinct hash once.

`FrameIndex.search` searches each distinct code once (a still shot repeats its hash); this runs
the suspects both ways in one process, alternating, on one thread, and checks that verdicts,
chances and spans are identical. Suspects: *.npz of an `fp bench --scale` cache, or *.pkl
fingerprints (the first N).

    OMP_NUM_THREADS=1 python benchmarks/scripts/repeated_rows.py LIBRARY SUSPECT_DIR [N]
"""
from __future__ import annotations

import pickle
import sys
import time
from pathlib import Path

import numpy as np

from fp.benchmarks.synthetic import load_fingerprint
from fp.index import faiss_factory, faiss_index
from fp.index.library import Library
from fp.index.matcher import Matcher

DISTINCT = faiss_index.FrameIndex.search


def every_row(self, codes, k):
    """The search before: every row to FAISS."""
    if len(self) == 0 or len(codes) == 0:
        return np.zeros((len(codes), 0), np.int32), np.full((len(codes), 0), -1, np.int64)
    return self.index.search(faiss_factory.check_codes(codes, self.nbits), min(k, len(self)))


def summary(r):
    return (r.verdict, tuple((m.video_id, round(m.chance, 12), m.matched_frames, tuple(np.round(m.query_span, 3)),
                              tuple(np.round(m.ref_span, 3))) for m in r.matches),
            None if r.nearest is None else round(r.nearest["chance"], 12))


def main() -> None:
    library, suspects = Path(sys.argv[1]), Path(sys.argv[2])
    n = int(sys.argv[3]) if len(sys.argv) > 3 else None
    fprs = [load_fingerprint(f)[0] for f in sorted(suspects.glob("*.npz"))][:n] or \
        [pickle.load(open(f, "rb")) for f in sorted(suspects.glob("*.pkl"))[:n]]
    with Library(library, create=False, readonly=True) as lib:
        matcher = Matcher(lib)
        for f in fprs:
            matcher.match_fingerprint(f)  # the mapped index's pages in
        results = {}
        for round_ in range(2):
            for label, search in (("every row", every_row), ("distinct rows", DISTINCT)):
                faiss_index.FrameIndex.search = search
                cpu, res = [], []
                for f in fprs:
                    start = time.process_time()
                    res.append(summary(matcher.match_fingerprint(f)))
                    cpu.append(time.process_time() - start)
                results[label] = res
                print(f"round {round_}, {label}: {len(fprs)} suspects, CPU s per suspect mean {np.mean(cpu):.3f}, worst {np.max(cpu):.3f}")
        faiss_index.FrameIndex.search = DISTINCT
    print("identical results:", results["every row"] == results["distinct rows"])


if __name__ == "__main__":
    main()

"""Match CPU per suspect against a --scale library, with and without the half-step rows.

The suspects an `fp bench --scale` run cached (OUT/cache/suspects/*.npz) are matched on one
thread after a warm-up pass (the mapped index's pages in), then twice more each way,
alternating. Run it with another fp to compare codes on the same library (older code ignores
the half-step rows: view 89).

    OMP_NUM_THREADS=1 python benchmarks/scripts/half_step_scale.py /work/scale-data/p18/library-1000h \\
        /work/scale-data/p18/cache/suspects
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from fp.benchmarks.synthetic import load_fingerprint
from fp.index.library import Library
from fp.index.matcher import Matcher

PHASE_VIEW = 89  # fingerprint/types.py (a constant here so that older fp runs this too)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("library", type=Path)
    ap.add_argument("suspects", type=Path)
    a = ap.parse_args()
    fprs = [load_fingerprint(f)[0] for f in sorted(a.suspects.glob("*.npz"))]
    with Library(a.library, create=False, readonly=True) as lib:
        matcher = Matcher(lib)
        for fpr in fprs:
            matcher.match_fingerprint(fpr)
        for round_ in range(2):
            for label, strip in (("with half steps", False), ("without", True)):
                cpu = []
                for fpr in fprs:
                    rows = fpr.select(fpr.views != PHASE_VIEW) if strip else fpr
                    start = time.process_time()
                    matcher.match_fingerprint(rows)
                    cpu.append(time.process_time() - start)
                print(f"round {round_}, {label}: {len(fprs)} suspects, CPU s per suspect mean {np.mean(cpu):.3f}, worst {np.max(cpu):.3f}")


if __name__ == "__main__":
    main()

"""How often a suspect's frames meet a library hash within the radius, by frame quality.

For each query of a benchmark run (fingerprints cached by `rematch.py`), the rows of the whole
picture are searched in the run's library (nearest hash of any view); printed per quality bin
(`hashers.quality_score`: ten times the mean gradient of the thumbnail) the share of rows with
a hash within the matching radius, for unrelated clips (every such hash is another title's)
and for copies. Several runs' rows are pooled:

    python benchmarks/scripts/blank_rows.py --run /work/bench-data/widened_s3/data/truth.json \
        /work/bench-data/widened_s3/library /tmp/fp-cache-s3 [--run ...]
"""
from __future__ import annotations

import argparse
import json
import pickle
from pathlib import Path

import numpy as np

from fp.benchmarks.truth import load_truth
from fp.index.library import Library
from fp.index.matcher import MatchConfig

BINS = (8, 15, 20, 30, 40, 60, 101)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", nargs=3, action="append", required=True, metavar=("TRUTH", "LIBRARY", "CACHE"))
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    counts = {kind: np.zeros((len(BINS) - 1, 2), int) for kind in ("unrelated", "copies")}
    radius = MatchConfig().radius_for(64)
    for truth_path, library, cache in a.run:
        truth = load_truth(Path(truth_path))
        with Library(library, create=False, readonly=True) as lib:
            for q in truth.queries:
                fpr = pickle.loads((Path(cache) / (Path(q.query).name + ".pkl")).read_bytes())
                if isinstance(fpr, str):
                    continue  # did not decode
                rows = (fpr.views == 0) & (fpr.quality >= BINS[0])
                if not rows.any():
                    continue
                dist = lib.search(fpr.codes[rows], 1)[0][:, 0]
                quality, near = fpr.quality[rows], dist <= radius
                kind = "copies" if q.reference else "unrelated"
                for i, (lo, hi) in enumerate(zip(BINS, BINS[1:])):
                    inside = (quality >= lo) & (quality < hi)
                    counts[kind][i] += (int(inside.sum()), int((inside & near).sum()))
    out = {kind: [{"quality": [lo, hi], "rows": int(c[i, 0]), "near": int(c[i, 1]), "share": round(c[i, 1] / max(c[i, 0], 1), 3)}
                  for i, (lo, hi) in enumerate(zip(BINS, BINS[1:]))] for kind, c in counts.items()}
    for kind, bins in out.items():
        print(kind, "  ".join(f"[{b['quality'][0]},{b['quality'][1]}): {b['near']}/{b['rows']} = {b['share']:.3f}" for b in bins))
    if a.json:
        a.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

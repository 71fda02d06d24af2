"""What looking for other versions of a reference costs a match (index/same_footage.py).

Matches the cached fingerprints of a benchmark's queries (rematch.py's --cache) against a library
twice per round, with the versions looked for and without (Matcher._same_footage answering none),
alternating in one process, one thread; prints CPU seconds of each and whether the verdicts differ.

    python benchmarks/scripts/same_footage_cost.py --library /work/bench-data/s8-versions/library \
        --cache /work/cache/s8 [--rounds 2]
"""
from __future__ import annotations

import argparse
import pickle
import time
from pathlib import Path

from fp.index.library import Library
from fp.index.matcher import Matcher


def run(matcher: Matcher, fprs: list) -> tuple[float, list]:
    start = time.process_time()
    out = [[(m.title, m.chance) for m in matcher.match_fingerprint(f, str(i)).matches] for i, f in enumerate(fprs)]
    return time.process_time() - start, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--library", type=Path, required=True)
    ap.add_argument("--cache", type=Path, required=True)
    ap.add_argument("--rounds", type=int, default=2)
    a = ap.parse_args()
    fprs = [f for f in (pickle.loads(p.read_bytes()) for p in sorted(a.cache.glob("*.pkl"))) if not isinstance(f, str)]
    with Library(a.library, create=False, readonly=True) as lib:
        with_versions, without = Matcher(lib), Matcher(lib)
        without._same_footage = lambda *args: ()
        for m in (with_versions, without):
            run(m, fprs[:5])  # warm: null, caches
        for r in range(a.rounds):
            t_on, on = run(with_versions, fprs)
            t_off, off = run(without, fprs)
            changed = sum(x != y for x, y in zip(on, off))
            print(f"round {r + 1}: {len(fprs)} suspects, CPU {t_on:.2f} s looking for versions, {t_off:.2f} s without "
                  f"({t_on / t_off:.3f}x); results that differ: {changed}")


if __name__ == "__main__":
    main()

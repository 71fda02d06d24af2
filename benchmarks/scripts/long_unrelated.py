"""What a long unrelated suspect costs to match: the worst case of the checks that run only when
a line fails (the fine hash, the turned views), since every line of an unrelated suspect fails.

    python benchmarks/scripts/long_unrelated.py --truth TRUTH.json --film-ref FILM.npz [--hours 2] [--json out.json]

The suspect: the unrelated queries of a benchmark (`fp bench` truth.json, kind "negative"),
fingerprinted as suspects and joined end to end, repeated to `--hours`. The library: one whole
film's reference fingerprint (`benchmarks/films.py` writes film-<m>min-ref.npz). Each variant is
matched in its own process (peak RSS is per process): with the turned rows, and without them.
"""
from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import resource
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path



def _fingerprint(path: str):
    from fp.fingerprint.errors import FpError
    from fp.fingerprint.pipeline import QUERY, fingerprint_video

    try:
        return fingerprint_video(path, QUERY)
    except FpError:
        return None


def _match(args: tuple[str, str, bool]) -> dict:
    library, reel_path, turned_rows = args
    from fp.benchmarks.synthetic import load_fingerprint
    from fp.fingerprint.types import turned
    from fp.index.library import Library
    from fp.index.matcher import Matcher

    reel = load_fingerprint(reel_path)[0]
    if not turned_rows:
        reel = reel.select(~turned(reel.views))
    with Library(library, create=False, readonly=True) as lib:
        matcher = Matcher(lib)
        _ = matcher.cdf  # the null distribution is read once per library, not per suspect
        cpu, wall = time.process_time(), time.perf_counter()
        result = matcher.match_fingerprint(reel)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {"turned_rows": turned_rows, "rows": len(reel), "match_cpu_s": round(cpu, 2), "match_wall_s": round(wall, 2),
            "verdict": result.verdict, "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--truth", required=True, help="a benchmark's truth.json (its negatives are the footage)")
    ap.add_argument("--film-ref", required=True, help="a film's reference fingerprint (.npz, benchmarks/films.py)")
    ap.add_argument("--hours", type=float, default=2.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", help="write the result here too")
    args = ap.parse_args(argv)

    from fp.benchmarks.calibrate import concatenate
    from fp.benchmarks.films import build_step
    from fp.benchmarks.synthetic import save_fingerprint

    truth_path = Path(args.truth)
    truth = json.loads(truth_path.read_text())
    paths = [str(truth_path.parent / q["query"]) for q in truth["queries"] if q.get("kind") == "negative"]
    with ProcessPoolExecutor(args.workers, mp_context=mp.get_context("spawn")) as pool:
        parts = [f for f in pool.map(_fingerprint, paths, chunksize=4) if f is not None and len(f)]
    footage = sum(p.duration for p in parts)
    reel = concatenate(parts * math.ceil(args.hours * 3600 / footage), "long-unrelated")
    with tempfile.TemporaryDirectory() as tmp:
        reel_path = str(Path(tmp) / "reel.npz")
        save_fingerprint(reel, reel_path)
        library = str(Path(tmp) / "library")
        build_step(library, args.film_ref)
        with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn"), max_tasks_per_child=1) as pool:  # a process each: RSS apart
            rows = [pool.submit(_match, (library, reel_path, t)).result() for t in (False, True)]
    out = {"suspect_s": round(reel.duration), "unrelated_queries": len(parts), "film_ref": args.film_ref, "variants": rows,
           "turned_over_plain_cpu": round(rows[1]["match_cpu_s"] / max(rows[0]["match_cpu_s"], 1e-9), 2)}
    print(json.dumps(out, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

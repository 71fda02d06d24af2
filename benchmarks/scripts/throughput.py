"""Suspect throughput: the full match, the keyframe first pass (`fp match --triage`), and a full
decode of the same files on one core, all in one run; recall and false matches of each.

    python benchmarks/scripts/throughput.py --truth /work/bench-data/widened/data/truth.json \
        [--refs DIR] [--workers 2] [--radii 14,18] [--limit N] [--out /tmp/fp-throughput]

Writes OUT/throughput.json and prints a markdown table (benchmarks/SCALE.md, "Throughput").
Ratios are suspect video seconds per wall second divided by the one-core full decode's.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from fp.benchmarks import harness, metrics
from fp.benchmarks.harness import _decode_seconds, _duration, _outcome
from fp.benchmarks.truth import load_truth, resolve_query, resolve_refs_dir
from fp.fingerprint.errors import FpError
from fp.index.indexer import index_paths
from fp.index.library import Library
from fp.index.matcher import Matcher
from fp.index.triage import triage_file

_matcher: Matcher | None = None


def _rel(path, refs_dir):
    """harness._rel without resolving links (the benchmark's refs are links into shared clips)."""
    if path is None:
        return None
    rel = os.path.relpath(path, refs_dir)
    return path if rel.startswith("..") else rel


harness._rel = _rel


def _init(root: str) -> None:
    global _matcher
    import faiss

    faiss.omp_set_num_threads(1)
    _matcher = Matcher(Library(root, create=False, readonly=True))


def _job(args):
    path, radius = args  # radius None: the full match; else the first pass at that radius
    start = time.perf_counter()
    try:
        result = triage_file(_matcher, path, radius) if radius is not None else None
        full = result is None
        if full:
            result = _matcher.match_file(path)
        return result, None, full, time.perf_counter() - start
    except FpError as exc:
        return None, str(exc), True, time.perf_counter() - start


def run_mode(root: Path, paths: list[Path], workers: int, radius: int | None):
    start = time.perf_counter()
    with ProcessPoolExecutor(workers, initializer=_init, initargs=(str(root),)) as pool:
        rows = list(pool.map(_job, [(str(p), radius) for p in paths], chunksize=4))
    return rows, time.perf_counter() - start


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--truth", required=True, type=Path)
    ap.add_argument("--refs", type=Path, default=None)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--radii", default="14,18", help="first-pass radii to measure (bits of 64)")
    ap.add_argument("--limit", type=int, default=None, help="only the first N queries")
    ap.add_argument("--out", type=Path, default=Path("/tmp/fp-throughput"))
    args = ap.parse_args(argv)
    truth = load_truth(args.truth)
    refs = args.refs or resolve_refs_dir(args.truth, truth)
    queries = truth.queries[: args.limit] if args.limit else truth.queries
    paths = [resolve_query(args.truth, q) for q in queries]
    args.out.mkdir(parents=True, exist_ok=True)
    root = args.out / "library"
    if not (root / "library.sqlite").exists():
        with Library(root) as lib:
            index_paths(lib, [refs / r for r in truth.references], workers=args.workers)
    seconds = sum(_duration(p) for p in paths)
    log = lambda msg: print(msg, file=sys.stderr, flush=True)
    log(f"{len(paths)} suspects, {seconds:.0f} s of video; decoding on one core")
    decode = _decode_seconds(paths, 1)
    modes = [("full", None)] + [(f"triage r{r}", int(r)) for r in args.radii.split(",") if r]
    report = {"truth": str(args.truth), "suspects": len(paths), "video_seconds": round(seconds, 2), "workers": args.workers,
              "decode_one_core_s": round(decode, 2), "decode_x_realtime": round(seconds / decode, 2), "modes": {}}
    for name, radius in modes:
        log(f"{name} with {args.workers} workers")
        rows, wall = run_mode(root, paths, args.workers, radius)
        outcomes = [_outcome(q, result, error, refs) for q, (result, error, _, _) in zip(queries, rows)]
        summary = metrics.summary(outcomes)
        cpu = sum(r[3] for r in rows)
        report["modes"][name] = {
            "wall_s": round(wall, 2), "core_s": round(cpu, 2), "full_matches_run": sum(r[2] for r in rows),
            "ratio_to_one_core_decode": round(decode / wall, 3),  # same files: video seconds cancel out
            "per_core_ratio": round(decode / cpu, 3),
            "uploads_per_core_hour_30s": round(seconds / cpu * 3600 / 30),
            "recall": summary["recall"], "false_matches": summary["false_matches"], "true_matches": summary["true_matches"],
            "copies": summary["copies"], "negatives": summary["negatives"],
            "missed_vs_full": None,
        }
        report["modes"][name]["_correct"] = [o.correct for o in outcomes]
    full = report["modes"]["full"]["_correct"]
    for mode in report["modes"].values():
        mode["missed_vs_full"] = sum(a and not b for a, b in zip(full, mode.pop("_correct")))
        mode["recall_delta"] = round(mode["recall"] - report["modes"]["full"]["recall"], 4)
    (args.out / "throughput.json").write_text(json.dumps(report, indent=1))
    print(f"| mode | wall s ({args.workers} workers) | core s | full matches run | ratio to 1-core decode | per-core ratio "
          f"| uploads / core-hour (30 s) | recall | Δ recall | false matches |")
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for name, m in report["modes"].items():
        print(f"| {name} | {m['wall_s']} | {m['core_s']} | {m['full_matches_run']}/{len(paths)} | {m['ratio_to_one_core_decode']} | "
              f"{m['per_core_ratio']} | {m['uploads_per_core_hour_30s']} | {m['recall']:.4f} | {m['recall_delta']:+.4f} | {m['false_matches']} |")
    print(f"\none-core full decode: {decode:.1f} s for {seconds:.0f} s of video ({seconds / decode:.1f}x real time)")


if __name__ == "__main__":
    main()

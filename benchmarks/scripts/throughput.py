"""Suspect throughput: the full match, the keyframe first pass (`fp match --triage`), and a full
decode of the same files on one core, all in one run; recall and false matches of each.

    python benchmarks/scripts/throughput.py --truth /work/bench-data/widened/data/truth.json \
        [--refs DIR] [--workers 2] [--radii 14,18] [--limit N] [--out /tmp/fp-throughput]

Writes OUT/throughput.json and prints a markdown table (benchmarks/SCALE.md, "Throughput").
Ratios are suspect video seconds per second divided by a full decode's of the same files on one
core, in the same run: by wall time (the workers together) and by CPU time (per core; also for
the unrelated suspects alone, what most of a platform's uploads are, and for the copies alone).
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
from fp.benchmarks.harness import clip_duration, decode_seconds, outcome
from fp.benchmarks.truth import load_truth, resolve_query, resolve_refs_dir
from fp.fingerprint.decode import decode_all
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
    """(result, error, whether the full match ran, CPU seconds): the worker is one thread."""
    path, radius = args  # radius None: the full match; else the first pass at that radius
    start = time.process_time()
    try:
        result = triage_file(_matcher, path, radius) if radius is not None else None
        full = result is None
        if full:
            result = _matcher.match_file(path)
        return result, None, full, time.process_time() - start
    except FpError as exc:
        return None, str(exc), True, time.process_time() - start


def _decode_cpu(paths: list[Path]) -> list[float]:
    """CPU seconds of a full decode of each file, one after another on one core."""
    out = []
    for p in paths:
        start = time.process_time()
        decode_all(p)
        out.append(time.process_time() - start)
    return out


def _share(num: list[float], den: list[float], mask: list[bool]) -> float | None:
    n, d = sum(x for x, m in zip(num, mask) if m), sum(x for x, m in zip(den, mask) if m)
    return round(n / d, 3) if d else None


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
    durations = [clip_duration(p) for p in paths]
    seconds = sum(durations)
    negative = [q.reference is None for q in queries]
    copy = [not n for n in negative]
    log = lambda msg: print(msg, file=sys.stderr, flush=True)
    log(f"{len(paths)} suspects, {seconds:.0f} s of video; decoding on one core")
    decode = decode_seconds(paths, 1)
    decode_cpu = _decode_cpu(paths)
    modes = [("full", None)] + [(f"triage r{r}", int(r)) for r in args.radii.split(",") if r]
    report = {"truth": str(args.truth), "suspects": len(paths), "copies": sum(copy), "negatives": sum(negative),
              "video_seconds": round(seconds, 2), "workers": args.workers, "decode_one_core_s": round(decode, 2),
              "decode_one_core_cpu_s": round(sum(decode_cpu), 2), "decode_x_realtime": round(seconds / decode, 2), "modes": {}}
    for name, radius in modes:
        log(f"{name} with {args.workers} workers")
        rows, wall = run_mode(root, paths, args.workers, radius)
        outcomes = [outcome(q, result, error, refs) for q, (result, error, _, _) in zip(queries, rows)]
        summary = metrics.summary(outcomes)
        cpu = [r[3] for r in rows]
        neg_cpu_per_s = sum(c for c, n in zip(cpu, negative) if n) / max(sum(d for d, n in zip(durations, negative) if n), 1e-9)
        copy_cpu_per_s = sum(c for c, n in zip(cpu, copy) if n) / max(sum(d for d, n in zip(durations, copy) if n), 1e-9)
        platform = 0.99 * neg_cpu_per_s + 0.01 * copy_cpu_per_s  # CPU s per video s when 1 upload in 100 is a copy
        report["modes"][name] = {
            "wall_s": round(wall, 2), "cpu_s": round(sum(cpu), 2), "full_matches_run": sum(r[2] for r in rows),
            "ratio_to_one_core_decode": round(decode / wall, 3),  # same files, same run: video seconds cancel out
            "per_core_ratio": _share(decode_cpu, cpu, [True] * len(cpu)),
            "per_core_ratio_negatives": _share(decode_cpu, cpu, negative),
            "per_core_ratio_copies": _share(decode_cpu, cpu, copy),
            "uploads_per_core_hour_30s": round(seconds / sum(cpu) * 3600 / 30),
            "uploads_per_core_hour_30s_at_1pct_copies": round(3600 / (30 * platform)),
            "recall": summary["recall"], "false_matches": summary["false_matches"], "true_matches": summary["true_matches"],
            "copies": summary["copies"], "negatives": summary["negatives"],
        }
        report["modes"][name]["_correct"] = [o.correct for o in outcomes]
    full = report["modes"]["full"]["_correct"]
    for mode in report["modes"].values():
        mode["missed_vs_full"] = sum(a and not b for a, b in zip(full, mode.pop("_correct")))
        mode["recall_delta"] = round(mode["recall"] - report["modes"]["full"]["recall"], 4)
    (args.out / "throughput.json").write_text(json.dumps(report, indent=1))
    print(f"| mode | wall s ({args.workers} workers) | ratio to 1-core decode | full matches run | per-core ratio: all "
          f"| negatives | copies | uploads / core-hour (30 s): this mix | 1 % copies | recall | Δ recall | false matches |")
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for name, m in report["modes"].items():
        print(f"| {name} | {m['wall_s']} | {m['ratio_to_one_core_decode']} | {m['full_matches_run']}/{len(paths)} | "
              f"{m['per_core_ratio']} | {m['per_core_ratio_negatives']} | {m['per_core_ratio_copies']} | "
              f"{m['uploads_per_core_hour_30s']} | {m['uploads_per_core_hour_30s_at_1pct_copies']} | {m['recall']:.4f} | "
              f"{m['recall_delta']:+.4f} | {m['false_matches']} |")
    print(f"\n{len(paths)} suspects ({sum(copy)} copies, {sum(negative)} unrelated), {seconds:.0f} s of video; one-core full "
          f"decode {decode:.1f} s wall, {sum(decode_cpu):.1f} s CPU ({seconds / decode:.1f}x real time)")


if __name__ == "__main__":
    main()

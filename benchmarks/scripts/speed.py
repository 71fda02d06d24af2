"""How close does fingerprinting run to the speed of decoding?  One run, the same files.

    python benchmarks/scripts/speed.py [FILES...] [--workers 1|2] [--json [OUT]] [--repeat 3]

For every file (those given, else the real clips in ``data/sample_clips``, plus
the 60 s 720p and 1080p H.264 files from ``benchmarks/scripts/media.py``) it measures,
on ``--workers`` cores (the process is pinned to that many CPUs and the decoder
gets that many threads):

* full decode: every frame decoded and nothing else, the physical limit;
* ``fingerprint_video`` with the default config (5 frames/s);
* their ratio, fingerprint realtime / decode realtime (goal: >= 0.9 on one core);
* sampled decode alone (``iter_frames``: luma of the sampled frames, no
  normalising or hashing), to show where the rest of the time goes;
* sampled decode with ``skip_frame=NONREF`` on packets that are not sample
  points (bit-identical sampled frames): what fingerprinting could cost;
* keyframe-only: raw NONKEY decode and ``fingerprint_video(keyframes_only=True)``.

With ``--workers 2`` it also runs two single-threaded ``fingerprint_video``
processes side by side (one file each, the batch layout) and reports their
combined throughput. Each timing is the best of ``--repeat`` runs. Realtime
multiple is video seconds per wall-clock second.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import av

from decode_compare import DEFAULT_CACHE, open_pyav, pinned, probe, pyav_sampled, resolve_files
from fp.fingerprint.decode import iter_frames
from fp.fingerprint.pipeline import FingerprintConfig, fingerprint_video

GOAL_RATIO = 0.9


def full_decode(path: Path, threads: int, skip_frame: str | None = None) -> int:
    """Decode every frame (or every keyframe) and do nothing else. Returns frames decoded."""
    container, stream = open_pyav(path, threads, skip_frame)
    with container:
        return sum(1 for _ in container.decode(stream))


@dataclass
class Timing:
    file: str
    mode: str
    workers: int
    frames: int
    wall_s: float
    cpu_s: float
    realtime: float

    def to_dict(self) -> dict:
        return asdict(self)


def best_of(repeat: int, run: Callable[[], int]) -> tuple[int, float, float]:
    """(frames, least wall time, least CPU time) over ``repeat`` runs.

    CPU time (all threads of this process) is kept beside wall time because on a
    shared machine other processes stretch wall time but hardly change CPU time.
    """
    walls, cpus, frames = [], [], 0
    for _ in range(repeat):
        cpu0, wall0 = time.process_time(), time.perf_counter()
        frames = run()
        walls.append(time.perf_counter() - wall0)
        cpus.append(time.process_time() - cpu0)
    return frames, min(walls), min(cpus)


def _fingerprint_frames(path: Path, config: FingerprintConfig) -> int:
    return len(fingerprint_video(path, config))


def _warm(_: int) -> None:
    """Runs in each pool process once, so imports are not timed."""


def _parallel_worker(args: tuple[str, dict]) -> tuple[int, float]:
    path, config = args
    wall0 = time.perf_counter()
    frames = len(fingerprint_video(path, FingerprintConfig(**config)))
    return frames, time.perf_counter() - wall0


def measure_file(path: Path, workers: int, repeat: int, sample_fps: float) -> list[Timing]:
    info = probe(path)
    threads = workers
    timings: list[Timing] = []
    config = FingerprintConfig(fps=sample_fps, threads=threads)
    key_config = FingerprintConfig(fps=sample_fps, threads=threads, keyframes_only=True)
    modes: list[tuple[str, Callable[[], int]]] = [
        ("full decode", lambda: full_decode(path, threads)),
        ("fingerprint_video", lambda: _fingerprint_frames(path, config)),
        ("sampled decode only", lambda: sum(1 for _ in iter_frames(path, sample_fps, threads))),
        # What sampling could cost if packets that are not sample points were decoded with
        # skip_frame=NONREF (same sampled pixels; see DECODE.md): below a full decode.
        ("sampled decode, skip NONREF", lambda: pyav_sampled(path, threads, sample_fps, skip_unneeded=True)[0]),
        ("keyframe decode", lambda: full_decode(path, threads, skip_frame="NONKEY")),
        ("fingerprint_video keyframes_only", lambda: _fingerprint_frames(path, key_config)),
    ]
    with pinned(workers):
        for mode, run in modes:
            frames, wall, cpu = best_of(repeat, run)
            timings.append(Timing(path.name, mode, workers, frames, round(wall, 3), round(cpu, 3),
                                  round(info.seconds / wall, 2)))
            print(f"  {mode:34} {workers} cores {frames:6} frames {wall:7.2f} s "
                  f"{info.seconds / wall:7.2f}x realtime", file=sys.stderr)
    if workers >= 2:
        # The batch layout: one single-threaded process per core, each on its own file.
        one_thread = asdict(FingerprintConfig(fps=sample_fps, threads=1))
        best_wall, total_frames = None, 0
        with pinned(workers), multiprocessing.get_context("spawn").Pool(workers) as pool:
            pool.map(_warm, range(workers))
            for _ in range(repeat):
                wall0 = time.perf_counter()
                results = pool.map(_parallel_worker, [(str(path), one_thread)] * workers)
                wall = time.perf_counter() - wall0
                if best_wall is None or wall < best_wall:
                    best_wall, total_frames = wall, sum(frames for frames, _ in results)
        timings.append(Timing(path.name, f"fingerprint_video x{workers} processes", workers, total_frames,
                              round(best_wall, 3), 0.0, round(workers * info.seconds / best_wall, 2)))
        print(f"  {'fingerprint x' + str(workers) + ' processes':34} {workers} cores "
              f"{workers * info.seconds / best_wall:7.2f}x realtime (combined)", file=sys.stderr)
    return timings


def summarise(timings: list[Timing]) -> list[dict]:
    rows = []
    for file_name in dict.fromkeys(t.file for t in timings):
        by_mode = {t.mode: t for t in timings if t.file == file_name}
        decode, fingerprint = by_mode["full decode"], by_mode["fingerprint_video"]
        row = {"file": file_name, "workers": decode.workers,
               "decode_realtime": decode.realtime, "decode_fps": round(decode.frames / decode.wall_s, 1),
               "fingerprint_realtime": fingerprint.realtime,
               "ratio": round(fingerprint.realtime / decode.realtime, 3),
               "ratio_cpu": round(decode.cpu_s / fingerprint.cpu_s, 3) if fingerprint.cpu_s else None,
               "sampled_decode_realtime": by_mode["sampled decode only"].realtime,
               "sampled_skip_nonref_realtime": by_mode["sampled decode, skip NONREF"].realtime,
               "keyframe_decode_realtime": by_mode["keyframe decode"].realtime,
               "keyframe_fingerprint_realtime": by_mode["fingerprint_video keyframes_only"].realtime,
               "keyframe_hashes": by_mode["fingerprint_video keyframes_only"].frames,
               "hashes": fingerprint.frames}
        parallel = [t for t in by_mode.values() if "processes" in t.mode]
        if parallel:
            row["processes_realtime_combined"] = parallel[0].realtime
        row["meets_goal"] = row["ratio"] >= GOAL_RATIO
        row["meets_goal_cpu"] = (row["ratio_cpu"] or 0) >= GOAL_RATIO
        rows.append(row)
    return rows


def format_table(rows: list[dict], infos: dict) -> str:
    header = ("| file | size | cores | decode x rt | decode fps | fingerprint x rt | ratio | ratio (cpu) "
              "| sampled decode x rt | sampled + skip NONREF x rt "
              "| keyframe decode x rt | keyframe fingerprint x rt |")
    if any("processes_realtime_combined" in r for r in rows):
        header += " 2 procs fingerprint x rt |"
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for r in rows:
        info = infos[r["file"]]
        line = (f"| {r['file']} | {info.width}x{info.height} | {r['workers']} | {r['decode_realtime']:.2f} | "
                f"{r['decode_fps']:.0f} | {r['fingerprint_realtime']:.2f} | **{r['ratio']:.2f}** | "
                f"{r['ratio_cpu'] or 0:.2f} | "
                f"{r['sampled_decode_realtime']:.2f} | {r['sampled_skip_nonref_realtime']:.2f} | "
                f"{r['keyframe_decode_realtime']:.1f} | "
                f"{r['keyframe_fingerprint_realtime']:.1f} |")
        if "processes_realtime_combined" in r:
            line += f" {r['processes_realtime_combined']:.2f} |"
        lines.append(line)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/scripts/speed.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="*", help="video files (default: data/sample_clips)")
    parser.add_argument("--workers", type=int, choices=(1, 2), default=1, help="cores to use")
    parser.add_argument("--json", nargs="?", const="-", dest="json_path",
                        help="write JSON (to stdout if no path is given)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; best is kept")
    parser.add_argument("--fps", type=float, default=FingerprintConfig().fps, help="sample rate")
    parser.add_argument("--no-generated", action="store_true", help="skip the 60 s 720p/1080p files")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args(argv)
    if args.workers > len(os.sched_getaffinity(0)):
        print(f"error: --workers {args.workers} but only {len(os.sched_getaffinity(0))} CPUs", file=sys.stderr)
        return 2

    files = resolve_files(args.files, generated=not args.no_generated, cache_dir=args.cache_dir)
    missing = [f for f in files if not f.exists()]
    if missing:
        print(f"error: not found: {', '.join(map(str, missing))}", file=sys.stderr)
        return 2
    timings: list[Timing] = []
    infos = {}
    for path in files:
        infos[path.name] = probe(path)
        print(f"{path.name} (load average {os.getloadavg()[0]:.2f})", file=sys.stderr)
        timings += measure_file(path, args.workers, args.repeat, args.fps)
    rows = summarise(timings)
    payload = {"machine": {"cpus": len(os.sched_getaffinity(0)), "platform": platform.platform(),
                           "av": av.__version__, "loadavg_at_end": os.getloadavg()},
               "workers": args.workers, "repeat": args.repeat, "sample_fps": args.fps,
               "goal_ratio": GOAL_RATIO, "videos": [i.to_dict() for i in infos.values()],
               "summary": rows, "timings": [t.to_dict() for t in timings]}
    if args.json_path == "-":
        print(json.dumps(payload, indent=1))
    else:
        print(format_table(rows, infos))
        if args.json_path:
            Path(args.json_path).write_text(json.dumps(payload, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

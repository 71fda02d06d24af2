"""Which decoder and settings should fp use?  Measure them all, in one run, on the same files.

    python benchmarks/scripts/decode_compare.py [FILES...] [--json out.json] [--repeat 3]

Files: those given; else the real clips in ``data/sample_clips``; plus (unless
``--no-generated``) the 60 s 720p and 1080p H.264 files from
``media.ensure_bench_videos`` (benchmarks/scripts/media.py) (made once, cached; footage looped
from the Big Buck Bunny clip in /work/shared when it exists, else synthetic).
When no file is given and ``data/sample_clips`` is empty, the Big Buck Bunny
source clip itself is measured as the real-clip row.

Every configuration is timed ``--repeat`` times and the best (fastest) run is
kept. "1 core" rows run with the process pinned to one CPU
(``os.sched_setaffinity``) and the decoder limited to one thread, so they are
the honest one-core numbers; "2 cores" rows use two CPUs and the decoder's
own threading. Frame/s counts the frames the decoder delivered;
realtime multiple is video seconds per wall second.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import av
import cv2
import numpy as np

import media  # a sibling script module (benchmarks/scripts is not installed)

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_CLIPS = REPO_ROOT / "data" / "sample_clips"
DEFAULT_SOURCE = Path("/work/shared/real_clips/bbb/big_buck_bunny_first60s.mp4")
DEFAULT_CACHE = Path(os.environ.get("FP_BENCH_CACHE", Path.home() / ".cache" / "fp-bench"))
VIDEO_EXTENSIONS = {".mp4", ".mkv", ".webm", ".mov", ".avi", ".m4v", ".ts"}
SAMPLE_FPS = 5.0


# --------------------------------------------------------------------------- files

def real_clips() -> list[Path]:
    if not SAMPLE_CLIPS.is_dir():
        return []
    return sorted(p for p in SAMPLE_CLIPS.iterdir() if p.suffix.lower() in VIDEO_EXTENSIONS)


def resolve_files(files: list[str], generated: bool = True, cache_dir: Path = DEFAULT_CACHE,
                  log=lambda msg: print(msg, file=sys.stderr)) -> list[Path]:
    """The benchmark file list shared by decode_compare and speed."""
    paths = [Path(f) for f in files] or real_clips()
    if not paths and DEFAULT_SOURCE.exists():
        paths = [DEFAULT_SOURCE]
    if generated:
        source = DEFAULT_SOURCE if DEFAULT_SOURCE.exists() else None
        videos = media.ensure_bench_videos(
            cache_dir, source=source,
            progress=lambda label, path: log(f"encoding {label} benchmark video {path} (once) ..."))
        paths += [videos["720p"], videos["1080p"]]
    return paths


@dataclass(frozen=True)
class VideoInfo:
    path: str
    width: int
    height: int
    codec: str
    profile: str | None
    fps: float
    frames: int
    keyframes: int
    seconds: float
    bitrate_kbps: float

    def to_dict(self) -> dict:
        return asdict(self)


def probe(path: Path) -> VideoInfo:
    """Count packets and keyframes by demuxing (exact, unlike container metadata)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = keyframes = 0
        first = last = None
        for packet in container.demux(stream):
            if packet.size == 0:
                continue
            frames += 1
            keyframes += packet.is_keyframe
            if packet.pts is not None:
                t = float(packet.pts * packet.time_base)
                end = t + float((packet.duration or 0) * packet.time_base)
                first = t if first is None else min(first, t)
                last = end if last is None else max(last, end)
        seconds = (last - first) if first is not None else 0.0
        return VideoInfo(
            path=str(path), width=stream.codec_context.width, height=stream.codec_context.height,
            codec=stream.codec_context.name, profile=stream.codec_context.profile,
            fps=float(stream.average_rate or 0), frames=frames, keyframes=keyframes,
            seconds=round(seconds, 3),
            bitrate_kbps=round(path.stat().st_size * 8 / 1000 / max(seconds, 1e-9), 1))


# --------------------------------------------------------------------------- helpers

@contextlib.contextmanager
def pinned(cores: int) -> Iterator[None]:
    """Run the block (and threads it starts) on ``cores`` CPUs of those allowed."""
    allowed = os.sched_getaffinity(0)
    os.sched_setaffinity(0, set(sorted(allowed)[:cores]))
    try:
        yield
    finally:
        os.sched_setaffinity(0, allowed)


def open_pyav(path: Path, threads: int, skip_frame: str | None = None,
              options: dict[str, str] | None = None):
    """Open ``path`` for decoding; threads=1 means no decoder threads, 0 means FFmpeg AUTO."""
    container = av.open(str(path))
    stream = container.streams.video[0]
    ctx = stream.codec_context
    if threads == 1:
        ctx.thread_type = "NONE"
        ctx.thread_count = 1
    else:
        ctx.thread_type = "AUTO"  # frame + slice threads
        ctx.thread_count = threads  # 0 = FFmpeg picks from the CPU count
    if skip_frame:
        ctx.skip_frame = skip_frame
    if options:
        ctx.options = dict(options)
    return container, stream


def luma_view(frame: av.VideoFrame) -> np.ndarray:
    """The Y plane as a (height, width) uint8 view, no copy, no conversion (limited range)."""
    plane = frame.planes[0]
    return np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)[:, : plane.width]


def sample_times_wanted(t: float, duration: float, rate: float) -> bool:
    """True when a 1/rate grid point falls in (t - duration, t]: the frame shown at that point."""
    k = math.floor(t * rate + 1e-9)
    return k / rate > t - duration + 1e-9


# --------------------------------------------------------------------------- measurements
# Each returns (frames delivered, checksum) so the work cannot be optimised away
# and results can be compared between methods.

def cv2_read(path: Path, threads: int) -> tuple[int, int]:
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, threads])
    n = checksum = 0
    while True:
        ok, image = cap.read()
        if not ok:
            break
        n += 1
        checksum += int(image[0, 0, 0])
    cap.release()
    return n, checksum


def cv2_grab(path: Path, threads: int) -> tuple[int, int]:
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, threads])
    n = 0
    while cap.grab():
        n += 1
    cap.release()
    return n, 0


def pyav_decode(path: Path, threads: int, skip_frame: str | None = None,
                options: dict[str, str] | None = None, access: str = "none") -> tuple[int, int]:
    container, stream = open_pyav(path, threads, skip_frame, options)
    n = checksum = 0
    with container:
        for frame in container.decode(stream):
            n += 1
            if access == "luma":
                checksum += int(luma_view(frame)[0, 0])
            elif access == "gray":
                checksum += int(frame.to_ndarray(format="gray")[0, 0])
            elif access == "bgr":
                checksum += int(frame.to_ndarray(format="bgr24")[0, 0, 0])
    return n, checksum


def pyav_sampled(path: Path, threads: int, rate: float = SAMPLE_FPS, skip_unneeded: bool = False,
                 collect: list | None = None) -> tuple[int, int]:
    """Luma of the frame shown at every 1/rate s. With ``skip_unneeded``, packets that
    are not sample points are decoded with skip_frame=NONREF (non-reference frames
    that nothing needs are dropped before decoding; reference frames still decode)."""
    container, stream = open_pyav(path, threads)
    ctx = stream.codec_context
    n = checksum = 0
    default_duration = 1 / float(stream.average_rate or 30)
    wanted_pts: set[int] = set()
    with container:
        for packet in container.demux(stream):
            if packet.pts is not None and packet.size:
                t = float(packet.pts * packet.time_base)
                duration = float(packet.duration * packet.time_base) if packet.duration else default_duration
                if sample_times_wanted(t, duration, rate):
                    wanted_pts.add(packet.pts)
                    want = True
                else:
                    want = False
                if skip_unneeded:
                    ctx.skip_frame = "DEFAULT" if want else "NONREF"
            for frame in ctx.decode(packet):
                if frame.pts in wanted_pts:
                    wanted_pts.discard(frame.pts)
                    luma = luma_view(frame)
                    n += 1
                    checksum += int(luma[0, 0])
                    if collect is not None:
                        collect.append((frame.pts, luma.copy()))
    return n, checksum


# --------------------------------------------------------------------------- configurations

@dataclass(frozen=True)
class Config:
    name: str
    decoder: str
    cores: int
    what: str
    run: Callable[[Path], tuple[int, int]]


def configs() -> list[Config]:
    return [
        Config("cv2 read()", "OpenCV", 1, "every frame -> BGR", lambda p: cv2_read(p, 1)),
        Config("cv2 grab()", "OpenCV", 1, "every frame decoded, not converted", lambda p: cv2_grab(p, 1)),
        Config("pyav decode", "PyAV", 1, "every frame decoded, not touched", lambda p: pyav_decode(p, 1)),
        Config("pyav + luma plane", "PyAV", 1, "every frame, Y plane as numpy view",
               lambda p: pyav_decode(p, 1, access="luma")),
        Config("pyav + to_ndarray(gray)", "PyAV", 1, "every frame, swscale to gray",
               lambda p: pyav_decode(p, 1, access="gray")),
        Config("pyav + to_ndarray(bgr24)", "PyAV", 1, "every frame, swscale to BGR",
               lambda p: pyav_decode(p, 1, access="bgr")),
        Config("pyav sampled 5/s luma", "PyAV", 1, "all decoded, luma of 5 frames/s",
               lambda p: pyav_sampled(p, 1)),
        Config("pyav sampled 5/s + skip NONREF", "PyAV", 1,
               "non-sample non-ref frames skipped, luma of 5/s", lambda p: pyav_sampled(p, 1, skip_unneeded=True)),
        Config("pyav skip_loop_filter=all", "PyAV", 1, "every frame, deblocking off (lossy drift)",
               lambda p: pyav_decode(p, 1, options={"skip_loop_filter": "all"})),
        Config("pyav skip_loop_filter=noref", "PyAV", 1, "every frame, deblocking off on non-ref",
               lambda p: pyav_decode(p, 1, options={"skip_loop_filter": "noref"})),
        Config("pyav keyframes (NONKEY)", "PyAV", 1, "keyframes only, luma", 
               lambda p: pyav_decode(p, 1, skip_frame="NONKEY", access="luma")),
        Config("cv2 read()", "OpenCV", 2, "every frame -> BGR, default threads", lambda p: cv2_read(p, 0)),
        Config("pyav decode AUTO", "PyAV", 2, "every frame, frame+slice threads", lambda p: pyav_decode(p, 0)),
        Config("pyav sampled 5/s luma AUTO", "PyAV", 2, "all decoded, luma of 5 frames/s",
               lambda p: pyav_sampled(p, 0)),
        Config("pyav sampled 5/s + skip NONREF AUTO", "PyAV", 2, "as above, frame threads",
               lambda p: pyav_sampled(p, 0, skip_unneeded=True)),
        Config("pyav keyframes (NONKEY) AUTO", "PyAV", 2, "keyframes only, frame threads",
               lambda p: pyav_decode(p, 0, skip_frame="NONKEY", access="luma")),
    ]


@dataclass
class Result:
    file: str
    config: str
    decoder: str
    cores: int
    what: str
    frames: int
    wall_s: float
    cpu_s: float
    fps: float
    realtime: float
    realtime_per_cpu: float
    runs_wall_s: list[float] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def measure(path: Path, info: VideoInfo, config: Config, repeat: int) -> Result:
    walls, cpus, frames = [], [], 0
    with pinned(config.cores):
        for _ in range(repeat):
            cpu0, wall0 = time.process_time(), time.perf_counter()
            frames, _checksum = config.run(path)
            walls.append(time.perf_counter() - wall0)
            cpus.append(time.process_time() - cpu0)
    # Best wall time and least CPU time are taken separately: on a shared machine other
    # processes stretch wall time, while CPU time (all threads of this process) is the
    # steadier measure of the work itself.
    wall, cpu = min(walls), min(cpus)
    return Result(file=path.name, config=config.name, decoder=config.decoder, cores=config.cores,
                  what=config.what, frames=frames, wall_s=round(wall, 3), cpu_s=round(cpu, 3),
                  fps=round(frames / wall, 1), realtime=round(info.seconds / wall, 2),
                  realtime_per_cpu=round(info.seconds / max(cpu, 1e-9), 2),
                  runs_wall_s=[round(w, 3) for w in walls])


# --------------------------------------------------------------------------- accuracy checks

def timestamp_check(path: Path) -> dict:
    """Compare PyAV frame.time (pts * time_base) with OpenCV CAP_PROP_POS_MSEC, frame by frame."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        pyav_times = [frame.time for frame in container.decode(stream)]
        rate = float(stream.average_rate or 0)
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    cv_times = []
    while cap.grab():
        cv_times.append(cap.get(cv2.CAP_PROP_POS_MSEC) / 1000)
    cv_fps = cap.get(cv2.CAP_PROP_FPS)
    cap.release()
    n = min(len(pyav_times), len(cv_times))
    diff = np.abs(np.array(pyav_times[:n], float) - np.array(cv_times[:n], float))
    index_over_fps = np.arange(n) / cv_fps if cv_fps else np.zeros(n)
    naive = np.abs(np.array(pyav_times[:n], float) - index_over_fps)
    return {"file": path.name, "pyav_frames": len(pyav_times), "cv2_frames": len(cv_times),
            "max_abs_diff_ms": round(float(diff.max()) * 1000, 3) if n else None,
            "mean_abs_diff_ms": round(float(diff.mean()) * 1000, 3) if n else None,
            "max_err_index_over_fps_ms": round(float(naive.max()) * 1000, 1) if n else None,
            "pyav_avg_rate": rate, "cv2_fps": cv_fps}


def vfr_check(tmp_dir: Path) -> dict:
    path, true_times = media.make_vfr_video(tmp_dir / "vfr_check.mp4")
    result = timestamp_check(path)
    with av.open(str(path)) as container:
        pyav_times = [frame.time for frame in container.decode(video=0)]
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    cv_times = []
    while cap.grab():
        cv_times.append(cap.get(cv2.CAP_PROP_POS_MSEC) / 1000)
    cap.release()
    n = len(true_times)
    result["pyav_max_err_vs_truth_ms"] = round(
        float(np.max(np.abs(np.array(pyav_times[:n]) - true_times))) * 1000, 3)
    m = min(n, len(cv_times))
    result["cv2_max_err_vs_truth_ms"] = round(
        float(np.max(np.abs(np.array(cv_times[:m]) - true_times[:m]))) * 1000, 3)
    result["true_frames"] = n
    return result


def fidelity_check(path: Path) -> dict:
    """Are the cheap modes' sampled pixels the same as a full decode's?  Mean |dY| per pixel."""
    reference: list = []
    pyav_sampled(path, 1, collect=reference)
    ref = dict(reference)
    out = {"file": path.name}
    for name, kwargs in [("skip NONREF (sampled)", {"skip_unneeded": True})]:
        got: list = []
        pyav_sampled(path, 1, collect=got, **kwargs)
        diffs = [np.abs(ref[pts].astype(np.int16) - luma.astype(np.int16)).mean()
                 for pts, luma in got if pts in ref]
        out[name] = {"frames": len(got), "of": len(ref), "mean_abs_dY": round(float(np.mean(diffs)), 3)}
    for option in ("all", "noref"):
        container, stream = open_pyav(path, 1, options={"skip_loop_filter": option})
        diffs, worst = [], 0.0
        with container:
            for frame in container.decode(stream):
                if frame.pts in ref:
                    d = float(np.abs(ref[frame.pts].astype(np.int16) - luma_view(frame).astype(np.int16)).mean())
                    diffs.append(d)
                    worst = max(worst, d)
        out[f"skip_loop_filter={option}"] = {"mean_abs_dY": round(float(np.mean(diffs)), 3),
                                             "worst_frame_mean_abs_dY": round(worst, 3)}
    # The raw plane is limited-range Y; to_ndarray(gray) maps it through swscale.
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
        raw = luma_view(frame).astype(np.float64).ravel()
        gray = frame.to_ndarray(format="gray").astype(np.float64).ravel()
    slope, intercept = np.polyfit(raw, gray, 1)
    out["gray_vs_raw_luma_fit"] = {"slope": round(float(slope), 4), "intercept": round(float(intercept), 2),
                                   "max_abs_resid": round(float(np.abs(gray - (slope * raw + intercept)).max()), 2)}
    return out


# --------------------------------------------------------------------------- report

def format_table(results: list[Result], infos: dict[str, VideoInfo]) -> str:
    lines = []
    for file_name in dict.fromkeys(r.file for r in results):
        info = infos[file_name]
        lines.append(f"\n{file_name}: {info.width}x{info.height} {info.codec} {info.profile} "
                     f"{info.fps:g} fps, {info.seconds:g} s, {info.frames} frames, "
                     f"{info.keyframes} keyframes, {info.bitrate_kbps:g} kb/s")
        lines.append(f"| {'configuration':38} | cores | frames out | {'frames/s':>8} | {'x realtime':>10} "
                     f"| {'cpu s':>6} | {'video s / cpu s':>15} |")
        lines.append(f"|{'-' * 40}|------:|-----------:|---------:|-----------:|-------:|----------------:|")
        for r in results:
            if r.file == file_name:
                lines.append(f"| {r.config:38} | {r.cores:5} | {r.frames:10} | {r.fps:8.1f} | "
                             f"{r.realtime:10.2f} | {r.cpu_s:6.2f} | {r.realtime_per_cpu:15.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/scripts/decode_compare.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="*", help="video files (default: data/sample_clips)")
    parser.add_argument("--json", dest="json_path", help="also write all results as JSON here")
    parser.add_argument("--repeat", type=int, default=3, help="runs per configuration; best is kept")
    parser.add_argument("--no-generated", action="store_true", help="skip the 60 s 720p/1080p files")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--only", help="run only configurations whose name contains this")
    parser.add_argument("--skip-checks", action="store_true", help="skip timestamp and fidelity checks")
    args = parser.parse_args(argv)

    files = resolve_files(args.files, generated=not args.no_generated, cache_dir=args.cache_dir)
    missing = [f for f in files if not f.exists()]
    if missing:
        print(f"error: not found: {', '.join(map(str, missing))}", file=sys.stderr)
        return 2
    chosen = [c for c in configs() if not args.only or args.only in c.name]
    infos: dict[str, VideoInfo] = {}
    results: list[Result] = []
    for path in files:
        info = infos[path.name] = probe(path)
        print(f"{path.name}: {info.width}x{info.height} {info.seconds:g}s, "
              f"load average {os.getloadavg()[0]:.2f}", file=sys.stderr)
        for config in chosen:
            result = measure(path, info, config, args.repeat)
            print(f"  {config.name:40} {config.cores}c {result.fps:8.1f} fps  {result.realtime:6.2f}x rt",
                  file=sys.stderr)
            results.append(result)
            if args.json_path:  # keep partial results if a long run is interrupted
                Path(args.json_path).write_text(json.dumps([r.to_dict() for r in results], indent=1))
    checks = {} if args.skip_checks else {"timestamps": [timestamp_check(p) for p in files],
              "vfr": vfr_check(args.cache_dir),
              "fidelity": [fidelity_check(p) for p in files]}
    print(format_table(results, infos))
    print("\nchecks:", json.dumps(checks, indent=1))
    if args.json_path:
        payload = {"machine": {"cpus": len(os.sched_getaffinity(0)), "platform": platform.platform(),
                               "python": platform.python_version(), "av": av.__version__,
                               "ffmpeg_libavcodec": av.library_versions.get("libavcodec"),
                               "cv2": cv2.__version__, "loadavg_at_end": os.getloadavg()},
                   "repeat": args.repeat,
                   "videos": [i.to_dict() for i in infos.values()],
                   "results": [r.to_dict() for r in results], "checks": checks}
        Path(args.json_path).write_text(json.dumps(payload, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

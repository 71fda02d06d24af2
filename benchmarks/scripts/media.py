"""Benchmark media: H.264 test videos made the way web video is made.

``make_test_video`` writes an H.264 file (libx264, yuv420p, preset medium,
CRF 23, a keyframe every 2 s, scene-cut keyframes on, B-frames on: the x264
defaults that typical web uploads use) of footage that moves like video:

* With ``source`` (a real clip), the clip is looped and rescaled through a
  slowly drifting pan/zoom "camera", so no two output frames are identical
  even when the source frame rate is lower than the output frame rate.
  **Use a real source when the numbers matter**: decode speed depends on
  how much the encoder had to spend on the content, and real footage is the
  only honest sample of that.
* Without ``source``, a seeded synthetic scene is used: a few large textured
  "worlds" (multi-octave smooth noise, gradients, filled shapes) seen through
  the same moving camera, with moving objects, a cut every few seconds and a
  little film grain. It compresses roughly like live-action video, but it is
  still synthetic.

``ensure_bench_videos`` makes the 60 s 720p and 1080p files once and caches
them by name (the name carries every parameter that changes the bytes).

``make_vfr_video`` writes a short file with irregular timestamps, to check
that a decoder reports presentation times and not ``index / fps``.

Nothing here reads the network or any path other than the ones passed in.
"""

from __future__ import annotations

import logging
import math
import os
from fractions import Fraction
from pathlib import Path
from typing import Iterator, Sequence

import av
import cv2
import numpy as np

from fp.benchmarks.synthetic_world import camera as _camera, make_world as _make_world, smooth_noise as _smooth_noise
from fp.benchmarks.synthetic_world import synthetic_frames as _synthetic_frames, view as _view

logger = logging.getLogger(__name__)

BENCH_SECONDS = 60
BENCH_FPS = 30
BENCH_SIZES = {"720p": (1280, 720), "1080p": (1920, 1080)}


def make_test_video(
    path: str | os.PathLike,
    seconds: float = 60,
    width: int = 1280,
    height: int = 720,
    fps: int = 30,
    source: str | os.PathLike | None = None,
    crf: int = 23,
    *,
    gop_seconds: float = 2.0,
    preset: str = "medium",
    seed: int = 0,
) -> Path:
    """Write an H.264 MP4 of ``seconds`` of moving footage and return its path.

    The file is written to a temporary name and renamed when complete, so a
    half-written file is never mistaken for a finished one.
    """
    path = Path(path)
    if width % 2 or height % 2:
        raise ValueError(f"width and height must be even for yuv420p, got {width}x{height}")
    if seconds <= 0 or fps <= 0:
        raise ValueError("seconds and fps must be positive")
    n_frames = int(round(seconds * fps))
    if source is not None:
        frames = _camera_over_source(Path(source), n_frames, width, height, fps, seed)
    else:
        frames = _synthetic_frames(n_frames, width, height, fps, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = path.with_name(path.name + ".part")
    _encode_h264(tmp_path, frames, width, height, fps, crf, gop_seconds, preset)
    os.replace(tmp_path, path)
    logger.info("wrote %s (%d frames, %dx%d@%d)", path, n_frames, width, height, fps)
    return path


def bench_video_name(label: str, source: str | os.PathLike | None, seconds: float = BENCH_SECONDS,
                     fps: int = BENCH_FPS, crf: int = 23) -> str:
    origin = Path(source).stem if source is not None else "synthetic"
    return f"{origin}_{label}{fps}_{seconds:g}s_crf{crf}_x264medium.mp4"


def ensure_bench_videos(
    cache_dir: str | os.PathLike,
    source: str | os.PathLike | None = None,
    progress=None,
) -> dict[str, Path]:
    """Return ``{"720p": path, "1080p": path}``, 60 s at 30 fps, making them if missing.

    ``progress``, if given, is called as ``progress(label, path)`` before a
    file is encoded (encoding the 1080p file takes a minute or two).
    """
    cache_dir = Path(cache_dir)
    videos: dict[str, Path] = {}
    for label, (width, height) in BENCH_SIZES.items():
        path = cache_dir / bench_video_name(label, source)
        if not path.exists():
            if progress is not None:
                progress(label, path)
            make_test_video(path, BENCH_SECONDS, width, height, BENCH_FPS, source=source)
        videos[label] = path
    return videos


def make_vfr_video(
    path: str | os.PathLike,
    frame_times: Sequence[float] | None = None,
    width: int = 640,
    height: int = 360,
    seed: int = 0,
) -> tuple[Path, list[float]]:
    """Write a variable-frame-rate H.264 MP4; return it and the exact frame times (s).

    The default times mix 30 fps, 15 fps and jittered spacing, like a phone
    recording whose frame rate drops in low light. Times are rounded to the
    1/90000 time base used for the stream, and that rounded list is returned.
    """
    path = Path(path)
    time_base = Fraction(1, 90000)
    if frame_times is None:
        rng = np.random.default_rng(seed)
        times, t = [], 0.0
        for i in range(150):
            times.append(t)
            if i < 50:
                t += 1 / 30
            elif i < 100:
                t += 1 / 15
            else:
                t += float(rng.uniform(0.02, 0.09))
        frame_times = times
    pts = [int(round(t / time_base)) for t in frame_times]
    if any(b <= a for a, b in zip(pts, pts[1:])):
        raise ValueError("frame_times must be strictly increasing")
    frames = _synthetic_frames(len(pts), width, height, 30, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = time_base
        stream.codec_context.time_base = time_base
        stream.options = {"crf": "23", "preset": "veryfast", "bf": "0"}
        for frame_pts, bgr in zip(pts, frames):
            frame = av.VideoFrame.from_ndarray(bgr, format="bgr24").reformat(format="yuv420p")
            frame.pts = frame_pts
            frame.time_base = time_base
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path, [p * float(time_base) for p in pts]


# --------------------------------------------------------------------------- encoding

def _encode_h264(path: Path, frames: Iterator[np.ndarray], width: int, height: int, fps: int,
                 crf: int, gop_seconds: float, preset: str) -> None:
    gop = max(1, int(round(gop_seconds * fps)))
    try:
        with av.open(str(path), mode="w", format="mp4") as container:
            stream = container.add_stream("libx264", rate=fps)
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            stream.codec_context.gop_size = gop
            # keyint = GOP, min-keyint = fps: the YouTube/ffmpeg-web style; x264 still
            # inserts extra keyframes at scene cuts.
            stream.options = {"crf": str(crf), "preset": preset,
                              "x264-params": f"keyint={gop}:min-keyint={min(gop, fps)}"}
            for index, bgr in enumerate(frames):
                frame = av.VideoFrame.from_ndarray(bgr, format="bgr24").reformat(format="yuv420p")
                frame.pts = index
                for packet in stream.encode(frame):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------- camera

def _source_frames(source: Path) -> Iterator[tuple[float, np.ndarray]]:
    """Yield (time, bgr) from ``source`` forever, looping; time keeps increasing."""
    offset = 0.0
    while True:
        last_t = None
        with av.open(str(source)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for frame in container.decode(stream):
                if frame.time is None:
                    continue
                if last_t is None:
                    start = frame.time
                last_t = frame.time - start
                yield offset + last_t, frame.to_ndarray(format="bgr24")
        if last_t is None:
            raise ValueError(f"no decodable video frames in {source}")
        frame_step = 1 / float(stream.average_rate or 25)
        offset += last_t + frame_step


def _camera_over_source(source: Path, n_frames: int, width: int, height: int, fps: int,
                        seed: int) -> Iterator[np.ndarray]:
    if not source.exists():
        raise FileNotFoundError(source)
    source_iter = _source_frames(source)
    next_t, next_img = next(source_iter)
    current = next_img
    for index in range(n_frames):
        t = index / fps
        # Show the latest source frame whose time is <= t (source plays at real speed).
        while next_t <= t + 1e-9:
            current = next_img
            next_t, next_img = next(source_iter)
        cx, cy, zoom = _camera(t, seed)
        yield _view(current, cx, cy, zoom, width, height)


# --------------------------------------------------------------------------- synthetic


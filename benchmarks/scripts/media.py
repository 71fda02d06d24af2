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

def _camera(t: float, seed: int) -> tuple[float, float, float]:
    """Smooth pan (cx, cy in 0..1 of the free margin) and zoom (>= 1) at time t."""
    phase = seed * 1.7
    zoom = 1.12 + 0.08 * math.sin(0.31 * t + phase)
    cx = 0.5 + 0.45 * math.sin(0.23 * t + 0.5 + phase)
    cy = 0.5 + 0.45 * math.sin(0.17 * t + 1.3 + phase)
    return cx, cy, zoom


def _view(image: np.ndarray, cx: float, cy: float, zoom: float, width: int, height: int) -> np.ndarray:
    """Crop a window of the output aspect ratio (1/zoom of the image) and scale it to size."""
    img_h, img_w = image.shape[:2]
    aspect = width / height
    crop_w = min(img_w, img_h * aspect) / zoom
    crop_h = crop_w / aspect
    x0 = cx * (img_w - crop_w)
    y0 = cy * (img_h - crop_h)
    scale = width / crop_w
    # Sub-pixel affine crop: the view moves smoothly instead of in whole-pixel steps.
    matrix = np.array([[scale, 0.0, -x0 * scale], [0.0, scale, -y0 * scale]], dtype=np.float64)
    return cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REFLECT)


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

def _smooth_noise(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Multi-octave value noise in [0, 1]: soft detail at several scales like real scenes."""
    out = np.zeros((height, width), np.float32)
    amplitude, total = 1.0, 0.0
    for cells in (4, 12, 40, 140):
        grid = rng.random((max(2, height * cells // width), cells)).astype(np.float32)
        out += amplitude * cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC)
        total += amplitude
        amplitude *= 0.55
    out /= total
    return np.clip(out, 0, 1)


def _make_world(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([_smooth_noise(rng, height, width) for _ in range(3)], axis=-1)
    tint = rng.uniform(0.3, 1.0, size=3).astype(np.float32)
    gradient = (0.5 + 0.5 * np.sin(xx / width * rng.uniform(2, 6) + yy / height * rng.uniform(1, 4)))
    world = (0.55 * base * tint + 0.35 * gradient[..., None] * tint[::-1]) * 255
    world = np.ascontiguousarray(np.clip(world, 0, 255).astype(np.uint8))
    # Hard-edged objects (buildings, signs, furniture) with their own texture.
    for _ in range(40):
        colour = tuple(int(c) for c in rng.integers(0, 256, size=3))
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        size = int(rng.integers(width // 60, width // 10))
        if rng.random() < 0.5:
            cv2.rectangle(world, (x, y), (x + size, y + int(size * rng.uniform(0.3, 2))), colour, -1)
        else:
            cv2.circle(world, (x, y), size // 2, colour, -1, lineType=cv2.LINE_AA)
    for _ in range(12):
        text = "".join(chr(c) for c in rng.integers(65, 91, size=int(rng.integers(3, 10))))
        org = (int(rng.integers(0, width)), int(rng.integers(20, height)))
        cv2.putText(world, text, org, cv2.FONT_HERSHEY_SIMPLEX, float(rng.uniform(1, 4)),
                    (255, 255, 255), int(rng.integers(2, 6)), cv2.LINE_AA)
    detail = (_smooth_noise(rng, height, width) - 0.5) * 40
    return np.clip(world.astype(np.float32) + detail[..., None], 0, 255).astype(np.uint8)


def _synthetic_frames(n_frames: int, width: int, height: int, fps: int,
                      seed: int) -> Iterator[np.ndarray]:
    rng = np.random.default_rng(seed)
    world_w, world_h = int(width * 1.6), int(height * 1.6)
    worlds = [_make_world(rng, world_h, world_w) for _ in range(3)]
    shot_seconds = 4.5
    sprites = [(rng.uniform(0, 1, 2), rng.uniform(-0.15, 0.15, 2), int(rng.integers(height // 12, height // 5)),
                tuple(int(c) for c in rng.integers(0, 256, 3))) for _ in range(6)]
    grain_rng = np.random.default_rng(seed + 1)
    for index in range(n_frames):
        t = index / fps
        shot = int(t // shot_seconds)
        cx, cy, zoom = _camera(t + 7.0 * shot, seed + shot)
        frame = _view(worlds[shot % len(worlds)], cx, cy, zoom, width, height)
        for start, velocity, radius, colour in sprites:
            pos = (start + velocity * t) % 1.0
            centre = (int(pos[0] * width), int(pos[1] * height))
            cv2.circle(frame, centre, radius, colour, -1, lineType=cv2.LINE_AA)
            cv2.circle(frame, centre, radius // 2, tuple(255 - c for c in colour), 3, cv2.LINE_AA)
        # Light grain at quarter resolution (cheap, and soft like sensor noise after scaling).
        grain = grain_rng.normal(0, 3.0, (height // 4, width // 4, 1)).astype(np.float32)
        grain = cv2.resize(grain, (width, height), interpolation=cv2.INTER_LINEAR)[..., None]
        yield np.clip(frame.astype(np.float32) + grain, 0, 255).astype(np.uint8)

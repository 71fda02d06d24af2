"""Decode a video with PyAV and yield sampled grey frames with their presentation times.

PyAV gives true presentation timestamps (variable frame rate, odd time bases), the luma
plane without a colour conversion, rotation metadata, and keyframe-only decoding.
"""
from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import av
import numpy as np

from .errors import VideoDecodeError
from .types import Frame

log = logging.getLogger(__name__)

MIN_SIDE = 32
MIN_FRAMES = 2
_DIRECT_Y = {"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12", "nv21", "gray", "yuv411p", "yuv410p", "yuv440p"}
NOT_VIDEO_FORMATS = ("tty",)  # FFmpeg renders any text file as "video" through its tty demuxer
STILL_FORMATS = ("image2", "png_pipe", "jpeg_pipe", "bmp_pipe", "gif", "webp_pipe", "tiff_pipe", "apng", "psd_pipe", "svg_pipe", "jpegxl_pipe", "qoi_pipe")


@dataclass(frozen=True)
class VideoInfo:
    path: str
    width: int
    height: int
    duration: float  # seconds, from the container (0 if unknown)
    fps: float  # nominal frame rate (0 if unknown)
    codec: str


def check_readable(path: str | os.PathLike) -> Path:
    """Fail early, with the reason, on paths that cannot be a video file."""
    p = Path(path)
    if not p.exists():
        raise VideoDecodeError(p, "no such file")
    if p.is_dir():
        raise VideoDecodeError(p, "is a directory, not a video file")
    if not p.is_file():
        raise VideoDecodeError(p, "not a regular file")
    if not os.access(p, os.R_OK):
        raise VideoDecodeError(p, "permission denied")
    if p.stat().st_size == 0:
        raise VideoDecodeError(p, "empty file")
    return p


def _open(p: Path):
    try:
        container = av.open(str(p), metadata_errors="ignore")
    except PermissionError as exc:
        raise VideoDecodeError(p, "permission denied") from exc
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise VideoDecodeError(p, f"not a readable video ({_reason(exc)})") from exc
    fmt = container.format.name or ""
    if fmt in NOT_VIDEO_FORMATS:
        container.close()
        raise VideoDecodeError(p, "a text file, not a video")
    if not container.streams.video:
        container.close()
        kind = "audio-only file" if container.streams.audio else "no video stream"
        raise VideoDecodeError(p, f"{kind}, nothing to fingerprint")
    if any(fmt.startswith(s) for s in STILL_FORMATS):
        container.close()
        raise VideoDecodeError(p, f"a still image ({fmt}), not a video")
    return container


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return text.strip().splitlines()[0] if text else type(exc).__name__


def probe(path: str | os.PathLike) -> VideoInfo:
    p = check_readable(path)
    with _open(p) as container:
        stream = container.streams.video[0]
        ctx = stream.codec_context
        duration = 0.0
        if stream.duration is not None and stream.time_base:
            duration = float(stream.duration * stream.time_base)
        elif container.duration:
            duration = container.duration / 1_000_000
        fps = float(stream.average_rate) if stream.average_rate else 0.0
        return VideoInfo(str(p), ctx.width, ctx.height, duration, fps, ctx.name)


def _set_threads(stream, threads: int) -> None:
    """One decoder thread, or FFmpeg's frame+slice threads when more are asked for."""
    stream.thread_count = max(1, threads)
    if threads > 1:
        stream.thread_type = "AUTO"


def _luma(frame: av.VideoFrame) -> np.ndarray:
    if frame.format.name in _DIRECT_Y:
        plane = frame.planes[0]
        buf = np.frombuffer(plane, dtype=np.uint8).reshape(frame.height, plane.line_size)
        grey = buf[:, : frame.width]
    else:
        grey = frame.to_ndarray(format="gray")
    rotation = int(getattr(frame, "rotation", 0) or 0) % 360
    if rotation:
        # FFmpeg's rotation is counter-clockwise degrees to apply for display.
        grey = np.rot90(grey, k=rotation // 90)
    return grey


def _display_aspect(frame: av.VideoFrame, stream) -> float:
    sar = stream.codec_context.sample_aspect_ratio or stream.sample_aspect_ratio
    return float(sar) if sar and float(sar) > 0 else 1.0


def iter_frames(
    path: str | os.PathLike,
    fps: float | None = 5.0,
    threads: int = 1,
    keyframes_only: bool = False,
    max_seconds: float | None = None,
) -> Iterator[Frame]:
    """Yield frames sampled at `fps` (None: every frame) with their presentation time.

    The luma array may be a view into the decoder's buffer: use it before the next frame.
    """
    p = check_readable(path)
    container = _open(p)
    try:
        stream = container.streams.video[0]
        ctx = stream.codec_context
        if ctx.width and ctx.height and min(ctx.width, ctx.height) < MIN_SIDE:
            raise VideoDecodeError(p, f"picture too small ({ctx.width}x{ctx.height}; minimum {MIN_SIDE} pixels a side)")
        _set_threads(stream, threads)
        if keyframes_only:
            ctx.skip_frame = "NONKEY"
        yield from _sample(p, container, stream, fps, max_seconds)
    except av.error.FFmpegError as exc:
        raise VideoDecodeError(p, f"corrupt or truncated video ({_reason(exc)})") from exc
    finally:
        container.close()


def _sample(p: Path, container, stream, fps, max_seconds) -> Iterator[Frame]:
    step = 1.0 / fps if fps else 0.0
    next_t = 0.0
    decoded = 0
    nominal = float(stream.average_rate) if stream.average_rate else 25.0
    start = None
    counter = _PacketCounter()
    for frame in _decode_sampled(container, stream, step, counter):
        decoded += 1
        t = frame.time
        if t is None:
            t = (decoded - 1) / nominal
        if start is None:
            start = t
        t = t - start  # times are relative to the first frame
        if max_seconds is not None and t > max_seconds:
            break
        if step:
            if t + 1e-6 < next_t:
                continue
            next_t = (math.floor(t / step + 1e-6) + 1) * step
        grey = _luma(frame)
        aspect = _display_aspect(frame, stream)
        if aspect != 1.0:
            grey = _stretch(grey, aspect)
        yield Frame(float(t), decoded - 1, grey)
    expected = stream.frames or 0
    seen = max(decoded, counter.packets)
    if seen and expected > 10 and seen < 0.9 * expected and max_seconds is None and not _is_keyframe_mode(stream):
        raise VideoDecodeError(p, f"truncated: decoded {seen} of {expected} frames")
    if decoded == 0:
        raise VideoDecodeError(p, "no decodable video frames (corrupt or truncated)")
    if decoded < MIN_FRAMES and not _is_keyframe_mode(stream):
        raise VideoDecodeError(p, f"only {decoded} frame: too short to fingerprint")


class _PacketCounter:
    packets = 0


def _decode_sampled(container, stream, step: float, counter: _PacketCounter):
    """Decode, telling the decoder to drop non-reference frames that no sample needs.

    A frame is needed when it is the first at or after a sample time k*step: its packet's
    display interval (t - duration, t] holds a sample time. Other packets decode with
    skip_frame=NONREF, which drops B-frames nothing refers to (sampled frames are
    unchanged; see benchmarks/DECODE.md). Keyframe-only mode and step 0 decode as asked.
    """
    ctx = stream.codec_context
    skipping = step > 0 and not _is_keyframe_mode(stream)
    tb = stream.time_base
    default = 1.0 / float(stream.average_rate) if stream.average_rate else 0.04
    first = None
    for packet in container.demux(stream):
        if packet.size:
            counter.packets += 1
        if skipping:
            want = True
            if packet.pts is not None and packet.size and tb:
                t = float(packet.pts * tb)
                first = t if first is None else min(first, t)
                t -= first
                duration = float(packet.duration * tb) if packet.duration else default
                k = math.ceil((t - duration) / step + 1e-9)
                want = k * step <= t + 1e-6
            ctx.skip_frame = "DEFAULT" if want else "NONREF"
        yield from ctx.decode(packet)


def _is_keyframe_mode(stream) -> bool:
    return str(stream.codec_context.skip_frame).upper().endswith("NONKEY")


def _stretch(grey: np.ndarray, aspect: float) -> np.ndarray:
    import cv2

    h, w = grey.shape
    return cv2.resize(grey, (max(1, round(w * aspect)), h), interpolation=cv2.INTER_AREA)


def decode_all(path: str | os.PathLike, threads: int = 1) -> int:
    """Decode every frame and do nothing else: the physical speed limit. Returns the frame count."""
    p = check_readable(path)
    container = _open(p)
    try:
        stream = container.streams.video[0]
        _set_threads(stream, threads)
        return sum(1 for _ in container.decode(stream))
    except av.error.FFmpegError as exc:
        raise VideoDecodeError(p, f"corrupt or truncated video ({_reason(exc)})") from exc
    finally:
        container.close()

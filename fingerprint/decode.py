"""Decode a video with PyAV and yield sampled grey frames with their presentation times.

PyAV gives true presentation timestamps (variable frame rate, odd time bases), the luma
plane without a colour conversion, rotation metadata, and keyframe-only decoding.
"""
from __future__ import annotations

import logging
import math
import os
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import av
import numpy as np

from .errors import VideoDecodeError
from .truncation import truncation
from .types import Frame

log = logging.getLogger(__name__)

MIN_SIDE = 32
MIN_FRAMES = 2
_DIRECT_Y = {"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12", "nv21", "gray", "yuv411p", "yuv410p", "yuv440p"}
NOT_VIDEO_FORMATS = ("tty", "bin", "xbin", "adf", "idf")  # FFmpeg renders text and any *.bin file as "video" (text art)
NOT_VIDEO_CODECS = ("ansi", "bintext", "xbin", "idf")  # ... with these text-art decoders
STILL_FORMATS = ("image2", "png_pipe", "jpeg_pipe", "bmp_pipe", "gif", "webp_pipe", "tiff_pipe", "apng", "psd_pipe", "svg_pipe", "jpegxl_pipe", "qoi_pipe")


@dataclass(frozen=True)
class VideoInfo:
    path: str
    width: int
    height: int
    header_duration: float  # seconds the container header claims (0 if unknown): a progress estimate, never trusted
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
    if fmt in NOT_VIDEO_FORMATS or any(s.codec_context.name in NOT_VIDEO_CODECS for s in container.streams.video):
        container.close()
        raise VideoDecodeError(p, "a text or binary file, not a video")
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


@dataclass(frozen=True)
class DecodeSummary:
    """How a decode went: what the stream itself shows, never what the container header claims."""

    frames: int  # frames decoded
    end: float  # seconds from the first frame to the end of the last one (last time + one frame)
    partial: str | None = None  # why only part of the file could be used (None: all of it)


class VideoFrames:
    """The sampled frames of one video (iterate once). When iteration ends, `summary` says how
    long the decoded stream really is and whether the file was only partly decodable."""

    def __init__(self, path, fps: float | None, threads: int, keyframes_only: bool, max_seconds: float | None):
        self.path, self.fps, self.threads = path, fps, threads
        self.keyframes_only, self.max_seconds = keyframes_only, max_seconds
        self.summary: DecodeSummary | None = None

    def __iter__(self) -> Iterator[Frame]:
        p = check_readable(self.path)
        container = _open(p)
        try:
            stream = container.streams.video[0]
            ctx = stream.codec_context
            if ctx.width and ctx.height and min(ctx.width, ctx.height) < MIN_SIDE:
                raise VideoDecodeError(p, f"picture too small ({ctx.width}x{ctx.height}; minimum {MIN_SIDE} pixels a side)")
            _set_threads(stream, self.threads)
            if self.keyframes_only:
                ctx.skip_frame = "NONKEY"
            yield from self._sample(p, container, stream)
        except av.error.FFmpegError as exc:
            raise VideoDecodeError(p, f"corrupt or truncated video ({_reason(exc)})") from exc
        finally:
            container.close()

    def _sample(self, p: Path, container, stream) -> Iterator[Frame]:
        step = 1.0 / self.fps if self.fps else 0.0
        next_t = 0.0
        decoded = 0
        nominal = float(stream.average_rate) if stream.average_rate else 25.0
        start = last_t = None
        log_ = _DecodeLog()
        for frame in _decode_sampled(container, stream, step, log_):
            decoded += 1
            t = frame.time
            if t is None or not math.isfinite(t):
                t = (decoded - 1) / nominal
            if start is None:
                start = t
            t = t - start  # times are relative to the first frame
            if self.max_seconds is not None and t > self.max_seconds:
                break
            last_t = t if last_t is None else max(last_t, t)
            if step:
                if t + 1e-6 < next_t:
                    continue
                next_t = (math.floor(t / step + 1e-6) + 1) * step
            grey = _luma(frame)
            aspect = _display_aspect(frame, stream)
            if aspect != 1.0:
                grey = _stretch(grey, aspect)
            yield Frame(float(t), decoded - 1, grey)
        causes = [] if self.max_seconds is not None else [c for c in (truncation(p), log_.problem(last_t)) if c]
        if decoded == 0:
            raise VideoDecodeError(p, "no decodable video frames (" + ("; ".join(causes) or "corrupt or truncated") + ")")
        if decoded < MIN_FRAMES and not _is_keyframe_mode(stream):
            raise VideoDecodeError(p, f"only {decoded} frame: too short to fingerprint" + (f" ({'; '.join(causes)})" if causes else ""))
        end = (last_t or 0.0) + log_.frame_interval(1.0 / nominal)
        partial = "; ".join(causes) + f"; {end:.1f} s decoded" if causes else None
        self.summary = DecodeSummary(decoded, end, partial)


def iter_frames(
    path: str | os.PathLike,
    fps: float | None = 5.0,
    threads: int = 1,
    keyframes_only: bool = False,
    max_seconds: float | None = None,
) -> VideoFrames:
    """Frames sampled at `fps` (None: every frame) with their presentation time.

    The luma array may be a view into the decoder's buffer: use it before the next frame.
    Packets that cannot be decoded are skipped and reported in `summary.partial`; a file
    with too few decodable frames raises VideoDecodeError.
    """
    return VideoFrames(path, fps, threads, keyframes_only, max_seconds)


class _DecodeLog:
    """What demuxing and decoding met: packet times (for the frame interval) and errors."""

    MAX_BAD = 200  # undecodable packets in a row before giving up on the rest of the file

    def __init__(self) -> None:
        self.packet_times = array("d")
        self.packets = 0
        self.corrupt = 0  # packets the demuxer flagged as damaged
        self.bad = 0  # packets the decoder refused
        self.first_bad: str | None = None
        self.stopped: str | None = None  # why demuxing ended early

    def frame_interval(self, fallback: float) -> float:
        """The stream's usual frame interval: the median gap between packet times."""
        times = np.unique(np.frombuffer(self.packet_times, dtype=np.float64))
        gaps = np.diff(times)
        gaps = gaps[gaps > 1e-6]
        return float(np.median(gaps)) if len(gaps) else fallback

    def problem(self, last_t: float | None) -> str | None:
        where = f"{last_t:.1f} s" if last_t is not None else "the start"
        if self.stopped:
            return f"decoding stopped after {where}: {self.stopped}"
        if self.bad:
            return f"{self.bad} of {self.packets} packets could not be decoded ({self.first_bad})"
        if self.corrupt:
            return f"{self.corrupt} of {self.packets} packets are damaged"
        return None


def _decode_sampled(container, stream, step: float, log_: _DecodeLog):
    """Decode, telling the decoder to drop non-reference frames that no sample needs.

    A frame is needed when it is the first at or after a sample time k*step: its packet's
    display interval (t - duration, t] holds a sample time. Other packets decode with
    skip_frame=NONREF, which drops B-frames nothing refers to (sampled frames are
    unchanged; see benchmarks/DECODE.md). Keyframe-only mode and step 0 decode as asked.
    A packet the decoder refuses is skipped (counted in `log_`); a demuxer error ends the file.
    """
    ctx = stream.codec_context
    skipping = step > 0 and not _is_keyframe_mode(stream)
    tb = stream.time_base
    default = 1.0 / float(stream.average_rate) if stream.average_rate else 0.04
    first = None
    bad_run = 0
    packets = container.demux(stream)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            return
        except av.error.FFmpegError as exc:
            log_.stopped = f"unreadable container data ({_reason(exc)})"
            return
        if packet.size:
            log_.packets += 1
            log_.corrupt += bool(packet.is_corrupt)
            if packet.pts is not None and tb:
                log_.packet_times.append(float(packet.pts * tb))
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
        try:
            frames = ctx.decode(packet)
        except av.error.FFmpegError as exc:
            log_.bad += 1
            log_.first_bad = log_.first_bad or _reason(exc)
            bad_run += 1
            if bad_run >= _DecodeLog.MAX_BAD:
                log_.stopped = f"{bad_run} undecodable packets in a row ({log_.first_bad})"
                return
            continue
        bad_run = 0
        yield from frames


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


def stream_duration(path: str | os.PathLike) -> float:
    """Seconds the video stream spans by its own packet times (demuxed, not decoded; the
    header's claim is not used): last packet time - first + one frame interval."""
    p = check_readable(path)
    container = _open(p)
    log_ = _DecodeLog()
    try:
        stream = container.streams.video[0]
        tb = stream.time_base
        nominal = float(stream.average_rate) if stream.average_rate else 25.0
        for packet in container.demux(stream):
            if packet.size and packet.pts is not None and tb:
                log_.packet_times.append(float(packet.pts * tb))
    except av.error.FFmpegError:
        pass  # a damaged tail: the packets read so far still tell the span
    finally:
        container.close()
    if not log_.packet_times:
        return 0.0
    times = np.frombuffer(log_.packet_times, dtype=np.float64)
    return float(times.max() - times.min()) + log_.frame_interval(1.0 / nominal)

"""Reading and writing benchmark video: probing clips, decoding (t, RGB) streams,
encoding constant-rate H.264. One timestamp rule: times are PyAV's frame.time."""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from fractions import Fraction

import av
import cv2
import numpy as np

from fp.fingerprint.decode import NOT_VIDEO_FORMATS, STILL_FORMATS
from fp.fingerprint.errors import VideoDecodeError

from .transforms import Stream, resize_to
from .truth import BenchmarkError

DEFAULT_CRF = 23
DEFAULT_MAX_HEIGHT = 480
DEFAULT_PRESET = "veryfast"  # x264 encode is most of the run time
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium")


class VideoEncodeError(BenchmarkError):
    """A query video could not be written."""


# -- reading and writing video --------------------------------------------------

@dataclass(frozen=True)
class ClipInfo:
    """A probed clip; start/end are frame.time bounds in seconds."""

    path: str  # relative to the refs dir
    start: float
    end: float
    fps: float
    width: int
    height: int
    frames: int

    @property
    def duration(self) -> float:
        return self.end - self.start

    def to_dict(self) -> dict:
        return {"path": self.path, "start": self.start, "end": self.end, "fps": self.fps,
                "width": self.width, "height": self.height, "frames": self.frames}


def is_not_video(format_name: str | None) -> bool:
    """Text (FFmpeg's tty demuxer) and still-image formats open as "video" but are not."""
    name = format_name or ""
    return name in NOT_VIDEO_FORMATS or any(name.startswith(f) for f in STILL_FORMATS)


def probe_clip(path: str | os.PathLike, rel: str | None = None) -> ClipInfo | None:
    """Time bounds of a video from its packets (no decoding); None if `path`
    is not a video with at least two frames."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.video or is_not_video(container.format.name):
                return None
            stream = container.streams.video[0]
            base = stream.time_base
            rate = float(stream.average_rate or stream.guessed_rate or 0) or 30.0
            first, last, frames = math.inf, -math.inf, 0
            for packet in container.demux(stream):
                if packet.pts is None or packet.size == 0:
                    continue
                frames += 1
                start = float(packet.pts * base)
                step = float(packet.duration * base) if packet.duration else 1.0 / rate
                first, last = min(first, start), max(last, start + step)
            width, height = stream.codec_context.width, stream.codec_context.height
    except (av.FFmpegError, OSError, ValueError):
        return None
    if frames < 2 or last - first < 0.5 or not width or not height:
        return None
    return ClipInfo(path=rel or str(path), start=round(first, 4), end=round(last, 4),
                    fps=round(frames / (last - first), 3), width=width, height=height,
                    frames=frames)


def _fit_height(width: int, height: int, max_height: int | None) -> tuple[int, int]:
    if not max_height or height <= max_height:
        return width, height
    return max(2, round(width * max_height / height / 2) * 2), max_height


def _to_rgb(frame: av.VideoFrame, max_height: int | None) -> np.ndarray:
    width, height = _fit_height(frame.width, frame.height, max_height)
    if (width, height) == (frame.width, frame.height) and frame.format.name == "yuv420p" \
            and width % 2 == 0 and height % 2 == 0:
        # cv2 converts I420 several times faster than swscale here
        return cv2.cvtColor(frame.to_ndarray(), cv2.COLOR_YUV2RGB_I420)
    return frame.to_ndarray(format="rgb24", width=width, height=height)


def iter_frames(path: str | os.PathLike, start: float = 0.0, end: float = math.inf,
                max_height: int | None = None) -> Stream:
    """Decoded (frame.time, RGB) pairs with start <= time < end."""
    eps = 1e-6
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            # No seeking: some real files flag keyframes that are not clean entry points, and
            # decoding after such a seek gives grey/green garbage. Clips are short; decode from 0.
            for frame in container.decode(stream):
                if frame.time is None or frame.time < start - eps:
                    continue
                if frame.time >= end - eps:
                    break
                yield frame.time, _to_rgb(frame, max_height)
    except (av.FFmpegError, OSError, IndexError) as exc:
        raise VideoDecodeError(path, f"cannot decode video: {exc}") from exc


def loop_frames(path: str | os.PathLike, start: float, max_height: int | None = None) -> Stream:
    """Endless stream of a clip from `start`, looping; times count from 0."""
    offset, begin = 0.0, start
    while True:
        last = None
        for t, frame in iter_frames(path, begin, max_height=max_height):
            last = t
            yield offset + t - begin, frame
        if last is None:
            if begin == 0.0:
                raise VideoDecodeError(path, "no frames to loop")
            begin = 0.0
            continue
        offset += last - begin + 1.0 / 30
        begin = 0.0


def frame_at(path: str | os.PathLike, t: float, max_height: int | None = None) -> np.ndarray:
    """The frame shown at time t (the latest with frame.time <= t)."""
    found = None
    for _, frame in iter_frames(path, max(0.0, t - 2.0), t + 1e-3, max_height):
        found = frame
    if found is None:
        found = next(iter_frames(path, 0.0, max_height=max_height), (0, None))[1]
    if found is None:
        raise VideoDecodeError(path, f"no frame at {t:.3f} s")
    return found


@dataclass(frozen=True)
class EncodeSettings:
    fps: float
    duration: float  # seconds; the writer emits round(duration * fps) frames
    crf: int = DEFAULT_CRF
    kbps_360p: int | None = None  # set: constant bitrate scaled by frame area
    max_height: int = DEFAULT_MAX_HEIGHT
    preset: str = DEFAULT_PRESET

    def to_dict(self) -> dict:
        return {"fps": self.fps, "duration": self.duration, "crf": self.crf,
                "kbps_360p": self.kbps_360p, "max_height": self.max_height,
                "preset": self.preset}


def write_video(path: str | os.PathLike, stream: Stream, settings: EncodeSettings,
                threads: int = 0) -> int:
    """Encode a (t, RGB) stream as constant-rate H.264: output frame k shows the
    latest input frame with t <= k / fps. Returns the number of frames written."""
    rate = Fraction(settings.fps).limit_denominator(1001)
    total = max(1, round(settings.duration * settings.fps))
    current = next(stream, None)
    if current is None:
        raise VideoEncodeError(f"{path}: no frames to write")
    upcoming = next(stream, None)
    height, width = current[1].shape[:2]
    width, height = _fit_height(width - width % 2, height - height % 2, settings.max_height)
    try:
        with av.open(str(path), "w") as container:
            options = {"preset": settings.preset}
            if not settings.kbps_360p:
                options["crf"] = str(settings.crf)
            out = container.add_stream("libx264", rate=rate, options=options)
            out.width, out.height, out.pix_fmt = width, height, "yuv420p"
            out.codec_context.thread_count = threads
            if settings.kbps_360p:
                kbps = settings.kbps_360p * width * height / (640 * 360)
                out.bit_rate = int(max(40, kbps) * 1000)
            for index in range(total):
                tick = index / settings.fps
                while upcoming is not None and upcoming[0] <= tick + 1e-6:
                    current, upcoming = upcoming, next(stream, None)
                pixels = resize_to(current[1], width, height)
                frame = av.VideoFrame.from_ndarray(
                    cv2.cvtColor(pixels, cv2.COLOR_RGB2YUV_I420), format="yuv420p")
                frame.pts, frame.time_base = index, 1 / rate
                container.mux(out.encode(frame))
            container.mux(out.encode(None))
    except (av.FFmpegError, OSError) as exc:
        raise VideoEncodeError(f"{path}: cannot encode video: {exc}") from exc
    return total


def clip_motion(path: str | os.PathLike, sample_fps: float = 4.0) -> float:
    """How much a clip moves: the median mean absolute difference (0-255) between grey
    64x36 thumbnails sampled `sample_fps` times a second. A fixed camera on a still
    scene is near 0-2; a pan or a busy scene is 10 or more."""
    diffs, last, next_t = [], None, -math.inf
    for t, frame in iter_frames(path, max_height=72):
        if t < next_t:
            continue
        next_t = t + 1.0 / sample_fps
        grey = cv2.cvtColor(resize_to(frame, 64, 36), cv2.COLOR_RGB2GRAY).astype(np.int16)
        if last is not None:
            diffs.append(float(np.abs(grey - last).mean()))
        last = grey
    return round(float(np.median(diffs)), 3) if diffs else 0.0

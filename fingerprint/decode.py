"""Decode a video with PyAV and yield sampled grey frames with their presentation times.

PyAV gives true presentation timestamps (variable frame rate, odd time bases), the luma
plane without a colour conversion, rotation metadata, and keyframe-only decoding.
"""
from __future__ import annotations

import functools
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
ANIMATED_FORMATS = ("gif", "apng", "webp_pipe")  # image formats that may hold an animation: a video when they do
RAW_STREAMS = ("h264", "hevc")  # elementary streams: frames carry no times, the demuxer assumes 25 fps unless told
RESTART_BACK = 0.5  # seconds a frame time may step back before it counts as a restart (reordering and jitter move less)
REORDER_FRAMES = 16  # ... or this many frame intervals, if longer (H.264's deepest reordering; low frame rates)
STUCK_SHARE = 0.1  # share of frames stamped no later than the one before past which the stream's clock is broken (told)
MAX_GAP = 86400.0  # seconds a frame time may jump forward before it counts as broken (joined as a restart is):
# no footage pauses a day inside one file, and matching's vote grows with the span (a 1e8 s jump ran for minutes)


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


def open_container(path: str | os.PathLike):
    """av.open, telling a raw H.264/HEVC stream the frame rate its own headers declare (else
    its frames are timed at 25 fps whatever they say: a 30 fps file came out 20 % long)."""
    container = av.open(str(path), metadata_errors="ignore")
    if container.format.name in RAW_STREAMS and container.streams.video:
        stream = container.streams.video[0]
        rate = stream.codec_context.framerate
        if rate and rate > 0 and rate != stream.average_rate:
            container.close()
            container = av.open(str(path), metadata_errors="ignore", options={"framerate": f"{rate.numerator}/{rate.denominator}"})
    return container


def _open(p: Path):
    try:
        container = open_container(p)
    except PermissionError as exc:
        raise VideoDecodeError(p, "permission denied") from exc
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        cut = truncation(p)  # a file cut before its index, or still being written, says so
        raise VideoDecodeError(p, f"not a readable video ({_reason(exc)}{'; ' + cut if cut else ''})") from exc
    fmt = container.format.name or ""
    if fmt in NOT_VIDEO_FORMATS or any(s.codec_context.name in NOT_VIDEO_CODECS for s in container.streams.video):
        container.close()
        raise VideoDecodeError(p, "a text or binary file, not a video")
    if not container.streams.video:
        container.close()
        kind = "audio-only file" if container.streams.audio else "no video stream"
        raise VideoDecodeError(p, f"{kind}, nothing to fingerprint")
    if fmt.startswith(STILL_FORMATS) and not (fmt.startswith(ANIMATED_FORMATS) and _moves(p)):
        container.close()
        if fmt == "webp_pipe" and _animated_webp(p):
            raise VideoDecodeError(p, "an animated WebP: this FFmpeg cannot decode its frames")
        raise VideoDecodeError(p, f"a still image ({fmt}), not a video")
    if container.streams.audio and all(_is_still(s) for s in container.streams.video) and not _moves(p):
        container.close()  # a song's cover art: a walked music folder skips it as it skips plain audio
        raise VideoDecodeError(p, "audio-only file with cover art (one still picture), nothing to fingerprint")
    return container


def _animated_webp(p: Path) -> bool:
    """The animation flag of a WebP's extended header (FFmpeg decodes only still WebP)."""
    with open(p, "rb") as fh:
        head = fh.read(21)
    return head[8:16] == b"WEBPVP8X" and len(head) == 21 and bool(head[20] & 0x02)


def _moves(p: Path) -> bool:
    """More than one frame in the video stream read by default (decodes 2 frames at most)."""
    count = 0
    try:
        with av.open(str(p), metadata_errors="ignore") as container:
            for _ in container.decode(video_stream(container)):
                count += 1
                if count > 1:
                    break
    except av.error.FFmpegError:
        pass  # what decoded before the damage still counts
    return count > 1


def video_stream(container, index: int | None = None):
    """The video stream to read: stream `index` when given, else the longest moving picture
    (cover art and 1-frame stills are passed over unless there is nothing else); ties go to the
    lowest index."""
    streams = list(container.streams.video)
    if index is not None:
        chosen = [s for s in streams if s.index == index]
        if not chosen:
            raise VideoDecodeError(Path(container.name), f"no video stream #{index}")
        return chosen[0]
    moving = [s for s in streams if not _is_still(s)] or [s for s in streams if not _is_cover(s)] or streams
    whole = container.duration / 1_000_000 if container.duration else 0.0
    return max(moving, key=lambda s: (_seconds(s) or whole, s.frames or 0, -s.index))


def moving_streams(path: str | os.PathLike) -> list[int]:
    """Indices of the file's moving-picture video streams, the one read by default first."""
    p = check_readable(path)
    with _open(p) as container:
        first = video_stream(container).index
        others = [s.index for s in container.streams.video if s.index != first and not _is_still(s)]
    return [first] + others


def _other_videos(container, chosen) -> int:
    """Moving-picture video streams besides the one read."""
    return sum(1 for s in container.streams.video if s.index != chosen.index and not _is_still(s))


def _is_cover(stream) -> bool:
    return bool(stream.disposition & av.stream.Disposition.attached_pic)


def _is_still(stream) -> bool:
    """Cover art, or a stream that says it holds one frame (a 1-frame MJPEG track in Matroska)."""
    if _is_cover(stream) or stream.disposition & av.stream.Disposition.still_image or stream.frames == 1:
        return True
    seconds, rate = _seconds(stream), float(stream.average_rate or 0)
    return seconds is not None and rate > 0 and seconds * rate < 1.5


def _seconds(stream) -> float | None:
    """The length a stream claims for itself: its duration, Matroska's DURATION tag, or frames / rate."""
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    tag = next((_clock(v) for k, v in stream.metadata.items() if k.upper().startswith("DURATION")), None)
    if tag is not None:
        return tag
    if stream.frames and stream.average_rate:
        return stream.frames / float(stream.average_rate)
    return None


def _clock(text: str) -> float | None:
    """'HH:MM:SS.fraction' in seconds (None when it is not that)."""
    try:
        h, m, sec = text.split(":")
        return int(h) * 3600 + int(m) * 60 + float(sec)
    except ValueError:
        return None


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return text.strip().splitlines()[0] if text else type(exc).__name__


def probe(path: str | os.PathLike, stream: int | None = None) -> VideoInfo:
    p = check_readable(path)
    with _open(p) as container:
        stream = video_stream(container, stream)
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


def _luma(frame: av.VideoFrame, aspect: float = 1.0) -> np.ndarray:
    """The frame's grey picture as shown: widened by its pixel `aspect`, then turned upright."""
    fmt = frame.format
    deep = fmt.components[0].is_luma and 8 < fmt.components[0].bits <= 16 and not fmt.is_big_endian
    if fmt.name in _DIRECT_Y:
        plane = frame.planes[0]
        buf = np.frombuffer(plane, dtype=np.uint8).reshape(frame.height, plane.line_size)
        grey = buf[:, : frame.width]
    elif deep:  # 10/12-bit luma: its top 8 bits, the scale 8-bit Y has (a grey conversion stretched it to full range)
        plane = frame.planes[0]
        words = np.frombuffer(plane, dtype="<u2").reshape(frame.height, plane.line_size // 2)[:, : frame.width]
        msb = fmt.name.startswith(("p0", "p2", "p4"))  # P010-style formats keep their bits at the top of each word
        grey = (words >> (8 if msb else fmt.components[0].bits - 8)).astype(np.uint8)
    else:
        grey = frame.to_ndarray(format="gray")
    if aspect != 1.0:  # pixels are stored wide or narrow across the coded rows, before any turn
        grey = _stretch(grey, aspect)
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
    end: float  # seconds from the time origin (time_origin) to the end of the last frame (last time + one frame)
    partial: str | None = None  # why only part of the file could be used (None: all of it)
    notes: tuple[str, ...] = ()  # what else the caller should be told (timestamps joined)


class VideoFrames:
    """The sampled frames of one video (iterate once). When iteration ends, `summary` says how
    long the decoded stream really is and whether the file was only partly decodable."""

    def __init__(self, path, fps: float | None, threads: int, keyframes_only: bool, max_seconds: float | None,
                 stream: int | None = None):
        self.path, self.fps, self.threads = path, fps, threads
        self.keyframes_only, self.max_seconds = keyframes_only, max_seconds
        self.stream = stream  # a stream index, or None: the longest moving picture
        self.summary: DecodeSummary | None = None

    def __iter__(self) -> Iterator[Frame]:
        p = check_readable(self.path)
        container = _open(p)
        try:
            stream = video_stream(container, self.stream)
            self._unread = _other_videos(container, stream) if self.stream is None else 0  # asked for one: the caller reads the rest
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
        last_t = None
        stuck = 0  # frames whose time does not advance: sampling by time passes them over
        log_ = DecodeLog()
        timeline = Timeline(1.0 / nominal)
        for frame in _decode_sampled(container, stream, step, log_):
            decoded += 1
            t = frame.time
            if t is None or not math.isfinite(t):
                t = (decoded - 1) / nominal
            t = timeline.place(t, log_.origin)
            if self.max_seconds is not None and t > self.max_seconds:
                break
            stuck += last_t is not None and t <= last_t
            last_t = t if last_t is None else max(last_t, t)
            if step:
                if t + 1e-6 < next_t:
                    continue
                next_t = (math.floor(t / step + 1e-6) + 1) * step
            grey = _luma(frame, _display_aspect(frame, stream))
            yield Frame(float(t), decoded - 1, grey)
        lost = timeline.first or 0.0  # seconds at the stream's start that showed no picture
        causes = [] if self.max_seconds is not None else [c for c in (truncation(p), log_.problem(last_t)) if c]
        if lost > timeline.back:  # less is leading B-frames of an open GOP, cut from their reference
            causes.append(f"nothing decodes before {lost:.1f} s (a damaged or cut start; times count from the stream's start)")
        if decoded == 0:
            raise VideoDecodeError(p, "no decodable video frames (" + ("; ".join(causes) or "corrupt or truncated") + ")")
        if decoded < MIN_FRAMES and not _is_keyframe_mode(stream):
            raise VideoDecodeError(p, f"only {decoded} frame: too short to fingerprint" + (f" ({'; '.join(causes)})" if causes else ""))
        end = (last_t or 0.0) + log_.frame_interval(1.0 / nominal)
        if _is_keyframe_mode(stream) and log_.packet_times:  # every packet was read: the stream's span, not its last keyframe
            times = np.frombuffer(log_.packet_times, dtype=np.float64)
            end = max(end, float(times.max() - times.min()) + log_.frame_interval(1.0 / nominal))
        partial = "; ".join(causes) + f"; {end - lost:.1f} s decoded" if causes else None
        notes = (timeline.note(),) if timeline.joined else ()  # told in results' warnings (pipeline.decode_warnings)
        if stuck > STUCK_SHARE * decoded:
            notes += (f"timestamps stuck: {stuck} of {decoded} frames are stamped no later than the frame before; {end:.1f} s by their times",)
        self.summary = DecodeSummary(decoded, end, _joined(partial, self._unread_note(stream)), notes)

    def _unread_note(self, stream) -> str | None:
        if not self._unread:
            return None
        return f"{self._unread} other video stream{'s' if self._unread > 1 else ''} not examined (read stream #{stream.index})"


def _joined(*parts: str | None) -> str | None:
    return "; ".join(p for p in parts if p) or None


def continues(t: float, latest: float, back: float) -> bool:
    """Whether a frame time `t` carries on from the latest time so far: at most `back` before it
    (reordering, jitter) and at most MAX_GAP after it; else the clock restarted or broke."""
    return latest - back <= t <= latest + MAX_GAP


def time_origin(first: float, head: float | None) -> float:
    """Where a stream's times count from: the earliest packet time met before its first frame
    came out (`head`: a damaged or cut start decodes nothing, but its packets still say where
    the picture starts), else the first frame's time. A head more than MAX_GAP early is a broken
    timestamp, not lost footage."""
    return head if head is not None and first - MAX_GAP <= head < first else first


class Timeline:
    """Frame times on one line from the time origin. A time that steps back more than
    RESTART_BACK or REORDER_FRAMES intervals (files joined with `cat`, each from 0), or jumps
    forward more than MAX_GAP (a broken timestamp), starts a segment one frame interval after
    the latest time so far; smaller forward gaps are kept as they are."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.back = max(RESTART_BACK, REORDER_FRAMES * interval)
        self.shift: float | None = None  # added to a raw time
        self.first: float | None = None  # the first frame's time (after the origin when the head did not decode)
        self.latest: float | None = None
        self.restarts = 0
        self.jumps = 0  # forward jumps past MAX_GAP joined

    def place(self, raw: float, origin: float | None = None) -> float:
        """`raw` on the line; `origin` (time_origin) counts only for the first frame (default: its own time)."""
        if self.shift is None:
            self.shift = -(raw if origin is None else origin)
            self.first = raw + self.shift
        t = raw + self.shift
        if self.latest is not None and not continues(t, self.latest, self.back):
            self.restarts += t < self.latest
            self.jumps += t > self.latest
            self.shift += self.latest + self.interval - t
            t = self.latest + self.interval
        self.latest = t if self.latest is None else max(self.latest, t)
        return t

    @property
    def joined(self) -> bool:
        return bool(self.restarts or self.jumps)

    def note(self) -> str:
        parts = [f"restart {_times(self.restarts)}"] if self.restarts else []
        parts += [f"jump forward over {MAX_GAP / 3600:.0f} h {_times(self.jumps)}"] if self.jumps else []
        return f"timestamps {' and '.join(parts)}; segments joined end to end"


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


def iter_frames(
    path: str | os.PathLike,
    fps: float | None = 5.0,
    threads: int = 1,
    keyframes_only: bool = False,
    max_seconds: float | None = None,
    stream: int | None = None,
) -> VideoFrames:
    """Frames sampled at `fps` (None: every frame) with their presentation time.

    The luma array may be a view into the decoder's buffer: use it before the next frame.
    Packets that cannot be decoded are skipped and reported in `summary.partial`; a file
    with too few decodable frames raises VideoDecodeError.
    """
    return VideoFrames(path, fps, threads, keyframes_only, max_seconds, stream)


class DecodeLog:
    """What demuxing and decoding met: packet times (for the frame interval) and errors."""

    MAX_BAD = 200  # undecodable packets in a row before giving up on the rest of the file

    def __init__(self) -> None:
        self.origin: float | None = None  # the time frames count from (time_origin), once the first timed frame is out
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


def _decode_sampled(container, stream, step: float, log_: DecodeLog):
    """Decode, telling the decoder to drop non-reference frames that no sample needs.

    A frame is needed when it is the first at or after a sample time k*step: its packet's
    display interval (t - duration, t] holds a sample time, counted from the time origin
    (`log_.origin`, set when the first frame is out; Timeline counts from it too). Other
    packets decode with skip_frame=NONREF, which drops B-frames nothing refers to (sampled
    frames are unchanged; see benchmarks/DECODE.md). Keyframe-only mode and step 0 decode as asked, and
    so does the rest of a file once its timestamps restart (the sample times move then).
    A packet the decoder refuses is skipped (counted in `log_`); a demuxer error ends the file.
    """
    ctx = stream.codec_context
    skipping = step > 0 and not _is_keyframe_mode(stream)
    tb = stream.time_base
    default = 1.0 / float(stream.average_rate) if stream.average_rate else 0.04
    back = max(RESTART_BACK, REORDER_FRAMES * default)
    latest = head = None  # head: the earliest packet time before the first frame; all is decoded until the origin is known
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
                if log_.origin is None and not packet.is_discard:  # an edit list hides discarded packets
                    head = min(head, float(packet.pts * tb)) if head is not None else float(packet.pts * tb)
        if skipping:
            want = True
            if packet.pts is not None and packet.size and tb:
                t = float(packet.pts * tb)
                skipping = latest is None or continues(t, latest, back)  # a restart or jump: decode the rest whole
                latest = t if latest is None else max(latest, t)
                if log_.origin is not None:
                    t -= log_.origin
                    duration = float(packet.duration * tb) if packet.duration else default
                    k = math.ceil((t - duration) / step + 1e-9)
                    want = not skipping or k * step <= t + 1e-6
            ctx.skip_frame = "DEFAULT" if want else "NONREF"
        try:
            frames = ctx.decode(packet)
        except av.error.FFmpegError as exc:
            log_.bad += 1
            log_.first_bad = log_.first_bad or _reason(exc)
            bad_run += 1
            if bad_run >= DecodeLog.MAX_BAD:
                log_.stopped = f"{bad_run} undecodable packets in a row ({log_.first_bad})"
                return
            continue
        bad_run = 0
        if log_.origin is None and frames and frames[0].time is not None:
            log_.origin = time_origin(float(frames[0].time), head)
        yield from frames


def decode_frames(container, stream, log_: DecodeLog | None = None):
    """Every frame of `stream` from where the container stands, skipping packets the decoder
    refuses; `log_.origin` is the time origin once the first timed frame is out."""
    return _decode_sampled(container, stream, 0.0, log_ if log_ is not None else DecodeLog())


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
        stream = video_stream(container)
        _set_threads(stream, threads)
        return sum(1 for _ in container.decode(stream))
    except av.error.FFmpegError as exc:
        raise VideoDecodeError(p, f"corrupt or truncated video ({_reason(exc)})") from exc
    finally:
        container.close()


def _packet_times(container, stream) -> Iterator[float]:
    """Seconds of each of the stream's packets that holds data, in file order (demuxed, not
    decoded); a damaged tail ends them."""
    tb = stream.time_base
    try:
        for packet in container.demux(stream):
            if packet.size and packet.pts is not None and tb:
                yield float(packet.pts * tb)
    except av.error.FFmpegError:
        return


def timestamps_restart(path: str | os.PathLike) -> bool:
    """Whether decoding joins the video's times (Timeline): packet times that restart (files
    joined byte for byte: only MPEG transport and program streams can be) or jump past
    MAX_GAP (read only when the header's duration is longer than that, or missing); other
    files answer False unread. Remembered per file version: evidence asks once per match."""
    p = check_readable(path)
    st = p.stat()
    return _restarts(str(p.resolve()), st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=64)
def _restarts(path: str, mtime_ns: int, size: int) -> bool:
    with _open(Path(path)) as container:
        long = not container.duration or container.duration / 1_000_000 > MAX_GAP
        if not (long or container.format.name.startswith(("mpegts", "mpeg"))):
            return False
        stream = video_stream(container)
        timeline = Timeline(1.0 / float(stream.average_rate or 25))
        for t in _packet_times(container, stream):
            timeline.place(t)
            if timeline.joined:
                return True
    return False


def stream_duration(path: str | os.PathLike) -> float:
    """Seconds the video stream spans by its own packet times (demuxed, not decoded; the
    header's claim is not used): last packet time - first + one frame interval, with
    restarting timestamps joined end to end as decoding joins them."""
    p = check_readable(path)
    log_ = DecodeLog()
    low = None
    with _open(p) as container:
        stream = video_stream(container)
        nominal = float(stream.average_rate) if stream.average_rate else 25.0
        timeline = Timeline(1.0 / nominal)
        for raw in _packet_times(container, stream):
            log_.packet_times.append(raw)
            t = timeline.place(raw)
            low = t if low is None else min(low, t)
    if low is None:
        return 0.0
    return timeline.latest - low + log_.frame_interval(1.0 / nominal)

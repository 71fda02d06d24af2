"""Build a copy-detection benchmark from a folder of reference clips.

``make_benchmark`` splits the clips into references and held-out negatives,
plans pirated-copy queries (every single edit, plus random combinations) and
unrelated negative queries, renders them with PyAV/libx264 and writes
truth.json (see TRUTH_FORMAT.md). All random choices are made while planning,
from the seed alone, so one seed always gives the same names, parameters and
truth.
"""
from __future__ import annotations

import json
import logging
import math
import os
import random
import shutil
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Callable, Mapping, Sequence

import av

from fp.fingerprint.decode import NOT_VIDEO_FORMATS, STILL_FORMATS
import cv2
import numpy as np

from fp.fingerprint.errors import VideoDecodeError

from .transforms import (EDIT_NAMES, EDIT_SPECS, Edit, EditContext, Footage, Stream,
                         build_pipeline, check_names, compatible, resize_to, sample_edits)
from .truth import BenchmarkError, Truth, TruthQuery, load_truth, save_truth

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]
EXCERPT_RANGE = (5.0, 30.0)
DEFAULT_CRF = 23
DEFAULT_MAX_HEIGHT = 480
DEFAULT_PRESET = "veryfast"  # x264 encode is most of the run time
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium")
QUERY_DIR = "queries"
TRUTH_NAME = "truth.json"


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


# -- finding clips and splitting them -------------------------------------------

def find_clips(refs_dir: str | os.PathLike, exclude: str | os.PathLike | None = None
               ) -> list[ClipInfo]:
    """Every readable video under refs_dir (recursively), sorted by path."""
    root = Path(refs_dir)
    if not root.is_dir():
        raise BenchmarkError(f"{root}: reference folder does not exist")
    skip = Path(exclude).resolve() if exclude else None
    clips = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or any(part.startswith(".") for part in path.relative_to(root).parts):
            continue
        if skip and (skip == path.resolve() or skip in path.resolve().parents):
            continue
        info = probe_clip(path, path.relative_to(root).as_posix())
        if info is None:
            log.debug("skipping %s: not a readable video", path)
        else:
            clips.append(info)
    return clips


Variant = tuple[str, float, float]  # (variant_of, offset, rate)


def groups_from_clips_json(path: str | os.PathLike
                           ) -> tuple[dict[str, str], dict[str, Variant]]:
    """Read a clips.json (see /work/shared/real_clips/MANIFEST.md): returns
    ({clip path: group}, {variant path: (variant_of, offset, rate)})."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        groups, variants = {}, {}
        for clip in data["clips"]:
            if clip.get("group") is not None:
                groups[clip["path"]] = str(clip["group"])
            if clip.get("variant_of"):
                variants[clip["path"]] = (clip["variant_of"], float(clip.get("offset", 0.0)),
                                          float(clip.get("rate", 1.0)))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BenchmarkError(f"{path}: not a readable clips.json: {exc}") from exc
    return groups, variants


def _representative(members: list[ClipInfo], variants: Mapping[str, Variant]) -> ClipInfo:
    """The clip that stands for a group: longest, preferring non-variants."""
    return min(members, key=lambda c: (c.path in variants, -round(c.duration, 1), c.path))


def split_clips(clips: Sequence[ClipInfo], rng: random.Random, negatives_fraction: float,
                groups: Mapping[str, str] | None, variants: Mapping[str, Variant],
                min_ref_seconds: float = 0.0
                ) -> tuple[list[ClipInfo], list[ClipInfo], dict[str, list[ClipInfo]]]:
    """Returns (references, negatives, {reference path: other group members}).

    Footage shorter than `min_ref_seconds` (the shortest excerpt) cannot yield an in-spec copy,
    so it is only ever a negative."""
    units: dict[str, list[ClipInfo]] = {}
    for clip in clips:
        key = (groups or {}).get(clip.path) or f"clip:{clip.path}"
        units.setdefault(key, []).append(clip)
    keys = sorted(units)
    rng.shuffle(keys)
    too_short = [k for k in keys if _representative(units[k], variants).duration < min_ref_seconds]
    keys = too_short + [k for k in keys if k not in too_short]
    n_neg = round(negatives_fraction * len(keys))
    if len(keys) >= 3:
        n_neg = max(1, n_neg)
    n_neg = min(max(n_neg, len(too_short)), len(keys) - 1)
    references, negatives, others = [], [], {}
    for i, key in enumerate(keys):
        rep = _representative(units[key], variants)
        (negatives if i < n_neg else references).append(rep)
        if i >= n_neg:
            others[rep.path] = [c for c in units[key] if c is not rep]
    return (sorted(references, key=lambda c: c.path), sorted(negatives, key=lambda c: c.path),
            others)


# -- planning -------------------------------------------------------------------

_NAME_A = ("summer", "winter", "funny", "epic", "best", "crazy", "daily", "viral",
           "amazing", "cute", "retro", "late_night", "lazy", "ultimate")
_NAME_B = ("travel", "cat", "movie", "music", "family", "road_trip", "beach", "city",
           "food", "kids", "party", "nature", "gaming", "animal")
_NAME_C = ("vlog", "clip", "moments", "compilation", "highlights", "video", "edit",
           "scene", "reel", "shorts", "recap", "full")


def seller_name(rng: random.Random, used: set[str]) -> str:
    """A random uploader-style file stem such as summer_travel_vlog_0412."""
    while True:
        name = (f"{rng.choice(_NAME_A)}_{rng.choice(_NAME_B)}_{rng.choice(_NAME_C)}"
                f"_{rng.randrange(10000):04d}")
        if name not in used:
            used.add(name)
            return name


@dataclass(frozen=True)
class QueryPlan:
    """Everything needed to render one query, and its truth entry."""

    truth: TruthQuery
    source: str  # clip path relative to the refs dir
    source_span: tuple[float, float] | None  # None: copy the file as it is
    edits: tuple[Edit, ...] = ()
    encode: EncodeSettings | None = None
    main_duration: float = 0.0

    def to_dict(self) -> dict:
        return {"truth": self.truth.to_dict(), "source": self.source,
                "source_span": list(self.source_span) if self.source_span else None,
                "edits": [e.to_dict() for e in self.edits],
                "encode": self.encode.to_dict() if self.encode else None,
                "main_duration": self.main_duration}


@dataclass
class _Planner:
    """Mutable planning state: the name generator and the names used."""

    seed: int
    footage: tuple[Footage, ...]
    max_height: int
    excerpt_range: tuple[float, float]
    preset: str = DEFAULT_PRESET
    used: set = field(default_factory=set)
    names: random.Random = field(default_factory=random.Random)

    def excerpt(self, rng: random.Random, clip: ClipInfo, length: float | None
                ) -> tuple[float, float]:
        low, high = self.excerpt_range
        if length is None:  # log-uniform: short excerpts are the common, hard case
            high = min(high, clip.duration)
            length = math.exp(rng.uniform(math.log(low), math.log(high))) if high > low else low
        length = min(length, clip.duration)
        start = rng.uniform(clip.start, clip.end - length)
        return round(start, 4), round(min(clip.end, start + length), 4)

    def query(self, rng: random.Random, clip: ClipInfo, span: tuple[float, float],
              names: Sequence[str], kind: str, extra: Mapping | None = None) -> QueryPlan:
        ctx = EditContext(footage=self.footage, source_fps=clip.fps, max_height=self.max_height)
        edits = sample_edits(names, rng, ctx)
        by_name = {e.name: e.params for e in edits}
        speed = float(by_name.get("speed", {}).get("factor", 1.0))
        main = (span[1] - span[0]) / speed
        prefix = float(by_name.get("splice", {}).get("prefix_s", 0.0))
        suffix = float(by_name.get("splice", {}).get("suffix_s", 0.0))
        encode = EncodeSettings(
            fps=float(by_name.get("fps", {}).get("fps", round(clip.fps, 3))),
            duration=round(prefix + main + suffix, 4),
            kbps_360p=by_name.get("low_bitrate", {}).get("kbps_360p"),
            max_height=self.max_height, preset=self.preset)
        params = {"edits": {e.name: dict(e.params) for e in edits},
                  "encode": encode.to_dict(), **(extra or {})}
        related = kind != "negative"
        truth = TruthQuery(
            query=f"{QUERY_DIR}/{seller_name(self.names, self.used)}.mp4",
            reference=clip.path if related else None,
            ref_span=span if related else None,
            query_span=(round(prefix, 4), round(prefix + main, 4)) if related else None,
            speed=speed, mirrored="mirror" in by_name, edits=tuple(e.name for e in edits),
            params=params, kind=kind)
        return QueryPlan(truth=truth, source=clip.path, source_span=span, edits=edits,
                         encode=encode, main_duration=round(main, 4))


def _natural_plan(planner: _Planner, ref: ClipInfo, clip: ClipInfo,
                  variant: Variant) -> QueryPlan | None:
    _, offset, rate = variant
    if rate <= 0:
        return None
    ref_start = max(ref.start, offset + clip.start * rate)
    ref_end = min(ref.end, offset + clip.end * rate)
    if ref_end - ref_start < 0.5:
        return None
    query_span = ((ref_start - offset) / rate, (ref_end - offset) / rate)
    suffix = Path(clip.path).suffix or ".mp4"
    truth = TruthQuery(
        query=f"{QUERY_DIR}/{seller_name(planner.names, planner.used)}{suffix}",
        reference=ref.path, ref_span=(round(ref_start, 4), round(ref_end, 4)),
        query_span=(round(query_span[0], 4), round(query_span[1], 4)), speed=rate,
        params={"source": clip.path}, kind="natural")
    return QueryPlan(truth=truth, source=clip.path, source_span=None)


def _resolve_variant(path: str, target: str, variants: Mapping[str, Variant]
                     ) -> Variant | None:
    """Compose a chain of variants from `path` down to `target`."""
    offset, rate, seen = 0.0, 1.0, set()
    while path != target:
        if path in seen or path not in variants:
            return None
        seen.add(path)
        parent, step_offset, step_rate = variants[path]
        offset, rate = step_offset + offset * step_rate, rate * step_rate
        path = parent
    return (target, offset, rate)


def _combos(rng: random.Random, names: Sequence[str], count: int) -> list[tuple[str, ...]]:
    chosen: list[tuple[str, ...]] = []
    if len(names) < 2:
        return chosen
    for _ in range(count * 20):
        if len(chosen) >= count:
            break
        size = rng.choice([2, 3]) if len(names) >= 3 else 2
        combo = tuple(sorted(rng.sample(list(names), size), key=EDIT_NAMES.index))
        if compatible(combo) and combo not in chosen:
            chosen.append(combo)
    return chosen


def plan_benchmark(clips: Sequence[ClipInfo], *, seed: int = 0,
                   negatives_fraction: float = 0.25, copies_per_ref: int = 1,
                   combos: bool = True, combos_per_ref: int = 3, whole_title: bool = True,
                   edits: Sequence[str] | None = None,
                   groups: Mapping[str, str] | None = None,
                   variants: Mapping[str, Variant] | None = None,
                   max_height: int = DEFAULT_MAX_HEIGHT,
                   excerpt_range: tuple[float, float] = EXCERPT_RANGE,
                   preset: str = DEFAULT_PRESET
                   ) -> tuple[list[ClipInfo], list[ClipInfo], list[QueryPlan]]:
    """Draw every random choice: (references, negatives, query plans)."""
    names = list(EDIT_NAMES if edits is None else edits)
    check_names(names)
    if not 0 <= negatives_fraction < 1:
        raise BenchmarkError(f"negatives_fraction must be in [0, 1), got {negatives_fraction}")
    if copies_per_ref < 0 or combos_per_ref < 0:
        raise BenchmarkError("copies_per_ref and combos_per_ref must be >= 0")
    if not 0 < excerpt_range[0] <= excerpt_range[1]:
        raise BenchmarkError(f"excerpt_range must be 0 < low <= high, got {excerpt_range}")
    if preset not in X264_PRESETS:
        raise BenchmarkError(f"unknown x264 preset {preset!r}; use one of {X264_PRESETS}")
    if max_height < 16:
        raise BenchmarkError(f"max_height must be at least 16, got {max_height}")
    if not clips:
        raise BenchmarkError("no readable video clips to build a benchmark from")
    variants = dict(variants or {})
    master = random.Random(seed)
    references, negatives, others = split_clips(clips, master, negatives_fraction,
                                                groups, variants, min_ref_seconds=excerpt_range[0])
    footage = tuple(Footage(c.path, c.duration) for c in negatives)
    if not footage:
        dropped = [n for n in names if EDIT_SPECS[n].needs_footage]
        if dropped:
            log.warning("no negative clips, so no unrelated footage: dropping %s", dropped)
        names = [n for n in names if not EDIT_SPECS[n].needs_footage]
    planner = _Planner(seed=seed, footage=footage, max_height=max_height,
                       excerpt_range=excerpt_range, preset=preset,
                       names=random.Random(f"{seed}:names"))
    plans: list[QueryPlan] = []
    for ref in references:
        rng = random.Random(f"{seed}:ref:{ref.path}")
        first = True
        for name in names:
            for _ in range(copies_per_ref):
                span = planner.excerpt(rng, ref, excerpt_range[0] if first else None)
                first = False
                plans.append(planner.query(rng, ref, span, [name], "copy"))
        if whole_title and names:
            plans.append(planner.query(rng, ref, (ref.start, ref.end), [rng.choice(names)],
                                       "copy", {"whole_title": True}))
        for combo in (_combos(rng, names, combos_per_ref) if combos else []):
            plans.append(planner.query(rng, ref, planner.excerpt(rng, ref, None), combo, "copy"))
        for clip in others.get(ref.path, []):
            variant = _resolve_variant(clip.path, ref.path, variants)
            plan = _natural_plan(planner, ref, clip, variant) if variant else None
            if plan is not None:
                plans.append(plan)
    plain = [n for n in names if not EDIT_SPECS[n].needs_footage]
    for clip in negatives:
        rng = random.Random(f"{seed}:neg:{clip.path}")
        plans.append(planner.query(rng, clip, (clip.start, clip.end), [], "negative",
                                   {"source": clip.path}))
        if plain:
            plans.append(planner.query(rng, clip, planner.excerpt(rng, clip, None),
                                       [rng.choice(plain)], "negative", {"source": clip.path}))
    return references, negatives, plans


# -- rendering ------------------------------------------------------------------

def render_query(plan: QueryPlan, refs_dir: str | os.PathLike, out_dir: str | os.PathLike,
                 threads: int = 0) -> Path:
    """Write one planned query under out_dir; returns its path."""
    refs_dir, target = Path(refs_dir), Path(out_dir) / plan.truth.query
    target.parent.mkdir(parents=True, exist_ok=True)
    source = refs_dir / plan.source
    if plan.source_span is None or plan.encode is None:
        shutil.copyfile(source, target)
        return target
    max_height = plan.encode.max_height
    ctx = EditContext(max_height=max_height, main_duration=plan.main_duration,
                      open_footage=lambda rel, start: loop_frames(refs_dir / rel, start,
                                                                  max_height))
    start, end = plan.source_span
    frames = ((t - start, frame) for t, frame in iter_frames(source, start, end, max_height))
    write_video(target, build_pipeline(plan.edits, ctx)(frames), plan.encode, threads)
    return target


def _render_job(args: tuple) -> str:
    plan, refs_dir, out_dir, threads = args
    return str(render_query(plan, refs_dir, out_dir, threads))


def _prepare_out_dir(out_dir: Path, overwrite: bool) -> None:
    if out_dir.exists() and any(out_dir.iterdir()):
        if not overwrite:
            raise BenchmarkError(f"{out_dir}: output folder is not empty (pass overwrite=True)")
        old = out_dir / TRUTH_NAME
        if old.exists():
            for query in load_truth(old).queries:
                stale = (out_dir / query.query).resolve()
                if out_dir.resolve() in stale.parents and stale.is_file():
                    stale.unlink()
    out_dir.mkdir(parents=True, exist_ok=True)


def make_benchmark(refs_dir: str | os.PathLike, out_dir: str | os.PathLike, *, seed: int = 0,
                   negatives_fraction: float = 0.25, copies_per_ref: int = 1,
                   combos: bool = True, combos_per_ref: int = 3, whole_title: bool = True,
                   edits: Sequence[str] | None = None,
                   groups: Mapping[str, str] | None = None,
                   variants: Mapping[str, Variant] | None = None,
                   max_height: int = DEFAULT_MAX_HEIGHT,
                   excerpt_range: tuple[float, float] = EXCERPT_RANGE,
                   preset: str = DEFAULT_PRESET, workers: int | None = None,
                   overwrite: bool = False,
                   progress: Progress | None = None) -> Truth:
    """Generate queries and truth.json in out_dir from the clips in refs_dir.

    Per reference: each edit in `edits` (default: all, see EDIT_NAMES) on
    `copies_per_ref` excerpts (log-uniform lengths in excerpt_range, clamped
    to the clip; the first one at the low end), one whole-title copy with a
    random edit, `combos_per_ref` combinations of 2-3 edits, and the group's
    other clips as "natural" queries when `variants` says how they map. Per
    negative: a plain re-encode and one edited excerpt. Frames are capped at
    max_height lines. Run time is mostly x264 (`preset`); `workers` processes
    render in parallel (default: CPU count). Raises BenchmarkError.
    """
    refs_dir, out_dir = Path(refs_dir), Path(out_dir)
    clips = find_clips(refs_dir, exclude=out_dir)
    references, negatives, plans = plan_benchmark(
        clips, seed=seed, negatives_fraction=negatives_fraction,
        copies_per_ref=copies_per_ref, combos=combos, combos_per_ref=combos_per_ref,
        whole_title=whole_title, edits=edits, groups=groups, variants=variants,
        max_height=max_height, excerpt_range=excerpt_range, preset=preset)
    _prepare_out_dir(out_dir, overwrite)
    workers = max(1, workers or os.cpu_count() or 1)
    jobs = [(plan, refs_dir, out_dir, 0 if workers == 1 else 1) for plan in plans]
    total = len(jobs)
    if workers == 1:
        for done, job in enumerate(jobs, 1):
            _render_job(job)
            if progress:
                progress(done, total, job[0].truth.query)
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(_render_job, job): job[0].truth.query for job in jobs}
            for done, future in enumerate(as_completed(futures), 1):
                future.result()
                if progress:
                    progress(done, total, futures[future])
    truth = Truth(seed=seed, references=tuple(c.path for c in references),
                  negatives=tuple(c.path for c in negatives),
                  queries=tuple(p.truth for p in plans),
                  refs_dir=os.path.relpath(refs_dir.resolve(), out_dir.resolve()))
    save_truth(truth, out_dir / TRUTH_NAME)
    return truth

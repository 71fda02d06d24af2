"""Build a copy-detection benchmark from a folder of reference clips.

``make_benchmark`` splits the clips into references and held-out negatives,
plans pirated-copy queries (every single edit, plus random combinations) and
unrelated negative queries, renders them with PyAV/libx264 and writes
truth.json (see TRUTH_FORMAT.md). All random choices are made while planning,
from the seed alone, so one seed always gives the same names, parameters and
truth. The widened benchmark (WIDENED, `fp bench --widened`) adds multi-scene
titles (titles.py), unrelated queries of every kind (negatives.py) and copies
of 2-3 s.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import random
import shutil
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Collection, Mapping, Sequence

from .negatives import SYNTH_FPS, HeldOut, NegativeDraw, draw_negatives, synthetic_frames
from .titles import map_into_title, plan_titles, render_title, title_clip
from .transforms import (DEFAULT_EDITS, EDIT_NAMES, EDIT_SPECS, Edit, EditContext, Footage, bitrate_of,
                         build_pipeline, check_names, compatible, sample_edits, speed_of)
from .truth import BenchmarkError, Title, Truth, TruthQuery, load_truth, save_truth
# Video I/O lives in videoio; these names stay importable from here.
from .videoio import (DEFAULT_CRF, DEFAULT_MAX_HEIGHT, DEFAULT_PRESET, X264_PRESETS,  # noqa: F401
                      ClipInfo, EncodeSettings, VideoEncodeError, clip_motion, frame_at, is_not_video,
                      iter_frames, loop_frames, probe_clip, write_video)

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]
EXCERPT_RANGE = (5.0, 30.0)
SHORT_RANGE = (2.0, 3.0)  # seconds of a short copy (a seller's preview)
QUERY_DIR = "queries"
TRUTH_NAME = "truth.json"
REFS_MIRROR = "refs"  # out_dir/refs: links to the clips, and the rendered titles
PLAN_NAME = "plan.sha256"  # digest of the plan being rendered: a rerun reuses finished files
# The widened benchmark of issue 11 (`fp bench --widened`): every edit twice per reference,
# multi-scene titles, 2-3 s copies and 320 unrelated queries of every kind.
WIDENED = {"titles": 3, "negatives_total": 320, "short_copies_per_ref": 6, "copies_per_ref": 2,
           "combos_per_ref": 4, "negatives_fraction": 0.1}


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


@dataclass(frozen=True)
class ClipsMeta:
    """What a clips.json says about the clips (see /work/shared/real_clips/MANIFEST.md)."""

    groups: Mapping[str, str] = field(default_factory=dict)  # clip path -> footage group
    variants: Mapping[str, Variant] = field(default_factory=dict)  # path -> (of, offset, rate)
    sets: Mapping[str, str] = field(default_factory=dict)  # path -> set (one room, one table)
    unused: frozenset[str] = frozenset()  # "use": false (e.g. a synthetic test pattern)


# Footage known to share a set, by file stem, for folders whose clips.json says nothing
# about sets: the MDN toys were filmed by one camera on one wooden table (MANIFEST.md).
KNOWN_SETS = {stem: "mdn-table" for stem in ("crystal", "elf", "frog", "monster", "pig",
                                             "rabbit", "rabbit320")}


def read_clips_json(path: str | os.PathLike) -> ClipsMeta:
    """Read a clips.json: groups, variants, optional "set" per clip and "use": false."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        groups, variants, sets, unused = {}, {}, {}, set()
        for clip in data["clips"]:
            if clip.get("group") is not None:
                groups[clip["path"]] = str(clip["group"])
            if clip.get("variant_of"):
                variants[clip["path"]] = (clip["variant_of"], float(clip.get("offset", 0.0)),
                                          float(clip.get("rate", 1.0)))
            if clip.get("set") is not None:
                sets[clip["path"]] = str(clip["set"])
            if clip.get("use") is False:
                unused.add(clip["path"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BenchmarkError(f"{path}: not a readable clips.json: {exc}") from exc
    return ClipsMeta(groups, variants, sets, frozenset(unused))


def groups_from_clips_json(path: str | os.PathLike
                           ) -> tuple[dict[str, str], dict[str, Variant]]:
    """({clip path: group}, {variant path: (variant_of, offset, rate)}) of a clips.json."""
    meta = read_clips_json(path)
    return dict(meta.groups), dict(meta.variants)


def known_sets(clips: Sequence[ClipInfo], meta: ClipsMeta | None = None) -> dict[str, str]:
    """Sets from clips.json, else KNOWN_SETS by file stem."""
    if meta is not None and meta.sets:
        return dict(meta.sets)
    return {c.path: KNOWN_SETS[Path(c.path).stem] for c in clips if Path(c.path).stem in KNOWN_SETS}


def _representative(members: list[ClipInfo], variants: Mapping[str, Variant]) -> ClipInfo:
    """The clip that stands for a group: longest, preferring non-variants."""
    return min(members, key=lambda c: (c.path in variants, -round(c.duration, 1), c.path))


def split_clips(clips: Sequence[ClipInfo], rng: random.Random, negatives_fraction: float,
                groups: Mapping[str, str] | None, variants: Mapping[str, Variant],
                min_ref_seconds: float = 0.0, sets: Mapping[str, str] | None = None,
                unused: Collection[str] = ()
                ) -> tuple[list[ClipInfo], list[ClipInfo], dict[str, list[ClipInfo]]]:
    """Returns (references, negatives, {reference path: other group members}).

    Footage shorter than `min_ref_seconds` (the shortest excerpt) cannot yield an in-spec copy,
    and `unused` footage is not real, so they are only ever negatives. Of footage sharing a
    set (`sets`: clip path -> set), a third (at least one) is kept as references and the rest
    held out: same-set negatives."""
    units: dict[str, list[ClipInfo]] = {}
    for clip in clips:
        key = (groups or {}).get(clip.path) or f"clip:{clip.path}"
        units.setdefault(key, []).append(clip)
    keys = sorted(units)
    rng.shuffle(keys)
    rep = {k: _representative(units[k], variants) for k in keys}
    forced_neg = [k for k in keys if rep[k].duration < min_ref_seconds or rep[k].path in unused]
    forced_ref: list[str] = []
    by_set: dict[str, list[str]] = {}
    for key in keys:
        if key not in forced_neg and (sets or {}).get(rep[key].path):
            by_set.setdefault(sets[rep[key].path], []).append(key)
    for members in by_set.values():
        if len(members) >= 2:
            keep = max(1, len(members) // 3)
            forced_ref += members[:keep]
            forced_neg += members[keep:]
    free = [k for k in keys if k not in forced_neg and k not in forced_ref]
    keys = forced_neg + free + forced_ref
    n_neg = round(negatives_fraction * len(keys))
    if len(keys) >= 3:
        n_neg = max(1, n_neg)
    n_neg = min(max(n_neg, len(forced_neg)), len(keys) - max(1, len(forced_ref)))
    references, negatives, others = [], [], {}
    for i, key in enumerate(keys):
        (negatives if i < n_neg else references).append(rep[key])
        if i >= n_neg:
            others[rep[key].path] = [c for c in units[key] if c is not rep[key]]
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
    source: str  # clip path relative to the refs dir ("" for a rendered negative)
    source_span: tuple[float, float] | None  # None: copy the file as it is
    edits: tuple[Edit, ...] = ()
    encode: EncodeSettings | None = None
    main_duration: float = 0.0
    synthetic: Mapping | None = None  # a rendered negative (negatives.synthetic_frames)

    def to_dict(self) -> dict:
        out = {"truth": self.truth.to_dict(), "source": self.source,
               "source_span": list(self.source_span) if self.source_span else None,
               "edits": [e.to_dict() for e in self.edits],
               "encode": self.encode.to_dict() if self.encode else None,
               "main_duration": self.main_duration}
        if self.synthetic is not None:
            out["synthetic"] = dict(self.synthetic)
        return out


@dataclass(frozen=True)
class BenchmarkPlan:
    """Every random choice of a benchmark, made before anything is rendered."""

    references: list[ClipInfo]  # single-scene references and titles, as indexed
    negatives: list[ClipInfo]  # held-out clips
    plans: list[QueryPlan]
    titles: list[Title] = field(default_factory=list)


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
              names: Sequence[str], kind: str, extra: Mapping | None = None,
              group: str | None = None) -> QueryPlan:
        ctx = EditContext(footage=self.footage, source_fps=clip.fps, max_height=self.max_height)
        edits = sample_edits(names, rng, ctx)
        by_name = {e.name: e.params for e in edits}
        speed = speed_of(edits)
        main = (span[1] - span[0]) / speed
        prefix = float(by_name.get("splice", {}).get("prefix_s", 0.0))
        suffix = float(by_name.get("splice", {}).get("suffix_s", 0.0))
        encode = EncodeSettings(
            fps=float(by_name.get("fps", {}).get("fps", round(clip.fps, 3))),
            duration=round(prefix + main + suffix, 4),
            kbps_360p=bitrate_of(edits),
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
            params=params, kind=kind, group=group)
        return QueryPlan(truth=truth, source=clip.path, source_span=span, edits=edits,
                         encode=encode, main_duration=round(main, 4))

    def rendered(self, draw: NegativeDraw) -> QueryPlan:
        """A negative drawn rather than cut from footage (a card, black, a held frame)."""
        encode = EncodeSettings(fps=SYNTH_FPS, duration=draw.duration,
                                max_height=self.max_height, preset=self.preset)
        params = {"synthetic": dict(draw.synthetic), "encode": encode.to_dict()}
        if draw.clip is not None:
            params["source"] = draw.clip.path
        truth = TruthQuery(query=f"{QUERY_DIR}/{seller_name(self.names, self.used)}.mp4",
                           reference=None, params=params, kind="negative", group=draw.group)
        return QueryPlan(truth=truth, source=draw.clip.path if draw.clip else "",
                         source_span=None, encode=encode, main_duration=draw.duration,
                         synthetic=draw.synthetic)


def _natural_plan(planner: _Planner, ref: ClipInfo, clip: ClipInfo,
                  variant: Variant, title: Title | None = None) -> QueryPlan | None:
    """A known third-party variant of a reference (or of a title's scene) as a query."""
    _, offset, rate = variant
    if rate <= 0:
        return None
    ref_start = max(ref.start, offset + clip.start * rate)
    ref_end = min(ref.end, offset + clip.end * rate)
    if ref_end - ref_start < 0.5:
        return None
    ref_span, reference = (ref_start, ref_end), ref.path
    if title is not None:
        mapped = map_into_title(title, ref.path, ref_span)
        if mapped is None:
            return None
        (ref_start, ref_end), ref_span = mapped[1], mapped[0]
        reference = title.path
    query_span = ((ref_start - offset) / rate, (ref_end - offset) / rate)
    suffix = Path(clip.path).suffix or ".mp4"
    truth = TruthQuery(
        query=f"{QUERY_DIR}/{seller_name(planner.names, planner.used)}{suffix}",
        reference=reference, ref_span=(round(ref_span[0], 4), round(ref_span[1], 4)),
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


def _held_out(negatives: Sequence[ClipInfo], leftovers: Sequence[HeldOut],
              sets: Mapping[str, str], indexed: Collection[str]) -> list[HeldOut]:
    """Held-out footage for negatives; footage sharing a set with indexed footage is same_set."""
    indexed_sets = {sets[p] for p in indexed if p in sets}
    out = [HeldOut(c, c.start, c.end, "same_set" if sets.get(c.path) in indexed_sets else "heldout")
           for c in negatives]
    return out + list(leftovers)


def plan_benchmark(clips: Sequence[ClipInfo], *, seed: int = 0,
                   negatives_fraction: float = 0.25, copies_per_ref: int = 1,
                   combos: bool = True, combos_per_ref: int = 3, whole_title: bool = True,
                   edits: Sequence[str] | None = None,
                   groups: Mapping[str, str] | None = None,
                   variants: Mapping[str, Variant] | None = None,
                   max_height: int = DEFAULT_MAX_HEIGHT,
                   excerpt_range: tuple[float, float] = EXCERPT_RANGE,
                   preset: str = DEFAULT_PRESET,
                   titles: int = 0, sets: Mapping[str, str] | None = None,
                   unused: Collection[str] = (), motion: Callable[[str], float] | None = None,
                   negatives_total: int | None = None, short_copies_per_ref: int = 0
                   ) -> BenchmarkPlan:
    """Draw every random choice. See make_benchmark for the arguments."""
    names = list(DEFAULT_EDITS if edits is None else edits)
    check_names(names)
    if not 0 <= negatives_fraction < 1:
        raise BenchmarkError(f"negatives_fraction must be in [0, 1), got {negatives_fraction}")
    if copies_per_ref < 0 or combos_per_ref < 0 or short_copies_per_ref < 0 or titles < 0:
        raise BenchmarkError("copies, combinations, short copies and titles must be >= 0")
    if not 0 < excerpt_range[0] <= excerpt_range[1]:
        raise BenchmarkError(f"excerpt_range must be 0 < low <= high, got {excerpt_range}")
    if preset not in X264_PRESETS:
        raise BenchmarkError(f"unknown x264 preset {preset!r}; use one of {X264_PRESETS}")
    if max_height < 16:
        raise BenchmarkError(f"max_height must be at least 16, got {max_height}")
    if not clips:
        raise BenchmarkError("no readable video clips to build a benchmark from")
    variants, sets = dict(variants or {}), dict(sets or {})
    master = random.Random(seed)
    references, negatives, others = split_clips(clips, master, negatives_fraction,
                                                groups, variants, min_ref_seconds=excerpt_range[0],
                                                sets=sets, unused=unused)
    title_list: list[Title] = []
    leftovers: list[HeldOut] = []
    if titles:
        in_set = [c.path for c in references
                  if sets.get(c.path) and any(sets.get(n.path) == sets[c.path] for n in negatives)]
        pool = [c for c in references if c.width >= c.height]
        stillness = {c.path: motion(c.path) for c in pool} if motion else None
        title_list, references, leftovers = plan_titles(
            random.Random(f"{seed}:titles"), references, titles, set_scenes=in_set,
            motion=stillness)
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
    indexed = references + [title_clip(t, max_height) for t in title_list]
    for ref in indexed:
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
        title = next((t for t in title_list if t.path == ref.path), None)
        sources = ([(ref, None)] if title is None else
                   [(c, title) for c in clips if c.path in {s.source for s in title.scenes}])
        for source, in_title in sources:
            for clip in others.get(source.path, []):
                variant = _resolve_variant(clip.path, source.path, variants)
                plan = _natural_plan(planner, source, clip, variant, in_title) if variant else None
                if plan is not None:
                    plans.append(plan)
        for _ in range(short_copies_per_ref):
            span = planner.excerpt(rng, ref, round(rng.uniform(*SHORT_RANGE), 4))
            edit = [] if rng.random() < 0.25 else [rng.choice(names)]
            plans.append(planner.query(rng, ref, span, edit, "copy", group="short"))
    plain = [n for n in names if not EDIT_SPECS[n].needs_footage]
    if negatives_total is None:
        for clip in negatives:
            rng = random.Random(f"{seed}:neg:{clip.path}")
            plans.append(planner.query(rng, clip, (clip.start, clip.end), [], "negative",
                                       {"source": clip.path}))
            if plain:
                plans.append(planner.query(rng, clip, planner.excerpt(rng, clip, None),
                                           [rng.choice(plain)], "negative", {"source": clip.path}))
    else:
        scene_paths = [s.source for t in title_list for s in t.scenes]
        sources = _held_out(negatives, leftovers, sets, [c.path for c in references] + scene_paths)
        rng = random.Random(f"{seed}:negatives")
        for draw in draw_negatives(rng, sources, negatives_total):
            if draw.synthetic is not None:
                plans.append(planner.rendered(draw))
                continue
            edit = [rng.choice(plain)] if draw.edited and plain else []
            plans.append(planner.query(rng, draw.clip, draw.span, edit, "negative",
                                       {"source": draw.clip.path}, group=draw.group))
    return BenchmarkPlan(references=indexed, negatives=negatives, plans=plans, titles=title_list)


# -- rendering ------------------------------------------------------------------

def render_query(plan: QueryPlan, refs_dir: str | os.PathLike, out_dir: str | os.PathLike,
                 threads: int = 0) -> Path:
    """Write one planned query under out_dir (whole or not at all); returns its path."""
    refs_dir, target = Path(refs_dir), Path(out_dir) / plan.truth.query
    target.parent.mkdir(parents=True, exist_ok=True)
    part = partial_path(target)
    source = refs_dir / plan.source
    if plan.synthetic is not None:
        still = None
        if plan.synthetic.get("kind") == "still":
            still = frame_at(source, plan.synthetic["t"], plan.encode.max_height)
        write_video(part, synthetic_frames(plan.synthetic, plan.main_duration, still), plan.encode,
                    threads)
    elif plan.source_span is None or plan.encode is None:
        shutil.copyfile(source, part)
    else:
        max_height = plan.encode.max_height
        ctx = EditContext(max_height=max_height, main_duration=plan.main_duration,
                          open_footage=lambda rel, start: loop_frames(refs_dir / rel, start,
                                                                      max_height))
        start, end = plan.source_span
        frames = ((t - start, frame) for t, frame in iter_frames(source, start, end, max_height))
        write_video(part, build_pipeline(plan.edits, ctx)(frames), plan.encode, threads)
    os.replace(part, target)
    return target


def partial_path(target: Path) -> Path:
    """Where a file is written before it is moved into place (same folder, same extension)."""
    return target.with_name(f"{target.stem}.part{target.suffix}")


def plan_digest(plan: BenchmarkPlan) -> str:
    """sha256 of everything a plan renders (queries and titles)."""
    text = json.dumps({"plans": [p.to_dict() for p in plan.plans],
                       "titles": [t.to_dict() for t in plan.titles]}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _render_job(args: tuple) -> str:
    plan, refs_dir, out_dir, threads = args
    return str(render_query(plan, refs_dir, out_dir, threads))


def _title_job(args: tuple) -> str:
    title, refs_dir, preset, max_height = args
    return str(render_title(title, refs_dir, preset, max_height))


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
        shutil.rmtree(out_dir / REFS_MIRROR, ignore_errors=True)
    out_dir.mkdir(parents=True, exist_ok=True)


def _mirror_refs(refs_dir: Path, clips: Sequence[ClipInfo], mirror: Path,
                 titles: Sequence[Title]) -> None:
    """A refs folder of links to the clips, beside which the titles go, with a clips.json
    that lists the titles as "use": false (they repeat footage listed already)."""
    for clip in clips:
        link = mirror / clip.path
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink():
            link.unlink()
        link.symlink_to((refs_dir / clip.path).resolve())
    data = {"version": 1, "clips": []}
    if (refs_dir / "clips.json").exists():
        data = json.loads((refs_dir / "clips.json").read_text(encoding="utf-8"))
    for title in titles:
        data["clips"].append({"path": title.path, "group": f"title:{title.path}", "use": False,
                              "note": "multi-scene title joined from "
                                      + ", ".join(s.source for s in title.scenes)})
    (mirror / "clips.json").write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def _run_jobs(fn, jobs: list, labels: list[str], workers: int, progress: Progress | None,
              offset: int = 0, total: int | None = None) -> None:
    total = total or len(jobs)
    if workers == 1:
        for done, (job, label) in enumerate(zip(jobs, labels), offset + 1):
            fn(job)
            if progress:
                progress(done, total, label)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(fn, job): label for job, label in zip(jobs, labels)}
        for done, future in enumerate(as_completed(futures), offset + 1):
            future.result()
            if progress:
                progress(done, total, futures[future])


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
                   progress: Progress | None = None,
                   titles: int = 0, sets: Mapping[str, str] | None = None,
                   unused: Collection[str] = (), negatives_total: int | None = None,
                   short_copies_per_ref: int = 0) -> Truth:
    """Generate queries and truth.json in out_dir from the clips in refs_dir.

    Per reference: each edit in `edits` (default: all, see EDIT_NAMES) on
    `copies_per_ref` excerpts (log-uniform lengths in excerpt_range, clamped
    to the clip; the first one at the low end), one whole-title copy with a
    random edit, `combos_per_ref` combinations of 2-3 edits,
    `short_copies_per_ref` copies of 2-3 s (group "short"), and the group's
    other clips as "natural" queries when `variants` says how they map. Per
    negative clip: a plain re-encode and one edited excerpt; or, with
    `negatives_total`, that many unrelated queries of every kind in
    negatives.py. `titles` > 0 joins clips into that many multi-scene
    references (titles.py; same-set footage per `sets` is split between a
    title's scene and the negatives); the clips are then linked into
    out_dir/refs, the titles rendered there, and truth.json points at it.
    `unused` clips are never references. Frames are capped at max_height
    lines. Run time is mostly x264 (`preset`); `workers` processes render in
    parallel (default: CPU count). Raises BenchmarkError.
    """
    refs_dir, out_dir = Path(refs_dir), Path(out_dir)
    clips = find_clips(refs_dir, exclude=out_dir)
    motion_cache: dict[str, float] = {}

    def motion(rel: str) -> float:
        if rel not in motion_cache:
            motion_cache[rel] = clip_motion(refs_dir / rel)
        return motion_cache[rel]

    plan = plan_benchmark(
        clips, seed=seed, negatives_fraction=negatives_fraction,
        copies_per_ref=copies_per_ref, combos=combos, combos_per_ref=combos_per_ref,
        whole_title=whole_title, edits=edits, groups=groups, variants=variants,
        max_height=max_height, excerpt_range=excerpt_range, preset=preset, titles=titles,
        sets=sets, unused=unused, motion=motion, negatives_total=negatives_total,
        short_copies_per_ref=short_copies_per_ref)
    digest = plan_digest(plan)
    stamp = out_dir / PLAN_NAME
    reuse = overwrite and stamp.exists() and stamp.read_text().strip() == digest
    if reuse:
        log.info("%s: same plan as the files there; rendering only what is missing", out_dir)
    else:
        _prepare_out_dir(out_dir, overwrite)
    stamp.write_text(digest + "\n")
    source_dir = refs_dir
    if plan.titles:
        source_dir = out_dir / REFS_MIRROR
        _mirror_refs(refs_dir, clips, source_dir, plan.titles)
    workers = max(1, workers or os.cpu_count() or 1)
    threads = 0 if workers == 1 else 1
    titles = [t for t in plan.titles if not (reuse and (source_dir / t.path).exists())]
    queries = [p for p in plan.plans if not (reuse and (out_dir / p.truth.query).exists())]
    done = len(plan.titles) - len(titles) + len(plan.plans) - len(queries)
    total = len(plan.titles) + len(plan.plans)
    _run_jobs(_title_job, [(t, source_dir, preset, max_height) for t in titles],
              [t.path for t in titles], workers, progress, done, total)
    _run_jobs(_render_job, [(p, source_dir, out_dir, threads) for p in queries],
              [p.truth.query for p in queries], workers, progress, done + len(titles), total)
    truth = Truth(seed=seed, references=tuple(c.path for c in plan.references),
                  negatives=tuple(c.path for c in plan.negatives),
                  queries=tuple(p.truth for p in plan.plans),
                  refs_dir=os.path.relpath(source_dir.resolve(), out_dir.resolve()),
                  titles=tuple(plan.titles))
    save_truth(truth, out_dir / TRUTH_NAME)
    return truth

"""fp bench --scale HOURS: cost of a reference library of HOURS, through fp's public API.

1. Material (cached under OUT/cache): every clip in the refs folder fingerprinted once with the
   REFERENCE config; the clips split (seeded, as the accuracy benchmark does) into references and
   unrelated footage; a handful of suspects rendered with the benchmark's edits and padded with
   unrelated footage to SUSPECT_SECONDS (default 60 s): disguised copies of references (whole
   titles, then natural variants, then excerpts) and unrelated montages; each suspect
   fingerprinted once with the QUERY config (decoding is not part of the timed search).
2. Build, in a fresh process: `Library.add` the real references, then synthetic films made of
   the masked real fingerprints (benchmarks/synthetic.py) one film at a time until the library
   holds HOURS, then `Library.save_index()`. Peak RSS of that process = build_peak_rss_mb.
3. Match, in another fresh process with FAISS/OpenMP/BLAS on one thread: open the library
   read-only and build a Matcher (open_s), then per suspect a fresh Matcher's
   `match_fingerprint` (what one `fp match` pays after opening: search, alignment,
   verification, the chance model's first use) and the same call again (warm caches).
   Peak RSS of that process = match_peak_rss_mb.

Results: one JSON object (OUT/scale-<hours>h.json); `python -m fp.benchmarks.scale plot` draws
cost against library hours from several of them, `... table` writes the SCALE.md table.
"""
from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import logging
import math
import os
import random
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

from .child import ChildOutcome, check, rss_mb, run_child
from .demo import SAMPLE_CLIPS
from .generate import (EncodeSettings, ClipInfo, QueryPlan, find_clips, groups_from_clips_json, iter_frames,
                       loop_frames, plan_benchmark, probe_clip, render_query, write_video)
from .metrics import Outcome, iou
from .transforms import cover
from .truth import BenchmarkError

log = logging.getLogger(__name__)

Progress = Callable[[str, float, float], None]  # (stage, done, total)

COPY_EDITS = ("mirror", "crop", "brightness", "letterbox", "logo", "low_bitrate")
NEGATIVES_FRACTION = 0.4  # of the clip groups held out as unrelated footage (3 of the 8 sample groups)
MAX_HEIGHT = 360  # suspects are rendered at most this tall (cheap, and typical of re-uploads)
SUSPECT_FPS = 25.0
CACHE_VERSION = 1
# Targets of issue 12 (benchmarks/SCALE.md): per video hour and for a 60 s suspect.
TARGETS = {"bytes_per_hour": 1_000_000, "build_peak_rss_mb": 16 * 1024, "match_peak_rss_mb": 8 * 1024,
           "search_s_copy": 2.0, "search_s_unrelated": 2.0}
KEYS = ("hours", "bytes_per_hour", "build_s", "build_peak_rss_mb", "open_s", "match_peak_rss_mb",
        "search_s_copy", "search_s_unrelated", "recall", "false_matches")


@dataclass(frozen=True)
class ScaleConfig:
    hours: float
    out: Path
    refs: Path = SAMPLE_CLIPS
    seed: int = 0
    film_minutes: float = 90.0  # length of each synthetic film
    suspect_seconds: float = 60.0  # suspects are padded with unrelated footage to at least this
    copies: int = 6
    unrelated: int = 3
    reuse_library: bool = False  # match against OUT/library-<hours>h as it is (no build)
    match_threads: int = 1
    disk_margin: float = 1.3  # refuse a build whose extrapolated size times this exceeds the free disk
    mem_limit_mb: float | None = None  # stop a step past this resident size (default: 80 % of the machine's memory)

    @property
    def library(self) -> Path:
        return self.out / f"library-{self.hours:g}h"

    @property
    def result_path(self) -> Path:
        return self.out / f"scale-{self.hours:g}h.json"


@dataclass(frozen=True)
class Suspect:
    """A rendered suspect and its truth (reference None: unrelated footage)."""

    name: str
    video: str
    fingerprint: str  # .npz of its QUERY fingerprint
    kind: str  # "copy" | "natural" | "negative"
    duration: float
    reference: str | None = None  # absolute path of the reference clip
    ref_span: tuple[float, float] | None = None
    query_span: tuple[float, float] | None = None
    edits: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Material:
    references: tuple[dict, ...]  # {path, title, content_hash, size, fingerprint}
    clip_fingerprints: tuple[str, ...]  # .npz of every clip's REFERENCE fingerprint (film material)
    suspects: tuple[Suspect, ...]


# -- material ---------------------------------------------------------------------------------

def _sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _fingerprint_cached(video: Path, target: Path, config, key: dict) -> Path:
    """`video`'s fingerprint with `config`, from the cache when made from the same bytes and settings."""
    from fp.fingerprint.pipeline import fingerprint_video

    from .synthetic import load_fingerprint, save_fingerprint

    key = {**key, "sha256": _sha256(video), "config": config.to_dict(), "params": config.hash_params(),
           "version": CACHE_VERSION}
    if target.exists():
        try:
            if load_fingerprint(target)[1] == key:
                return target
        except (OSError, ValueError, KeyError):
            pass
    save_fingerprint(fingerprint_video(video, config), target, extra=key)
    return target


def _take(stream, seconds: float, shift: float) -> Iterator:
    for t, frame in stream:
        if t >= seconds - 1e-6:
            break
        yield t + shift, frame


def _pad(rendered: Path, padding: Sequence[Path], total: float, target: Path, rng: random.Random
         ) -> tuple[float, float]:
    """Write `rendered` with unrelated footage before and after it, `total` seconds in all.
    Returns (start of the copied part in target, its length)."""
    info = probe_clip(rendered)
    if info is None:
        raise BenchmarkError(f"{rendered}: the rendered suspect is not readable")
    length = info.duration + 1.0 / info.fps
    if not padding or length >= total - 0.5:
        shutil.copyfile(rendered, target)
        return 0.0, length
    copy = iter_frames(rendered, max_height=MAX_HEIGHT)
    first = next(copy)
    height, width = first[1].shape[:2]
    prefix = round(rng.uniform(0.0, total - length), 3)
    before, after, skip = rng.choice(list(padding)), rng.choice(list(padding)), rng.uniform(0, 2.0)

    def stream():
        yield from ((t, cover(f, width, height)) for t, f in _take(loop_frames(before, 0.0, MAX_HEIGHT), prefix, 0.0))
        for t, f in itertools.chain([first], copy):
            yield t - info.start + prefix, f
        yield from ((t, cover(f, width, height)) for t, f in
                    _take(loop_frames(after, skip, MAX_HEIGHT), total - prefix - length, prefix + length))

    write_video(target, stream(), EncodeSettings(fps=SUSPECT_FPS, duration=total, max_height=MAX_HEIGHT,
                                                 preset="superfast"))
    return prefix, length


def _pick_suspects(plans: Sequence[QueryPlan], clips: dict[str, ClipInfo], copies: int, unrelated: int
                   ) -> list[QueryPlan]:
    """Whole titles (longest first), then natural variants, then excerpts; then unrelated clips
    (plain re-encodes first)."""
    def order(p: QueryPlan):
        whole = bool(p.truth.params.get("whole_title"))
        rank = 0 if whole else 1 if p.truth.kind == "natural" else 2
        return rank, -clips[p.truth.reference].duration if whole else 0.0

    related = sorted((p for p in plans if p.truth.kind != "negative"), key=order)
    negatives = sorted((p for p in plans if p.truth.kind == "negative"), key=lambda p: len(p.truth.edits))
    return related[:copies] + negatives[:unrelated]


def prepare_material(config: ScaleConfig, progress: Progress | None = None) -> Material:
    """Fingerprint the clips and render + fingerprint the suspects (cached in OUT/cache)."""
    from fp.fingerprint.pipeline import QUERY, REFERENCE

    refs_dir = Path(config.refs).resolve()
    cache = config.out / "cache"
    clips = find_clips(refs_dir, exclude=config.out)
    if not clips:
        raise BenchmarkError(f"{refs_dir}: no readable video clips")
    groups = variants = None
    if (refs_dir / "clips.json").exists():
        groups, variants = groups_from_clips_json(refs_dir / "clips.json")
    plan = plan_benchmark(
        clips, seed=config.seed, negatives_fraction=NEGATIVES_FRACTION, combos=False, whole_title=True,
        edits=list(COPY_EDITS), groups=groups, variants=variants, max_height=MAX_HEIGHT, preset="superfast")
    references, negatives, plans = plan.references, plan.negatives, plan.plans
    chosen = _pick_suspects(plans, {c.path: c for c in clips}, config.copies, config.unrelated)
    total = len(clips) + len(chosen)
    step = 0

    def tick(label: str) -> None:
        nonlocal step
        step += 1
        if progress:
            progress(f"material {label}", step, total)

    clip_fps = []
    for c in clips:
        clip_fps.append(str(_fingerprint_cached(refs_dir / c.path, cache / "clips" / (c.path.replace("/", "__") + ".npz"),
                                                REFERENCE, {"clip": c.path})))
        tick(c.path)
    by_path = {c.path: fp for c, fp in zip(clips, clip_fps)}
    reference_rows = tuple(
        {"path": str(refs_dir / c.path), "title": Path(c.path).stem, "content_hash": _sha256(refs_dir / c.path),
         "size": (refs_dir / c.path).stat().st_size, "fingerprint": by_path[c.path]} for c in references)

    padding = [refs_dir / c.path for c in negatives]
    suspects = []
    for plan in chosen:
        suspects.append(_suspect(plan, refs_dir, cache / "suspects", padding, config, QUERY))
        tick(suspects[-1].name)
    return Material(reference_rows, tuple(clip_fps), tuple(suspects))


def _suspect(plan: QueryPlan, refs_dir: Path, folder: Path, padding: list[Path], config: ScaleConfig, query_config
             ) -> Suspect:
    from fp.fingerprint.decode import stream_duration

    name = Path(plan.truth.query).stem
    video = folder / f"{name}.mp4"
    manifest = folder / f"{name}.json"
    key = {"plan": plan.to_dict(), "total": config.suspect_seconds, "padding": [p.name for p in padding],
           "version": CACHE_VERSION, "seed": config.seed}
    known = json.loads(manifest.read_text()) if manifest.exists() else None
    if known is None or known.get("key") != key or not video.exists():
        folder.mkdir(parents=True, exist_ok=True)
        rendered = render_query(plan, refs_dir, folder / "render")
        start, length = _pad(rendered, padding, config.suspect_seconds, video, random.Random(f"{config.seed}:{name}"))
        rendered.unlink(missing_ok=True)
        known = {"key": key, "start": start, "length": length}
        manifest.write_text(json.dumps(known))
    fingerprint = _fingerprint_cached(video, folder / f"{name}.npz", query_config, {"suspect": name})
    truth, start = plan.truth, known["start"]
    return Suspect(
        name=name, video=str(video), fingerprint=str(fingerprint), kind=truth.kind, duration=round(stream_duration(video), 3),
        reference=str(refs_dir / truth.reference) if truth.reference else None,
        ref_span=tuple(truth.ref_span) if truth.ref_span else None,
        query_span=(round(truth.query_span[0] + start, 3), round(truth.query_span[1] + start, 3)) if truth.query_span else None,
        edits=tuple(truth.edits))


# -- the two measured steps (run in fresh processes by fp.benchmarks.child) ---------------------

def _folder_bytes(root: Path) -> int:
    return sum(f.stat().st_size for f in Path(root).iterdir() if f.is_file())


def build_step(library: str, hours: float, references: list[dict], material: list[str], film_minutes: float,
               seed: int, disk_margin: float, report=None) -> dict:
    """Build a library of `hours`: the real references, then synthetic films, streamed."""
    from fp.index.library import Library

    from .synthetic import iter_films, load_fingerprint

    root = Path(library)
    if root.exists():
        shutil.rmtree(root)
    start = time.perf_counter()
    clips = [load_fingerprint(p)[0] for p in material]
    lib = Library(root)
    real_s = 0.0
    for ref in references:
        fpr = load_fingerprint(ref["fingerprint"])[0]
        lib.add(fpr, path=ref["path"], title=ref["title"], content_hash=ref["content_hash"], size=ref["size"],
                metadata={"real": True})
        real_s += fpr.duration
    synthetic_s = max(0.0, hours * 3600 - real_s)
    done, checked_at, films = 0.0, 0.0, 0
    free = shutil.disk_usage(root).free
    for number, film in iter_films(clips, synthetic_s, film_minutes * 60, seed):
        digest = hashlib.sha256(f"fp-scale-film:{seed}:{number}".encode()).hexdigest()
        lib.add(film, path=f"/synthetic/film_{number:06d}.mp4", title=f"film {number:06d}", content_hash=digest,
                size=0, metadata={"synthetic": True})
        done += film.duration
        films += 1
        if done - checked_at >= max(film_minutes * 60, 0.05 * synthetic_s) or done >= synthetic_s - 1e-6:
            checked_at = done
            used = _folder_bytes(root)
            expected = used / (done + real_s) * hours * 3600 * disk_margin
            if expected - used > free:
                raise BenchmarkError(f"{root}: a {hours:g} h library would need about {expected / 1e9:.1f} GB "
                                     f"(extrapolated from {(done + real_s) / 3600:.2f} h), {free / 1e9:.1f} GB free")
            if report:
                report({"stage": "build", "done": (done + real_s) / 3600, "total": hours,
                        "bytes": used, "elapsed": time.perf_counter() - start})
    add_s = time.perf_counter() - start
    if report:
        report({"stage": "index", "done": hours, "total": hours})
    lib.save_index()
    build_s = time.perf_counter() - start
    stats = lib.stats()
    lib.close()
    return {"build_s": build_s, "add_s": add_s, "index_s": build_s - add_s, "films": films,
            "real_seconds": real_s, "stats": stats}


def match_step(library: str, suspects: list[dict], report=None) -> dict:
    """Open the library read-only, then time `match_fingerprint` per suspect (fresh Matcher, then warm)."""
    from fp.index.library import Library
    from fp.index.matcher import Matcher

    from .synthetic import load_fingerprint

    start = time.perf_counter()
    lib = Library(library, create=False, readonly=True)
    Matcher(lib)
    open_s = time.perf_counter() - start
    open_rss, open_anon = rss_mb(), rss_mb(key="RssAnon")
    rows = []
    for n, suspect in enumerate(suspects, 1):
        fpr = load_fingerprint(suspect["fingerprint"])[0]
        t0 = time.perf_counter()
        matcher = Matcher(lib)
        t1, c1 = time.perf_counter(), time.process_time()
        result = matcher.match_fingerprint(fpr, query=suspect["name"])
        t2, c2 = time.perf_counter(), time.process_time()
        matcher.match_fingerprint(fpr, query=suspect["name"])
        t3 = time.perf_counter()
        rows.append({"name": suspect["name"], "matcher_s": t1 - t0, "search_s": t2 - t1, "search_cpu_s": c2 - c1,
                     "warm_s": t3 - t2, "verdict": result.verdict, "frames": len(fpr),
                     "matches": [{"ref_path": m.ref_path, "title": m.title, "chance": m.chance,
                                  "query_span": list(m.query_span), "ref_span": list(m.ref_span)} for m in result.matches]})
        if report:
            report({"stage": "match", "done": n, "total": len(suspects)})
    # a mapped index's pages are file pages: shared between processes and reclaimable
    end = {"end_anon_mb": rss_mb(key="RssAnon"), "end_file_mb": rss_mb(key="RssFile"), "index_mapped": lib.index.mapped}
    lib.close()
    return {"open_s": open_s, "open_rss_mb": open_rss, "open_anon_mb": open_anon, **end, "suspects": rows}


# -- the benchmark ----------------------------------------------------------------------------

def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _outcomes(suspects: Sequence[Suspect], rows: Sequence[dict]) -> list[tuple[Suspect, dict, Outcome]]:
    out = []
    for s, row in zip(suspects, rows):
        refs = [m["ref_path"] for m in row["matches"]]
        best = row["matches"][0] if row["matches"] else None
        out.append((s, row, Outcome(
            query=s.name, truth_ref=s.reference, predicted_ref=refs[0] if refs else None,
            score=-math.log10(max(best["chance"], 1e-300)) if best else float("-inf"), edits=s.edits, kind=s.kind,
            true_query_span=s.query_span, true_ref_span=s.ref_span,
            query_span=tuple(best["query_span"]) if best else None, ref_span=tuple(best["ref_span"]) if best else None,
            other_refs=tuple(refs[1:]))))
    return out


def run_scale(config: ScaleConfig, progress: Progress | None = None) -> dict:
    """Build (unless reused) and measure a library of `config.hours`; returns the result object
    (also written to OUT/scale-<hours>h.json)."""
    if not config.hours > 0:
        raise BenchmarkError(f"--scale must be a positive number of hours, got {config.hours:g}")
    config.out.mkdir(parents=True, exist_ok=True)
    material = prepare_material(config, progress)
    load_before = os.getloadavg()[0]

    def forward(message: dict) -> None:
        if progress:
            progress(message["stage"], message["done"], message["total"])

    limit = config.mem_limit_mb or 0.8 * _total_memory_mb()
    built: dict | None = None
    build: ChildOutcome | None = None
    if config.reuse_library and config.library.exists():
        log.info("reusing %s", config.library)
    else:
        build = check(run_child("fp.benchmarks.scale:build_step", {
            "library": str(config.library), "hours": config.hours, "references": list(material.references),
            "material": list(material.clip_fingerprints), "film_minutes": config.film_minutes, "seed": config.seed,
            "disk_margin": config.disk_margin}, on_report=forward, mem_limit_mb=limit), "building the library")
        built = build.value
    match = check(run_child("fp.benchmarks.scale:match_step", {
        "library": str(config.library), "suspects": [s.to_dict() for s in material.suspects]},
        threads=config.match_threads, on_report=forward, mem_limit_mb=limit), "matching the suspects")
    matched = match.value
    stats = built["stats"] if built else None
    if stats is None:
        from fp.index.library import Library

        with Library(config.library, create=False, readonly=True) as lib:
            stats = lib.stats()
    outcomes = _outcomes(material.suspects, matched["suspects"])
    copies = [(s, r, o) for s, r, o in outcomes if o.truth_ref is not None]
    unrelated = [(s, r, o) for s, r, o in outcomes if o.truth_ref is None]
    result = {
        "hours": stats["hours"],
        "bytes_per_hour": stats["bytes_per_video_hour"],
        "build_s": round(built["build_s"], 2) if built else None,
        "build_peak_rss_mb": round(build.peak_rss_mb, 1) if build else None,
        "open_s": round(matched["open_s"], 3),
        "match_peak_rss_mb": round(match.peak_rss_mb, 1),
        "search_s_copy": _round(_mean([r["search_s"] for _, r, _ in copies])),
        "search_s_unrelated": _round(_mean([r["search_s"] for _, r, _ in unrelated])),
        "recall": _round(_mean([float(o.correct) for _, _, o in copies])),
        "false_matches": sum(o.false_match for _, _, o in outcomes),
        # more detail
        "hours_requested": config.hours,
        "videos": stats["videos"],
        "hashes": stats["hashes"],
        "bytes": stats["bytes"],
        "index_type": stats["index_type"],
        "add_s": round(built["add_s"], 2) if built else None,
        "index_s": round(built["index_s"], 2) if built else None,
        "films": built["films"] if built else None,
        "build_cpu_s": round(build.cpu_s, 2) if build else None,
        "build_baseline_rss_mb": round(build.baseline_rss_mb, 1) if build else None,
        "match_baseline_rss_mb": round(match.baseline_rss_mb, 1),
        "open_rss_mb": round(matched["open_rss_mb"], 1),
        "open_anon_mb": _round(matched.get("open_anon_mb")),
        "match_end_anon_mb": _round(matched.get("end_anon_mb")),
        "match_end_file_mb": _round(matched.get("end_file_mb")),
        "index_mapped": matched.get("index_mapped"),
        "search_s_copy_max": _round(max((r["search_s"] for _, r, _ in copies), default=None)),
        "search_s_unrelated_max": _round(max((r["search_s"] for _, r, _ in unrelated), default=None)),
        "search_cpu_s_copy": _round(_mean([r["search_cpu_s"] for _, r, _ in copies])),
        "search_cpu_s_unrelated": _round(_mean([r["search_cpu_s"] for _, r, _ in unrelated])),
        "search_s_copy_warm": _round(_mean([r["warm_s"] for _, r, _ in copies])),
        "search_s_unrelated_warm": _round(_mean([r["warm_s"] for _, r, _ in unrelated])),
        "copies": len(copies),
        "unrelated": len(unrelated),
        "match_threads": config.match_threads,
        "film_minutes": config.film_minutes,
        "suspect_seconds": config.suspect_seconds,
        "seed": config.seed,
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "cpus": os.cpu_count(),
        "library": str(config.library),
        "reused_library": built is None,
        "suspects": [_suspect_row(s, r, o) for s, r, o in outcomes],
        "targets": TARGETS,
    }
    config.result_path.write_text(json.dumps(result, indent=1))
    return result


def _total_memory_mb() -> float:
    with open("/proc/meminfo") as fh:
        return int(fh.readline().split()[1]) / 1024


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def _suspect_row(s: Suspect, row: dict, o: Outcome) -> dict:
    best = row["matches"][0] if row["matches"] else None
    return {"name": s.name, "kind": s.kind, "reference": Path(s.reference).name if s.reference else None,
            "edits": list(s.edits), "duration": s.duration, "frames": row["frames"],
            "search_s": round(row["search_s"], 4), "search_cpu_s": round(row["search_cpu_s"], 4), "warm_s": round(row["warm_s"], 4), "verdict": row["verdict"],
            "found": o.correct, "false_match": o.false_match,
            "best": {"title": best["title"], "chance": best["chance"]} if best else None,
            "ref_span_iou": _round(iou(o.ref_span, o.true_ref_span), 3) if o.correct else None}


def summary_line(result: dict) -> str:
    mb = result["bytes_per_hour"] / 1e6 if result["bytes_per_hour"] else float("nan")
    build = (f"build {result['build_s']:.0f} s, peak {result['build_peak_rss_mb']:.0f} MB"
             if result["build_s"] is not None else "build reused")
    return (f"{result['hours']:g} h ({result['videos']} videos, {result['hashes']} hashes): {mb:.2f} MB/h; {build}; "
            f"open {result['open_s']:.2f} s; match peak {result['match_peak_rss_mb']:.0f} MB; "
            f"search {result['search_s_copy']:.2f} s copy / {result['search_s_unrelated']:.2f} s unrelated "
            f"(one thread); recall {result['recall']:.2f} ({result['copies']} copies), "
            f"false matches {result['false_matches']} ({result['copies'] + result['unrelated']} suspects)")


# -- collecting several runs ---------------------------------------------------------------------

def load_results(paths: Sequence[str | os.PathLike]) -> list[dict]:
    """Result objects from JSON files (a file may hold one object or a list), sorted by hours."""
    results = []
    for path in paths:
        data = json.loads(Path(path).read_text())
        for item in data if isinstance(data, list) else [data]:
            missing = [k for k in KEYS if k not in item]
            if missing:
                raise BenchmarkError(f"{path}: not a scale result (missing {', '.join(missing)})")
            results.append({**item, "_label": item.get("_label") or Path(path).stem})
    return sorted(results, key=lambda r: r["hours"])


def table(results: Sequence[dict]) -> str:
    """The SCALE.md table: one row per result."""
    head = ("| library | videos | hashes | index | disk | build | build peak RSS | open | match peak RSS "
            "| 60 s copy: wall (CPU) | 60 s unrelated: wall (CPU) | recall | false matches | load |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for r in results:
        disk = f"{r['bytes'] / 1e9:.2f} GB ({r['bytes_per_hour'] / 1e6:.2f} MB/h)"
        build = f"{r['build_s']:.0f} s" if r.get("build_s") is not None else "reused"
        peak = f"{r['build_peak_rss_mb'] / 1024:.2f} GB" if r.get("build_peak_rss_mb") else "-"
        cpu = {k: f" ({r[k]:.1f} s)" if r.get(k) is not None else "" for k in ("search_cpu_s_copy", "search_cpu_s_unrelated")}
        load = "–".join(f"{x:g}" for x in r.get("load_average", []))
        rows.append(f"| {r['hours']:,.4g} h | {r['videos']} | {r['hashes']:,} | {r.get('index_type', '')} | {disk} | {build} "
                    f"| {peak} | {r['open_s']:.2f} s | {r['match_peak_rss_mb'] / 1024:.2f} GB "
                    f"| {r['search_s_copy']:.1f} s{cpu['search_cpu_s_copy']} "
                    f"| {r['search_s_unrelated']:.1f} s{cpu['search_cpu_s_unrelated']} "
                    f"| {r['recall']:.2f} ({r['copies']}) | {r['false_matches']} | {load} |")
    return "\n".join([head, *rows])


def plot(results: Sequence[dict], path: str | os.PathLike) -> Path:
    """Cost against library hours (log-log), with the issue's targets as dashed lines."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    hours = [r["hours"] for r in results]
    fig = Figure(figsize=(11, 8))
    FigureCanvasAgg(fig)
    panels = [
        ("disk per video hour (MB)", [("bytes_per_hour", "library", 1e-6)], TARGETS["bytes_per_hour"] / 1e6),
        ("peak resident memory (GB)", [("build_peak_rss_mb", "build", 1 / 1024), ("match_peak_rss_mb", "match", 1 / 1024)],
         None),
        ("60 s suspect: search + align + verify (s, 1 thread)",
         [("search_s_copy", "copy (wall)", 1), ("search_s_unrelated", "unrelated (wall)", 1),
          ("search_cpu_s_copy", "copy (CPU)", 1), ("search_cpu_s_unrelated", "unrelated (CPU)", 1)], TARGETS["search_s_copy"]),
        ("time (s)", [("build_s", "build", 1), ("open_s", "open", 1)], None),
    ]
    for n, (title, series, target) in enumerate(panels, 1):
        ax = fig.add_subplot(2, 2, n)
        for key, label, factor in series:
            points = [(h, r[key] * factor) for h, r in zip(hours, results) if r.get(key) is not None]
            if points:
                ax.plot(*zip(*points), marker="o", label=label)
        if target is not None:
            ax.axhline(target, ls="--", color="grey", label="target")
        if n == 2:
            ax.axhline(16, ls="--", color="C0", alpha=0.5, label="build target")
            ax.axhline(8, ls="--", color="C1", alpha=0.5, label="match target")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(min(hours) / 2, max(20_000, max(hours) * 2))  # room for the 10,000 h runs
        ax.set_xlabel("library (video hours)")
        ax.set_title(title, fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("fp library cost against size (benchmarks/scale.py)")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    return path


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m fp.benchmarks.scale plot|table RESULT.json...`: collect several runs."""
    parser = argparse.ArgumentParser(prog="python -m fp.benchmarks.scale", description=main.__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p_plot = sub.add_parser("plot", help="PNG of cost against library hours")
    p_plot.add_argument("results", nargs="+")
    p_plot.add_argument("--png", default="benchmarks/results/scale.png")
    p_table = sub.add_parser("table", help="markdown table for SCALE.md")
    p_table.add_argument("results", nargs="+")
    args = parser.parse_args(argv)
    results = load_results(args.results)
    if args.command == "plot":
        print(plot(results, args.png))
    else:
        print(table(results))


if __name__ == "__main__":
    main()

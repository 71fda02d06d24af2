"""Whole films as suspects: a long reference and a suspect that copies most of it.

`python -m fp.benchmarks.films --minutes 10,20,60,120 --out DIR` measures, per length, each
step in a fresh process (benchmarks/child.py: peak RSS per step, a watchdog that stops a step
past --mem-limit-mb or --time-limit-s), in one of two modes:

* ``video`` (default): a low-resolution reference film is generated cheaply and cached
  (320x180, 10 fps, x264 superfast): segments of 20-60 s, three in four procedural scenes
  (benchmarks/synthetic_world.py's worlds, a fresh seed per segment) and one in four real
  sample footage looped with changes (a zoomed window at a random place, mirrored or not,
  a colour change and a playback speed of 0.8-1.25 per segment). The suspect copies it from
  30 s to 60 s before the end behind a 15 s unrelated intro, disguised (10 % crop, brightness,
  logo) and re-encoded at 12.5 fps, CRF 30. Steps: fingerprint both files (decode time),
  `Library.add` + `save_index` of the reference, `match_fingerprint` of the suspect's
  fingerprint (decoding excluded).
* ``fingerprints``: no video. The reference film is made of masked REFERENCE fingerprints of
  the sample clips (benchmarks/synthetic.py), the suspect of masked QUERY fingerprints of
  disguised copies of the same clips with the same masks and times, cut the same way. This
  isolates matching cost from decoding and is cheap at any length.

Writes DIR/films-<mode>.json (one row per length) and prints the SCALE.md table.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from .child import ChildOutcome, run_child
from .demo import SAMPLE_CLIPS
from .truth import BenchmarkError

WIDTH, HEIGHT, FPS = 320, 180, 10.0  # reference film
SUSPECT_FPS, SUSPECT_CRF = 12.5, 30
INTRO_S, SKIP_S, TAIL_S = 15.0, 30.0, 60.0  # suspect: unrelated intro, then reference [SKIP_S, end - TAIL_S]
SEGMENT_S = (20.0, 60.0)
REAL_SHARE = 0.25
GENERATOR_VERSION = 1


@dataclass(frozen=True)
class FilmPair:
    minutes: float
    reference: Path
    suspect: Path
    copied: tuple[float, float]  # reference seconds the suspect copies
    suspect_start: float  # where that copy starts in the suspect


# -- generating films --------------------------------------------------------------------------

def _real_segment(source: Path, n_frames: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Real footage through a zoomed, drifting window, mirrored or not, recoloured, at a speed."""
    import cv2

    from .generate import loop_frames
    from .transforms import gamma, mirror, saturation

    zoom = rng.uniform(1.3, 2.0)
    centre = rng.uniform(0.2, 0.8, 2)
    drift = rng.uniform(-0.01, 0.01, 2)  # of the frame per second
    speed = float(rng.uniform(0.8, 1.25))
    edits = [gamma(float(rng.uniform(0.7, 1.4))), saturation(float(rng.uniform(0.5, 1.5)))]
    if rng.random() < 0.5:
        edits.append(mirror())
    stream = loop_frames(source, float(rng.uniform(0, 3)), max_height=360)
    current = next(stream)
    upcoming = next(stream)
    for k in range(n_frames):
        t = k / FPS
        while upcoming[0] <= t * speed:
            current, upcoming = upcoming, next(stream)
        frame = current[1]
        h, w = frame.shape[:2]
        cx, cy = np.clip(centre + drift * t, 0.0, 1.0)
        crop_w, crop_h = w / zoom, w / zoom * HEIGHT / WIDTH
        crop_h = min(crop_h, h)
        x0, y0 = cx * (w - crop_w), cy * (h - crop_h)
        scale = WIDTH / crop_w
        matrix = np.array([[scale, 0, -x0 * scale], [0, scale, -y0 * scale]], np.float64)
        out = cv2.warpAffine(frame, matrix, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        for edit in edits:
            out = edit(out)
        yield out


def _synthetic_segment(n_frames: int, seed: int) -> Iterator[np.ndarray]:
    from .synthetic_world import synthetic_frames

    for bgr in synthetic_frames(n_frames, WIDTH, HEIGHT, int(FPS), seed):
        yield np.ascontiguousarray(bgr[:, :, ::-1])


def film_frames(seconds: float, seed: int, clips: Sequence[Path]) -> Iterator[tuple[float, np.ndarray]]:
    """(t, RGB) of a film of `seconds`: seeded segments of procedural scenes and changed real footage."""
    rng = np.random.default_rng([seed, 7])
    k = 0
    total = round(seconds * FPS)
    while k < total:
        n = min(total - k, round(rng.uniform(*SEGMENT_S) * FPS))
        if clips and rng.random() < REAL_SHARE:
            frames = _real_segment(clips[int(rng.integers(len(clips)))], n, rng)
        else:
            frames = _synthetic_segment(n, int(rng.integers(2**31)))
        for frame in frames:
            yield k / FPS, frame
            k += 1


def _shifted(stream, start: float, end: float, shift: float):
    for t, frame in stream:
        if t < start - 1e-6:
            continue
        if t >= end - 1e-6:
            break
        yield t - start + shift, frame


def make_film_pair(minutes: float, folder: Path, seed: int = 0, clips: Sequence[Path] | None = None) -> FilmPair:
    """The reference film of `minutes` and its disguised suspect (cached by their settings)."""
    from .generate import EncodeSettings, iter_frames, write_video
    from .transforms import brightness, crop, logo

    clips = sorted(SAMPLE_CLIPS.glob("*.mp4")) if clips is None else list(clips)
    seconds = minutes * 60
    ref = folder / f"film-{minutes:g}min-ref.mp4"
    sus = folder / f"film-{minutes:g}min-suspect.mp4"
    copied = (SKIP_S, seconds - TAIL_S) if seconds > 4 * (SKIP_S + TAIL_S) else (0.05 * seconds, 0.95 * seconds)
    pair = FilmPair(minutes, ref, sus, copied, INTRO_S)
    key = {"minutes": minutes, "seed": seed, "clips": [c.name for c in clips], "version": GENERATOR_VERSION,
           "size": [WIDTH, HEIGHT, FPS], "suspect": [SUSPECT_FPS, SUSPECT_CRF, INTRO_S, copied]}
    manifest = folder / f"film-{minutes:g}min.json"
    if manifest.exists() and ref.exists() and sus.exists() and json.loads(manifest.read_text()) == key:
        return pair
    folder.mkdir(parents=True, exist_ok=True)
    write_video(ref, film_frames(seconds, seed, clips), EncodeSettings(fps=FPS, duration=seconds, max_height=HEIGHT,
                                                                       preset="superfast"))
    disguise = [crop(0.1, 0.3, 0.6), brightness(25.0), logo("MOVIEZ", (255, 255, 255), 0.16, "br", 0.8)]

    def suspect_frames():
        intro = film_frames(INTRO_S, seed + 1_000_003, [])  # unrelated: procedural, another seed
        yield from intro
        for t, frame in _shifted(iter_frames(ref), copied[0], copied[1], INTRO_S):
            for edit in disguise:
                frame = edit(frame)
            yield t, frame

    length = INTRO_S + copied[1] - copied[0]
    write_video(sus, suspect_frames(), EncodeSettings(fps=SUSPECT_FPS, duration=length, crf=SUSPECT_CRF,
                                                      max_height=HEIGHT, preset="superfast"))
    manifest.write_text(json.dumps(key))
    return pair


# -- steps (each run in a fresh process) --------------------------------------------------------

def fingerprint_step(video: str, config: str, target: str, report=None) -> dict:
    """Fingerprint a file (REFERENCE or QUERY config) and save it; the decode-inclusive cost."""
    from fp.fingerprint.pipeline import QUERY, REFERENCE, fingerprint_video

    from .synthetic import save_fingerprint

    start, cpu = time.perf_counter(), time.process_time()
    fpr = fingerprint_video(video, {"reference": REFERENCE, "query": QUERY}[config])
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    save_fingerprint(fpr, target)
    return {"seconds": elapsed, "cpu_seconds": cpu, "duration": fpr.duration, "rows": len(fpr)}


def build_step(library: str, fingerprint: str, report=None) -> dict:
    """`Library.add` one reference fingerprint and save the index."""
    from fp.index.library import Library

    from .synthetic import load_fingerprint

    root = Path(library)
    if root.exists():
        shutil.rmtree(root)
    fpr = load_fingerprint(fingerprint)[0]
    start, cpu = time.perf_counter(), time.process_time()
    with Library(root) as lib:
        lib.add(fpr, path=f"/films/{Path(fingerprint).stem}.mp4", title=Path(fingerprint).stem,
                content_hash=Path(fingerprint).stem + ":" + str(len(fpr)), size=0)
        lib.save_index()
        stats = lib.stats()
    return {"seconds": time.perf_counter() - start, "cpu_seconds": time.process_time() - cpu, "rows": len(fpr),
            "bytes": stats["bytes"]}


def match_step(library: str, fingerprint: str, report=None) -> dict:
    """Open the library and match a suspect fingerprint (decoding excluded)."""
    from fp.index.library import Library
    from fp.index.matcher import Matcher

    from .synthetic import load_fingerprint

    fpr = load_fingerprint(fingerprint)[0]
    start = time.perf_counter()
    with Library(library, create=False, readonly=True) as lib:
        matcher = Matcher(lib)
        opened, cpu = time.perf_counter(), time.process_time()
        result = matcher.match_fingerprint(fpr)
        done, cpu = time.perf_counter(), time.process_time() - cpu
    best = result.matches[0] if result.matches else None
    return {"open_s": opened - start, "seconds": done - opened, "cpu_seconds": cpu, "rows": len(fpr), "verdict": result.verdict,
            "matches": len(result.matches),
            "best": {"title": best.title, "query_span": list(best.query_span), "ref_span": list(best.ref_span),
                     "matched_frames": best.matched_frames, "chance": best.chance} if best else None}


def synthetic_pair_step(minutes: float, folder: str, seed: int, report=None) -> dict:
    """fingerprints mode: write the reference and suspect film fingerprints (no video)."""
    from .synthetic import load_fingerprint, make_film, plan_film, save_fingerprint

    material = _material(Path(folder))
    refs = [load_fingerprint(p)[0] for p in material["reference"]]
    queries = [load_fingerprint(p)[0] for p in material["query"]]
    seconds = minutes * 60
    plan = plan_film([f.duration for f in refs], seconds, np.random.default_rng([seed, 11]))
    ref = make_film(plan, refs, f"film-{minutes:g}min-ref")
    query = make_film(plan, queries, f"film-{minutes:g}min-suspect")
    a, b = (SKIP_S, seconds - TAIL_S) if seconds > 4 * (SKIP_S + TAIL_S) else (0.05 * seconds, 0.95 * seconds)
    query = excerpt(query, a, b)
    out = Path(folder)
    save_fingerprint(ref, out / f"film-{minutes:g}min-ref.npz")
    save_fingerprint(query, out / f"film-{minutes:g}min-suspect.npz")
    return {"copied": [a, b], "ref_rows": len(ref), "suspect_rows": len(query)}


def excerpt(fpr, start: float, end: float):
    from fp.fingerprint.types import Fingerprint

    part = fpr.select((fpr.times >= start) & (fpr.times < end))
    return Fingerprint(part.source, part.hasher, part.params, end - start, part.width, part.height, part.times - start,
                       part.codes, part.quality, part.mirror_codes, part.views, dict(part.meta), part.fine_codes,
                       part.fine_mirror_codes)


def _material(folder: Path) -> dict:
    manifest = folder / "material.json"
    return json.loads(manifest.read_text())


def prepare_fingerprint_material(folder: Path, clips: Sequence[Path] | None = None) -> dict:
    """REFERENCE fingerprints of the clips and QUERY fingerprints of disguised whole copies of them."""
    from fp.fingerprint.pipeline import QUERY, REFERENCE, fingerprint_video

    from .generate import EncodeSettings, iter_frames, probe_clip, write_video
    from .synthetic import save_fingerprint
    from .transforms import brightness, crop, logo

    clips = sorted(SAMPLE_CLIPS.glob("*.mp4")) if clips is None else list(clips)
    manifest = folder / "material.json"
    key = [c.name for c in clips] + [f"v{GENERATOR_VERSION}"]
    if manifest.exists():
        known = json.loads(manifest.read_text())
        if known.get("key") == key and all(Path(p).exists() for p in known["reference"] + known["query"]):
            return known
    folder.mkdir(parents=True, exist_ok=True)
    refs, queries = [], []
    disguise = [crop(0.1, 0.3, 0.6), brightness(25.0), logo("MOVIEZ", (255, 255, 255), 0.16, "br", 0.8)]
    for clip in clips:
        info = probe_clip(clip)
        copy = folder / f"{clip.stem}-copy.mp4"

        def frames(clip=clip):
            for t, frame in iter_frames(clip, max_height=360):
                for edit in disguise:
                    frame = edit(frame)
                yield t - info.start, frame

        write_video(copy, frames(), EncodeSettings(fps=SUSPECT_FPS, duration=info.duration, crf=SUSPECT_CRF,
                                                   max_height=360, preset="superfast"))
        save_fingerprint(fingerprint_video(clip, REFERENCE), folder / f"{clip.stem}-ref.npz")
        save_fingerprint(fingerprint_video(copy, QUERY), folder / f"{clip.stem}-query.npz")
        refs.append(str(folder / f"{clip.stem}-ref.npz"))
        queries.append(str(folder / f"{clip.stem}-query.npz"))
    known = {"key": key, "reference": refs, "query": queries}
    manifest.write_text(json.dumps(known))
    return known


# -- the benchmark -------------------------------------------------------------------------------

def _step(outcome: ChildOutcome) -> dict:
    out = {"peak_rss_mb": round(outcome.peak_rss_mb, 1), "elapsed_s": round(outcome.elapsed_s, 2),
           "cpu_s": round(outcome.cpu_s, 2)}
    if outcome.ok:
        out.update({k: (round(v, 3) if isinstance(v, float) else v) for k, v in outcome.value.items()})
    else:
        out["error"] = outcome.error
    return out


def run_films(minutes: Sequence[float], out: Path, mode: str = "video", seed: int = 0, mem_limit_mb: float = 8192,
              time_limit_s: float = 1800, log=print) -> list[dict]:
    """One row per film length; a step that fails or is stopped ends that length's row."""
    if mode not in ("video", "fingerprints"):
        raise BenchmarkError(f"mode must be video or fingerprints, got {mode!r}")
    out.mkdir(parents=True, exist_ok=True)
    limits = {"mem_limit_mb": mem_limit_mb, "time_limit_s": time_limit_s}
    rows = []
    if mode == "fingerprints":
        prepare_fingerprint_material(out / "material")
    for m in minutes:
        row: dict = {"minutes": m, "mode": mode, "load_average": round(os.getloadavg()[0], 2)}
        rows.append(row)
        ref_fp, sus_fp = out / f"film-{m:g}min-ref.npz", out / f"film-{m:g}min-suspect.npz"
        if mode == "video":
            start = time.perf_counter()
            pair = make_film_pair(m, out, seed)
            row["generate_s"] = round(time.perf_counter() - start, 1)
            row["copied"] = list(pair.copied)
            for name, video, config, target in (("fingerprint_ref", pair.reference, "reference", ref_fp),
                                                ("fingerprint_suspect", pair.suspect, "query", sus_fp)):
                log(f"{m:g} min: {name}")
                row[name] = _step(run_child("fp.benchmarks.films:fingerprint_step",
                                            {"video": str(video), "config": config, "target": str(target)},
                                            threads=1, **limits))
        else:
            log(f"{m:g} min: synthetic fingerprints")
            made = run_child("fp.benchmarks.films:synthetic_pair_step",
                             {"minutes": m, "folder": str(out / "material"), "seed": seed}, **limits)
            row["make"] = _step(made)
            if made.ok:
                row["copied"] = made.value["copied"]
                shutil.move(out / "material" / ref_fp.name, ref_fp)
                shutil.move(out / "material" / sus_fp.name, sus_fp)
        if any("error" in v for v in row.values() if isinstance(v, dict)):
            continue
        log(f"{m:g} min: build")
        row["build"] = _step(run_child("fp.benchmarks.films:build_step", {"library": str(out / f"library-{m:g}min"),
                                       "fingerprint": str(ref_fp)}, **limits))
        if "error" in row["build"]:
            continue
        log(f"{m:g} min: match")
        row["match"] = _step(run_child("fp.benchmarks.films:match_step", {"library": str(out / f"library-{m:g}min"),
                                       "fingerprint": str(sus_fp)}, threads=1, **limits))
        best = row["match"].get("best")
        if best:
            a, b = row["copied"]
            inter = max(0.0, min(b, best["ref_span"][1]) - max(a, best["ref_span"][0]))
            row["match"]["ref_coverage_of_copy"] = round(inter / (b - a), 3)
        log(f"{m:g} min: {json.dumps(row['match'])}")
    (out / f"films-{mode}.json").write_text(json.dumps(rows, indent=1))
    return rows


def table(rows: Sequence[dict]) -> str:
    head = ("| film | mode | fingerprint ref / suspect (with decoding): wall (CPU) | build: wall (CPU) | build peak RSS "
            "| match, 1 thread: wall (CPU) | match peak RSS | found (share of the copy) |\n|---|---|---|---|---|---|---|---|")
    lines = [head]
    for r in rows:
        def cell(step: str, key: str = "seconds", unit: str = "s") -> str:
            s = r.get(step)
            if not s:
                return "-"
            if "error" in s:
                if "stopped" in s["error"]:
                    return f"stopped after {s['elapsed_s']:.0f} s"
                return f"failed: {s['error'].split(':')[0]} after {s['cpu_s']:.0f} s CPU"
            cpu = f" ({s['cpu_s']:.1f} s)" if "cpu_s" in s else ""  # the step process's CPU, imports included
            return f"{s[key]:.1f} {unit}{cpu}"

        def peak(step: str) -> str:
            s = r.get(step)
            if not s:
                return "-"
            text = f"{s['peak_rss_mb'] / 1024:.2f} GB"
            return f"> {text}" if "stopped" in s.get("error", "") else text

        fps = (f"{cell('fingerprint_ref')} / {cell('fingerprint_suspect')}" if r["mode"] == "video" else "n/a")
        m = r.get("match") or {}
        found = (f"{'yes' if m.get('best') else 'no'} ({m.get('ref_coverage_of_copy', 0):.2f})" if "seconds" in m else "-")
        lines.append(f"| {r['minutes']:g} min | {r['mode']} | {fps} | {cell('build')} | {peak('build')} | {cell('match')} "
                     f"| {peak('match')} | {found} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m fp.benchmarks.films", description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", default="10,20,60,120", help="comma-separated film lengths")
    parser.add_argument("--out", type=Path, default=Path("fp-films"))
    parser.add_argument("--mode", choices=("video", "fingerprints"), default="video")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mem-limit-mb", type=float, default=8192, help="stop a step whose resident memory passes this")
    parser.add_argument("--time-limit-s", type=float, default=1800, help="stop a step that runs longer")
    parser.add_argument("--table", nargs="*", metavar="JSON", help="only print the table of earlier results")
    args = parser.parse_args(argv)
    if args.table is not None:
        rows = [row for path in args.table for row in json.loads(Path(path).read_text())]
    else:
        minutes = [float(x) for x in args.minutes.split(",") if x.strip()]
        rows = run_films(minutes, args.out, args.mode, args.seed, args.mem_limit_mb, args.time_limit_s,
                         log=lambda msg: print(msg, flush=True))
    print(table(rows))


if __name__ == "__main__":
    main()

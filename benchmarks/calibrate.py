"""Calibration: does fp's modelled chance say how often unrelated footage matches?

fp reports, per alignment, `chance`: the expected number of chance alignments this strong in
this library. If the model is honest, among unrelated (suspect, library) pairs the share with
chance <= t is at most about t. This module measures that share on many thousands of pairs
of real footage:

- every footage group under the refs folder is one unit (clips.json groups; "use": false
  clips and multi-scene titles left out); each is fingerprinted once as a reference and
  once as a suspect;
- the units are dealt into folds (footage of one set, e.g. one table, spread over the folds,
  so held-out footage has same-set siblings in the library); for each fold, two libraries
  are built from the other units: one video per unit ("singles") and multi-scene titles made
  by joining 2-4 units' fingerprints end to end ("titles");
- the fold's held-out units, joined into one reel, are cut into windows of 2-60 s by time
  (`Fingerprint.select`, no re-encoding), and every window is matched against both libraries;
- per pair the smallest chance fp reports is kept: a match's `chance`, else the strongest
  rejected alignment's (`MatchResult.nearest`), else 1.0 (no alignment at all).

The curve compares, for thresholds 1e-12..1, the modelled rate (the threshold) with the
measured rate and its one-sided 95 % Clopper-Pearson upper bound. Windows overlap and share
footage, so pairs are not independent: the bound is a guide, not an exact interval.
"""
from __future__ import annotations

import json
import logging
import os
import random
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from fp.fingerprint.pipeline import QUERY, REFERENCE, fingerprint_video
from fp.fingerprint.types import Fingerprint
from fp.index.library import Library
from fp.index.matcher import MatchConfig, Matcher

from .generate import _representative, find_clips, known_sets, read_clips_json
from .metrics import _binomial_cdf, upper_bound
from .truth import BenchmarkError

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
THRESHOLDS = tuple(10.0 ** e for e in range(-12, 1))
WINDOW_LENGTHS = (2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 20.0, 30.0, 45.0, 60.0)
LIBRARY_KINDS = ("singles", "titles")
UNDERSTATED = 10.0  # the test: measured more than 10x the modelled rate is a failure
ALPHA = 0.05  # ... when that many pairs under t would have this small a chance at 10x the modelled rate
CHECKED_UP_TO = 1e-2  # thresholds checked: up to fp's range of decisions (above it chance is not a rate)


@dataclass(frozen=True)
class CalibrationConfig:
    folds: int = 4
    windows: int = 700  # windows per fold (each matched against every library kind)
    lengths: tuple[float, ...] = WINDOW_LENGTHS
    scenes_per_title: tuple[int, int] = (2, 4)
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Pair:
    """One (suspect window, library) pair and the chance fp reported for it."""

    fold: int
    library: str  # "singles" or "titles"
    start: float  # seconds into the fold's reel of held-out footage
    length: float
    sources: tuple[str, ...]  # held-out units the window shows
    chance: float  # smallest chance reported (1.0 when there was no alignment)
    matched: bool  # fp declared a match (a false match: every pair is unrelated)
    reference: str | None  # the reference of that chance, if any
    same_set: bool = False  # the window shows footage of a set (one table) the library also holds
    scene: str | None = None  # of a declared match: the footage group its reference span starts in

    def to_row(self) -> list:
        # the start unrounded: a window re-cut 0.3 ms later re-cuts its events (seed 3: chance
        # 1.9e-6 from 0.2803 s, 5.1e-4 from 0.28 s), so a pair is only reproducible from this
        return [self.fold, self.library, self.start, self.length, list(self.sources),
                float(f"{self.chance:.4g}"), self.matched, self.reference, self.same_set, self.scene]


@dataclass(frozen=True)
class CurvePoint:
    threshold: float  # chance threshold t; the model says at most a share t of pairs fall under it
    pairs: int
    under: int  # pairs whose chance <= t
    measured: float
    upper95: float
    declared: int | None  # pairs fp declared a match with chance <= t (known for t <= max_chance)

    @property
    def ratio(self) -> float:
        """Measured over modelled (above 1: the model understates)."""
        return self.measured / self.threshold

    def to_dict(self) -> dict:
        return {**asdict(self), "ratio": self.ratio}


@dataclass(frozen=True)
class Calibration:
    config: CalibrationConfig
    units: tuple[str, ...]
    folds: tuple[tuple[str, ...], ...]
    titles: tuple[tuple[tuple[str, ...], ...], ...]  # per fold, the titles' scenes
    pairs: tuple[Pair, ...]
    curve: tuple[CurvePoint, ...]
    max_chance: float  # fp's default threshold when this ran
    elapsed: float = 0.0
    by_length: dict = field(default_factory=dict)
    by_kind: dict = field(default_factory=dict)  # singles / titles libraries, same-set / other footage

    def worst_ratio(self, min_pairs_under: int = 1) -> float:
        """Largest measured/modelled ratio over thresholds with at least that many pairs under."""
        return max((p.ratio for p in self.curve if p.under >= min_pairs_under), default=0.0)

    def to_dict(self, with_pairs: bool = True) -> dict:
        out = {"config": self.config.to_dict(), "units": list(self.units),
               "folds": [list(f) for f in self.folds],
               "titles": [[list(t) for t in fold] for fold in self.titles],
               "max_chance": self.max_chance, "pairs_total": len(self.pairs),
               "matched_pairs": sum(p.matched for p in self.pairs),
               "curve": [p.to_dict() for p in self.curve], "by_length": self.by_length,
               "by_kind": self.by_kind,
               "elapsed": round(self.elapsed, 1)}
        if with_pairs:
            out["pair_columns"] = ["fold", "library", "start", "length", "sources", "chance",
                                   "matched", "reference", "same_set", "scene"]
            out["pairs"] = [p.to_row() for p in self.pairs]
        return out


# -- fingerprints -----------------------------------------------------------------

def footage_units(refs_dir: Path) -> tuple[list[str], dict[str, str]]:
    """(unit clip paths, {unit path: set}) under refs_dir: one clip per footage group."""
    clips = find_clips(refs_dir)
    meta = read_clips_json(refs_dir / "clips.json") if (refs_dir / "clips.json").exists() else None
    groups = dict(meta.groups) if meta else {}
    variants = dict(meta.variants) if meta else {}
    unused = meta.unused if meta else frozenset()
    units: dict[str, list] = {}
    for clip in clips:
        if clip.path in unused:
            continue
        units.setdefault(groups.get(clip.path) or f"clip:{clip.path}", []).append(clip)
    reps = sorted(_representative(members, variants).path for members in units.values())
    sets = known_sets([c for c in clips if c.path in reps], meta)
    return reps, sets


def _fingerprint_job(args: tuple) -> tuple[str, Fingerprint, Fingerprint]:
    root, rel = args
    return rel, fingerprint_video(root / rel, REFERENCE), fingerprint_video(root / rel, QUERY)


def concatenate(parts: Sequence[Fingerprint], source: str) -> Fingerprint:
    """Fingerprints joined end to end (each shifted by the durations before it)."""
    offsets = np.cumsum([0.0] + [p.duration for p in parts[:-1]])

    def cat(name: str):
        arrays = [getattr(p, name) for p in parts]
        return None if any(a is None for a in arrays) else np.concatenate(arrays)

    return Fingerprint(source, parts[0].hasher, parts[0].params, float(sum(p.duration for p in parts)),
                       parts[0].width, parts[0].height,
                       np.concatenate([p.times + off for p, off in zip(parts, offsets)]),
                       cat("codes"), cat("quality"), cat("mirror_codes"), cat("views"), {},
                       cat("fine_codes"), cat("fine_mirror_codes"))


def window(reel: Fingerprint, start: float, length: float) -> Fingerprint:
    """The rows of `reel` in [start, start + length), as a suspect of that length from 0 s."""
    part = reel.select((reel.times >= start) & (reel.times < start + length))
    return replace(part, times=part.times - start, duration=length, source=f"{reel.source}@{start:.2f}+{length:g}")


# -- folds and libraries ------------------------------------------------------------

def deal_folds(units: Sequence[str], sets: dict[str, str], folds: int, rng: random.Random
               ) -> list[list[str]]:
    """Units dealt into folds; members of one set go to different folds first."""
    in_sets: dict[str, list[str]] = {}
    for unit in units:
        if unit in sets:
            in_sets.setdefault(sets[unit], []).append(unit)
    order: list[str] = []
    for name in sorted(in_sets):
        members = sorted(in_sets[name])
        rng.shuffle(members)
        order += members
    rest = sorted(u for u in units if u not in sets)
    rng.shuffle(rest)
    out: list[list[str]] = [[] for _ in range(folds)]
    for i, unit in enumerate(order + rest):
        out[i % folds].append(unit)
    return out


def _titles_of(units: Sequence[str], scenes: tuple[int, int], rng: random.Random) -> list[tuple[str, ...]]:
    pool = list(units)
    rng.shuffle(pool)
    titles = []
    while pool:
        size = min(len(pool), rng.randint(*scenes))
        if len(pool) - size == 1:  # never leave a single scene behind
            size += 1
        titles.append(tuple(pool[:size]))
        pool = pool[size:]
    return titles


def _build_library(root: Path, videos: list[tuple[str, Fingerprint]]) -> Library:
    lib = Library(root)
    for n, (name, fpr) in enumerate(videos):
        lib.add(fpr, path=name, title=name, content_hash=f"calibration:{root.name}:{n}:{name}", size=0)
    return lib


def pair_chance(result) -> tuple[float, str | None]:
    """The smallest chance a match result reports, and for which reference."""
    if result.matches:
        best = min(result.matches, key=lambda m: m.chance)
        return float(best.chance), best.ref_path
    nearest = result.nearest
    if nearest is None:
        return 1.0, None
    if isinstance(nearest, dict):
        return float(nearest["chance"]), nearest.get("ref_path")
    return float(nearest.chance), getattr(nearest, "ref_path", None)


def _scene_of(match, scenes: dict[str, list[tuple[str, float, float]]]) -> str:
    """The footage group a match's reference span starts in (titles join several)."""
    for unit, start, end in scenes.get(match.ref_path, []):
        if start <= match.ref_span[0] < end:
            return unit
    return match.ref_path


def _run_fold(args: tuple) -> list[Pair]:
    fold, held, libraries, scenes, on_set, config, seed = args
    rng = random.Random(f"{seed}:windows:{fold}")
    order = list(held)
    rng.shuffle(order)
    reel = concatenate([fpr for _, fpr in order], f"fold{fold}")
    bounds = np.cumsum([0.0] + [fpr.duration for _, fpr in order])
    lengths = [L for L in config.lengths if L <= reel.duration] or [reel.duration]
    windows = []
    for _ in range(config.windows):
        length = rng.choice(lengths)
        start = rng.uniform(0.0, max(0.0, reel.duration - length))
        shown = tuple(name for (name, _), a, b in zip(order, bounds[:-1], bounds[1:])
                      if a < start + length and b > start)
        windows.append((start, length, shown))
    pairs = []
    with tempfile.TemporaryDirectory(prefix="fp-calibrate-") as tmp:
        for kind, videos in libraries.items():
            with _build_library(Path(tmp) / kind, videos) as lib:
                matcher = Matcher(lib, MatchConfig())
                for start, length, shown in windows:
                    result = matcher.match_fingerprint(window(reel, start, length))
                    chance, ref = pair_chance(result)
                    scene = _scene_of(min(result.matches, key=lambda m: m.chance), scenes) if result.matches else None
                    pairs.append(Pair(fold, kind, start, length, shown, chance, bool(result.matches), ref,
                                      any(u in on_set for u in shown), scene))
    return pairs


# -- the curve ----------------------------------------------------------------------

def understated(points: Sequence[CurvePoint], factor: float = UNDERSTATED, alpha: float = ALPHA,
                up_to: float = CHECKED_UP_TO) -> list[CurvePoint]:
    """Thresholds (up to `up_to`) where the measured rate is above `factor` times the modelled
    one with confidence 1 - alpha: `under` or more of `pairs` would have probability below
    alpha if the true rate were factor * t (a bound, so one event in a few hundred pairs at a
    tiny t says nothing, while the same event in many thousands does)."""
    return [p for p in points if p.threshold <= up_to * (1 + 1e-9) and p.under > 0
            and 1.0 - _binomial_cdf(p.under - 1, p.pairs, min(1.0, factor * p.threshold)) < alpha]


def curve(pairs: Sequence[Pair], max_chance: float, thresholds: Sequence[float] = THRESHOLDS
          ) -> list[CurvePoint]:
    chances = np.array([p.chance for p in pairs])
    matched = np.array([p.matched for p in pairs], bool)
    out = []
    for t in thresholds:
        under = int((chances <= t).sum())
        declared = int(((chances <= t) & matched).sum()) if t <= max_chance * (1 + 1e-9) else None
        out.append(CurvePoint(t, len(pairs), under, under / len(pairs) if pairs else 0.0,
                              upper_bound(under, len(pairs)) or 1.0, declared))
    return out


def by_length(pairs: Sequence[Pair], thresholds: Sequence[float] = (1e-2, 1e-4, 1e-6)) -> dict:
    return {f"{length:g}": _counts([p for p in pairs if p.length == length], thresholds)
            for length in sorted({p.length for p in pairs})}


def _counts(pairs: Sequence[Pair], thresholds: Sequence[float]) -> dict:
    chances = np.array([p.chance for p in pairs])
    row = {"pairs": len(pairs), "matched": sum(p.matched for p in pairs)}
    for t in thresholds:
        row[f"under_{t:g}"] = int((chances <= t).sum())
    return row


def by_kind(pairs: Sequence[Pair], thresholds: Sequence[float] = (1e-2, 1e-4, 1e-6)) -> dict:
    """Counts per library kind and for windows of same-set footage against the rest."""
    kinds = {kind: [p for p in pairs if p.library == kind] for kind in LIBRARY_KINDS}
    kinds["same_set"] = [p for p in pairs if p.same_set]
    kinds["other_footage"] = [p for p in pairs if not p.same_set]
    return {kind: _counts(chosen, thresholds) for kind, chosen in kinds.items() if chosen}


def run_calibration(refs_dir: str | os.PathLike, config: CalibrationConfig = CalibrationConfig(),
                    workers: int | None = None, progress: Progress | None = None) -> Calibration:
    """Match held-out windows of real footage against libraries of the other footage."""
    started = time.perf_counter()
    note = progress or (lambda label, done, total: None)
    refs_dir = Path(refs_dir)
    units, sets = footage_units(refs_dir)
    if len(units) < config.folds + 1 or config.folds < 2:
        raise BenchmarkError(f"{refs_dir}: calibration needs at least {max(3, config.folds + 1)} footage groups "
                             f"and 2 folds; found {len(units)} groups")
    workers = max(1, workers or os.cpu_count() or 1)
    refs: dict[str, Fingerprint] = {}
    queries: dict[str, Fingerprint] = {}
    jobs = [(refs_dir, unit) for unit in units]
    with ProcessPoolExecutor(workers) as pool:
        for done, (rel, ref_fpr, query_fpr) in enumerate(pool.map(_fingerprint_job, jobs), 1):
            refs[rel], queries[rel] = ref_fpr, query_fpr
            note("fingerprinting footage", done, len(jobs))
    rng = random.Random(config.seed)
    folds = deal_folds(units, sets, config.folds, rng)
    fold_jobs, fold_titles = [], []
    for k, held in enumerate(folds):
        rest = [u for u in units if u not in held]
        titles = _titles_of(rest, config.scenes_per_title, random.Random(f"{config.seed}:titles:{k}"))
        fold_titles.append(tuple(titles))
        libraries = {
            "singles": [(u, refs[u]) for u in rest],
            "titles": [(" + ".join(t), concatenate([refs[u] for u in t], " + ".join(t))) for t in titles],
        }
        scenes = {}
        for t in titles:
            ends = np.cumsum([refs[u].duration for u in t])
            scenes[" + ".join(t)] = [(u, float(e - refs[u].duration), float(e)) for u, e in zip(t, ends)]
        lib_sets = {sets[u] for u in rest if u in sets}
        on_set = {u for u in held if sets.get(u) in lib_sets}
        fold_jobs.append((k, [(u, queries[u]) for u in held], libraries, scenes, on_set, config, config.seed))
    pairs: list[Pair] = []
    with ProcessPoolExecutor(min(workers, len(fold_jobs))) as pool:
        for done, fold_pairs in enumerate(pool.map(_run_fold, fold_jobs), 1):
            pairs += fold_pairs
            note("matching windows", done, len(fold_jobs))
    max_chance = MatchConfig().max_chance
    return Calibration(config=config, units=tuple(units), folds=tuple(tuple(f) for f in folds),
                       titles=tuple(fold_titles), pairs=tuple(pairs), curve=tuple(curve(pairs, max_chance)),
                       max_chance=max_chance, elapsed=time.perf_counter() - started,
                       by_length=by_length(pairs), by_kind=by_kind(pairs))


# -- output -------------------------------------------------------------------------

def _fmt_rate(x: float) -> str:
    return "0" if x == 0 else f"{x:.2g}"


def markdown(cal: Calibration) -> str:
    flagged = {p.threshold for p in understated(cal.curve)}
    lines = ["# fp calibration: modelled chance against measured false-match rate", "",
             f"{len(cal.pairs)} unrelated (suspect window, library) pairs of real footage; "
             f"{len(cal.units)} footage groups in {cal.config.folds} folds; windows of "
             f"{', '.join(f'{x:g}' for x in cal.config.lengths)} s; libraries: one video per group "
             f"('singles') and multi-scene titles of {cal.config.scenes_per_title[0]}-{cal.config.scenes_per_title[1]} "
             f"groups ('titles'). fp's default threshold: chance <= {cal.max_chance:g}. "
             f"Pairs fp declared a match (all false): {sum(p.matched for p in cal.pairs)}.", "",
             "| threshold t (modelled rate <=) | pairs with chance <= t | measured rate | 95 % upper bound | measured / modelled | declared matches |",
             "|---|---|---|---|---|---|"]
    for p in cal.curve:  # significant: more than 10x the model with 95 % confidence (exact binomial tail)
        declared = "n/a" if p.declared is None else str(p.declared)
        flag = (" **>10x**" if p.under and p.ratio > UNDERSTATED else "") + (" (significant)" if p.threshold in flagged else "")
        lines.append(f"| {p.threshold:.0e} | {p.under} / {p.pairs} | {_fmt_rate(p.measured)} | {_fmt_rate(p.upper95)} | "
                     f"{p.ratio:.3g}{flag} | {declared} |")
    for title, key, rows in (("By window length", "window s", cal.by_length),
                             ("By library and footage ('same_set': the window shows footage of a set the "
                              "library also holds, e.g. one table)", "library / footage", cal.by_kind)):
        lines += ["", f"{title}: pairs with chance at or under 1e-2 / 1e-4 / 1e-6, and declared matches:", "",
                  f"| {key} | pairs | <= 1e-2 | <= 1e-4 | <= 1e-6 | declared |", "|---|---|---|---|---|---|"]
        for name, row in rows.items():
            lines.append(f"| {name} | {row['pairs']} | {row['under_0.01']} | {row['under_0.0001']} | "
                         f"{row['under_1e-06']} | {row['matched']} |")
    worst = sorted((p for p in cal.pairs if p.chance <= cal.max_chance), key=lambda p: p.chance)[:10]
    if worst:
        lines += ["", "Strongest unrelated pairs:", "",
                  "| chance | library | window | shows | reference | scene matched | declared |",
                  "|---|---|---|---|---|---|---|"]
        for p in worst:
            lines.append(f"| {p.chance:.2g} | {p.library} | fold {p.fold} {p.start:.1f}+{p.length:g} s | "
                         f"{', '.join(Path(s).stem for s in p.sources)} | {p.reference} | "
                         f"{Path(p.scene).stem if p.scene else ''} | {p.matched} |")
    return "\n".join(lines) + "\n"


def plot(cal: Calibration, path: Path) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4.8))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    t = np.array([p.threshold for p in cal.curve])
    measured = np.array([p.measured for p in cal.curve])
    upper = np.array([p.upper95 for p in cal.curve])
    ax.plot(t, t, color="k", lw=1, label="modelled (rate = threshold)")
    ax.plot(t, t * UNDERSTATED, color="tab:red", lw=1, ls="--", label="10x modelled")
    seen = measured > 0
    ax.plot(t[seen], measured[seen], "o-", color="tab:blue", label="measured rate")
    ax.plot(t, upper, "v", color="tab:blue", alpha=0.5, label="95 % upper bound")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("chance threshold t")
    ax.set_ylabel("share of unrelated pairs with chance <= t")
    ax.set_ylim(min(1e-6, upper.min() / 2), 2)
    ax.set_title(f"Calibration: {len(cal.pairs)} unrelated pairs")
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def write_calibration(cal: Calibration, out_dir: str | os.PathLike) -> dict[str, Path]:
    """calibration.json (with every pair), calibration.md and calibration.png in out_dir."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": out_dir / "calibration.json", "markdown": out_dir / "calibration.md",
             "plot": out_dir / "calibration.png"}
    paths["json"].write_text(json.dumps(cal.to_dict(), separators=(",", ":")) + "\n")
    paths["markdown"].write_text(markdown(cal))
    plot(cal, paths["plot"])
    return paths

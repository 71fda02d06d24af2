"""Run a benchmark: index the references, match every query, measure accuracy and speed.

fp and the naive baseline run on the same files in the same run; throughput is reported as
a ratio to pure decoding of the same files, measured in the same run.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Callable

from fp.fingerprint.decode import decode_all, stream_duration
from fp.fingerprint.errors import FpError
from fp.index.indexer import index_paths
from fp.index.inner_check import MAX_LINE_CHANCE, PIXEL_FALSE_PASS, PIXELS_NOTE
from fp.index.library import Library
from fp.index.matcher import MatchConfig, Matcher

from . import metrics
from .baseline import Baseline
from .truth import Truth, load_truth, resolve_query, resolve_refs_dir

Progress = Callable[[str, int, int], None]


def decode_seconds(paths: list[Path], workers: int) -> float:
    """Wall time to decode every frame of `paths` with `workers` processes."""
    start = time.perf_counter()
    if workers <= 1:
        for p in paths:
            decode_all(p)
    else:
        with ProcessPoolExecutor(workers) as pool:
            list(pool.map(decode_all, paths))
    return time.perf_counter() - start


def clip_duration(path: Path) -> float:
    """Seconds of video the stream decodes to (0 for a file that does not decode)."""
    try:
        return stream_duration(path)
    except FpError:
        return 0.0


def _score(chance: float | None) -> float:
    if chance is None:
        return float("-inf")
    return -math.log10(max(chance, 1e-300))


def run_benchmark(truth_path: str | os.PathLike, refs_dir: str | os.PathLike, out_dir: str | os.PathLike, *,
                  workers: int | None = None, baseline: bool = True, progress: Progress | None = None,
                  inner_check: bool | None = None) -> dict:
    """`inner_check` (default MatchConfig's): fp's figures with the inner-view check; the figures
    without it come from the same run (the check reads only what matched nothing) and are
    reported beside them, with what the check read, passed and cost."""
    truth_path, refs_dir, out_dir = Path(truth_path), Path(refs_dir), Path(out_dir)
    truth = load_truth(truth_path)
    workers = workers or os.cpu_count() or 1
    out_dir.mkdir(parents=True, exist_ok=True)
    note = progress or (lambda label, done, total: None)

    ref_paths = reference_paths(truth_path, truth, refs_dir)
    rel_of = relative_names(ref_paths, truth.references)
    query_paths = [resolve_query(truth_path, q) for q in truth.queries]
    ref_seconds = sum(clip_duration(p) for p in ref_paths)

    # -- index ---------------------------------------------------------------------------
    lib_dir = out_dir / "library"
    shutil.rmtree(lib_dir, ignore_errors=True)
    note("decoding references", 0, 1)
    ref_decode = decode_seconds(ref_paths, workers)
    with Library(lib_dir) as lib:
        report = index_paths(lib, ref_paths, workers=workers,
                             progress=lambda o, d, t: note("indexing", d, t))
        index_seconds = report.elapsed
        stats = lib.stats()
        config = MatchConfig()
        inner_check = config.inner_check if inner_check is None else inner_check
        matcher = Matcher(lib, replace(config, inner_check=False))
        # -- match -------------------------------------------------------------------------
        outcomes, plain, rows, checks = [], [], [], []
        match_seconds = check_seconds = 0.0
        for i, (q, path) in enumerate(zip(truth.queries, query_paths)):
            note("matching", i, len(truth.queries))
            start = time.perf_counter()
            try:
                result = matcher.match_file(path)
                error = None
            except FpError as exc:
                result, error = None, str(exc)
            match_seconds += time.perf_counter() - start
            plain.append(outcome(q, result, error, rel_of))
            if inner_check and result is not None and result.verdict == "no_match":
                start = time.perf_counter()
                checked = matcher.inner_rescue(path, result, unbounded=True)  # both ways, to measure both bounds
                spent = time.perf_counter() - start
                check_seconds += spent
                passed = checked is not result
                by_pixels = passed and any(PIXELS_NOTE in w for w in checked.warnings)
                given = passed and (not by_pixels or PIXEL_FALSE_PASS <= config.max_chance)  # as fp match would
                checks.append({"query": q.query, "truth": q.reference, "seconds": round(spent, 3), "passed": passed,
                               "by_pixels": by_pixels, "given": given, "line_chance": nearest_chance(result.nearest),
                               "passed_ref": _rel(checked.matches[0].ref_path, rel_of) if passed else None})
                result = checked if given else result
            outcomes.append(outcome(q, result, error, rel_of))
            rows.append({"query": q.query, "truth": q.to_dict(), "result": result.to_dict() if result else {"error": error}})
    match_seconds += check_seconds
    note("decoding queries", 0, 1)
    query_decode = decode_seconds(query_paths, 1)
    query_seconds = sum(clip_duration(p) for p in query_paths)

    results = {
        "truth": str(truth_path),
        "refs_dir": str(refs_dir),
        "seed": truth.seed,
        "workers": workers,
        "fp": {
            **metrics.summary(outcomes),
            "recall_by_edit": metrics.recall_by_edit(outcomes),
            "recall_by_reference": metrics.recall_by_reference(outcomes),
            "negatives_by_group": metrics.negatives_by_group(outcomes),
            "pr_curve": metrics.pr_curve(outcomes),
            "false_match_queries": [o.query for o in outcomes if o.false_match],
            "missed_queries": [o.query for o in outcomes if o.truth_ref and not o.correct],
        },
        **({"fp_without_inner_check": _figures(plain), "inner_check": _check_report(checks, outcomes, check_seconds)}
           if inner_check else {}),
        "speed": {
            "reference_video_seconds": round(ref_seconds, 2),
            "index_seconds": round(index_seconds, 3),
            "index_realtime_multiple": round(ref_seconds / index_seconds, 2) if index_seconds else None,
            "reference_decode_seconds": round(ref_decode, 3),
            "index_vs_decode": round(ref_decode / index_seconds, 3) if index_seconds else None,
            "query_video_seconds": round(query_seconds, 2),
            "match_seconds": round(match_seconds, 3),  # with the inner check's, when it ran
            "match_realtime_multiple": round(query_seconds / match_seconds, 2) if match_seconds else None,
            "query_decode_seconds": round(query_decode, 3),
            "match_vs_decode": round(query_decode / match_seconds, 3) if match_seconds else None,
        },
        "library": {**stats, "bytes_per_video_hour": stats["bytes_per_video_hour"]},
        "titles": [t.to_dict() for t in truth.titles],
    }
    if baseline:
        results["baseline"] = _run_baseline(truth, ref_paths, query_paths, refs_dir, note)
    (out_dir / "results.json").write_text(json.dumps(results, indent=1, default=str))
    (out_dir / "queries.jsonl").write_text("\n".join(json.dumps(r, default=str) for r in rows) + "\n")
    from .report import write_report

    write_report(results, outcomes, out_dir)
    return results


def reference_paths(truth_path: Path, truth: Truth, refs_dir: Path) -> list[Path]:
    """Where each reference is: under refs_dir, else under the refs folder truth.json records
    (a generated benchmark keeps its multi-scene titles there)."""
    recorded = resolve_refs_dir(truth_path, truth)
    out = []
    for rel in truth.references:
        path = refs_dir / rel
        if not path.exists() and recorded is not None and (recorded / rel).exists():
            path = recorded / rel
        out.append(path)
    return out


def relative_names(paths: list[Path], names: tuple[str, ...]) -> dict[str, str]:
    """Library path (as indexed, and resolved) -> the reference's name in truth.json."""
    out = {}
    for path, name in zip(paths, names):
        out[str(path)] = out[str(path.resolve())] = out[str(path.absolute())] = name
    return out


def _rel(path: str | None, rel_of: dict[str, str]) -> str | None:
    if path is None:
        return None
    return rel_of.get(path) or rel_of.get(str(Path(path).resolve())) or str(path)


def nearest_chance(nearest) -> float | None:
    """The chance of a result's strongest rejected alignment (a dict today; an object with
    `.chance` is read too)."""
    if nearest is None:
        return None
    return float(nearest["chance"] if isinstance(nearest, dict) else nearest.chance)


def _nearest_path(nearest) -> str | None:
    return nearest["ref_path"] if isinstance(nearest, dict) else getattr(nearest, "ref_path", None)


def _figures(outcomes: list[metrics.Outcome]) -> dict:
    return {**metrics.summary(outcomes), "recall_by_edit": metrics.recall_by_edit(outcomes),
            "false_match_queries": [o.query for o in outcomes if o.false_match]}


def _check_report(checks: list[dict], outcomes: list[metrics.Outcome], seconds: float) -> dict:
    """What the inner-view check was given (the queries that matched nothing), the lines it read
    (at chance MAX_LINE_CHANCE or below), what passed, and the unrelated ones that passed: the
    measured false-pass count behind inner_check.FALSE_PASS."""
    by_query = {o.query: o for o in outcomes}
    unrelated = [c for c in checks if c["truth"] is None]
    read = [c for c in checks if c["line_chance"] is not None and c["line_chance"] <= MAX_LINE_CHANCE]
    return {
        "unmatched": len(checks), "read": len(read), "unrelated_lines_read": sum(c["truth"] is None for c in read),
        "passed": sum(c["passed"] for c in checks),
        "rescued": [c["query"] for c in checks if c.get("given", c["passed"]) and by_query[c["query"]].correct],
        "unrelated_unmatched": len(unrelated), "unrelated_passed": [c["query"] for c in unrelated if c["passed"]],
        # passed by the pixels (pixel_moment.py), given or not: copies (truth set) and unrelated
        "by_pixels": [c["query"] for c in checks if c.get("by_pixels") and c["truth"]],
        "unrelated_by_pixels": [c["query"] for c in unrelated if c.get("by_pixels")],
        "wrong_title": [c["query"] for c in checks if c["passed"] and c["truth"] and c.get("passed_ref", c["truth"]) != c["truth"]],
        "seconds": round(seconds, 3), "checks": checks,
        # over the lines read: the gated ones cost nothing, and made this median 0 on most draws
        "median_seconds": round(sorted(c["seconds"] for c in read)[len(read) // 2], 3) if read else None,
    }


def outcome(q, result, error, rel_of: dict[str, str]) -> metrics.Outcome:
    """How one query of the truth came out (`result` a MatchResult, or `error` its one-line
    error), reference paths named as in truth.json through `rel_of` (`relative_names`)."""
    best = result.matches[0] if result and result.matches else None
    nearest = result.nearest if result else None
    if best is not None:
        score, cand = _score(best.chance), _rel(best.ref_path, rel_of)
    elif nearest is not None:
        score, cand = _score(nearest_chance(nearest)), _rel(_nearest_path(nearest), rel_of)
    else:
        score, cand = float("-inf"), None
    return metrics.Outcome(
        query=q.query, truth_ref=q.reference, predicted_ref=_rel(best.ref_path, rel_of) if best else None,
        score=score, edits=tuple(q.edits), kind=q.kind,
        true_query_span=tuple(q.query_span) if q.query_span else None,
        true_ref_span=tuple(q.ref_span) if q.ref_span else None,
        query_span=best.query_span if best else None, ref_span=best.ref_span if best else None,
        candidate_ref=cand, error=error,
        other_refs=tuple(_rel(m.ref_path, rel_of) for m in result.matches[1:]) if result else (),
        group=q.group,
    )


def _run_baseline(truth: Truth, ref_paths, query_paths, refs_dir: Path, note) -> dict:
    base = Baseline()
    start = time.perf_counter()
    for i, (rel, p) in enumerate(zip(truth.references, ref_paths)):
        note("baseline indexing", i, len(ref_paths))
        try:
            base.add(rel, p)
        except FpError:
            pass
    index_seconds = time.perf_counter() - start
    outcomes = []
    start = time.perf_counter()
    for i, (q, p) in enumerate(zip(truth.queries, query_paths)):
        note("baseline matching", i, len(query_paths))
        try:
            m = base.match(p)
        except FpError as exc:
            outcomes.append(metrics.Outcome(q.query, q.reference, None, float("-inf"), tuple(q.edits), q.kind,
                                            error=str(exc), group=q.group))
            continue
        outcomes.append(metrics.Outcome(
            q.query, q.reference, m.ref, m.score, tuple(q.edits), q.kind, group=q.group,
            true_query_span=tuple(q.query_span) if q.query_span else None,
            true_ref_span=tuple(q.ref_span) if q.ref_span else None,
            query_span=(0.0, clip_duration(p)) if m.ref else None, ref_span=m.ref_span if m.ref else None,
            candidate_ref=m.candidate))
    return {**metrics.summary(outcomes), "recall_by_edit": metrics.recall_by_edit(outcomes),
            "negatives_by_group": metrics.negatives_by_group(outcomes), "pr_curve": metrics.pr_curve(outcomes), "index_seconds": round(index_seconds, 3),
            "match_seconds": round(time.perf_counter() - start, 3),
            "description": "64-bit pHash of 1 frame/s, no normalisation, flat FAISS, vote by count (hit: distance <= 10; match: >= 30% of query frames)"}

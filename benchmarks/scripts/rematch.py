"""Re-match a benchmark run's queries from cached fingerprints: recall per family, false matches.

Matching changes are measured on the same queries many times; fingerprinting them is most of
`fp bench`'s time. This fingerprints each query of a truth file once (into --cache, pickled) and
re-matches them against a run's library with today's matcher, scored by the same code as
`fp bench` (harness outcomes, metrics.summary / recall_by_edit): on seed 2 it gives the report's
recall, false matches and per-family counts exactly.

    python benchmarks/scripts/rematch.py --truth /work/bench-data/widened_s2/data/truth.json \
        --refs /work/bench-data/widened_s2/data/refs --library /work/bench-data/widened_s2/library \
        --cache /tmp/fp-cache-s2 [--max-chance 0.003] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import pickle
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from fp.benchmarks import metrics
from fp.benchmarks.harness import outcome, relative_names, reference_paths
from fp.benchmarks.truth import load_truth
from fp.fingerprint.errors import VideoDecodeError
from fp.fingerprint.pipeline import QUERY, fingerprint_video
from fp.fingerprint.types import PHASE_VIEW
from fp.index.library import Library
from fp.index.matcher import MatchConfig, Matcher


def _cache(args: tuple[Path, Path]) -> None:
    video, out = args
    if out.exists():
        return
    try:
        fpr = fingerprint_video(video, QUERY)
    except VideoDecodeError as exc:
        fpr = str(exc)
    out.write_bytes(pickle.dumps(fpr))


def report(outcomes: list, prefix: str = "") -> dict:
    """Print a run's recall, false matches, AP and the families short of all found; return them."""
    out = {"summary": metrics.summary(outcomes), "by_edit": metrics.recall_by_edit(outcomes),
           "false_matches": [o.query for o in outcomes if o.false_match],
           "misses": [o.query for o in outcomes if o.truth_ref is not None and not o.correct]}
    s = out["summary"]
    print(f"{prefix}recall {s['true_matches']}/{s['copies']}; false matches {s['false_matches']} "
          f"(of {s['negatives']} unrelated, rate <= {s['false_match_rate_upper95']:.3g}); AP {s['average_precision']:.3f}")
    for edit, r in out["by_edit"].items():
        if r["found"] < r["n"]:
            print(f"  {edit:16s} {r['found']}/{r['n']}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--truth", type=Path, required=True)
    ap.add_argument("--refs", type=Path, required=True)
    ap.add_argument("--library", type=Path, required=True, help="the library an fp bench run built")
    ap.add_argument("--cache", type=Path, required=True)
    ap.add_argument("--max-chance", type=float, default=MatchConfig().max_chance)
    ap.add_argument("--search-zooms", action="store_true", help="search the zoomed-out pictures too (fp match --search-zooms)")
    ap.add_argument("--no-half-step", action="store_true", help="match without the half-step rows (as before they were hashed)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--rows", type=Path, help="also write one JSON line per query: its truth and its best match or nearest")
    a = ap.parse_args()
    truth = load_truth(a.truth)
    rel_of = relative_names(reference_paths(a.truth, truth, a.refs), truth.references)
    a.cache.mkdir(parents=True, exist_ok=True)
    jobs = [(a.truth.parent / q.query, a.cache / (Path(q.query).name + ".pkl")) for q in truth.queries]
    with ProcessPoolExecutor(a.workers) as pool:
        list(pool.map(_cache, jobs, chunksize=4))
    outcomes, rows = [], []
    with Library(a.library, create=False, readonly=True) as lib:
        matcher = Matcher(lib, MatchConfig(max_chance=a.max_chance, search_zooms=a.search_zooms))
        for q, (_, cached) in zip(truth.queries, jobs):
            fpr = pickle.loads(cached.read_bytes())
            if isinstance(fpr, str):
                outcomes.append(outcome(q, None, fpr, rel_of))
            else:
                if a.no_half_step:
                    fpr = fpr.select(fpr.views != PHASE_VIEW)
                result = matcher.match_fingerprint(fpr, q.query)
                outcomes.append(outcome(q, result, None, rel_of))
                best = result.matches[0].to_dict() if result.matches else None
                rows.append({"query": q.query, "kind": q.kind, "reference": q.reference, "edits": list(q.edits),
                             "correct": outcomes[-1].correct, "false_match": outcomes[-1].false_match,
                             "best": best, "nearest": result.nearest})
    out = {"max_chance": a.max_chance, **report(outcomes)}
    if a.json:
        a.json.write_text(json.dumps(out, indent=1, default=str))
    if a.rows:
        a.rows.write_text("".join(json.dumps(r, default=str) + "\n" for r in rows))


if __name__ == "__main__":
    main()

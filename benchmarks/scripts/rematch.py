"""Re-match a benchmark run's queries from cached fingerprints: recall per family, false matches.

Matching changes are measured on the same queries many times; fingerprinting them is most of
`fp bench`'s time. This fingerprints each query of a run once (into --cache, pickled) and
re-matches them against the run's own library with today's matcher. On seed 2 it gives the
`fp bench --truth` report's recall, false matches and per-family counts exactly.

    python benchmarks/scripts/rematch.py --run /work/bench-data/widened_s2 \
        --data /work/bench-data/widened_s2/data --cache /tmp/fp-cache-s2 [--max-chance 0.003]

--run: an `fp bench` output folder (its queries.jsonl and library/); --data: the folder the
query paths in queries.jsonl are relative to.
"""
from __future__ import annotations

import argparse
import collections
import json
import pickle
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from fp.fingerprint.errors import VideoDecodeError
from fp.fingerprint.pipeline import QUERY, fingerprint_video
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


def family(truth: dict) -> str:
    edits = truth.get("edits") or []
    span = truth.get("query_span") or (0.0, 99.0)
    if truth.get("group") == "short" or span[1] - span[0] <= 3.0:
        return "short"
    if truth["kind"] == "natural" or not edits:
        return "natural"
    return edits[0] if len(edits) == 1 else f"combo{len(edits)}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, required=True)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--cache", type=Path, required=True)
    ap.add_argument("--max-chance", type=float, default=MatchConfig().max_chance)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    rows = [json.loads(line) for line in (a.run / "queries.jsonl").read_text().splitlines() if line.strip()]
    a.cache.mkdir(parents=True, exist_ok=True)
    jobs = [(a.data / r["query"], a.cache / (Path(r["query"]).name + ".pkl")) for r in rows]
    with ProcessPoolExecutor(a.workers) as pool:
        list(pool.map(_cache, jobs, chunksize=4))
    total, found, false, misses = collections.Counter(), collections.Counter(), [], []
    with Library(a.run / "library", create=False, readonly=True) as lib:
        matcher = Matcher(lib, MatchConfig(max_chance=a.max_chance))
        for r, (_, cached) in zip(rows, jobs):
            fpr, truth = pickle.loads(cached.read_bytes()), r["truth"]
            if isinstance(fpr, str):
                continue
            result = matcher.match_fingerprint(fpr, r["query"])
            titles = [m.title for m in result.matches]
            if truth["kind"] == "negative":
                if titles:
                    false.append({"query": r["query"], "matches": [[m.title, m.chance] for m in result.matches]})
                continue
            ref = Path(truth["reference"]).stem
            fam = family(truth)
            total[fam] += 1
            ok = bool(titles) and all(t == ref for t in titles)
            found[fam] += ok
            if not ok:
                misses.append({"query": r["query"], "family": fam, "reference": ref, "nearest": result.nearest})
    out = {"max_chance": a.max_chance, "copies": sum(total.values()), "found": sum(found.values()),
           "by_family": {f: [found[f], total[f]] for f in sorted(total)}, "false_matches": false, "misses": misses}
    print(f"recall {out['found']}/{out['copies']}; false matches {len(false)}")
    for f, (k, n) in out["by_family"].items():
        if k < n:
            print(f"  {f:16s} {k}/{n}")
    if a.json:
        a.json.write_text(json.dumps(out, indent=1, default=str))


if __name__ == "__main__":
    main()

"""A benchmark run's queries against its library plus other versions of every reference.

A studio library holds several versions of one film (an SD master, a greyscale or logo-stamped
broadcast cut). This writes two versions of each reference of a truth file (`sd`: 240 lines,
CRF 30; `broadcast`: greyscale with a channel logo), indexes the references and the versions
into one library, and re-matches the queries (fingerprints cached as rematch.py does). A copy
matched to any version of its reference counts as found; a negative matched to anything is a
false match. Scored by the same code as `fp bench`.

    python benchmarks/scripts/versions.py --truth /work/bench-data/s8/data/truth.json \
        --refs /work/bench-data/s8/data/refs --out /work/bench-data/s8-versions --cache /work/cache/s8
"""
from __future__ import annotations

import argparse
import json
import pickle
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2

from fp.benchmarks.harness import outcome, relative_names, reference_paths
from fp.benchmarks.truth import load_truth
from fp.benchmarks.videoio import EncodeSettings, iter_frames, probe_clip, write_video
from fp.index.indexer import index_paths
from fp.index.library import Library
from fp.index.matcher import Matcher
from rematch import _cache, report  # noqa: E402  (a sibling script: run from a checkout)


def broadcast(rgb):
    out = cv2.cvtColor(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    h = out.shape[0]
    cv2.putText(out, "TV1", (h // 20, h // 8), cv2.FONT_HERSHEY_SIMPLEX, h / 400, (255, 255, 255), max(1, h // 200))
    return out


VERSIONS = {
    "sd": (lambda rgb: rgb, {"max_height": 240, "crf": 30}),
    "broadcast": (broadcast, {}),
}


def make_version(args: tuple[Path, Path, str]) -> Path:
    src, dst, name = args
    if not dst.exists():
        edit, settings = VERSIONS[name]
        info = probe_clip(src)
        frames = ((t, edit(rgb)) for t, rgb in iter_frames(src))
        write_video(dst, frames, EncodeSettings(fps=info.fps, duration=info.duration, **settings))
    return dst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--truth", type=Path, required=True)
    ap.add_argument("--refs", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--cache", type=Path, required=True)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    truth = load_truth(a.truth)
    refs = reference_paths(a.truth, truth, a.refs)
    rel_of = relative_names(refs, truth.references)
    (a.out / "versions").mkdir(parents=True, exist_ok=True)
    a.cache.mkdir(parents=True, exist_ok=True)
    todo = [(ref, a.out / "versions" / f"{ref.stem}__{name}.mp4", name) for ref in refs for name in VERSIONS]
    jobs = [(a.truth.parent / q.query, a.cache / (Path(q.query).name + ".pkl")) for q in truth.queries]
    with ProcessPoolExecutor(a.workers) as pool:
        versions = list(pool.map(make_version, todo))
        list(pool.map(_cache, jobs, chunksize=4))
    for (ref, _, _), path in zip(todo, versions):
        rel_of.update(relative_names([path], (rel_of[str(ref)],)))
    root = a.out / "library"
    if not root.exists():
        with Library(root) as lib:
            index_paths(lib, [*refs, *versions], workers=a.workers)
    outcomes = []
    with Library(root, create=False, readonly=True) as lib:
        matcher = Matcher(lib)
        for q, (_, cached) in zip(truth.queries, jobs):
            fpr = pickle.loads(cached.read_bytes())
            if isinstance(fpr, str):
                outcomes.append(outcome(q, None, fpr, rel_of))
            else:
                outcomes.append(outcome(q, matcher.match_fingerprint(fpr, q.query), None, rel_of))
    out = report(outcomes, f"library: {len(refs)} references + {len(versions)} versions; ")
    if a.json:
        a.json.write_text(json.dumps(out, indent=1, default=str))


if __name__ == "__main__":
    main()

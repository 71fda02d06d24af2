"""Which FAISS index for which library size: measured on a library `fp bench --scale` built.

For each candidate index (flat, binary IVF at several nlist / nprobe) this builds the index from
the library's first-stage rows (what `fp` indexes), then, on one thread, matches the scale
benchmark's suspects through it: the FAISS search time of each 60 s suspect (its rows and their
mirror, k as the matcher asks), the whole `match_fingerprint` time, frame recall of the copies
(query rows with a within-radius neighbour in the right reference, as a share of what flat finds)
and match recall / false matches.

    python -m fp.benchmarks.faiss_choice /work/scale-data/v3/library-100h \
        --suspects /work/scale-data/v3 --specs flat,ivf:4:64,ivf:16:64 --json out.json

`saved:P1/P2` measures the library's saved IVF index at nprobe = nlist / P1, ... (no build).
A spec `ivf:F:P1/P2/...` is nlist = F * sqrt(n) (rounded to a power of two), built once, then
measured at nprobe = nlist / P1, nlist / P2, ...; `ivfs:...` is the same with centroids sampled
from the codes instead of trained by k-means (no training cost).
"""
from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import faiss
import numpy as np

from fp.index import faiss_factory
from fp.index.faiss_index import FrameIndex, IndexState, encode_ids
from fp.index.library import Library
from fp.index.matcher import MatchConfig, Matcher
from fp.index.packed import first_stage

from .synthetic import load_fingerprint


def first_stage_rows(lib: Library) -> tuple[np.ndarray, np.ndarray]:
    """(ids, codes) of every video's first-stage rows, read one video at a time."""
    n = lib.store.counts()["search_hashes"]
    ids = np.empty(n, np.int64)
    codes = np.empty((n, lib.nbits // 8), np.uint8)
    at = 0
    for video in lib.videos():
        stream = lib.stream(video.id, "search")
        if stream is None:
            continue
        stream = first_stage(stream)
        ids[at:at + len(stream)] = encode_ids(video.id, stream.t0)
        codes[at:at + len(stream)] = stream.codes
        at += len(stream)
    return ids[:at], codes[:at]


def spec_of(text: str, n: int, nbits: int) -> tuple[faiss_factory.IndexSpec, list[int], bool]:
    """(spec to build, nprobe values to measure, centroids sampled rather than trained)."""
    if text == "flat":
        return faiss_factory.IndexSpec("flat", nbits, {}), [0], False
    kind, factor, probes = text.split(":")
    nlist = int(2 ** round(math.log2(max(16.0, float(factor) * math.sqrt(n)))))
    nprobes = [max(1, round(nlist / float(p))) for p in probes.split("/")]
    return faiss_factory.IndexSpec("ivf", nbits, {"nlist": nlist, "nprobe": nprobes[0]}), nprobes, kind == "ivfs"


def build(spec: faiss_factory.IndexSpec, ids: np.ndarray, codes: np.ndarray, sampled: bool = False
          ) -> tuple[faiss.IndexBinary, float, float]:
    """(index, train CPU seconds, add CPU seconds), one thread."""
    index = faiss_factory.build_index(spec)
    t0 = time.process_time()
    if faiss_factory.needs_training(index):
        rng = np.random.default_rng(0)
        if sampled:
            inner = faiss_factory.unwrap(index)
            inner.quantizer.add(codes[np.sort(rng.choice(len(codes), inner.nlist, replace=False))])
            inner.is_trained = True
        else:
            size = faiss_factory.training_size(index)
            faiss_factory.train(index, codes[np.sort(rng.choice(len(codes), min(len(codes), size), replace=False))])
    t1 = time.process_time()
    for start in range(0, len(ids), 1 << 20):
        index.add_with_ids(codes[start:start + (1 << 20)], ids[start:start + (1 << 20)])
    return index, t1 - t0, time.process_time() - t1


def install(lib: Library, index: faiss.IndexBinary) -> None:
    """Make `lib` search through `index` (measurement only: the state says it is current)."""
    counts = lib.store.counts()
    frame_index = FrameIndex.__new__(FrameIndex)
    frame_index.nbits = lib.nbits
    frame_index.index = index
    frame_index.mapped = False  # held in memory (a mapped index is never swapped like this)
    frame_index.state = IndexState(lib.store.generation, int(lib.store.meta("removed_generation", "0")),
                                   counts["max_video_id"], faiss_factory.index_kind(index),
                                   lib.store.meta("library_id", "") or "")
    lib._index = frame_index


def suspects_of(out: Path) -> list[dict]:
    """The suspects `fp bench --scale --out OUT` made (from its cache: nothing is rendered again
    when that run finished)."""
    from .scale import ScaleConfig, prepare_material

    return [s.to_dict() for s in prepare_material(ScaleConfig(hours=1.0, out=Path(out))).suspects]


def measure(lib: Library, suspects: list[dict], k: int, radius: int) -> list[dict]:
    by_path = {v.path: v.id for v in lib.videos()}
    rows = []
    for s in suspects:
        fpr = load_fingerprint(s["fingerprint"])[0]
        usable = fpr.quality >= MatchConfig().min_quality
        truth = by_path.get(s.get("reference") or "", -1)
        t0 = time.process_time()
        hits = np.zeros(len(fpr), bool)
        for codes in (fpr.codes, fpr.mirror_codes):
            dist, vids, _ = lib.search(codes[usable], k)
            hits[np.nonzero(usable)[0]] |= ((vids == truth) & (dist <= radius)).any(axis=1)
        faiss_s = time.process_time() - t0
        matcher = Matcher(lib)
        t1 = time.process_time()
        result = matcher.match_fingerprint(fpr)
        match_s = time.process_time() - t1
        names = [m.ref_path for m in result.matches]
        rows.append({"name": s["name"], "kind": s["kind"], "truth": s.get("reference"), "faiss_cpu_s": faiss_s,
                     "match_cpu_s": match_s, "frame_hits": int(hits.sum()), "rows": int(usable.sum()),
                     "found": bool(names) and names[0] == s.get("reference"),
                     "false_match": any(p != s.get("reference") for p in names)})
    return rows


def run(library: str, cache: str, specs: list[str], k: int | None = None) -> dict:
    faiss.omp_set_num_threads(1)
    lib = Library(library, create=False, readonly=True)
    if all(s.startswith("saved") for s in specs):
        ids, codes = np.broadcast_to(np.int8(0), (lib.store.counts()["search_hashes"],)), None  # only the count is used
    else:
        ids, codes = first_stage_rows(lib)
    config = MatchConfig()
    k = k or config.k
    radius = config.radius_for(lib.nbits)
    suspects = suspects_of(Path(cache))
    results: list[dict] = []
    for text in specs:
        if text.startswith("saved"):  # the library's own saved index, at other nprobe values
            index = lib.index.index
            nlist = faiss_factory.unwrap(index).nlist
            spec = faiss_factory.IndexSpec("ivf", lib.nbits, {"nlist": nlist})
            nprobes, sampled, train_s, add_s = [max(1, round(nlist / float(p))) for p in text.split(":")[1].split("/")], False, 0.0, 0.0
        else:
            spec, nprobes, sampled = spec_of(text, len(ids), lib.nbits)
            index, train_s, add_s = build(spec, ids, codes, sampled)
        for nprobe in nprobes:
            if nprobe:
                faiss_factory.set_search_params(index, nprobe=nprobe)
                spec = faiss_factory.IndexSpec("ivf", lib.nbits, {**spec.params, "nprobe": nprobe})
            install(lib, index)
            results.append(_summary(text + (" sampled" if sampled else ""), spec, lib, len(ids), train_s, add_s,
                                    measure(lib, suspects, k, radius), results))
            print(json.dumps({k: v for k, v in results[-1].items() if k != "suspects"}), flush=True)
            lib._index = None
        del index
    lib.close()
    return {"library": library, "results": results}


def _summary(text, spec, lib, n, train_s, add_s, rows, earlier) -> dict:
    hits = np.array([r["frame_hits"] for r in rows])
    flat = next((r for r in earlier if r["kind"] == "flat"), None)
    flat_hits = hits if spec.kind == "flat" else (np.array([r["frame_hits"] for r in flat["suspects"]]) if flat else None)
    copies = [r for r in rows if r["truth"]]
    unrelated = [r for r in rows if not r["truth"]]
    return {
        "spec": text, "kind": spec.kind, "params": dict(spec.params), "n": n,
        "hours": round(lib.store.counts()["hours"], 1), "train_cpu_s": round(train_s, 2), "add_cpu_s": round(add_s, 2),
        "faiss_cpu_s_copy": round(float(np.mean([r["faiss_cpu_s"] for r in copies])), 3),
        "faiss_cpu_s_unrelated": round(float(np.mean([r["faiss_cpu_s"] for r in unrelated])), 3),
        "match_cpu_s_copy": round(float(np.mean([r["match_cpu_s"] for r in copies])), 3),
        "match_cpu_s_unrelated": round(float(np.mean([r["match_cpu_s"] for r in unrelated])), 3),
        "frame_recall": (round(float(hits[[bool(r["truth"]) for r in rows]].sum()
                                     / max(1, flat_hits[[bool(r["truth"]) for r in rows]].sum())), 4)
                         if flat_hits is not None else None),
        "recall": round(float(np.mean([r["found"] for r in copies])), 4),
        "false_matches": int(sum(r["false_match"] for r in rows)),
        "suspects": rows,
    }


def table(results: list[dict]) -> str:
    lines = ["| library | codes in FAISS | index | nlist | nprobe | train + add (CPU s) | FAISS search, copy / unrelated (CPU s) "
             "| match_fingerprint, copy / unrelated (CPU s) | frame recall vs flat | recall | false matches |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        p = r["params"]
        lines.append(f"| {r['hours']:g} h | {r['n']:,} | {r['spec'].split(':')[0].replace('ivfs', 'ivf, sampled centroids')} | {p.get('nlist', '')} | {p.get('nprobe', '')} "
                     f"| {r['train_cpu_s'] + r['add_cpu_s']:.1f} | {r['faiss_cpu_s_copy']:.2f} / {r['faiss_cpu_s_unrelated']:.2f} "
                     f"| {r['match_cpu_s_copy']:.2f} / {r['match_cpu_s_unrelated']:.2f} | {r['frame_recall']} "
                     f"| {r['recall']} | {r['false_matches']} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("library", nargs="?")
    parser.add_argument("--suspects", help="the --out folder of the fp bench --scale run")
    parser.add_argument("--specs", default="flat,ivf:1:16/64/256,ivf:4:16/64/256")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--table", nargs="+", help="print the SCALE.md table of these JSON files")
    args = parser.parse_args(argv)
    if args.table:
        print(table([r for path in args.table for r in json.loads(Path(path).read_text())["results"]]))
        return
    out = run(args.library, args.suspects, args.specs.split(","))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    print(table(out["results"]))


if __name__ == "__main__":
    main()

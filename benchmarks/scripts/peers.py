"""Run open peer tools (vPDQ, perception, videohash) on an fp benchmark, each at its own thresholds.

Standalone: needs only the peers and numpy, not fp. Install them in their own virtualenv
(see PEERS.md) and run

    /tmp/peers-venv/bin/python benchmarks/peers.py --truth DATA/truth.json --refs CLIPS --out OUT

Every peer indexes the references of truth.json, then matches each query. A copy is found when
the peer names its reference; a query that names any other reference is a false match.
Writes OUT/results.json (settings, per-query answers, summaries) and OUT/results.md (tables).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import traceback
from collections import defaultdict
from datetime import date
from importlib.metadata import version
from pathlib import Path

import numpy as np

# One popcount table for Hamming distances on packed bytes.
POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint16)


def hamming_matrix(query: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Hamming distances between rows of two packed uint8 code arrays, shape (len(query), len(ref))."""
    return POPCOUNT[query[:, None, :] ^ ref[None, :, :]].sum(axis=2)


class VpdqPeer:
    """facebook/ThreatExchange vPDQ, matched as python-threatexchange's VPDQSignal/VPDQIndex do.

    Hash: vpdq.computeHash at 1 hash per second (their hash_file_compact default).
    Match: drop frames with quality < 50, dedupe identical hashes; a frame matches when some
    frame of the other video is within PDQ distance <= 31; the query matches a reference when
    >= 80 % of its frames match (VPDQ_QUERY_MATCH_THRESHOLD_PERCENT) and >= 0 % of the
    reference's frames match (VPDQ_INDEX_MATCH_THRESHOLD_PERCENT).
    """

    name = "vpdq"
    package = "vpdq"
    settings = {"seconds_per_hash": 1.0, "quality_threshold": 50, "distance_threshold": 31,
                "query_match_percent": 80.0, "compared_match_percent": 0.0}

    ref_seconds_per_hash = 1.0

    def __init__(self):
        import vpdq
        self.vpdq = vpdq
        self.refs: dict[str, np.ndarray] = {}

    def _hash(self, path: Path, seconds_per_hash: float = 1.0) -> np.ndarray:
        features = self.vpdq.computeHash(str(path), seconds_per_hash=seconds_per_hash, thread_count=1)
        kept = dict.fromkeys(f.hex for f in features if f.quality >= self.settings["quality_threshold"])
        return np.frombuffer(bytes.fromhex("".join(kept)), dtype=np.uint8).reshape(-1, 32)

    def add(self, ref: str, path: Path) -> None:
        self.refs[ref] = self._hash(path, self.ref_seconds_per_hash)

    def match(self, path: Path) -> tuple[list[tuple[str, float]], dict]:
        query = self._hash(path)
        named, detail = [], {"query_frames": len(query)}
        if len(query) == 0:
            return named, detail
        for ref, codes in self.refs.items():
            if len(codes) == 0:
                continue
            close = hamming_matrix(query, codes) <= self.settings["distance_threshold"]
            query_pct = 100.0 * close.any(axis=1).mean()
            compared_pct = 100.0 * close.any(axis=0).mean()
            if query_pct > 0:
                detail[ref] = [round(query_pct, 1), round(compared_pct, 1)]
            if (query_pct >= self.settings["query_match_percent"]
                    and compared_pct >= self.settings["compared_match_percent"]):
                named.append((ref, query_pct + compared_pct / 1000))  # ties broken by the reference share
        return named, detail


class PerceptionPeer:
    """thorn/perception framewise video hashing, as in perception's own video benchmark.

    Hash: FramewiseHasher(PHashU8(hash_size=12, exclude_first_term=False, freq_shift=1),
    frames_per_second=1, interframe_threshold=50, quality_threshold=90): the 'phashu8_framewise'
    hasher of perception's benchmarking documentation.
    Match: perception's benchmark counts a query hash as matched when its Euclidean distance to
    a hash of the reference is <= the threshold. The library has no default threshold; its
    documentation picks one per transform at 99.9 % precision, and for this hasher the published
    values are 51.1 (black frames), 74.6 (black padding), 54.9 (clip), 55.4 (gif), 24.7 (shrink),
    57.0 (slideshow). We use their median, 55. A reference is named when at least one query hash
    matches it (per-hash detection, as the benchmark scores it), ranked by matched hashes.
    """

    name = "perception"
    package = "perception"
    settings = {"frame_hasher": "PHashU8(hash_size=12, exclude_first_term=False, freq_shift=1)",
                "frames_per_second": 1, "interframe_threshold": 50, "quality_threshold": 90,
                "distance": "euclidean", "distance_threshold": 55.0, "min_matched_hashes": 1}

    ref_frames_per_second = 1

    def __init__(self):
        from perception import hashers

        def framewise(fps):
            return hashers.FramewiseHasher(
                frame_hasher=hashers.PHashU8(exclude_first_term=False, freq_shift=1, hash_size=12),
                frames_per_second=fps, interframe_threshold=50, quality_threshold=90)
        self.hasher, self.ref_hasher = framewise(1), framewise(self.ref_frames_per_second)
        self.refs: dict[str, np.ndarray] = {}

    def _hash(self, path: Path, hasher=None) -> np.ndarray:
        hasher = hasher or self.hasher
        vectors = hasher.compute(str(path), hash_format="vector")
        return np.array(vectors, dtype=np.float32).reshape(-1, hasher.hash_length)

    def add(self, ref: str, path: Path) -> None:
        self.refs[ref] = self._hash(path, self.ref_hasher)

    def match(self, path: Path) -> tuple[list[tuple[str, float]], dict]:
        query = self._hash(path)
        named, detail = [], {"query_frames": len(query)}
        if len(query) == 0:
            return named, detail
        for ref, codes in self.refs.items():
            if len(codes) == 0:
                continue
            nearest = np.sqrt(((query[:, None, :] - codes[None, :, :]) ** 2).sum(axis=2)).min(axis=1)
            matched = int((nearest <= self.settings["distance_threshold"]).sum())
            detail[ref] = [matched, round(float(nearest.min()), 1)]  # hashes matched, nearest distance
            if matched >= self.settings["min_matched_hashes"]:
                named.append((ref, matched - float(nearest.min()) / 1000))
        return named, detail


class VideohashPeer:
    """akamhy/videohash: one 64-bit hash per video (1 frame/s, collage, wavelet hash + dominant colour).

    Match: VideoHash.is_similar, i.e. Hamming distance <= ceil(15 % of 64) = 10.
    Needs an ffmpeg binary on PATH; we put imageio-ffmpeg's on PATH for this process only.
    Pillow >= 10 removed Image.ANTIALIAS, which videohash 3.0.1 uses; we alias it to LANCZOS
    (the same filter) so the package runs unchanged.
    """

    name = "videohash"
    package = "videohash"
    settings = {"frame_interval": 1, "similar_percentage": 15, "max_hamming": 10}

    def __init__(self):
        import imageio_ffmpeg
        from PIL import Image
        if not hasattr(Image, "ANTIALIAS"):
            Image.ANTIALIAS = Image.LANCZOS
        bin_dir = tempfile.mkdtemp(prefix="peers-ffmpeg-")
        os.symlink(imageio_ffmpeg.get_ffmpeg_exe(), os.path.join(bin_dir, "ffmpeg"))
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
        from videohash import VideoHash
        self.VideoHash = VideoHash
        self.refs: dict[str, object] = {}

    def _hash(self, path: Path):
        storage = tempfile.mkdtemp(prefix="peers-videohash-")
        try:  # videohash leaves its frames behind when it fails; remove them either way
            return self.VideoHash(path=str(path), storage_path=storage + os.sep, frame_interval=1)
        finally:
            shutil.rmtree(storage, ignore_errors=True)

    def add(self, ref: str, path: Path) -> None:
        self.refs[ref] = self._hash(path)

    def match(self, path: Path) -> tuple[list[tuple[str, float]], dict]:
        query = self._hash(path)
        named, detail = [], {"hash": query.hash_hex}
        for ref, ref_hash in self.refs.items():
            distance = query - ref_hash
            detail[ref] = distance
            if query.is_similar(ref_hash):
                named.append((ref, -distance))
        return named, detail


class VpdqDenseRefsPeer(VpdqPeer):
    """Not a default: vPDQ with every frame of the references hashed (seconds_per_hash=0).

    Queries still at 1 hash per second, same thresholds. Shows how much of vPDQ's miss rate comes
    from the 1 s sampling grids of query and reference not lining up on moving footage.
    """

    name = "vpdq-dense-refs"
    ref_seconds_per_hash = 0.0
    settings = {**VpdqPeer.settings, "ref_seconds_per_hash": 0.0}


class PerceptionDenseRefsPeer(PerceptionPeer):
    """Not a default: perception with references hashed at 15 frames/s (FramewiseHasher's default).

    Queries still at 1 frame/s, same threshold. The same sampling-grid check as vpdq-dense-refs.
    """

    name = "perception-dense-refs"
    ref_frames_per_second = 15
    settings = {**PerceptionPeer.settings, "ref_frames_per_second": 15}


PEERS = {peer.name: peer for peer in (VpdqPeer, PerceptionPeer, VideohashPeer,
                                      VpdqDenseRefsPeer, PerceptionDenseRefsPeer)}


def bucket(query: dict) -> str:
    """Edit bucket as fp's metrics.recall_by_edit names it."""
    edits = query.get("edits") or []
    if query.get("kind") == "natural":
        return "natural"
    if not edits:
        return "plain"
    return edits[0] if len(edits) == 1 else f"combo{len(edits)}"


def summarise(rows: list[dict]) -> dict:
    copies = [r for r in rows if r["truth"] is not None]
    negatives = [r for r in rows if r["truth"] is None]
    per_edit = defaultdict(list)
    for r in copies:
        per_edit[r["bucket"]].append(r)

    def recall(group, key):
        return round(sum(r[key] for r in group) / len(group), 3) if group else None

    return {
        "queries": len(rows), "copies": len(copies), "negatives": len(negatives),
        "found": sum(r["found"] for r in copies),
        "recall": recall(copies, "found"),
        "false_matches": sum(r["false_match"] for r in rows),
        "false_matches_on_negatives": sum(r["false_match"] for r in negatives),
        "wrong_title_on_copies": sum(r["false_match"] for r in copies),
        "recall_best_only": recall(copies, "found_best"),
        "false_matches_best_only": sum(r["false_match_best"] for r in rows),
        "errors": sum(r["error"] is not None for r in rows),
        "recall_by_edit": {k: {"n": len(v), "found": sum(r["found"] for r in v), "recall": recall(v, "found")}
                           for k, v in sorted(per_edit.items())},
    }


def run_peer(peer_cls, truth: dict, truth_dir: Path, refs_dir: Path, queries: list[dict]) -> dict:
    peer = peer_cls()
    started = time.perf_counter()
    for ref in truth["references"]:
        peer.add(ref, refs_dir / ref)
    index_s = time.perf_counter() - started
    rows = []
    for n, query in enumerate(queries, start=1):
        t0 = time.perf_counter()
        named, detail, error = [], {}, None
        try:
            named, detail = peer.match(truth_dir / query["query"])
        except Exception as exc:  # a peer that fails on one file: record it and carry on
            error = f"{type(exc).__name__}: {exc}"
            traceback.print_exc(file=sys.stderr)
        named.sort(key=lambda item: -item[1])
        names = [ref for ref, _ in named]
        truth_ref = query.get("reference")
        best = names[0] if names else None
        rows.append({
            "query": query["query"], "truth": truth_ref, "kind": query.get("kind", "copy"),
            "bucket": bucket(query) if truth_ref else "negative", "named": names,
            "found": truth_ref is not None and truth_ref in names,
            "false_match": any(ref != truth_ref for ref in names),
            "found_best": truth_ref is not None and best == truth_ref,
            "false_match_best": best is not None and best != truth_ref,
            "seconds": round(time.perf_counter() - t0, 3), "error": error, "detail": detail,
        })
        print(f"[{peer_cls.name}] {n}/{len(queries)} {query['query']} -> {best} "
              f"(truth {truth_ref})", file=sys.stderr, flush=True)
    query_s = sum(r["seconds"] for r in rows)
    return {
        "peer": peer_cls.name, "version": version(peer_cls.package), "settings": peer_cls.settings,
        "doc": " ".join((peer_cls.__doc__ or "").split()),
        "runtime": {"index_s": round(index_s, 1), "references": len(truth["references"]),
                    "query_s": round(query_s, 1), "queries": len(rows),
                    "mean_query_s": round(query_s / len(rows), 2) if rows else None},
        "summary": summarise(rows), "queries": rows,
    }


def fmt(value) -> str:
    return "–" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def markdown(results: dict) -> str:
    peers = results["peers"]
    lines = [f"# Peer tools on `{results['truth']}`", "",
             f"{results['queries']} queries ({results['subset']}), {results['references']} references. "
             f"Date {results['date']}, Python {results['python']}, load average at start "
             f"{results['loadavg_start']}, at end {results['loadavg_end']}.", "",
             "| peer | version | recall | found / copies | false matches (on negatives + wrong title) "
             "| recall, best answer only | false matches, best answer only | errors "
             "| index s | query s (mean per query) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for p in peers:
        s, rt = p["summary"], p["runtime"]
        lines.append(
            f"| {p['peer']} | {p['version']} | {fmt(s['recall'])} | {s['found']} / {s['copies']} "
            f"| {s['false_matches']} ({s['false_matches_on_negatives']} + {s['wrong_title_on_copies']}) "
            f"| {fmt(s['recall_best_only'])} | {s['false_matches_best_only']} | {s['errors']} "
            f"| {rt['index_s']} | {rt['query_s']} ({rt['mean_query_s']}) |")
    buckets = sorted({k for p in peers for k in p["summary"]["recall_by_edit"]})
    lines += ["", "Recall per edit (single edits by name; combo2/combo3: two or three edits; "
              "natural: third-party variants):", "",
              "| edit | n | " + " | ".join(p["peer"] for p in peers) + " |",
              "|---|---|" + "---|" * len(peers)]
    for k in buckets:
        cells = [p["summary"]["recall_by_edit"].get(k) for p in peers]
        n = next(c["n"] for c in cells if c)
        lines.append(f"| {k} | {n} | " + " | ".join(fmt(c["recall"]) if c else "–" for c in cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--truth", type=Path, required=True, help="truth.json of an fp benchmark")
    parser.add_argument("--refs", type=Path, required=True, help="folder the references are relative to")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--peers", default=",".join(PEERS), help=f"comma list of {', '.join(PEERS)}")
    parser.add_argument("--every", type=int, default=1, help="run every N-th query only (deterministic subset)")
    args = parser.parse_args(argv)

    truth = json.loads(args.truth.read_text())
    names = [n.strip() for n in args.peers.split(",") if n.strip()]
    unknown = [n for n in names if n not in PEERS]
    if unknown or args.every < 1:
        parser.error(f"unknown peer {unknown}" if unknown else "--every must be >= 1")
    queries = truth["queries"][::args.every]
    args.out.mkdir(parents=True, exist_ok=True)
    results = {
        "truth": str(args.truth), "refs": str(args.refs), "date": date.today().isoformat(),
        "python": platform.python_version(), "references": len(truth["references"]),
        "queries": len(queries),
        "subset": "all queries" if args.every == 1 else f"every {args.every}th query of truth.json",
        "loadavg_start": [round(x, 1) for x in os.getloadavg()], "peers": [],
    }
    for name in names:
        results["peers"].append(run_peer(PEERS[name], truth, args.truth.parent, args.refs, queries))
        results["loadavg_end"] = [round(x, 1) for x in os.getloadavg()]
        (args.out / "results.json").write_text(json.dumps(results, indent=1))  # after each peer
        (args.out / "results.md").write_text(markdown(results))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())

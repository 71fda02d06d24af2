"""What the half-step rows cost a suspect: CPU of fingerprinting with and without them, as a
ratio to decoding the same file (frames at 5 a second, the decoder dropping what no sample needs).

    python benchmarks/scripts/half_step_cost.py data/sample_clips/bbb_first60s.mp4 [...] [--repeat 3]
"""
from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

from fp.fingerprint.decode import iter_frames
from fp.fingerprint.pipeline import QUERY, fingerprint_video


def _cpu(fn) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("videos", nargs="+", type=Path)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    print("| file | decode CPU s | fingerprint / decode, without | with half steps | rows added |")
    print("|---|---|---|---|---|")
    for video in a.videos:
        runs = {"decode": [], "without": [], "with": []}
        for _ in range(a.repeat):  # alternate, keep the best of each (a shared box)
            runs["decode"].append(_cpu(lambda: sum(1 for _ in iter_frames(video, QUERY.fps))))
            runs["without"].append(_cpu(lambda: fingerprint_video(video, replace(QUERY, phase_rows=False))))
            runs["with"].append(_cpu(lambda: fingerprint_video(video, QUERY)))
        rows = len(fingerprint_video(video, QUERY)) - len(fingerprint_video(video, replace(QUERY, phase_rows=False)))
        d = min(runs["decode"])
        print(f"| {video.name} | {d:.2f} | {min(runs['without']) / d:.2f} | {min(runs['with']) / d:.2f} | {rows} |")


if __name__ == "__main__":
    main()

"""Clip level, a direction not built: does the inner-region view (inner_region.py) tell the moment
of a deep crop where fp's zooms cannot?

For copies drawn by deep_crops.py (its `--out` folder), per suspect frame (2.5 a second): the
nearest hash of the reference's frames (5 a second) at the true moment (within 0.2 s) and at any
other moment 1 s or more away, for (a) the inner view found by the suspect's sub-crop grid and (b)
fp's stored views against the suspect untouched and zoomed out at the nine places. Printed per
copy: the medians over its frames, true / best other moment; a view that tells the moment has the
first well under the second.

    python benchmarks/scripts/inner_moment.py /tmp/deep-crops crop_064.mp4 crop_045.mp4 ...
    python benchmarks/scripts/inner_moment.py /tmp/deep-crops            # every copy drawn
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from fp.fingerprint.decode import iter_frames
from fp.fingerprint.hashers import get_hasher
from fp.fingerprint.inner import grid_images as subcrops
from fp.fingerprint.inner import inner_image as inner
from fp.fingerprint.normalise import VIEWS, ZOOMS, active_picture, view_image, zoomed_image
from fp.index.hamming import popcount_distances

H = get_hasher("phash64")


def nearest(query: np.ndarray, rows: list[np.ndarray]) -> np.ndarray:
    return np.array([popcount_distances(query, r).min() for r in rows])


def main(folder: Path, names: list[str]) -> None:
    copies = {c["name"]: c for c in json.loads((folder / "copies.json").read_text())}
    tells = {"inner": 0, "zooms": 0}
    for name in names or sorted(copies):
        c = copies[name]
        ref = [(f.t, active_picture(f.luma)[0]) for f in iter_frames(c["ref"], 5.0, 1, False, None)]
        rt = np.array([t for t, _ in ref])
        r_inner = [H.hash_batch([inner(a)]).codes for _, a in ref]
        r_views = [H.hash_batch([view_image(a, v) for v in range(len(VIEWS))]).codes for _, a in ref]
        med = {"inner": ([], []), "zooms": ([], [])}
        for f in iter_frames(folder / "copies" / name, 2.5, 1, False, None):
            a = active_picture(f.luma)[0]
            queries = {"inner": (H.hash_batch(subcrops(a)).codes, r_inner),
                       "zooms": (H.hash_batch([view_image(a, 0)] + [zoomed_image(a, 0.85, at=at) for at in ZOOMS]).codes, r_views)}
            gap = np.abs(rt - (c["start"] + f.t))
            if not (gap <= 0.2).any() or not (gap >= 1.0).any():
                continue
            for kind, (q, rows) in queries.items():
                d = nearest(q, rows)
                med[kind][0].append(d[gap <= 0.2].min())
                med[kind][1].append(d[gap >= 1.0].min())
        if not med["inner"][0]:
            continue
        line = {k: (float(np.median(t)), float(np.median(o))) for k, (t, o) in med.items()}
        for k, (t, o) in line.items():
            tells[k] += t + 4 <= o
        print(f"{name} {Path(c['ref']).name} crop {c['frac']} at ({c['x']}, {c['y']}) {c['length']} s: "
              + "; ".join(f"{k} {t:.0f} / {o:.0f}" for k, (t, o) in line.items()), flush=True)
    print(f"copies whose true moment is 4+ bits nearer than any other: inner {tells['inner']}, zooms {tells['zooms']}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2:])

"""How close a cropped frame's hash comes to the stored views of its own frame.

For each sample clip (one frame in three of its first 30 s at 1 a second) and each crop fraction,
a crop at a random position is hashed as a suspect would be (active picture, whole view) and
its distance to the nearest stored view of the same frame is taken; printed: the share within
14 bits (the matching radius) / within 10 bits, per crop fraction, for each set of crop views.
A set is `frac:grid,...` (e.g. `0.15:3` is fp's nine 15 % crops; `0.15:3,0.27:4` adds sixteen
27 % crops); the whole picture and the reframe views are always in.

    python benchmarks/scripts/crop_views.py 0.15:3 0.15:3,0.27:3 0.15:3,0.27:4

With `--zoom 0.85` each set is also scored with the suspect's crop zoomed back out
(normalise.zoomed_image, the suspect-side views the matcher verifies with, placed at each of
normalise.ZOOMS; `--centred`: about the centre only): the nearest of them.

    python benchmarks/scripts/crop_views.py --zoom 0.85 0.15:3
    python benchmarks/scripts/crop_views.py --zoom 0.85 --centred 0.15:3
"""
from __future__ import annotations

import random
import sys

import cv2
import numpy as np

from fp.benchmarks.demo import SAMPLE_CLIPS
from fp.fingerprint.decode import iter_frames
from fp.fingerprint.hashers import get_hasher
from fp.fingerprint.normalise import VIEWS, ZOOMS, active_picture, reference_views, view_image, zoomed_image
from fp.index.hamming import popcount_distances

CLIPS = ("bbb_first60s.mp4", "elf.mp4", "cockatoo.mp4", "chroma-keying-video.mp4", "friday.mp4", "flower.mp4",
         "frog.mp4", "stream-of-water.mp4")
FRACS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35)


def crop(img: np.ndarray, frac: float, x: float, y: float) -> np.ndarray:
    h, w = img.shape[:2]
    ch, cw = round(h * (1 - frac)), round(w * (1 - frac))
    y0, x0 = round((h - ch) * y), round((w - cw) * x)
    return img[y0:y0 + ch, x0:x0 + cw]


def crop_views(active: np.ndarray, frac: float, grid: int) -> list[np.ndarray]:
    at = [i / (grid - 1) for i in range(grid)] if grid > 1 else [0.5]
    return [cv2.resize(crop(active, frac, ox, oy), (64, 64), interpolation=cv2.INTER_AREA) for oy in at for ox in at]


def main(specs: list[str], zooms: tuple[float, ...] = (), places=ZOOMS) -> None:
    sets = [[(float(f), int(g)) for f, g in (p.split(":") for p in spec.split(","))] for spec in specs]
    hasher = get_hasher("phash64")
    rng = random.Random(1)
    dist = [{f: [] for f in FRACS} for _ in sets]
    zoomed = [{f: [] for f in FRACS} for _ in sets]
    for name in CLIPS:
        for frame in list(iter_frames(SAMPLE_CLIPS / name, 1.0, 1, False, 30))[::3]:
            grey = frame.luma
            active, _ = active_picture(grey)
            base = [view_image(active, v) for v in reference_views(active.shape) if v == 0 or v >= len(VIEWS)]
            stored = [hasher.hash_batch(base + sum((crop_views(active, f, g) for f, g in views), [])).codes for views in sets]
            for frac in FRACS:
                cut = cv2.resize(crop(grey, frac, rng.random(), rng.random()), grey.shape[::-1], interpolation=cv2.INTER_AREA)
                suspect = active_picture(cut)[0]
                code = hasher.hash_batch([view_image(suspect, 0)]).codes
                back = hasher.hash_batch([zoomed_image(suspect, z, at=at) for z in zooms for at in places]).codes if zooms else None
                for i, codes in enumerate(stored):
                    dist[i][frac].append(int(popcount_distances(code, codes).min()))
                    if back is not None:
                        zoomed[i][frac].append(min(dist[i][frac][-1], int(popcount_distances(back, codes).min())))
    for spec, views, d, z in zip(specs, sets, dist, zoomed):
        for label, found in ((f"{spec} ({sum(g * g for _, g in views)} crop views)", d), ("  + zoomed out", z)):
            if found[FRACS[0]]:
                shares = " ".join(f"{f:.2f}: {np.mean(np.array(found[f]) <= 14):.2f}/{np.mean(np.array(found[f]) <= 10):.2f}" for f in FRACS)
                print(f"{label}  {shares}")


if __name__ == "__main__":
    args = sys.argv[1:]
    zooms: tuple[float, ...] = ()
    if "--zoom" in args:
        at = args.index("--zoom")
        zooms = tuple(float(z) for z in args[at + 1].split(","))
        del args[at:at + 2]
    places = ZOOMS
    if "--centred" in args:
        args.remove("--centred")
        places = ((0.5, 0.5),)
    main(args or ["0.15:3"], zooms, places)

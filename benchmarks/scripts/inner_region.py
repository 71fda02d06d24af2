"""Frame level, a direction not built: deep crops (20-30 % of the side, anywhere) against (a) fp's
stored views (the whole picture and nine 15 % crops) with the suspect untouched and zoomed back out
at the nine places, (b) one inner-region view of the reference (its central 40 %, which every crop
of 30 % or less still shows whole) found by a grid of the suspect's sub-crops (the region's side at
the three depths 20 / 25 / 30 %, every `step` of the side).

For every other frame at 1 fps (first 30 s) of each video under REFS, one crop is drawn; printed:
the share of crops within 6-14 bits of their own frame, and (null) of each crop against 20 frames
of other videos (the min over all the suspect's views, so the many tries count).

    python benchmarks/scripts/inner_region.py REFS [STEP]
"""
import random
import sys
from pathlib import Path
import cv2
import numpy as np
from fp.fingerprint.decode import iter_frames
from fp.fingerprint.hashers import get_hasher
from fp.fingerprint.inner import grid_images, inner_image as inner
from fp.fingerprint.normalise import VIEWS, ZOOMS, active_picture, view_image, zoomed_image
from fp.index.hamming import popcount_distances

H = get_hasher("phash64")
rng = random.Random(1)
clips = sorted(p for p in Path(sys.argv[1]).iterdir() if p.is_file() and p.suffix in (".mp4", ".mkv", ".webm", ".mov"))
frames = []  # (clip index, active picture)
for ci, p in enumerate(clips):
    for fr in list(iter_frames(p, 1.0, 1, False, 30))[::2]:
        frames.append((ci, active_picture(fr.luma)[0], fr.luma))
print(len(frames), "frames")
STEP = float(sys.argv[2]) if len(sys.argv) > 2 else 0.04
stored = np.concatenate([H.hash_batch([view_image(a, v) for v in range(len(VIEWS))]).codes for _, a, _ in frames]).reshape(len(frames), len(VIEWS), -1)
inner_codes = H.hash_batch([inner(a) for _, a, _ in frames]).codes
cur_true, cur_null, in_true, in_null, un_true = [], [], [], [], []
for i, (ci, active, grey) in enumerate(frames):
    f = rng.uniform(0.2, 0.3); x, y = rng.random(), rng.random()
    hh, ww = grey.shape
    ch, cw = round(hh*(1-f)), round(ww*(1-f)); y0, x0 = round((hh-ch)*y), round((ww-cw)*x)
    cut = cv2.resize(grey[y0:y0+ch, x0:x0+cw], (ww, hh), interpolation=cv2.INTER_AREA)
    sus = active_picture(cut)[0]
    q_cur = H.hash_batch([view_image(sus, 0)] + [zoomed_image(sus, 0.85, at=at) for at in ZOOMS]).codes
    q_in = H.hash_batch(grid_images(sus, step=STEP)).codes
    others = [j for j, (cj, _, _) in enumerate(frames) if cj != ci]
    cur_true.append(int(popcount_distances(q_cur, stored[i]).min()))
    un_true.append(int(popcount_distances(q_cur[:1], stored[i]).min()))
    in_true.append(int(popcount_distances(q_in, inner_codes[i:i+1]).min()))
    for j in rng.sample(others, 20):
        cur_null.append(int(popcount_distances(q_cur, stored[j]).min()))
        in_null.append(int(popcount_distances(q_in, inner_codes[j:j+1]).min()))
print("sub-crops per frame", len(q_in), "zoom queries", len(q_cur))
either_true, either_null = np.minimum(cur_true, in_true), np.minimum(cur_null, in_null)
for name, t, n in (("untouched", un_true, None), ("current (untouched+9 zooms vs 10 views)", cur_true, cur_null),
                   ("inner grid", in_true, in_null), ("either", either_true, either_null)):
    t = np.array(t)
    line = f"{name:42s} true median {np.median(t):.0f}  " + " ".join(f"<={r}: {np.mean(t <= r):.2f}" for r in (6, 8, 10, 12, 14))
    if n is not None:
        n = np.array(n)
        line += "  | null " + " ".join(f"<={r}: {np.mean(n <= r):.4f}" for r in (6, 8, 10, 12, 14))
    print(line)

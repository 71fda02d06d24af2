"""Same-set footage against the inner view (inner_region.py) and against fp's zooms: per frame of
video A (2.5 a second), the nearest of B's frames (5 a second) over all of A's tries, the grid of
sub-crops against B's inner views and A untouched and zoomed out against B's ten stored views.
A view that keeps look-alikes out has A far from B.

    python benchmarks/scripts/inner_sameset.py pig.mp4 rabbit.mp4
"""
import sys
import numpy as np
sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
import inner_moment as im
from fp.fingerprint.decode import iter_frames
from fp.fingerprint.normalise import VIEWS, ZOOMS, active_picture, view_image, zoomed_image
a_path, b_path = sys.argv[1], sys.argv[2]
ref = [active_picture(f.luma)[0] for f in iter_frames(b_path, 5.0, 1, False, None)]
rin = np.concatenate([im.H.hash_batch([im.inner(a)]).codes for a in ref])
rv = np.concatenate([im.H.hash_batch([view_image(a, v) for v in range(len(VIEWS))]).codes for a in ref])
di, dz = [], []
for f in iter_frames(a_path, 2.5, 1, False, None):
    a = active_picture(f.luma)[0]
    di.append(im.popcount_distances(im.H.hash_batch(im.subcrops(a)).codes, rin).min())
    dz.append(im.popcount_distances(im.H.hash_batch([view_image(a, 0)] + [zoomed_image(a, 0.85, at=at) for at in ZOOMS]).codes, rv).min())
di, dz = np.array(di), np.array(dz)
print(f"{a_path} against {b_path}: frames {len(di)}; inner grid median {np.median(di):.0f}, <=8 {np.mean(di<=8):.2f} <=10 {np.mean(di<=10):.2f}; zooms median {np.median(dz):.0f}, <=8 {np.mean(dz<=8):.2f} <=10 {np.mean(dz<=10):.2f}")

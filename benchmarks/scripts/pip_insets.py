"""How well the inset search finds the picture of picture-in-picture copies of the sample clips.

Each draw lays 24 frames of a sample clip (grey, 5 a second from a random start; a phone video,
the centre 9:16 cut, now and then) over another sample clip that keeps playing, as
`benchmarks/transforms.picture_in_picture` does (area 0.2-0.6 of the frame, anywhere), and runs
`detect_insets` on them; printed: the share of draws whose best inset covers the picture at
intersection over union 0.9 / 0.8 or more, and the mean number of insets.

    python benchmarks/scripts/pip_insets.py --seed 1 --draws 200 [--json rows.json]
"""
from __future__ import annotations

import math
import random

import numpy as np

from fp.benchmarks.transforms import cover, picture_in_picture
from fp.fingerprint.inset import _overlap, detect_insets
from fp.fingerprint.normalise import ActiveArea, shrink
from reframe_insets import arguments, grey_frames, report  # this folder's script: its clips' frames, options, summary

CLIPS = ("bbb_first60s.mp4", "chroma-keying-video.mp4", "cockatoo.mp4", "elf.mp4", "flower.mp4", "friday.mp4",
         "frog.mp4", "stream-of-water.mp4")  # one Big Buck Bunny: the other is the same footage
FRAMES = 24


def where(width: int, height: int, area: float, x_pos: float, y_pos: float) -> ActiveArea:
    """Where transforms.picture_in_picture puts the picture, as shares of the frame."""
    scale = math.sqrt(area)
    iw, ih = max(2, round(width * scale)), max(2, round(height * scale))
    x0, y0 = round((width - iw) * x_pos), round((height - ih) * y_pos)
    return ActiveArea(x0 / width, y0 / height, (x0 + iw) / width, (y0 + ih) / height)


def window(frames: list[np.ndarray], rng: random.Random) -> list[np.ndarray]:
    """FRAMES consecutive frames from a random start."""
    start = rng.randint(0, max(0, len(frames) - FRAMES))
    return frames[start:start + FRAMES]


def draws(seed: int, n: int):
    """(clip, background, parameters, frames laid, the picture's rectangle) of n draws."""
    rng = random.Random(seed)
    frames = {c: grey_frames(c, limit=120) for c in CLIPS}
    for _ in range(n):
        clip = rng.choice(CLIPS)
        back = rng.choice([c for c in CLIPS if c != clip])
        area, x_pos, y_pos, tall = rng.uniform(0.2, 0.6), rng.random(), rng.random(), rng.random() < 0.3
        source = [cover(f, f.shape[0] * 9 // 16, f.shape[0]) if tall else f for f in window(frames[clip], rng)]
        stream = ((i / 5.0, f) for i, f in enumerate(window(frames[back], rng)))
        made = [f for _, f in picture_in_picture(stream, area, x_pos, y_pos)((i / 5.0, f) for i, f in enumerate(source))]
        h, w = source[0].shape[:2]
        row = {"clip": clip, "background": back, "tall": tall, "area": round(area, 3), "x_pos": round(x_pos, 3), "y_pos": round(y_pos, 3)}
        yield row, made, where(w, h, area, x_pos, y_pos)


def main() -> None:
    a = arguments(__doc__)
    rows = []
    for row, made, truth in draws(a.seed, a.draws):
        found = detect_insets([shrink(f) for f in made])
        rows.append(row | {"iou": round(max((_overlap(truth, x) for x in found), default=0.0), 3), "insets": len(found)})
    report(rows, a.seed, a.json)


if __name__ == "__main__":
    main()

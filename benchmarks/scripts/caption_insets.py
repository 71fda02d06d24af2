"""How well the inset search finds the picture of meme-format copies of the sample clips.

Each draw takes 24 frames of a sample clip (grey, 5 a second from a random start; a phone video,
the centre 9:16 cut, now and then) and puts a still band of words above or below them, as
reposting apps and AugLy's `meme_format` do (the band 0.1-0.4 of the output's height, white, black
or a grey level, one to two lines of words; the picture kept whole with the band added, or
squeezed to make room), and runs `detect_insets` on them; printed: the share of draws whose best
inset covers the picture at intersection over union 0.9 / 0.8 or more, and the mean number of
insets. `--plain` runs the same windows without a band: how many get a full-width (or
full-height) rectangle at one end, what `_caption_band` returns, though there is no band.

    python benchmarks/scripts/caption_insets.py --seed 1 --draws 200 [--plain] [--json rows.json]
"""
from __future__ import annotations

import json
import random

import cv2
import numpy as np

from fp.benchmarks import transforms
from fp.benchmarks.transforms import cover
from fp.fingerprint.inset import _overlap, detect_insets
from fp.fingerprint.normalise import FULL, ActiveArea, shrink
from pip_insets import CLIPS, window  # this folder's scripts: the clips, a random window of frames
from reframe_insets import arguments, grey_frames, report


def meme(frames: list[np.ndarray], band: float, top: bool, fill: int, words: str, squeeze: bool) -> tuple[list[np.ndarray], ActiveArea]:
    """The grey frames through the generator's `meme` edit, and where the picture lies."""
    edit = transforms.meme(words, band, top, fill, squeeze)
    made = [cv2.cvtColor(edit(cv2.cvtColor(f, cv2.COLOR_GRAY2RGB)), cv2.COLOR_RGB2GRAY) for f in frames]
    out_h, strip_h = transforms.meme_rows(frames[0].shape[0], band, squeeze)
    at = strip_h / out_h
    return made, ActiveArea(0.0, at, 1.0, 1.0) if top else ActiveArea(0.0, 0.0, 1.0, 1.0 - at)


def _one_end(a: ActiveArea) -> bool:
    """Full width and touching one end only (or full height, one side): a band's picture."""
    across = a.left == 0.0 and a.right == 1.0 and (a.top == 0.0) != (a.bottom == 1.0)
    down = a.top == 0.0 and a.bottom == 1.0 and (a.left == 0.0) != (a.right == 1.0)
    return across or down


def main() -> None:
    a = arguments(__doc__, plain="the same windows without a band")
    plain = a.plain
    rng = random.Random(a.seed)
    frames = {c: grey_frames(c, limit=120) for c in CLIPS}
    rows = []
    for _ in range(a.draws):
        clip, tall = rng.choice(CLIPS), rng.random() < 0.3
        band, top, squeeze = rng.uniform(0.1, 0.4), rng.random() < 0.7, rng.random() < 0.5
        fill = rng.choice([255, 255, 255, 0, 0, rng.randint(40, 220)])
        words = rng.choice(transforms.MEME_TEXTS)
        source = [cover(f, f.shape[0] * 9 // 16, f.shape[0]) if tall else f for f in window(frames[clip], rng)]
        made, truth = (source, FULL) if plain else meme(source, band, top, fill, words, squeeze)
        found = detect_insets([shrink(f) for f in made])
        best = max((_overlap(truth, x) for x in found), default=0.0)
        rows.append({"clip": clip, "tall": tall, "band": round(band, 3), "top": top, "fill": fill, "squeeze": squeeze,
                     "iou": round(best, 3), "insets": len(found), "one_end": any(_one_end(x) for x in found)})
    report(rows, a.seed, a.json)
    if plain:
        print(json.dumps({"draws with a full-width or full-height rectangle at one end": sum(r["one_end"] for r in rows)}))


if __name__ == "__main__":
    main()

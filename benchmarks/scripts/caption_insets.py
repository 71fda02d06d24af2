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
import sys

import cv2
import numpy as np

from fp.benchmarks.transforms import cover
from fp.fingerprint.inset import _overlap, detect_insets
from fp.fingerprint.normalise import FULL, ActiveArea, shrink
from pip_insets import CLIPS, window  # this folder's scripts: the clips, a random window of frames
from reframe_insets import arguments, grey_frames, report

WORDS = ("when the movie hits different", "POV: you finally watch it", "this scene though", "wait for it...",
         "me at 3am", "no one:", "best part of the film")


def meme(frames: list[np.ndarray], band: float, top: bool, fill: int, words: str, squeeze: bool) -> tuple[list[np.ndarray], ActiveArea]:
    """The frames with a still band of `words` on grey level `fill`, `band` of the output's height."""
    h, w = frames[0].shape[:2]
    out_h = h if squeeze else round(h / (1 - band))
    strip_h = round(out_h * band)
    strip = np.full((strip_h, w), fill, np.uint8)
    ink = 0 if fill > 128 else 255
    lines = [words] if len(words) < 20 else [words[: len(words) // 2], words[len(words) // 2:]]
    (text_w, cap), _ = cv2.getTextSize(max(lines, key=len), cv2.FONT_HERSHEY_DUPLEX, 1.0, 2)
    scale = min(0.9 * w / text_w, 0.5 * strip_h / len(lines) / cap)  # the words fit the band, as apps set them
    for i, line in enumerate(lines):
        y = round(strip_h * (i + 1) / (len(lines) + 1) + cap * scale / 2)
        cv2.putText(strip, line, (w // 20, y), cv2.FONT_HERSHEY_DUPLEX, scale, ink, max(1, round(2 * scale)), cv2.LINE_AA)
    made = []
    for f in frames:
        pic = cv2.resize(f, (w, out_h - strip_h), interpolation=cv2.INTER_AREA) if squeeze else f
        made.append(np.vstack([strip, pic] if top else [pic, strip]))
    at = strip_h / out_h
    return made, ActiveArea(0.0, at, 1.0, 1.0) if top else ActiveArea(0.0, 0.0, 1.0, 1.0 - at)


def _one_end(a: ActiveArea) -> bool:
    """Full width and touching one end only (or full height, one side): a band's picture."""
    across = a.left == 0.0 and a.right == 1.0 and (a.top == 0.0) != (a.bottom == 1.0)
    down = a.top == 0.0 and a.bottom == 1.0 and (a.left == 0.0) != (a.right == 1.0)
    return across or down


def main() -> None:
    sys.argv, plain = [a for a in sys.argv if a != "--plain"], "--plain" in sys.argv
    a = arguments(__doc__)
    rng = random.Random(a.seed)
    frames = {c: grey_frames(c, limit=120) for c in CLIPS}
    rows = []
    for _ in range(a.draws):
        clip, tall = rng.choice(CLIPS), rng.random() < 0.3
        band, top, squeeze = rng.uniform(0.1, 0.4), rng.random() < 0.7, rng.random() < 0.5
        fill = rng.choice([255, 255, 255, 0, 0, rng.randint(40, 220)])
        words = rng.choice(WORDS)
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

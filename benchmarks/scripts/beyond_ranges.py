"""Edits past the ranges fp's own benchmark generator draws from, matched against a built library.

The widened generator tilts copies 1-10 degrees, crops 5-30 %, changes speed 0.8-1.25x and never
flips upside down, turns a quarter or plays backwards. A generator that is not ours may go
further, or use edits ours never draws (a frame round the picture, a slow zoom, a sticker, an
app's look, the picture beside other video, inverted colours). This cuts a copy of each source (a reference the library holds, from a start time) per
edit, writes it as a real video (H.264, 30 fps, 6 s of suspect time) and matches it: found or not,
its chance (the nearest rejected one when not found), what proved it (`Match.seen_as`), its speed
and the overlap of its reference span with the truth.

    python benchmarks/scripts/beyond_ranges.py --library /work/bench-data/widened_s2/library \\
        --refs /work/bench-data/widened_s2/data/refs --out beyond.json [--search-zooms] [--edits rotate15,vflip]
"""
from __future__ import annotations

import argparse
import itertools
import json
import random
from pathlib import Path

import cv2
import numpy as np

from fp.benchmarks import transforms as T
from fp.benchmarks.videoio import iter_frames
from fp.index.library import Library
from fp.index.matcher import MatchConfig, Matcher

SOURCES = ("titles/feature_1.mp4@5", "titles/feature_2.mp4@5", "titles/feature_2.mp4@19", "titles/feature_3.mp4@5",
           "titles/feature_3.mp4@11", "threatexchange/chair-orig-22-sd-bar.mp4@5", "mdn/friday.mp4@0.1",
           "threatexchange/pattern-longer-no-bar.mp4@1")
LENGTH = 6.0  # s of suspect
FPS = 30


def edits(rng: random.Random) -> dict:
    """name -> (speed, frame edit or None, reversed)."""
    out = {f"speed{f:g}": (f, None, False) for f in (0.5, 0.67, 1.33, 1.5, 2.0)}
    out.update({f"rotate{a}": (1.0, T.rotate(a * rng.choice((-1, 1))), False) for a in (12, 15, 20)})
    out.update({f"crop{c}": (1.0, T.crop(c, rng.random(), rng.random()), False) for c in (0.35, 0.4)})
    out["vflip"] = (1.0, lambda im: cv2.flip(im, 0), False)
    out["rot90"] = (1.0, lambda im: cv2.rotate(im, cv2.ROTATE_90_CLOCKWISE), False)
    out["reverse"] = (1.0, None, True)
    # Seller edits the generator never draws (fifteenth pass): a coloured or patterned frame
    # round a shrunk picture, a slow zoom (Ken Burns), a moving sticker, an app's look filter,
    # the picture beside other video (a "reaction"), colours inverted.
    out["frame_solid"] = (1.0, framed(0.8, pattern=False), False)
    out["frame_pattern"] = (1.0, framed(0.75, pattern=True), False)
    out["kenburns"] = (1.0, ken_burns(1.25, rng.random(), rng.random()), False)
    out["sticker"] = (1.0, sticker(0.22), False)
    out["look_filter"] = (1.0, look_filter, False)
    out["side_by_side"] = (1.0, side_by_side, False)
    out["invert"] = (1.0, lambda im: 255 - im, False)
    # ... and some of AugLy's (the augmentations of Meta's video copy-detection challenge).
    out["meme"] = (1.0, T.meme("when the movie hits", 0.25, True, 255, squeeze=True), False)
    out["blend"] = (1.0, blend(0.35), False)
    out["pixelate"] = (1.0, pixelate(0.06), False)
    out["perspective"] = (1.0, perspective(0.08, random.Random(rng.random())), False)
    out["dots"] = (1.0, dots(400), False)
    return out


def blend(share: float):
    """The picture faded over other moving video (AugLy's blend_videos): `share` of the other."""
    def run(im, i):
        h, w = im.shape[:2]
        rng = np.random.default_rng((i + 1) // 15)
        other = cv2.resize(rng.integers(0, 255, (5, 8, 3), dtype=np.uint8), (w, h), interpolation=cv2.INTER_CUBIC)
        return cv2.addWeighted(im, 1 - share, other, share, 0)
    return counted(run)


def pixelate(block: float):
    """Blocks of `block` of the width (AugLy's pixelization)."""
    def run(im):
        h, w = im.shape[:2]
        bw, bh = max(1, round(1 / block)), max(1, round(h / (w * block)))
        return cv2.resize(cv2.resize(im, (bw, bh), interpolation=cv2.INTER_AREA), (w, h), interpolation=cv2.INTER_NEAREST)
    return run


def perspective(amount: float, rng: random.Random):
    """Corners moved by up to `amount` of the side, shaking a little frame to frame (AugLy's
    perspective_transform_and_shake)."""
    base = [(rng.uniform(-amount, amount), rng.uniform(-amount, amount)) for _ in range(4)]

    def run(im):
        h, w = im.shape[:2]
        src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
        dst = np.float32([[x * w + sx * w + rng.uniform(-0.005, 0.005) * w, y * h + sy * h + rng.uniform(-0.005, 0.005) * h]
                          for (x, y), (sx, sy) in zip(((0, 0), (1, 0), (1, 1), (0, 1)), base)])
        return cv2.warpPerspective(im, cv2.getPerspectiveTransform(src, dst), (w, h), borderMode=cv2.BORDER_CONSTANT)
    return run


def dots(n: int):
    """`n` small dots of random colours scattered anew each frame (AugLy's overlay_dots)."""
    def run(im, i):
        h, w = im.shape[:2]
        rng = np.random.default_rng(i + 1)
        out = im.copy()
        for x, y, c in zip(rng.integers(0, w, n), rng.integers(0, h, n), rng.integers(0, 255, (n, 3))):
            cv2.circle(out, (int(x), int(y)), max(1, w // 200), tuple(int(v) for v in c), -1)
        return out
    return counted(run)


def counted(edit):
    """A frame edit that is also given the frame's number (the source's frames, in order)."""
    numbers = itertools.count()
    return lambda im: edit(im, next(numbers))


def framed(scale: float, pattern: bool):
    """The picture shrunk to `scale` and centred on a canvas of one colour or of diagonal stripes."""
    def run(im):
        h, w = im.shape[:2]
        if pattern:
            yy, xx = np.mgrid[0:h, 0:w]
            stripes = ((xx + yy) // max(4, w // 24)) % 2 == 0
            canvas = np.where(stripes[..., None], np.array([220, 60, 140], np.uint8), np.array([250, 210, 40], np.uint8))
        else:
            canvas = np.empty_like(im)
            canvas[:] = (40, 90, 200)
        canvas = canvas.astype(np.uint8)
        fw, fh = round(w * scale), round(h * scale)
        x0, y0 = (w - fw) // 2, (h - fh) // 2
        canvas[y0:y0 + fh, x0:x0 + fw] = cv2.resize(im, (fw, fh), interpolation=cv2.INTER_AREA)
        return canvas
    return run


def ken_burns(zoom: float, x_end: float, y_end: float):
    """A zoom from the whole picture to 1/`zoom` of it over the clip, drifting from the centre
    to (x_end, y_end) of the free room (counted per source frame, at 30 fps over LENGTH)."""
    def run(im, i):
        h, w = im.shape[:2]
        f = min(1.0, i / (LENGTH * FPS))
        z = 1 + (zoom - 1) * f
        cw, ch = round(w / z), round(h / z)
        x0 = round((w - cw) * (0.5 + (x_end - 0.5) * f))
        y0 = round((h - ch) * (0.5 + (y_end - 0.5) * f))
        return cv2.resize(im[y0:y0 + ch, x0:x0 + cw], (w, h), interpolation=cv2.INTER_LINEAR)
    return counted(run)


def sticker(size: float):
    """An opaque round sticker (`size` of the width) with a word on it, crossing the frame."""
    def run(im, i):
        h, w = im.shape[:2]
        out = im.copy()
        f = min(1.0, i / (LENGTH * FPS))
        r = round(w * size / 2)
        cx, cy = round(r + (w - 2 * r) * f), round(h * 0.35 + h * 0.3 * f)
        cv2.circle(out, (cx, cy), r, (255, 200, 0), -1)
        cv2.putText(out, "WOW", (cx - r // 2, cy + r // 6), cv2.FONT_HERSHEY_DUPLEX, r / 40, (20, 20, 20), 2)
        return out
    return counted(run)


def look_filter(im):
    """A warm app filter: lifted shadows, more contrast, a warm cast and a dark vignette."""
    h, w = im.shape[:2]
    x = im.astype(np.float32)
    x = (x - 128) * 1.25 + 128 + 12
    x[..., 0] *= 1.08  # red (frames are RGB)
    x[..., 2] *= 0.88
    yy, xx = np.mgrid[0:h, 0:w]
    r2 = ((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2
    x *= (1 - 0.45 * np.clip(r2 - 0.3, 0, None))[..., None]
    return np.clip(x, 0, 255).astype(np.uint8)


def side_by_side(im):
    """The picture in the left half of the frame, a moving noise texture in the right (a reaction)."""
    h, w = im.shape[:2]
    out = np.zeros_like(im)
    half = w // 2
    fh = round(h * half / w)
    y0 = (h - fh) // 2
    out[y0:y0 + fh, :half] = cv2.resize(im, (half, fh), interpolation=cv2.INTER_AREA)
    rng = np.random.default_rng(int(im[::37, ::41].sum()) % 2**32)
    blob = cv2.resize(rng.integers(0, 255, (6, 6, 3), dtype=np.uint8), (w - half, h), interpolation=cv2.INTER_CUBIC)
    out[:, half:] = blob
    return out


def cut(path: Path, start: float, speed: float, edit, backwards: bool) -> list[np.ndarray]:
    """LENGTH s of suspect at FPS: the source from `start` at `speed` (the latest frame at each tick)."""
    ticks = start + np.arange(round(LENGTH * FPS)) * speed / FPS
    frames, at, last = [], 0, None
    for t, img in iter_frames(path, start, start + LENGTH * speed + 1.0):
        while at < len(ticks) and ticks[at] < t - 1e-6 and last is not None:
            frames.append(last)
            at += 1
        last = edit(img) if edit else img
    frames += [last] * (len(ticks) - at) if last is not None else []
    return frames[::-1] if backwards else frames


def write(path: Path, frames: list[np.ndarray]) -> None:
    import av

    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = w - w % 2, h - h % 2, "yuv420p"
        for img in frames:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img[: h - h % 2, : w - w % 2]), format="rgb24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


def iou(a, b) -> float:
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    return inter / max(1e-9, max(a[1], b[1]) - min(a[0], b[0]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--library", required=True)
    ap.add_argument("--refs", required=True, type=Path)
    ap.add_argument("--sources", default=",".join(SOURCES), help="comma-separated REF@START (REF under --refs)")
    ap.add_argument("--edits", default="", help="comma-separated edit names (default: all)")
    ap.add_argument("--search-zooms", action="store_true")
    ap.add_argument("--work", type=Path, default=Path("beyond-ranges"), help="folder for the suspect files")
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()
    table = edits(random.Random(7))
    chosen = [e for e in a.edits.split(",") if e] or list(table)
    a.work.mkdir(parents=True, exist_ok=True)
    rows = []
    with Library(a.library, create=False, readonly=True) as lib:
        matcher = Matcher(lib, MatchConfig(search_zooms=a.search_zooms))
        durations = {Path(v.path).resolve(): v.duration for v in lib.videos()}
        for name in chosen:
            speed, edit, backwards = table[name]
            for source in a.sources.split(","):
                rel, start = source.rsplit("@", 1)
                start, path = float(start), (a.refs / rel).resolve()
                if start + LENGTH * speed > durations.get(path, 0.0):
                    continue  # not in the library, or too short for this speed
                suspect = a.work / f"{name}_{Path(rel).stem}_{start:g}.mp4"
                if not suspect.exists():
                    write(suspect, cut(path, start, speed, edit, backwards))
                r = matcher.match_file(suspect)
                hit = next((m for m in r.matches if Path(m.ref_path).resolve() == path), None)
                truth = (start, start + LENGTH * speed)
                row = {"edit": name, "source": source, "found": hit is not None,
                       "chance": hit.chance if hit else (r.nearest or {}).get("chance"),
                       "seen_as": hit.seen_as if hit else None, "speed": round(hit.speed, 3) if hit else None,
                       "ref_iou": round(iou(hit.ref_span, truth), 3) if hit else None,
                       "other_titles": [m.title for m in r.matches if m is not hit]}
                rows.append(row)
                print(json.dumps(row), flush=True)
    summary = {}
    for row in rows:
        s = summary.setdefault(row["edit"], {"copies": 0, "found": 0, "span_iou_mean": []})
        s["copies"] += 1
        s["found"] += row["found"]
        if row["found"]:
            s["span_iou_mean"].append(row["ref_iou"])
    for s in summary.values():
        s["span_iou_mean"] = round(float(np.mean(s["span_iou_mean"])), 3) if s["span_iou_mean"] else None
    a.out.write_text(json.dumps({"search_zooms": a.search_zooms, "summary": summary, "rows": rows}, indent=1) + "\n")
    for name, s in summary.items():
        print(f"{name:10s} {s['found']}/{s['copies']}  ref span IoU {s['span_iou_mean']}")


if __name__ == "__main__":
    main()

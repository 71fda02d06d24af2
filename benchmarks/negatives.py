"""Unrelated queries for the benchmark: which kinds of footage they show, how many of each,
and how the rendered ones (title cards, credits, black, a held still frame) are drawn.

Windows of held-out real footage are the bulk; `draw_negatives` splits a total among the
kinds (groups in truth.json):

- ``same_set``: footage shot on the same set as a reference scene (one table, one studio);
- ``heldout``: any other held-out footage;
- ``same_source``: another part of a clip an excerpt of which is a title's scene (same
  film, other shots: similar genre, same look);
- ``static``: one real frame held still (a fixed camera on a still scene), slowly zoomed,
  with sensor noise;
- ``card``: rendered title cards and credits; ``black``: black or near-black screens.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import cv2
import numpy as np

from .transforms import Stream, cover
from .truth import BenchmarkError
from .videoio import ClipInfo

SYNTH_FPS = 30.0
WINDOW_RANGE = (2.0, 30.0)  # seconds of a held-out window (log-uniform, clamped to the clip)
SHARES = {"card": 0.12, "black": 0.05, "static": 0.10, "same_source": 0.15}  # rest: windows
CARD_SIZES = ((640, 360), (854, 480), (480, 854), (720, 480), (480, 480))
CARD_TEXTS = ("CHAPTER ONE", "THE END", "Directed by|J. MARLOWE", "COMING SOON", "PART 2",
              "Thanks for watching!", "EPISODE 4", "Based on a true story", "INTERMISSION",
              "TO BE CONTINUED", "Produced by|NORTHWIND PICTURES", "Subscribe|for more",
              "20 YEARS LATER", "PROLOGUE", "Music by|THE SEA STRINGS", "FULL MOVIE|HD 1080p")
CREDIT_NAMES = ("Ada Brennan", "Jonas Vick", "Mira Okafor", "Teo Lindqvist", "Sara Holm",
                "Ravi Menon", "Lena Duarte", "Pavel Ilic", "Nora Castell", "Omar Haddad",
                "Iris Tanaka", "Felix Moreau", "Hana Kovac", "Leo Barros", "Yuki Sato")
CREDIT_ROLES = ("Director", "Producer", "Editor", "Camera", "Sound", "Music", "Gaffer",
                "Script", "Costumes", "Casting", "Colourist", "Stunts")
FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_TRIPLEX,
         cv2.FONT_HERSHEY_COMPLEX)


@dataclass(frozen=True)
class NegativeDraw:
    """One planned unrelated query: a window of real footage or a rendered stream."""

    group: str
    duration: float
    clip: ClipInfo | None = None  # footage windows and stills
    span: tuple[float, float] | None = None  # window of `clip` (source seconds)
    synthetic: Mapping[str, Any] | None = None  # rendered streams (see synthetic_frames)
    edited: bool = False  # give the window one random edit


@dataclass(frozen=True)
class HeldOut:
    """Held-out footage a window may come from: [start, end) of a clip."""

    clip: ClipInfo
    start: float
    end: float
    group: str  # heldout, same_set or same_source

    @property
    def length(self) -> float:
        return self.end - self.start


def _log_uniform(rng: random.Random, low: float, high: float) -> float:
    return math.exp(rng.uniform(math.log(low), math.log(high))) if high > low else low


def _window(rng: random.Random, source: HeldOut) -> tuple[float, float]:
    length = min(source.length, _log_uniform(rng, *WINDOW_RANGE))
    start = rng.uniform(source.start, source.end - length)
    return round(start, 4), round(min(source.end, start + length), 4)


def _card(rng: random.Random) -> dict:
    width, height = rng.choice(CARD_SIZES)
    background = rng.choice(["black", "black", "solid", "gradient"])
    dark = [rng.randrange(0, 70) for _ in range(3)]
    return {"kind": "card", "width": width, "height": height,
            "lines": rng.choice(CARD_TEXTS).split("|"), "font": rng.randrange(len(FONTS)),
            "size_frac": round(rng.uniform(0.05, 0.14), 4),
            "colour": rng.choice([[255, 255, 255], [240, 220, 160], [255, 210, 0]]),
            "background": background, "bg_colour": dark,
            "bg_colour2": [rng.randrange(0, 110) for _ in range(3)],
            "fade_s": round(rng.choice([0.0, rng.uniform(0.3, 1.0)]), 4)}


def _credits(rng: random.Random) -> dict:
    width, height = rng.choice(CARD_SIZES[:2])
    lines = []
    for _ in range(rng.randint(10, 24)):
        lines.append(f"{rng.choice(CREDIT_ROLES)}   {rng.choice(CREDIT_NAMES)}")
    return {"kind": "credits", "width": width, "height": height, "lines": lines,
            "font": rng.randrange(len(FONTS)), "size_frac": round(rng.uniform(0.035, 0.06), 4),
            "screens_per_s": round(rng.uniform(0.08, 0.25), 4)}


def _black(rng: random.Random) -> dict:
    width, height = rng.choice(CARD_SIZES)
    return {"kind": "black", "width": width, "height": height, "level": rng.randrange(0, 17),
            "noise": round(rng.choice([0.0, rng.uniform(0.5, 3.0)]), 4),
            "seed": rng.randrange(2 ** 31)}


def _still(rng: random.Random, source: HeldOut) -> dict:
    return {"kind": "still", "source": source.clip.path,
            "t": round(rng.uniform(source.start, source.end - 0.05), 4),
            "zoom": round(rng.uniform(0.0, 0.08), 4), "noise": round(rng.uniform(1.0, 5.0), 4),
            "seed": rng.randrange(2 ** 31)}


def _split(total: int, shares: Mapping[str, float]) -> dict[str, int]:
    counts = {k: int(round(total * v)) for k, v in shares.items()}
    counts["windows"] = max(0, total - sum(counts.values()))
    return counts


def draw_negatives(rng: random.Random, sources: Sequence[HeldOut], total: int
                   ) -> list[NegativeDraw]:
    """`total` unrelated queries: rendered cards, black and stills by SHARES, windows of
    `sources` for the rest (same_source windows by their share when there are any)."""
    if total <= 0:
        return []
    if not sources:
        raise BenchmarkError("negatives need held-out footage, and there is none")
    same_source = [s for s in sources if s.group == "same_source"]
    footage = [s for s in sources if s.group != "same_source"] or list(sources)
    shares = dict(SHARES)
    if not same_source:
        shares.pop("same_source")
    counts = _split(total, shares)
    draws: list[NegativeDraw] = []
    for _ in range(counts["card"]):
        params = _credits(rng) if rng.random() < 0.3 else _card(rng)
        length = rng.uniform(2.0, 8.0) if params["kind"] == "card" else rng.uniform(4.0, 20.0)
        draws.append(NegativeDraw("card", round(length, 4), synthetic=params))
    for _ in range(counts["black"]):
        draws.append(NegativeDraw("black", round(rng.uniform(2.0, 10.0), 4), synthetic=_black(rng)))
    for _ in range(counts["static"]):
        source = rng.choice(footage)
        draws.append(NegativeDraw("static", round(_log_uniform(rng, 2.0, 20.0), 4),
                                  clip=source.clip, synthetic=_still(rng, source)))
    # windows: every source once, then more from the longer ones (more distinct windows)
    for kind, pool in (("same_source", same_source), ("windows", footage)):
        weights = [math.sqrt(s.length) for s in pool]
        for i in range(counts.get(kind, 0)):
            source = pool[i] if i < len(pool) else rng.choices(pool, weights)[0]
            span = _window(rng, source)
            draws.append(NegativeDraw(source.group, round(span[1] - span[0], 4), clip=source.clip,
                                      span=span, edited=rng.random() < 0.5))
    return draws


# -- rendering ------------------------------------------------------------------

def _text_block(canvas: np.ndarray, lines: Sequence[str], font: int, size_frac: float,
                colour: Sequence[int], centre_y: float) -> None:
    height, width = canvas.shape[:2]
    (_, unit_h), _ = cv2.getTextSize("H", font, 1.0, 2)
    scale = max(6.0, height * size_frac) / max(1, unit_h)
    line_h = int(height * size_frac * 1.9)
    top = centre_y - line_h * (len(lines) - 1) / 2
    for n, line in enumerate(lines):
        thick = max(1, round(scale * 1.5))
        (text_w, _), _ = cv2.getTextSize(line, font, scale, thick)
        fit = min(1.0, width * 0.9 / max(1, text_w))
        (text_w, text_h), _ = cv2.getTextSize(line, font, scale * fit, thick)
        org = ((width - text_w) // 2, int(top + n * line_h + text_h / 2))
        cv2.putText(canvas, line, org, font, scale * fit, tuple(int(c) for c in colour), thick,
                    cv2.LINE_AA)


def _background(p: Mapping) -> np.ndarray:
    width, height = p["width"], p["height"]
    if p["background"] == "black":
        return np.zeros((height, width, 3), np.uint8)
    if p["background"] == "solid":
        return np.full((height, width, 3), p["bg_colour"], np.uint8)
    ramp = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    top, bottom = np.array(p["bg_colour"], np.float32), np.array(p["bg_colour2"], np.float32)
    rows = (top * (1 - ramp) + bottom * ramp).astype(np.uint8)  # (height, 1, 3)
    return np.ascontiguousarray(np.repeat(rows, width, axis=1))  # cv2 draws on C-ordered arrays only


def _times(duration: float) -> range:
    return range(max(1, int(math.ceil(duration * SYNTH_FPS))))


def card_frames(p: Mapping, duration: float) -> Stream:
    """A title card: text on black, a solid colour or a gradient, fading in and out."""
    card = _background(p)
    _text_block(card, p["lines"], FONTS[p["font"]], p["size_frac"], p["colour"], card.shape[0] / 2)
    base = _background(p)
    fade = float(p.get("fade_s", 0.0))
    for k in _times(duration):
        t = k / SYNTH_FPS
        alpha = min(1.0, t / fade, (duration - t) / fade) if fade > 0 else 1.0
        yield t, card if alpha >= 1 else cv2.addWeighted(card, max(0.0, alpha), base, 1 - max(0.0, alpha), 0)


def credits_frames(p: Mapping, duration: float) -> Stream:
    """End credits rolling up over black."""
    width, height = p["width"], p["height"]
    line_h = int(height * p["size_frac"] * 1.9)
    roll = np.zeros((height * 2 + line_h * len(p["lines"]), width, 3), np.uint8)
    for n, line in enumerate(p["lines"]):
        strip = roll[height + n * line_h: height + (n + 1) * line_h]
        _text_block(strip, [line], FONTS[p["font"]], p["size_frac"] * height / max(1, line_h),
                    [235, 235, 235], line_h / 2)
    for k in _times(duration):
        t = k / SYNTH_FPS
        y0 = min(len(roll) - height, int(t * p["screens_per_s"] * height))
        yield t, roll[y0:y0 + height]


def black_frames(p: Mapping, duration: float) -> Stream:
    """A black (or near-black) screen with faint noise."""
    rng = np.random.default_rng(p["seed"])
    shape = (p["height"], p["width"], 3)
    for k in _times(duration):
        frame = np.full(shape, p["level"], np.float32)
        if p["noise"]:
            frame += rng.standard_normal(shape[:2] + (1,), dtype=np.float32) * p["noise"]
        yield k / SYNTH_FPS, np.clip(frame, 0, 255).astype(np.uint8)


def still_frames(p: Mapping, frame: np.ndarray, duration: float) -> Stream:
    """One real frame held still: a slow zoom towards the centre plus sensor noise."""
    rng = np.random.default_rng(p["seed"])
    height, width = frame.shape[:2]
    bank = [rng.standard_normal((height, width, 1), dtype=np.float32) * p["noise"] for _ in range(6)]
    for k in _times(duration):
        t = k / SYNTH_FPS
        zoom = 1.0 + p["zoom"] * t / max(duration, 1e-6)
        inner_w, inner_h = max(2, round(width / zoom)), max(2, round(height / zoom))
        x0, y0 = (width - inner_w) // 2, (height - inner_h) // 2
        view = cover(frame[y0:y0 + inner_h, x0:x0 + inner_w], width, height).astype(np.float32)
        yield t, np.clip(view + bank[k % len(bank)], 0, 255).astype(np.uint8)


def synthetic_frames(p: Mapping, duration: float, still: np.ndarray | None = None) -> Stream:
    """The (t, RGB) stream of a rendered negative; `still` is the source frame of a 'still'."""
    kind = p.get("kind")
    if kind == "card":
        return card_frames(p, duration)
    if kind == "credits":
        return credits_frames(p, duration)
    if kind == "black":
        return black_frames(p, duration)
    if kind == "still":
        if still is None:
            raise BenchmarkError("a 'still' negative needs its source frame")
        return still_frames(p, still, duration)
    raise BenchmarkError(f"unknown synthetic negative kind {kind!r}")

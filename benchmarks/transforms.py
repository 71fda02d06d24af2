"""Piracy edits for the benchmark generator.

Each edit has a short stable name, a sampler that draws its random parameters
(plain JSON values) and a builder that turns the parameters into a closure:
either a frame function ``fn(rgb) -> rgb`` on uint8 (H, W, 3) arrays or a
stream function ``fn(stream) -> stream`` on ``(t, rgb)`` pairs, t in seconds
from the start of the query. ``fps`` and ``low_bitrate`` are encoder settings
and build to ``None``; the generator reads their parameters.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Sequence

import cv2
import numpy as np

from .truth import BenchmarkError

Stream = Iterator[tuple[float, np.ndarray]]
FrameFn = Callable[[np.ndarray], np.ndarray]
StreamFn = Callable[[Stream], Stream]

BAR_COLOURS = {"black": 0, "grey": 128, "white": 255}
LOGO_TEXTS = ("HDTV", "FLIX4U", "MOVIEZ", "TOPCLIPS", "STREAMKING", "4KHUB")
CAPTION_TEXTS = ("FULL MOVIE HD", "subscribe for more!", "link in bio",
                 "watch till the end", "best moments 2024", "like & share")


class EditError(BenchmarkError):
    """An edit name or its parameters are invalid."""


@dataclass(frozen=True)
class Footage:
    """An unrelated clip available as splice or picture-in-picture material."""

    path: str  # relative to the refs dir
    duration: float


@dataclass(frozen=True)
class EditContext:
    """What samplers and builders may need besides the parameters."""

    footage: tuple[Footage, ...] = ()
    source_fps: float = 30.0
    max_height: int = 720
    main_duration: float = 0.0  # seconds of copied material in the query
    # open_footage(path, start_s) -> endless stream of that clip from start_s
    open_footage: Callable[[str, float], Stream] | None = None


@dataclass(frozen=True)
class Edit:
    """A named edit with its drawn parameters."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"name": self.name, "params": dict(self.params)}


# -- frame helpers ----------------------------------------------------------

def _even(value: float) -> int:
    return max(2, int(round(value / 2.0)) * 2)


def resize_to(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    if frame.shape[1] == width and frame.shape[0] == height:
        return frame
    shrink = width * height < frame.shape[0] * frame.shape[1]
    interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    return cv2.resize(frame, (width, height), interpolation=interp)


def cover(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale to cover width x height, centre-crop the excess."""
    src_h, src_w = frame.shape[:2]
    scale = max(width / src_w, height / src_h)
    new_w, new_h = max(width, round(src_w * scale)), max(height, round(src_h * scale))
    big = resize_to(frame, new_w, new_h)
    x0, y0 = (new_w - width) // 2, (new_h - height) // 2
    return big[y0:y0 + height, x0:x0 + width]


def _lut(frame: np.ndarray, table: np.ndarray) -> np.ndarray:
    return cv2.LUT(frame, np.clip(table, 0, 255).astype(np.uint8))


def map_frames(fn: FrameFn) -> StreamFn:
    """Lift a frame function to a stream function."""
    def run(stream: Stream) -> Stream:
        for t, frame in stream:
            yield t, fn(frame)
    return run


# -- frame edits (closures) ---------------------------------------------------

def mirror() -> FrameFn:
    return lambda frame: np.ascontiguousarray(frame[:, ::-1])


def crop(frac: float, x_pos: float, y_pos: float) -> FrameFn:
    """Cut frac of width and height away (x_pos/y_pos in [0, 1] place the
    window, 0.5 = centred) and scale back to the original size."""
    def run(frame: np.ndarray) -> np.ndarray:
        height, width = frame.shape[:2]
        crop_w, crop_h = round(width * (1 - frac)), round(height * (1 - frac))
        x0 = round((width - crop_w) * x_pos)
        y0 = round((height - crop_h) * y_pos)
        return resize_to(frame[y0:y0 + crop_h, x0:x0 + crop_w], width, height)
    return run


def rotate(angle_deg: float) -> FrameFn:
    """Rotate about the centre and zoom just enough to hide the corners."""
    rad = math.radians(abs(angle_deg))

    def run(frame: np.ndarray) -> np.ndarray:
        height, width = frame.shape[:2]
        aspect = max(width / height, height / width)
        zoom = math.cos(rad) + aspect * math.sin(rad)
        matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle_deg, zoom)
        return cv2.warpAffine(frame, matrix, (width, height), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REFLECT)
    return run


def brightness(delta: float) -> FrameFn:
    table = np.arange(256, dtype=np.float32) + delta
    return lambda frame: _lut(frame, table)


def contrast(factor: float) -> FrameFn:
    table = (np.arange(256, dtype=np.float32) - 128.0) * factor + 128.0
    return lambda frame: _lut(frame, table)


def gamma(value: float) -> FrameFn:
    table = 255.0 * (np.arange(256, dtype=np.float32) / 255.0) ** value
    return lambda frame: _lut(frame, table)


def saturation(factor: float) -> FrameFn:
    def run(frame: np.ndarray) -> np.ndarray:
        grey = cv2.cvtColor(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
        return cv2.addWeighted(frame, factor, grey, 1.0 - factor, 0.0)
    return run


def greyscale() -> FrameFn:
    return lambda frame: cv2.cvtColor(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY),
                                      cv2.COLOR_GRAY2RGB)


def gaussian_noise(sigma: float, seed: int, bank_size: int = 8) -> FrameFn:
    """Additive Gaussian noise; fields are drawn once per frame size from a
    seeded bank and picked at random per frame (drawing per frame is slow)."""
    rng = np.random.default_rng(seed)
    banks: dict[tuple[int, ...], list[np.ndarray]] = {}

    def run(frame: np.ndarray) -> np.ndarray:
        if frame.shape not in banks:
            banks[frame.shape] = [
                np.round(rng.standard_normal(frame.shape, dtype=np.float32) * sigma)
                .astype(np.int16) for _ in range(bank_size)]
        noise = banks[frame.shape][int(rng.integers(bank_size))]
        return cv2.add(frame, noise, dtype=cv2.CV_8U)
    return run


def blur(sigma_360p: float) -> FrameFn:
    """Gaussian blur; sigma in pixels of a 360-line frame, scaled to the frame."""
    def run(frame: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(frame, (0, 0), sigma_360p * frame.shape[0] / 360.0)
    return run


def bars(side: str, frac: float, style: str, seed: int = 0) -> FrameFn:
    """Pad with bars of frac of the frame size on each side: 'letterbox' adds
    them above and below, 'pillarbox' left and right. style: black, grey,
    white or noise (grey with noise burnt in)."""
    if side not in ("letterbox", "pillarbox"):
        raise EditError(f"bars side must be letterbox or pillarbox, got {side!r}")
    if style not in BAR_COLOURS and style != "noise":
        raise EditError(f"unknown bar style {style!r}")
    rng = np.random.default_rng(seed)

    def fill(shape: tuple[int, ...]) -> np.ndarray:
        if style != "noise":
            return np.full(shape, BAR_COLOURS[style], np.uint8)
        noise = rng.normal(100.0, 40.0, shape[:2] + (1,)).astype(np.float32)
        return np.clip(np.repeat(noise, 3, axis=2), 0, 255).astype(np.uint8)

    def run(frame: np.ndarray) -> np.ndarray:
        height, width = frame.shape[:2]
        if side == "letterbox":
            pad = max(1, round(height * frac))
            return np.concatenate([fill((pad, width, 3)), frame, fill((pad, width, 3))], 0)
        pad = max(1, round(width * frac))
        return np.concatenate([fill((height, pad, 3)), frame, fill((height, pad, 3))], 1)
    return run


def reframe(canvas: str, scale: float = 1.0, blur_sigma: float = 20.0, darken: float = 0.0,
            max_height: int = 720, short_side: int | None = None) -> FrameFn:
    """Blurred-background reframe: the picture, fitted inside a `canvas` ('9x16' or '16x9')
    and shrunk to `scale` of that fit, centred over a blurred (sigma in canvas pixels),
    darkened (0 = as is, 1 = black) copy of itself that covers the canvas. `short_side`
    scales the result so its short side has that many pixels (a tiny re-upload)."""
    if canvas not in ("9x16", "16x9"):
        raise EditError(f"reframe canvas must be 9x16 or 16x9, got {canvas!r}")
    if not 0 < scale <= 1 or not 0 <= darken <= 1:
        raise EditError(f"reframe needs 0 < scale <= 1 and 0 <= darken <= 1, got {scale}, {darken}")
    aspect = 9 / 16 if canvas == "9x16" else 16 / 9  # width / height

    def run(frame: np.ndarray) -> np.ndarray:
        height, width = frame.shape[:2]
        canvas_h = _even(min(max_height, max(height, width / aspect)))
        canvas_w = _even(canvas_h * aspect)
        fit = min(canvas_w / width, canvas_h / height) * scale
        fg_w, fg_h = min(canvas_w, _even(width * fit)), min(canvas_h, _even(height * fit))
        small = cover(frame, max(2, canvas_w // 4), max(2, canvas_h // 4))
        back = cv2.GaussianBlur(small, (0, 0), max(0.1, blur_sigma / 4))
        if darken > 0:
            back = cv2.convertScaleAbs(back, alpha=1.0 - darken)
        out = resize_to(back, canvas_w, canvas_h).copy()
        x0, y0 = (canvas_w - fg_w) // 2, (canvas_h - fg_h) // 2
        out[y0:y0 + fg_h, x0:x0 + fg_w] = resize_to(frame, fg_w, fg_h)
        if short_side:
            ratio = short_side / min(canvas_w, canvas_h)
            out = resize_to(out, _even(canvas_w * ratio), _even(canvas_h * ratio))
        return out
    return run


def reframe_vertical(blur_sigma: float, max_height: int = 720) -> FrameFn:
    """9:16 canvas with the whole picture across its width over a blurred copy (the
    original reframe_9x16 edit; `reframe` has the other knobs)."""
    return reframe("9x16", 1.0, blur_sigma, 0.0, max_height)


def _font_scale(font: int, text_height: float, thickness: int = 1) -> float:
    """cv2 font scale giving capital letters about text_height pixels."""
    (_, unit_h), _ = cv2.getTextSize("H", font, 1.0, thickness)
    return max(6.0, text_height) / max(1, unit_h)


def _logo_image(text: str, colour: Sequence[int], width: int) -> np.ndarray:
    height = max(8, round(width * 0.4))
    logo = np.zeros((height, width, 3), np.uint8)
    logo[:] = colour
    cv2.rectangle(logo, (0, 0), (width - 1, height - 1), (255, 255, 255), max(1, height // 12))
    scale = _font_scale(cv2.FONT_HERSHEY_DUPLEX, height * 0.45, 2)
    (text_w, text_h), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_DUPLEX, scale, 2)
    scale *= min(1.0, width * 0.85 / max(1, text_w))
    (text_w, text_h), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_DUPLEX, scale, 2)
    org = ((width - text_w) // 2, (height + text_h) // 2)
    cv2.putText(logo, text, org, cv2.FONT_HERSHEY_DUPLEX, scale, (255, 255, 255), 2,
                cv2.LINE_AA)
    return logo


def logo(text: str, colour: Sequence[int], width_frac: float, corner: str,
         opacity: float) -> FrameFn:
    """A static logo box in a corner ('tl', 'tr', 'bl', 'br')."""
    if corner not in ("tl", "tr", "bl", "br"):
        raise EditError(f"logo corner must be tl, tr, bl or br, got {corner!r}")
    cache: dict[tuple[int, int], np.ndarray] = {}

    def run(frame: np.ndarray) -> np.ndarray:
        height, width = frame.shape[:2]
        if (height, width) not in cache:
            cache[(height, width)] = _logo_image(text, colour, max(8, round(width * width_frac)))
        image = cache[(height, width)]
        logo_h, logo_w = image.shape[:2]
        margin = round(0.03 * width)
        x0 = margin if corner[1] == "l" else width - logo_w - margin
        y0 = margin if corner[0] == "t" else height - logo_h - margin
        x0, y0 = max(0, x0), max(0, y0)
        out = frame.copy()
        region = out[y0:y0 + logo_h, x0:x0 + logo_w]
        cv2.addWeighted(image[:region.shape[0], :region.shape[1]], opacity, region,
                        1.0 - opacity, 0.0, dst=region)
        return out
    return run


def _put_text(frame: np.ndarray, text: str, x: int, y: int, scale: float,
              colour: Sequence[int]) -> None:
    thick = max(1, round(scale * 2))
    cv2.putText(frame, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0),
                thick + 2, cv2.LINE_AA)
    cv2.putText(frame, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, tuple(colour),
                thick, cv2.LINE_AA)


def caption(text: str, y_frac: float, size_frac: float, colour: Sequence[int]) -> FrameFn:
    """Static outlined text centred horizontally; size_frac = text height / frame height."""
    def run(frame: np.ndarray) -> np.ndarray:
        height, width = frame.shape[:2]
        scale = _font_scale(cv2.FONT_HERSHEY_SIMPLEX, height * size_frac)
        (text_w, _), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        scale *= min(1.0, width * 0.9 / max(1, text_w))
        (text_w, _), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        out = frame.copy()
        _put_text(out, text, (width - text_w) // 2, round(height * y_frac), scale, colour)
        return out
    return run


def meme_rows(height: int, band: float, squeeze: bool) -> tuple[int, int]:
    """(output height, band height) of `meme` on a frame `height` rows high."""
    out_h = height if squeeze else _even(height / (1 - band))
    return out_h, max(2, round(out_h * band))


def meme(text: str, band: float, top: bool, fill: int, squeeze: bool) -> FrameFn:
    """A still band of words above (or below) the picture, `band` of the output's height, grey
    level `fill`, the words in the other extreme sized to fit it (AugLy's `meme_format`, reposting
    apps); the picture kept whole with the band added (a taller frame) or squeezed to make room."""
    def run(frame: np.ndarray) -> np.ndarray:
        height, width = frame.shape[:2]
        out_h, strip_h = meme_rows(height, band, squeeze)
        strip = np.full((strip_h, width, 3), fill, np.uint8)
        lines = [text] if len(text) < 20 else [text[: len(text) // 2], text[len(text) // 2:]]
        (text_w, cap), _ = cv2.getTextSize(max(lines, key=len), cv2.FONT_HERSHEY_DUPLEX, 1.0, 2)
        scale = min(0.9 * width / text_w, 0.5 * strip_h / len(lines) / cap)
        ink = (0, 0, 0) if fill > 128 else (255, 255, 255)
        for i, line in enumerate(lines):
            y = round(strip_h * (i + 1) / (len(lines) + 1) + cap * scale / 2)
            cv2.putText(strip, line, (width // 20, y), cv2.FONT_HERSHEY_DUPLEX, scale, ink, max(1, round(2 * scale)), cv2.LINE_AA)
        picture = resize_to(frame, width, out_h - strip_h)
        return np.vstack([strip, picture] if top else [picture, strip])
    return run


def scale_to_height(height: int) -> FrameFn:
    def run(frame: np.ndarray) -> np.ndarray:
        src_h, src_w = frame.shape[:2]
        return resize_to(frame, _even(src_w * height / src_h), _even(height))
    return run


# -- stream edits (closures) --------------------------------------------------

class _Follower:
    """Frame of a stream at a growing time t (the latest frame with time <= t)."""

    def __init__(self, stream: Stream) -> None:
        self._stream = stream
        self._current = next(stream)
        self._next = next(stream, None)

    def at(self, t: float) -> np.ndarray:
        while self._next is not None and self._next[0] <= t + 1e-6:
            self._current, self._next = self._next, next(self._stream, None)
        return self._current[1]


def caption_scroll(text: str, y_frac: float, size_frac: float, colour: Sequence[int],
                   widths_per_s: float) -> StreamFn:
    """Ticker text moving right to left at widths_per_s frame widths a second."""
    def run(stream: Stream) -> Stream:
        for t, frame in stream:
            height, width = frame.shape[:2]
            scale = _font_scale(cv2.FONT_HERSHEY_SIMPLEX, height * size_frac)
            (text_w, _), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
            travel = width + text_w
            x = width - int(t * widths_per_s * width) % travel
            out = frame.copy()
            _put_text(out, text, x, round(height * y_frac), scale, colour)
            yield t, out
    return run


def change_speed(factor: float) -> StreamFn:
    """Play factor times as fast: query time = source time / factor."""
    def run(stream: Stream) -> Stream:
        for t, frame in stream:
            yield t / factor, frame
    return run


def picture_in_picture(background: Stream, area: float, x_pos: float,
                       y_pos: float) -> StreamFn:
    """Shrink the copy to `area` of the frame and lay it over a background
    stream that keeps playing (resized to the frame size)."""
    def run(stream: Stream) -> Stream:
        back = _Follower(background)
        for t, frame in stream:
            height, width = frame.shape[:2]
            canvas = cover(back.at(t), width, height).copy()
            scale = math.sqrt(area)
            inner_w, inner_h = max(2, round(width * scale)), max(2, round(height * scale))
            x0 = round((width - inner_w) * x_pos)
            y0 = round((height - inner_h) * y_pos)
            canvas[y0:y0 + inner_h, x0:x0 + inner_w] = resize_to(frame, inner_w, inner_h)
            yield t, canvas
    return run


def cut_to_fill(aspect: float, pos: float, max_height: int = 720) -> FrameFn:
    """Crop-to-fill reframe: cut the picture to `aspect` (width / height) along its longer
    side, at `pos` (0 = left or top, 1 = right or bottom) of the free length, no fill."""
    def run(frame: np.ndarray) -> np.ndarray:
        height, width = frame.shape[:2]
        if width / height > aspect:
            cw = max(2, round(height * aspect))
            x0 = round((width - cw) * pos)
            out = frame[:, x0:x0 + cw]
        else:
            ch = max(2, round(width / aspect))
            y0 = round((height - ch) * pos)
            out = frame[y0:y0 + ch]
        h = min(max_height, out.shape[0])
        return resize_to(out, _even(h * out.shape[1] / out.shape[0]), _even(h))
    return run


def split_screen(other: Stream, place: str, at: float, fit: str, max_height: int = 720) -> StreamFn:
    """Split screen: the copy in one part of a phone (9:16, `place` top or bottom) or wide
    (16:9, left or right) canvas, unrelated footage that keeps playing in the other; the
    line between them at `at` of the side. `fit`: "cover" (cut to fill its part) or "fit"
    (whole picture, black bars)."""
    vertical = place in ("top", "bottom")

    def run(stream: Stream) -> Stream:
        back = _Follower(other)
        for t, frame in stream:
            canvas_h = _even(min(max_height, 1280 if vertical else 720))
            canvas_w = _even(canvas_h * (9 / 16 if vertical else 16 / 9))
            cut = _even((canvas_h if vertical else canvas_w) * at)
            sizes = ((canvas_w, cut), (canvas_w, canvas_h - cut)) if vertical else ((cut, canvas_h), (canvas_w - cut, canvas_h))
            mine, theirs = (sizes[0], sizes[1]) if place in ("top", "left") else (sizes[1], sizes[0])
            if fit == "cover":
                part = cover(frame, *mine)
            else:
                scale = min(mine[0] / frame.shape[1], mine[1] / frame.shape[0])
                inner = resize_to(frame, max(2, round(frame.shape[1] * scale)), max(2, round(frame.shape[0] * scale)))
                part = np.zeros((mine[1], mine[0], 3), np.uint8)
                y0, x0 = (mine[1] - inner.shape[0]) // 2, (mine[0] - inner.shape[1]) // 2
                part[y0:y0 + inner.shape[0], x0:x0 + inner.shape[1]] = inner
            other_part = cover(back.at(t), *theirs)
            pair = (part, other_part) if place in ("top", "left") else (other_part, part)
            yield t, np.ascontiguousarray(np.vstack(pair) if vertical else np.hstack(pair))
    return run


def splice(prefix: Stream, prefix_s: float, suffix: Stream, suffix_s: float,
           main_s: float) -> StreamFn:
    """Unrelated footage before (prefix_s) and after (suffix_s) the copy, which
    lasts main_s seconds; the footage is fitted to the copy's frame size."""
    def footage(source: Stream, length: float, offset: float, size: tuple[int, int]) -> Stream:
        for t, frame in source:
            if t >= length:
                return
            yield offset + t, cover(frame, *size)

    def run(stream: Stream) -> Stream:
        first = next(stream, None)
        if first is None:
            return
        size = (first[1].shape[1], first[1].shape[0])
        yield from footage(prefix, prefix_s, 0.0, size)
        yield first[0] + prefix_s, first[1]
        for t, frame in stream:
            yield t + prefix_s, frame
        yield from footage(suffix, suffix_s, prefix_s + main_s, size)
    return run


# -- registry: samplers and builders ------------------------------------------

# Parameter ranges. Issue 11 widened every one past what fp was tuned on; the range
# before it is in the comment. A truth file records the drawn values, so older files
# still build the same edits.
CROP_FRAC = (0.05, 0.30)  # was 0.10-0.20
ROTATE_DEG = (1.0, 10.0)  # was 2-6
BRIGHTNESS_DELTA = (10.0, 70.0)  # was 20-50, either sign
CONTRAST_FACTOR = (0.4, 1.9)  # was 0.6-1.5, never close to 1
GAMMA_VALUE = (0.4, 2.2)  # was 0.6-1.6
SATURATION_FACTOR = (0.1, 2.5)  # was 0.3-1.8
BLUR_SIGMA_360P = (1.0, 5.0)  # was 1.5-3.0
NOISE_SIGMA = (3.0, 25.0)  # was 5-15
BAR_FRAC = (0.05, 0.30)  # was 0.08-0.20
REFRAME_SCALE = (0.3, 1.0)  # was 1.0 (the picture across the canvas)
REFRAME_BLUR = (3.0, 45.0)  # was 15-30 (canvas pixels)
REFRAME_DARKEN = (0.0, 0.7)  # was 0
TINY_SHORT_SIDE = (120, 240)  # new: a tiny re-upload after a reframe
PIP_AREA = (0.2, 0.6)  # was 1/3-1/2
CUT_ASPECTS = (9 / 16, 9 / 16, 4 / 5, 1.0, 16 / 9)  # phone, phone, feed, square, wide (portrait sources)
SPLIT_AT = (0.4, 0.6)
MEME_BAND = (0.1, 0.4)  # share of the output's height the band of words takes
MEME_TEXTS = ("when the movie hits different", "POV: you finally watch it", "this scene though", "wait for it...",
              "me at 3am", "no one:", "best part of the film")
LOGO_WIDTH = (0.06, 0.35)  # was 0.10-0.20
LOGO_OPACITY = (0.3, 1.0)  # was 0.6-1.0
CAPTION_SIZE = (0.03, 0.12)  # was 0.04-0.07
CAPTION_Y = ((0.06, 0.2), (0.78, 0.95))  # was 0.80-0.92 (bottom only)
SCROLL_SPEED = (0.1, 0.6)  # was 0.15-0.40
SPEED_FACTOR = ((0.8, 0.97), (1.03, 1.25))  # was 0.90-0.97 or 1.03-1.10
FPS_CHOICES = (10, 12, 15, 24, 25, 30, 50, 60)  # was 15, 24, 60
KBPS_360P = (60, 80, 100, 120, 180, 250, 300)  # was 120, 180, 250
SPLICE_PREFIX = (0.5, 8.0)  # was 1-4
SPLICE_SUFFIX = (0.0, 8.0)  # was 0-3
DEGRADED_NOISE = (3.0, 15.0)  # speed_degraded: noise with a speed change and a low bitrate
DEGRADED_KBPS = (60, 80, 100, 120, 180)


def _r(value: float) -> float:
    return round(value, 4)


def _sign(rng: random.Random) -> int:
    return rng.choice([-1, 1])


def _uniform(rng: random.Random, bounds: tuple[float, float]) -> float:
    return _r(rng.uniform(*bounds))


def _either(rng: random.Random, ranges: tuple[tuple[float, float], ...]) -> float:
    return _uniform(rng, rng.choice(ranges))


def _away_from_one(rng: random.Random, low: float, high: float) -> float:
    """A factor in [low, 1/(ish)] or [(ish), high], never close to 1."""
    return _r(rng.uniform(low, 1 - (1 - low) / 3) if rng.random() < 0.5
              else rng.uniform(1 + (high - 1) / 3, high))


def _pick_footage(rng: random.Random, ctx: EditContext, length: float) -> dict:
    if not ctx.footage:
        raise EditError("this edit needs unrelated footage (negative clips), and there is none")
    clip = rng.choice(ctx.footage)
    start = rng.uniform(0.0, max(0.0, clip.duration - length)) if clip.duration > length else 0.0
    return {"path": clip.path, "start": _r(start)}


def _colour(rng: random.Random) -> list[int]:
    return [rng.randrange(256) for _ in range(3)]


def _sample_caption(rng: random.Random, ctx: EditContext) -> dict:
    return {"text": rng.choice(CAPTION_TEXTS), "y_frac": _either(rng, CAPTION_Y),
            "size_frac": _uniform(rng, CAPTION_SIZE),
            "colour": rng.choice([[255, 255, 255], [255, 230, 0], [255, 255, 0]])}


def _sample_bars(rng: random.Random, ctx: EditContext) -> dict:
    return {"frac": _uniform(rng, BAR_FRAC),
            "style": rng.choice(["black", "grey", "white", "noise"]),
            "seed": rng.randrange(2 ** 31)}


def _sample_fps(rng: random.Random, ctx: EditContext) -> dict:
    choices = [fps for fps in FPS_CHOICES if abs(fps - ctx.source_fps) > 0.5]
    return {"fps": rng.choice(choices)}


def _sample_splice(rng: random.Random, ctx: EditContext) -> dict:
    prefix_s, suffix_s = _uniform(rng, SPLICE_PREFIX), _uniform(rng, SPLICE_SUFFIX)
    return {"prefix_s": prefix_s, "prefix": _pick_footage(rng, ctx, prefix_s),
            "suffix_s": suffix_s, "suffix": _pick_footage(rng, ctx, suffix_s)}


def _sample_reframe(canvas: str | None, tiny: bool = False):
    """Sampler of a blurred-background reframe; canvas None draws either way."""
    def sample(rng: random.Random, ctx: EditContext) -> dict:
        out = {"canvas": canvas or rng.choice(["9x16", "16x9"]),
               "scale": _uniform(rng, REFRAME_SCALE), "blur_sigma": _uniform(rng, REFRAME_BLUR),
               "darken": _r(rng.choice([0.0, rng.uniform(*REFRAME_DARKEN)]))}
        if tiny:
            out["short_side"] = 2 * (rng.randint(*TINY_SHORT_SIDE) // 2)
        return out
    return sample


def _build_reframe(canvas: str):
    def build(p: Mapping, ctx: EditContext) -> FrameFn:
        # older truth files hold only blur_sigma: the picture across the canvas, no darkening
        return reframe(p.get("canvas", canvas), p.get("scale", 1.0), p["blur_sigma"],
                       p.get("darken", 0.0), ctx.max_height, p.get("short_side"))
    return build


def _sample_speed(rng: random.Random, ctx: EditContext) -> dict:
    return {"factor": _either(rng, SPEED_FACTOR)}


def _sample_degraded(rng: random.Random, ctx: EditContext) -> dict:
    return {"factor": _either(rng, SPEED_FACTOR), "sigma": _uniform(rng, DEGRADED_NOISE),
            "seed": rng.randrange(2 ** 31), "kbps_360p": rng.choice(DEGRADED_KBPS)}


def _build_degraded(p: Mapping, ctx: EditContext) -> StreamFn:
    speed, noisy = change_speed(p["factor"]), map_frames(gaussian_noise(p["sigma"], p["seed"]))
    return lambda stream: noisy(speed(stream))


def _build_pip(p: Mapping, ctx: EditContext) -> StreamFn:
    back = p["background"]
    return picture_in_picture(_open(ctx, back["path"], back["start"]), p["area"],
                              p["x_pos"], p["y_pos"])


def _build_split(p: Mapping, ctx: EditContext) -> StreamFn:
    other = p["other"]
    return split_screen(_open(ctx, other["path"], other["start"]), p["place"], p["at"], p["fit"])


def _sample_cut(rng: random.Random, ctx: EditContext) -> dict:
    return {"aspect": rng.choice(CUT_ASPECTS), "pos": _r(rng.random())}


def _build_splice(p: Mapping, ctx: EditContext) -> StreamFn:
    return splice(_open(ctx, p["prefix"]["path"], p["prefix"]["start"]), p["prefix_s"],
                  _open(ctx, p["suffix"]["path"], p["suffix"]["start"]), p["suffix_s"],
                  ctx.main_duration)


def _open(ctx: EditContext, path: str, start: float) -> Stream:
    if ctx.open_footage is None:
        raise EditError("this edit needs EditContext.open_footage to read unrelated footage")
    return ctx.open_footage(path, start)


@dataclass(frozen=True)
class EditSpec:
    """How to draw an edit's parameters and build its closure."""

    name: str
    sample: Callable[[random.Random, EditContext], dict]
    build: Callable[[Mapping, EditContext], FrameFn | StreamFn | None]
    stream: bool = False  # build returns a StreamFn (else a FrameFn or None)
    needs_footage: bool = False


def _specs() -> list[EditSpec]:
    """All edits, in the order they are applied when combined."""
    return [
        EditSpec("mirror", lambda rng, ctx: {}, lambda p, ctx: mirror()),
        EditSpec("crop", lambda rng, ctx: {"frac": _uniform(rng, CROP_FRAC),
                                           "x_pos": _r(rng.random()), "y_pos": _r(rng.random())},
                 lambda p, ctx: crop(p["frac"], p["x_pos"], p["y_pos"])),
        EditSpec("rotate", lambda rng, ctx: {"angle_deg": _r(rng.uniform(*ROTATE_DEG) * _sign(rng))},
                 lambda p, ctx: rotate(p["angle_deg"])),
        EditSpec("brightness",
                 lambda rng, ctx: {"delta": _r(rng.uniform(*BRIGHTNESS_DELTA) * _sign(rng))},
                 lambda p, ctx: brightness(p["delta"])),
        EditSpec("contrast", lambda rng, ctx: {"factor": _away_from_one(rng, *CONTRAST_FACTOR)},
                 lambda p, ctx: contrast(p["factor"])),
        EditSpec("gamma", lambda rng, ctx: {"gamma": _away_from_one(rng, *GAMMA_VALUE)},
                 lambda p, ctx: gamma(p["gamma"])),
        EditSpec("saturation", lambda rng, ctx: {"factor": _away_from_one(rng, *SATURATION_FACTOR)},
                 lambda p, ctx: saturation(p["factor"])),
        EditSpec("greyscale", lambda rng, ctx: {}, lambda p, ctx: greyscale()),
        EditSpec("blur", lambda rng, ctx: {"sigma_360p": _uniform(rng, BLUR_SIGMA_360P)},
                 lambda p, ctx: blur(p["sigma_360p"])),
        EditSpec("noise", lambda rng, ctx: {"sigma": _uniform(rng, NOISE_SIGMA),
                                            "seed": rng.randrange(2 ** 31)},
                 lambda p, ctx: gaussian_noise(p["sigma"], p["seed"])),
        EditSpec("letterbox", _sample_bars,
                 lambda p, ctx: bars("letterbox", p["frac"], p["style"], p["seed"])),
        EditSpec("pillarbox", _sample_bars,
                 lambda p, ctx: bars("pillarbox", p["frac"], p["style"], p["seed"])),
        EditSpec("reframe_9x16", _sample_reframe("9x16"), _build_reframe("9x16")),
        EditSpec("reframe_16x9", _sample_reframe("16x9"), _build_reframe("16x9")),
        EditSpec("reframe_tiny", _sample_reframe(None, tiny=True), _build_reframe("9x16")),
        EditSpec("pip", lambda rng, ctx: {"area": _uniform(rng, PIP_AREA),
                                          "x_pos": _r(rng.random()), "y_pos": _r(rng.random()),
                                          "background": _pick_footage(rng, ctx, 30.0)},
                 _build_pip, stream=True, needs_footage=True),
        EditSpec("logo", lambda rng, ctx: {"text": rng.choice(LOGO_TEXTS), "colour": _colour(rng),
                                           "width_frac": _uniform(rng, LOGO_WIDTH),
                                           "corner": rng.choice(["tl", "tr", "bl", "br"]),
                                           "opacity": _uniform(rng, LOGO_OPACITY)},
                 lambda p, ctx: logo(p["text"], p["colour"], p["width_frac"], p["corner"],
                                     p["opacity"])),
        EditSpec("caption", _sample_caption,
                 lambda p, ctx: caption(p["text"], p["y_frac"], p["size_frac"], p["colour"])),
        EditSpec("caption_scroll",
                 lambda rng, ctx: dict(_sample_caption(rng, ctx),
                                       widths_per_s=_uniform(rng, SCROLL_SPEED)),
                 lambda p, ctx: caption_scroll(p["text"], p["y_frac"], p["size_frac"],
                                               p["colour"], p["widths_per_s"]), stream=True),
        EditSpec("scale_360p", lambda rng, ctx: {"height": 360},
                 lambda p, ctx: scale_to_height(p["height"])),
        EditSpec("scale_240p", lambda rng, ctx: {"height": 240},
                 lambda p, ctx: scale_to_height(p["height"])),
        EditSpec("speed", _sample_speed, lambda p, ctx: change_speed(p["factor"]), stream=True),
        EditSpec("speed_degraded", _sample_degraded, _build_degraded, stream=True),
        EditSpec("splice", _sample_splice, _build_splice, stream=True, needs_footage=True),
        EditSpec("fps", _sample_fps, lambda p, ctx: None),
        EditSpec("low_bitrate", lambda rng, ctx: {"kbps_360p": rng.choice(KBPS_360P)},
                 lambda p, ctx: None),
        # Added after the widened benchmark was drawn: made only when named (LATER_EDITS).
        EditSpec("cut_to_fill", _sample_cut, lambda p, ctx: cut_to_fill(p["aspect"], p["pos"])),
        EditSpec("split_screen", lambda rng, ctx: {"place": rng.choice(["top", "bottom", "left", "right"]),
                                                   "at": _uniform(rng, SPLIT_AT), "fit": rng.choice(["cover", "fit"]),
                                                   "other": _pick_footage(rng, ctx, 30.0)},
                 _build_split, stream=True, needs_footage=True),
        EditSpec("meme", lambda rng, ctx: {"text": rng.choice(MEME_TEXTS), "band": _uniform(rng, MEME_BAND),
                                           "top": rng.random() < 0.7, "fill": rng.choice([255, 255, 0, rng.randint(40, 220)]),
                                           "squeeze": rng.random() < 0.5},
                 lambda p, ctx: meme(p["text"], p["band"], p["top"], p["fill"], p["squeeze"])),
    ]


EDIT_SPECS: dict[str, EditSpec] = {spec.name: spec for spec in _specs()}
EDIT_NAMES: tuple[str, ...] = tuple(EDIT_SPECS)
# Edits added after the default and widened benchmarks were drawn: generated only when named
# (`fp bench --edits cut_to_fill,split_screen`, `--edits meme`), so those benchmarks stay byte-identical.
LATER_EDITS: frozenset[str] = frozenset({"cut_to_fill", "split_screen", "meme"})
DEFAULT_EDITS: tuple[str, ...] = tuple(n for n in EDIT_NAMES if n not in LATER_EDITS)
# Edits that make no sense together in one query (two output sizes, two canvases, two
# speed changes or two bitrates).
EXCLUSIVE: tuple[frozenset[str], ...] = (
    frozenset({"scale_360p", "scale_240p", "reframe_tiny"}),
    frozenset({"reframe_9x16", "reframe_16x9", "reframe_tiny", "cut_to_fill", "split_screen"}),
    frozenset({"speed", "speed_degraded"}),
    frozenset({"low_bitrate", "speed_degraded"}),
)
SPEED_EDITS = ("speed", "speed_degraded")  # edits whose params["factor"] retimes the copy


def speed_of(edits: Sequence[Edit]) -> float:
    """Reference seconds per query second after the edits."""
    factor = 1.0
    for edit in edits:
        if edit.name in SPEED_EDITS:
            factor *= float(edit.params["factor"])
    return factor


def bitrate_of(edits: Sequence[Edit]) -> int | None:
    """The constant bitrate (kbit/s at 640x360) an edit asks the encoder for, if any."""
    return next((int(e.params["kbps_360p"]) for e in edits if "kbps_360p" in e.params), None)


def check_names(names: Sequence[str]) -> None:
    unknown = [name for name in names if name not in EDIT_SPECS]
    if unknown:
        raise EditError(f"unknown edit name(s) {unknown}; known: {', '.join(EDIT_NAMES)}")


def sample_edits(names: Sequence[str], rng: random.Random, ctx: EditContext) -> tuple[Edit, ...]:
    """Draw parameters for the named edits, returned in application order."""
    check_names(names)
    ordered = sorted(set(names), key=EDIT_NAMES.index)
    return tuple(Edit(name, EDIT_SPECS[name].sample(rng, ctx)) for name in ordered)


def compatible(names: Sequence[str]) -> bool:
    return all(len(group & set(names)) <= 1 for group in EXCLUSIVE)


def build_pipeline(edits: Sequence[Edit], ctx: EditContext) -> StreamFn:
    """Compose the edits (in the given order) into one stream function."""
    steps: list[StreamFn] = []
    for edit in edits:
        check_names([edit.name])
        spec = EDIT_SPECS[edit.name]
        built = spec.build(edit.params, ctx)
        if built is not None:
            steps.append(built if spec.stream else map_frames(built))

    def run(stream: Stream) -> Stream:
        for step in steps:
            stream = step(stream)
        return stream
    return run

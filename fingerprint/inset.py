"""Find a picture-in-picture inset: a rectangle whose borders stay put while its content moves.

Over a window of frames, straight lines that persist (temporal median of the gradient) mark
the inset's sides: a strong step, or a faint one that stands out from the texture on both
sides of it (a reframe over a blurred copy of itself shows only a few grey levels of step).
The best-supported rectangle of plausible size is the inset; a small one must be centred,
as reframes centre the picture (a reframe at scale 0.3 leaves ~0.1 of the canvas side).
Ahead of it comes the best-supported centred rectangle whose content, enlarged to cover the
frame and blurred, is the fill around it (`blurfill`: the picture, where lines inside it
outscore its soft border), and such a rectangle may have one side too faint to be a line.
When no such edges exist, a centred band of sharp picture between soft fill is the inset;
a centred rectangle of sharp picture inside soft fill, its sides sharp within and soft
without, is tried as well. A split screen (one line straight across the frame, sharp moving
picture on both sides, and not soft fill at both ends around a sharp middle) gives its two halves instead.
The picture beside a still band of words at one end (a meme's caption) comes first of all.
A still inset over moving footage is also looked for where the motion steps (`_motion_steps`):
its own edges persist as long as its border does. A line inside the picture can outscore a
faint side of it (or the frame border take its place): the best rectangle moved off the first
on one side only is its rival. At most three rectangles per window (two from the grey-level
lines, then the one from the motion steps and the rival, when new and while there is room);
each becomes a query view (suspects only) and costs the matcher a factor in its chance budget.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import cv2
import numpy as np

from .blurfill import FILL_STD, blur_fill_test
from .normalise import BLANK_STD, ActiveArea, detect_active_area_window

EDGE = 10.0  # grey levels of persistent gradient that count as an edge on their own
FAINT_EDGE = 3.0  # a fainter persistent step counts when it stands out from both sides:
LINE_RATIO = 3.0  # ... this many times the gradient a few pixels away on either side
LINE_GAP = 3  # pixels away from a line its neighbours' gradient is read
MIN_SIDE = 0.2  # an off-centre inset spans at least this share of each side
MIN_AREA = 0.15  # ... and this share of the frame (a 2.35:1 film reframed to 9:16 covers ~0.24)
MIN_SIDE_CENTRED = 0.08  # a centred inset at least this share (a reframe at scale 0.3: ~0.09)
MIN_PIXELS = 16  # ... and never fewer pixels than this (too few to hash)
CENTRED = 0.02  # the two margins of a centred inset differ by at most this share of the side
MAX_ASPECT = 2.6  # a picture is at most this elongated (2.39:1 films); text lines are more
MAX_AREA = 0.8  # larger "insets" are the picture itself
MIN_COVERAGE = 0.55  # share of the perimeter that must be persistent edge
MIN_SIDE_EDGE = 0.3  # share of each inner side that must be edge ...
FAINT_FAR_SIDE = 0.8  # ... unless centred, its fill its own blur (blurfill) and the other sides this strong
FILL_TRIES = 8  # centred rectangles tried as a picture over its blurred self, best-supported first
MIN_RUN = 0.04  # a candidate line runs straight for at least this share of the frame
EDGE_SIDE = 0.5  # score of a side lying on the frame border
CANDIDATES = 12  # candidate lines per axis (besides their mirror images and the borders)
MAX_FRAMES = 12  # frames of a window looked at (evenly spaced)
STRIP_SIDE = (0.2, 0.85)  # a sharp band spans this share of the frame height (or width)
STRIP_SHARP = 0.35  # a line is in the band when its texture is this share of the sharpest lines'
STRIP_CONTRAST = 3.0  # the band's median texture over the fill's
STRIP_CENTRED = 0.08  # the two fills differ by at most this share of the side
SHARP_FILL = 3.0  # a texel is sharp when it has this many times the fill's texture
FILL_FLOOR = 0.5  # grey levels: the fill's texture is never taken as less
SOFT_COST = 2.0  # a soft texel inside costs the rectangle this many sharp ones
RIM = 3  # texels on either side of a side that tell sharp from soft
RIM_CONTRAST = 2.0  # ... sharp inside means this many times the texture outside
RIM_FLOOR = 0.1  # ... plus this (grey levels)
RIM_SHARE = 0.5  # ... along at least this share of the side
SPLIT_RUN = 0.85  # a split screen's dividing line runs straight across this share of the frame
SPLIT_AT = (0.25, 0.75)  # ... and lies between these shares of the side
FILL_RATIO = 0.5  # a reframe's fill: median line texture under this share of its picture's
SPLIT_SHARP = 0.15  # a side softer than this share of the other's texture may be a reframe's fill
#                    (a reframe's blurred fill under its picture: 0.06; a cartoon beside a table top: 0.27)
SPLIT_MOTION = 1.0  # grey levels: both sides change over the window (two videos, not a still)
BAND = (0.05, 0.45)  # a caption band (a meme's words above the picture) covers this share of the side
BAND_RUN = 0.5  # ... its edge a grey or motion step straight across this share of the frame (a
#                 dark picture meets a black band in a faint line: the band's own tests below decide)
CAPTION_FILL = 0.6  # ... and this share of it lies at its fill's grey level (words on a plain band)
RIM_FILL = 0.9  # ... and this share of its lines along either long edge (the words are inside it)
BAR_EDGE = 0.02  # share of the side within which a line is the edge of a bar the active area cuts
FILL_TOL = 8.0  # grey levels from the fill that are still fill (anti-aliased words, compression)
MOTION_STEP = 1.5  # grey levels of median change over the window: one side moves ...
MOTION_RATIO = 3.0  # ... this many times more than the other (see _motion_steps)
SAME = 0.85  # two insets overlapping this much (intersection over union) are one
RIVAL_MARGIN = 0.05  # a rectangle one side off the first pick scoring this close is hashed too


def detect_insets(smalls: list[np.ndarray]) -> list[ActiveArea]:
    """Up to three inset rectangles for one window of same-sized grey frames."""
    step = max(1, len(smalls) // MAX_FRAMES)
    frames = [cv2.blur(s, (3, 3)).astype(np.float32) for s in smalls[::step]]
    frames = [f for f in frames if f.std() >= BLANK_STD]
    if len(frames) < 5:
        return []
    stack = np.stack(frames)
    gx = np.median(np.abs(stack[:, :, 2:] - stack[:, :, :-2]), axis=0)  # (h, w-2): edge between x and x+2
    gy = np.median(np.abs(stack[:, 2:, :] - stack[:, :-2, :]), axis=0)  # (h-2, w)
    lines = _Lines.of(gx, gy)
    split = _split(lines, stack)
    if split:
        return split
    texture = cv2.blur(gx[1:-1] + gy[:, 1:-1], (3, 3))  # (h-2, w-2): persistent local gradient
    fits = blur_fill_test(stack, texture)
    edges, rival = _edge_insets(lines, fits)
    found = _centred(edges, strips=True) or _sharp_band(stack)
    sharp = _sharp_rect(stack, texture)
    if sharp is not None and all(_overlap(sharp, a) < SAME for a in found):
        found.append(sharp)
    found = _centred(found[:2], strips=False)
    # A still inset over moving footage (or the reverse): its sides are where the motion
    # steps, even where its grey levels match the background's. So is a still band's edge.
    still_ends = {(axis, first) for axis in (1, 2) for first in (True, False) if _still_end(stack, axis, first)}
    if not found and not still_ends:
        return found  # no persistent rectangle, no still band (most footage): nothing to cut better
    still = np.median(stack, axis=0)  # the window's still picture, and each frame's distance from it
    dev = np.abs(stack - still)
    mx, my = _motion_steps(dev)
    steps = _Lines.from_edges(lines.ex | mx, lines.ey | my)  # the grey lines reused
    band = _caption_band(steps, stack, still, dev, still_ends)  # first: a meme's picture, whatever else the frame holds
    del still, dev  # a stack's worth each: not held through the readings below
    found = band + [a for a in found if all(_overlap(a, b) < SAME for b in band)]
    if not found:
        return found
    moved = _edge_insets(steps)[0]  # one more reading, when new
    for a in moved[:1] + ([rival] if rival is not None else []):
        if len(found) < 3 and all(_overlap(a, b) < SAME for b in found):
            found.append(a)
    return found


def _motion_steps(dev: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where the window's motion steps (one side changes MOTION_RATIO times more than the
    other, and by MOTION_STEP grey levels), from each frame's distance to the window's median
    frame: (h, w-2) and (h-2, w) maps like `_lines`'."""
    act = cv2.blur(np.median(dev, axis=0), (3, 3))
    lo_x, hi_x = np.minimum(act[:, :-2], act[:, 2:]), np.maximum(act[:, :-2], act[:, 2:])
    lo_y, hi_y = np.minimum(act[:-2], act[2:]), np.maximum(act[:-2], act[2:])
    return hi_x >= MOTION_RATIO * lo_x + MOTION_STEP, hi_y >= MOTION_RATIO * lo_y + MOTION_STEP


@dataclass(frozen=True, eq=False)
class _Lines:
    """A window's persistent edges (made once; the split and rectangle searches both read them):
    ex (h, w-2) vertical edges, ey (h-2, w) horizontal ones, and per row / column the longest
    straight run of edge as a share of the frame."""

    ex: np.ndarray
    ey: np.ndarray
    row_runs: np.ndarray
    col_runs: np.ndarray

    @classmethod
    def of(cls, gx: np.ndarray, gy: np.ndarray) -> "_Lines":
        return cls.from_edges(_lines(gx), _lines(gy.T).T)

    @classmethod
    def from_edges(cls, ex: np.ndarray, ey: np.ndarray) -> "_Lines":
        h, w = ex.shape[0], ey.shape[1]
        return cls(ex, ey, _longest_runs(ey.T) / w, _longest_runs(ex) / h)


def _split(lines: _Lines, stack: np.ndarray) -> list[ActiveArea]:
    """The two halves of a split screen (a film above a game, two clips side by side): one
    straight persistent line across the whole frame, between SPLIT_AT of the side, with sharp,
    moving picture on both sides. Two such lines mirrored about the centre, or a soft side,
    are a reframe's picture and fill (the rectangle search finds it); a still side is a
    backdrop (a PiP over a test card), not a second video."""
    h, w = stack.shape[1:]
    for runs, size, axis in ((lines.row_runs, h, 1), (lines.col_runs, w, 2)):
        full = [p + 1 for p in np.nonzero(runs >= SPLIT_RUN)[0]]
        inner = [p for p in full if SPLIT_AT[0] * size <= p <= SPLIT_AT[1] * size]
        inner = [p for p in inner if not any(abs(p + q - (size - 1)) <= max(2, CENTRED * size) and abs(p - q) > 4 for q in full)]
        if not inner:
            continue
        cut = min(inner, key=lambda p: abs(p - size / 2))
        sides = (_slab(stack, axis, 0, cut - 1), _slab(stack, axis, cut + 2, size))
        if not all(_moving_picture(side) for side in sides):
            continue
        if _picture_between_fills(_profile(stack, axis), cut):
            continue
        texture = [_texture(side) for side in sides]
        if min(texture) < SPLIT_SHARP * max(texture):
            # One side soft: smooth footage, or a reframe's blurred fill, which lies at both
            # ends of the frame (a band as thick at the other end is soft too).
            thick = cut if texture[0] < texture[1] else size - cut
            other_end = _slab(stack, axis, size - thick, size) if texture[0] < texture[1] else _slab(stack, axis, 0, thick)
            if _texture(other_end) < SPLIT_SHARP * max(texture):
                continue
        at = cut / size
        if axis == 1:
            return [ActiveArea(0.0, 0.0, 1.0, at), ActiveArea(0.0, at, 1.0, 1.0)]
        return [ActiveArea(0.0, 0.0, at, 1.0), ActiveArea(at, 0.0, 1.0, 1.0)]
    return []


def _caption_band(lines: _Lines, stack: np.ndarray, still: np.ndarray, dev: np.ndarray,
                  still_ends: set[tuple[int, bool]]) -> list[ActiveArea]:
    """The picture beside a still band with words on it (a meme's caption above or below the
    picture, a channel's banner): a straight persistent line across the frame within BAND of one
    end, a still but not flat band between it and the frame's edge (a flat one is a bar, which
    the active area cuts) and moving picture on the other side. The widest such band wins: a
    line inside the band leaves part of the band with the picture, which is then not all moving.
    `still`, `dev`: the window's median frame and each frame's distance from it; `still_ends`:
    the (axis, first) ends whose outer lines are still (`_still_end`)."""
    h, w = stack.shape[1:]
    bars = None
    for runs, size, axis in ((lines.row_runs, h, 1), (lines.col_runs, w, 2)):
        full = [p + 1 for p in np.nonzero(runs >= BAND_RUN)[0]]
        for band, cut, first in sorted(((min(p, size - p), p, p < size / 2) for p in full), reverse=True):
            if not BAND[0] * size <= band <= BAND[1] * size or (axis, first) not in still_ends:
                continue
            if bars is None:
                bars = detect_active_area_window(list(stack))
            edges = (bars.top, bars.bottom) if axis == 1 else (bars.left, bars.right)
            if min(abs(cut - e * size) for e in edges) <= max(4, BAR_EDGE * size):
                continue  # a bar's edge, a few pixels thick (the active area cuts it; the picture beside may be still)
            lines_out = slice(0, cut - 1) if first else slice(cut + 2, size)  # the band's lines, then the picture's
            lines_in = slice(cut + 2, size) if first else slice(0, cut - 1)
            across = still[lines_out] if axis == 1 else still[:, lines_out].T  # lines from the frame's edge to the cut
            if _still_words(across if first else across[::-1], _slab(dev, axis, lines_out.start, lines_out.stop)) \
                    and _moving_picture(_slab(stack, axis, lines_in.start, lines_in.stop)):
                at = cut / size
                lo, hi = (at, 1.0) if first else (0.0, at)
                return [ActiveArea(0.0, lo, 1.0, hi) if axis == 1 else ActiveArea(lo, 0.0, hi, 1.0)]
    return []


def _still_end(stack: np.ndarray, axis: int, first: bool) -> bool:
    """Whether the outermost lines at one end of the frame stay still over the window (where a
    caption band would lie: a band's outer rim is its plain fill)."""
    size = stack.shape[axis]
    rim = max(1, round(BAND[0] * size / 8))
    part = _slab(stack, axis, 0, rim) if first else _slab(stack, axis, size - rim, size)
    return float(np.median(np.abs(part - np.median(part, axis=0)))) < SPLIT_MOTION


def _still_words(band: np.ndarray, dev: np.ndarray) -> bool:
    """Words on a plain band (its median frame, lines from the frame's edge to the picture; `dev`
    its frames' distances from it): still over the window, not flat (a bar), mostly its fill's
    grey level (a still part of a scene or a test card has no one fill), and all fill along both
    of its long edges, the words inside (a bar's line with still picture beside it has the
    picture at its inner edge)."""
    if float(np.median(dev)) >= SPLIT_MOTION or float(band.std()) < FILL_STD:
        return False
    fill = np.abs(band - np.median(band)) <= FILL_TOL
    rim = max(1, len(band) // 8)
    return float(fill.mean()) >= CAPTION_FILL and float(fill[:rim].mean()) >= RIM_FILL and float(fill[-rim:].mean()) >= RIM_FILL


def _profile(stack: np.ndarray, axis: int) -> np.ndarray:
    """Texture per row (axis 1) or column (axis 2): median over frames of the mean step between
    neighbouring pixels along it."""
    return np.median(np.abs(np.diff(stack, axis=3 - axis)).mean(axis=3 - axis), axis=0)


def _picture_between_fills(profile: np.ndarray, cut: int) -> bool:
    """Whether a line at `cut` is one side of a centred picture between two soft fills (a
    reframe, its far side too faint to be a line): the lines beyond it and as many at the other
    end are, in the median, under FILL_RATIO of the texture of the lines between them. A split
    screen has picture at the other end (the second clip) or no lines between (a cut at the
    middle)."""
    size = len(profile)
    thin = min(cut, size - cut)
    middle = profile[thin: size - thin]
    if len(middle) < 4:
        return False
    ends = (profile[:thin], profile[size - thin:])
    return max(float(np.median(e)) for e in ends) < FILL_RATIO * float(np.median(middle))


def _slab(stack: np.ndarray, axis: int, lo: int, hi: int) -> np.ndarray:
    """Rows (axis 1) or columns (axis 2) lo:hi of every frame of a stack."""
    return stack[:, lo:hi] if axis == 1 else stack[:, :, lo:hi]


def _texture(part: np.ndarray) -> float:
    """Median over frames of the mean step between neighbouring pixels (sharp picture: 1-10,
    heavily blurred fill: 0.1-0.3)."""
    return float(np.median(np.abs(np.diff(part, axis=2)).mean(axis=(1, 2))))


def _moving_picture(part: np.ndarray) -> bool:
    """Textured (not bars, not flat fill) and changing over the window (not a still pattern)."""
    if float(np.median([f.std() for f in part])) < FILL_STD:
        return False
    return float(np.median(np.abs(part - np.median(part, axis=0)))) >= SPLIT_MOTION


def _overlap(a: ActiveArea, b: ActiveArea) -> float:
    """Intersection over union of two rectangles."""
    w = max(0.0, min(a.right, b.right) - max(a.left, b.left))
    h = max(0.0, min(a.bottom, b.bottom) - max(a.top, b.top))
    return w * h / (a.area + b.area - w * h)


def _centred(found: list[ActiveArea], strips: bool) -> list[ActiveArea]:
    """Reframes centre the picture: a rectangle found centred on one axis but not on the other,
    its far side there snapped to a strong edge inside the picture (a desk, a horizon, a wall)
    while the real border is faint, is also tried as its centred hull on that axis, while there
    is room for two. `strips`: only full-width (or full-height) strips, else only the others."""
    out = list(found)
    for a in found:
        if len(out) >= 2:
            break
        across, down = abs(a.left - (1 - a.right)) <= STRIP_CENTRED, abs(a.top - (1 - a.bottom)) <= STRIP_CENTRED
        wide, tall = a.left < 0.05 and a.right > 0.95, a.top < 0.05 and a.bottom > 0.95
        if across and not down and wide == strips:
            m = min(a.top, 1 - a.bottom)
            out.append(ActiveArea(a.left, m, a.right, 1 - m))
        elif down and not across and tall == strips:
            m = min(a.left, 1 - a.right)
            out.append(ActiveArea(m, a.top, 1 - m, a.bottom))
    return out


def _band(texture: np.ndarray) -> tuple[int, int] | None:
    """(start, end) of the one centred run of sharp lines between soft fill, if any."""
    n = len(texture)
    sharp = np.append(texture > STRIP_SHARP * np.percentile(texture, 95), False)
    best, start = (0, 0), None
    for i, on in enumerate(sharp):
        if on and start is None:
            start = i
        elif not on and start is not None:
            best, start = max(best, (start, i), key=lambda r: r[1] - r[0]), None
    a, b = best
    if not STRIP_SIDE[0] * n <= b - a <= STRIP_SIDE[1] * n or abs(a - (n - b)) > STRIP_CENTRED * n:
        return None
    margin = max(2, n // 40)
    fill = np.concatenate([texture[: max(a - margin, 0)], texture[b + margin:]])
    if len(fill) < 0.1 * n or np.median(fill) * STRIP_CONTRAST > np.median(texture[a:b]):
        return None
    return a, b


def _sharp_band(stack: np.ndarray) -> list[ActiveArea]:
    """A full-width (or full-height) band of sharp picture between soft, blurred fill."""
    h, w = stack.shape[1:]
    out = []
    if rows := _band(_profile(stack, 1)):
        out.append(ActiveArea(0.0, rows[0] / h, 1.0, rows[1] / h))
    if cols := _band(_profile(stack, 2)):
        out.append(ActiveArea(cols[0] / w, 0.0, cols[1] / w, 1.0))
    return out


def _sharp_rect(stack: np.ndarray, texture: np.ndarray) -> ActiveArea | None:
    """A centred rectangle of sharp picture inside soft fill (a reframe at any scale whose
    border shows no step). The texture map is folded about the centre (the mean of its four
    mirrored quarters), so the rectangle is the corner block of the fold that holds most
    sharp and fewest soft texels: one 2-D running sum."""
    h, w = stack.shape[1:]
    th, tw = texture.shape
    hh, hw = th // 2, tw // 2
    rows = texture[:hh][::-1] + texture[th - hh:]
    fold = (rows[:, :hw][:, ::-1] + rows[:, tw - hw:]) / 4  # (hh, hw): offsets from the centre
    sharp = fold > SHARP_FILL * max(float(np.percentile(fold, 25)), FILL_FLOOR)
    gain = np.cumsum(np.cumsum(np.where(sharp, 1.0, -SOFT_COST), axis=0), axis=1)
    b, a = np.unravel_index(int(np.argmax(gain)), gain.shape)
    half_h, half_w = (b + 1) / th, (a + 1) / tw
    if not _plausible(2 * half_w * w, 2 * half_h * h, w, h, centred=True) or (half_h > 0.45 and half_w > 0.45):
        return None
    # The picture ends at straight sides: along each, sharp just inside, soft just outside
    # (a sharp subject before a soft background, e.g. a face before a wall, has no such sides).
    sides = ((fold[max(b + 1 - RIM, 0): b + 1, : a + 1], fold[b + 1: b + 1 + RIM, : a + 1]),
             (fold[: b + 1, max(a + 1 - RIM, 0): a + 1].T, fold[: b + 1, a + 1: a + 1 + RIM].T))
    for inside, outside in sides:
        if len(outside) and (inside.mean(axis=0) > RIM_CONTRAST * outside.mean(axis=0) + RIM_FLOOR).mean() < RIM_SHARE:
            return None
    soft = np.ones(fold.shape, bool)
    soft[: b + 1, : a + 1] = False
    if soft.mean() < 0.05 or fold[: b + 1, : a + 1].mean() < STRIP_CONTRAST * fold[soft].mean():
        return None
    area = ActiveArea(0.5 - half_w, 0.5 - half_h, 0.5 + half_w, 0.5 + half_h)
    outside = np.ones((h, w), bool)
    outside[round(area.top * h):round(area.bottom * h), round(area.left * w):round(area.right * w)] = False
    if np.median([f[outside].std() for f in stack]) < FILL_STD:
        return None  # flat fill: a title card or bars, which the whole picture's view crops
    return area


def _plausible(width: np.ndarray, height: np.ndarray, w: int, h: int, centred: np.ndarray | bool) -> np.ndarray:
    """Whether a width x height pixel rectangle in a w x h frame may be an inset."""
    aspect = width / np.maximum(height, 1)
    shape = (aspect <= MAX_ASPECT) & (aspect >= 1 / MAX_ASPECT) & (width * height <= MAX_AREA * w * h)
    large = (width >= MIN_SIDE * w) & (height >= MIN_SIDE * h) & (width * height >= MIN_AREA * w * h)
    small = (np.minimum(width, height) >= MIN_PIXELS) & (width >= MIN_SIDE_CENTRED * w) & (height >= MIN_SIDE_CENTRED * h)
    return shape & (large | (centred & small))


def _lines(grad: np.ndarray) -> np.ndarray:
    """Where a persistent gradient (lines along axis 0, across axis 1) marks an edge: strong,
    or faint but standing out from the gradient LINE_GAP pixels to either side."""
    g = LINE_GAP
    side = np.zeros_like(grad)
    side[:, g:-g] = np.maximum(grad[:, : -2 * g], grad[:, 2 * g:])
    side[:, :g], side[:, -g:] = grad[:, g: 2 * g], grad[:, -2 * g: -g]
    return (grad > EDGE) | ((grad > FAINT_EDGE) & (grad > LINE_RATIO * side))


def _longest_runs(on: np.ndarray) -> np.ndarray:
    """Per column of a boolean image, the longest vertical run of True (gaps of a pixel or
    two closed first)."""
    closed = cv2.morphologyEx(on.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((5, 1), np.uint8)).astype(bool)
    count = np.cumsum(closed, axis=0)
    reset = np.maximum.accumulate(np.where(closed, 0, count), axis=0)
    return (count - reset).max(axis=0)


def _peaks(support: np.ndarray, n: int) -> list[int]:
    """Positions of the n strongest local maxima of a 1-D support profile."""
    order = np.argsort(support)[::-1]
    picked: list[int] = []
    for i in order:
        if support[i] < MIN_RUN or len(picked) >= n:
            break
        if all(abs(i - p) > 3 for p in picked):
            picked.append(int(i))
    return picked


def _candidates(support: np.ndarray, size: int) -> list[int]:
    """Candidate side positions along one axis of `size` pixels: the strongest lines, their
    mirror images (the far side of a centred inset may be faint) and the frame borders."""
    lines = [p + 1 for p in _peaks(support, CANDIDATES)]
    return sorted(set(lines + [size - 1 - p for p in lines] + [0, size - 1]))


def _edge_insets(lines: _Lines, fits: Callable[[ActiveArea], bool] | None = None) -> tuple[list[ActiveArea], ActiveArea | None]:
    """The best-supported rectangles of persistent edge: anywhere when large, centred when small.
    `fits` (blurfill): first the best centred one that is a picture over its own blurred copy.
    Also the first one's rival (one side elsewhere), if any."""
    ex, ey = lines.ex, lines.ey  # (h, w-2): vertical edge between x and x+2; (h-2, w)
    h, w = ex.shape[0], ey.shape[1]
    cols = _candidates(lines.col_runs, w)
    rows = _candidates(lines.row_runs, h)
    # Prefix sums give the edge share along any side in O(1); all rectangles are scored at once.
    vx = np.concatenate([np.zeros((1, w)), np.cumsum(np.pad(ex, ((0, 0), (1, 1))), axis=0)])  # (h+1, w)
    hy = np.concatenate([np.zeros((h, 1)), np.cumsum(np.pad(ey, ((1, 1), (0, 0))), axis=1)], axis=1)  # (h, w+1)
    x1, x2, y1, y2 = (a.ravel() for a in np.meshgrid(cols, cols, rows, rows, indexing="ij"))
    centred = (np.abs(x1 + x2 - (w - 1)) <= max(1.0, CENTRED * w)) & (np.abs(y1 + y2 - (h - 1)) <= max(1.0, CENTRED * h))
    ok = (x2 > x1) & (y2 > y1) & _plausible(x2 - x1, y2 - y1, w, h, centred)
    x1, x2, y1, y2, centred = x1[ok], x2[ok], y1[ok], y2[ok], centred[ok]
    if len(x1) == 0:
        return [], None
    span_y, span_x = np.maximum(y2 - y1, 1), np.maximum(x2 - x1, 1)
    left = (vx[y2, x1] - vx[y1, x1]) / span_y
    right = (vx[y2, x2] - vx[y1, x2]) / span_y
    top = (hy[y1, x2] - hy[y1, x1]) / span_x
    bottom = (hy[y2, x2] - hy[y2, x1]) / span_x
    on_edge = np.stack([x1 == 0, x2 == w - 1, y1 == 0, y2 == h - 1])
    # A side on the frame border shows no edge either way: it scores a neutral EDGE_SIDE, so
    # rectangles do not snap to the border just because border sides cost nothing.
    measured = np.stack([left, right, top, bottom])
    sides = np.where(on_edge, EDGE_SIDE, measured)
    n_inner = (~on_edge).sum(axis=0)
    score = sides.mean(axis=0)  # ranks candidates
    inner = np.where(on_edge, 0.0, measured).sum(axis=0) / np.maximum(n_inner, 1)  # decides there is one
    sided = np.where(on_edge, 1.0, measured) >= MIN_SIDE_EDGE
    valid = (n_inner >= 2) & sided.all(axis=0) & (inner >= MIN_COVERAGE)
    pad = 1  # step inside the border's blur

    def rect(i: int) -> ActiveArea:
        return ActiveArea((x1[i] + pad) / w, (y1[i] + pad) / h, (x2[i] - pad + 1) / w, (y2[i] - pad + 1) / h)

    picks = []
    if fits is not None:
        # A picture's far side may fade into its own blurred fill (carpet over blurred
        # carpet): a centred rectangle counts with it when the other three sides are strong
        # and the fill is the picture's blurred copy.
        strong = np.where(on_edge, 0.0, measured) >= FAINT_FAR_SIDE
        others = strong.sum(axis=0) - strong == 3  # (4, n): the three sides but this one are strong
        tried = np.nonzero(centred & (n_inner >= 2) & (inner >= MIN_COVERAGE) & (sided | others).all(axis=0))[0]
        for i in tried[np.argsort(-score[tried], kind="stable")][:FILL_TRIES]:
            if fits(rect(i)):
                picks.append(i)
                break
    if not valid.any() and not picks:
        return [], None
    # Two readings of "best": all four sides (border sides neutral), which keeps insets off
    # the border, and inner sides only, which keeps full-width strips (9:16 reframes) whole.
    # Both are returned when they differ; each becomes a query view.
    area = (x2 - x1) * (y2 - y1)

    def best_first(among: np.ndarray, key: np.ndarray) -> np.ndarray:
        """The rectangles of mask `among`, highest key first, the larger on ties."""
        order = np.lexsort((area, np.round(key, 9)))[::-1]
        return order[among[order]]

    for key in (score, inner):
        order = best_first(valid, key)
        if len(order) and order[0] not in picks:
            picks.append(order[0])
    # A straight line inside the picture (a test card's stripe) can outscore its faint side,
    # or the frame border take a faint side's place: the best valid rectangle that differs
    # from the first pick on one side only, and scores nearly as well, is its rival.
    first = picks[0]
    corners = np.stack([x1, x2, y1, y2])
    alike = (np.abs(corners - corners[:, [first]]) <= 1).sum(axis=0) == 3
    rival = next((i for i in best_first(valid & alike & (score >= score[first] - RIVAL_MARGIN), score)
                  if i not in picks and _overlap(rect(i), rect(first)) < SAME), None)
    return [rect(i) for i in picks], (None if rival is None else rect(rival))

"""Multi-scene reference titles: several real clips joined with hard cuts, like a film.

A title makes footage shot on the same set as ONE of its scenes a hard negative (the
chance of a look-alike must be judged against that scene, not the whole title's
average), and copies of one of its scenes must still be found. Long clips give the title
an excerpt; the rest of that clip becomes held-out footage of the same source.
"""
from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Mapping, Sequence

from .negatives import HeldOut
from .transforms import Stream, cover
from .truth import Scene, Title
from .videoio import ClipInfo, EncodeSettings, iter_frames, write_video

TITLE_DIR = "titles"
TITLE_HEIGHT = 360  # 640x360, or smaller when the benchmark caps frames lower
TITLE_FPS = 30.0
TITLE_CRF = 18  # a clean master: copies are made from it
MAX_SCENE = 20.0  # longer clips give an excerpt of SCENE_EXCERPT seconds
SCENE_EXCERPT = (10.0, 20.0)
GUARD = 3.0  # seconds kept between a scene excerpt and the same-source footage left over
MIN_LEFTOVER = 2.0


def _excerpt(rng: random.Random, clip: ClipInfo) -> tuple[float, float]:
    if clip.duration <= MAX_SCENE:
        return clip.start, clip.end
    length = rng.uniform(*SCENE_EXCERPT)
    start = rng.uniform(clip.start, clip.end - length)
    return round(start, 4), round(start + length, 4)


def _leftovers(clip: ClipInfo, start: float, end: float) -> list[HeldOut]:
    parts = [(clip.start, start - GUARD), (end + GUARD, clip.end)]
    return [HeldOut(clip, round(a, 4), round(b, 4), "same_source") for a, b in parts
            if b - a >= MIN_LEFTOVER]


def plan_titles(rng: random.Random, references: Sequence[ClipInfo], count: int,
                scenes: tuple[int, int] = (2, 3), set_scenes: Sequence[str] = (),
                motion: Mapping[str, float] | None = None
                ) -> tuple[list[Title], list[ClipInfo], list[HeldOut]]:
    """Join `count` titles of `scenes` (min, max) landscape clips each. Each title takes one
    clip of `set_scenes` (footage whose set has held-out siblings) while they last, and the
    first title the stillest clip by `motion` (a fixed camera). Returns (titles, clips left
    as single-scene references, same-source footage left over from excerpts)."""
    pool = [c for c in references if c.width >= c.height]
    rng.shuffle(pool)
    on_set = [c for c in pool if c.path in set(set_scenes)]
    still = min(pool, key=lambda c: motion.get(c.path, float("inf")), default=None) if motion else None
    titles, used, leftovers = [], set(), []
    for n in range(count):
        size = rng.randint(*scenes)
        chosen = []
        firsts = [c for c in on_set if c.path not in used][:1]
        if n == 0 and still is not None and still.path not in used:
            firsts.append(still)
        for clip in firsts + [c for c in pool if c.path not in used]:
            if len(chosen) >= size:
                break
            if clip.path not in {c.path for c in chosen}:
                chosen.append(clip)
        if len(chosen) < 2:
            break
        used.update(c.path for c in chosen)
        rng.shuffle(chosen)
        at, parts = 0.0, []
        for clip in chosen:
            start, end = _excerpt(rng, clip)
            parts.append(Scene(clip.path, start, end, round(at, 4),
                               (motion or {}).get(clip.path)))
            leftovers += _leftovers(clip, start, end)
            at += end - start
        titles.append(Title(f"{TITLE_DIR}/feature_{n + 1}.mp4", tuple(parts)))
    singles = [c for c in references if c.path not in used]
    return titles, singles, leftovers


def title_size(max_height: int) -> tuple[int, int]:
    height = min(TITLE_HEIGHT, max_height) // 2 * 2
    return round(height * 16 / 9 / 2) * 2, height


def title_clip(title: Title, max_height: int = TITLE_HEIGHT) -> ClipInfo:
    """The ClipInfo a rendered title will have (copies are planned before it exists)."""
    width, height = title_size(max_height)
    return ClipInfo(path=title.path, start=0.0, end=round(title.duration, 4), fps=TITLE_FPS,
                    width=width, height=height, frames=round(title.duration * TITLE_FPS))


def map_into_title(title: Title, source: str, span: tuple[float, float]
                   ) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """(title span, source span) of the part of `span` of `source` the title shows."""
    for scene in title.scenes:
        if scene.source != source:
            continue
        start, end = max(span[0], scene.start), min(span[1], scene.end)
        if end - start >= 0.5:
            offset = scene.at - scene.start
            return (round(start + offset, 4), round(end + offset, 4)), (start, end)
    return None


def title_frames(title: Title, refs_dir: Path, max_height: int = TITLE_HEIGHT) -> Stream:
    width, height = title_size(max_height)
    for scene in title.scenes:
        for t, frame in iter_frames(refs_dir / scene.source, scene.start, scene.end,
                                    max_height=max(height, 480)):
            yield scene.at + t - scene.start, cover(frame, width, height)


def render_title(title: Title, refs_dir: str | Path, preset: str,
                 max_height: int = TITLE_HEIGHT) -> Path:
    """Write the title under refs_dir (next to the clips it is made of)."""
    refs_dir = Path(refs_dir)
    target = refs_dir / title.path
    target.parent.mkdir(parents=True, exist_ok=True)
    settings = EncodeSettings(fps=TITLE_FPS, duration=round(title.duration, 4), crf=TITLE_CRF,
                              max_height=title_size(max_height)[1], preset=preset)
    part = target.with_name(f"{target.stem}.part{target.suffix}")
    write_video(part, title_frames(title, refs_dir, max_height), settings)
    os.replace(part, target)
    return target

"""Multi-scene references (issue 11 item 1): a title joins several real scenes with hard cuts.

Footage shot on the same set as ONE scene must not match the title, while a copy of that scene
still does, landing inside it. The set here: a man before a green screen, fixed camera; the title
holds its first 10 s, and the later moments (same set, same man, never in the title) are the
look-alikes. The chance of an alignment is judged against the neighbouring shots of the scene
it lands in (chance.SCENES), not the title's average, which varied scenes make look improbable:
judged title-wide, the 9 s look-alike below (15-24 s) was a match (chance 4e-4).
"""
from __future__ import annotations

import av
import cv2
import numpy as np
import pytest

from fp.index.indexer import index_paths
from fp.index.library import Library
from fp.index.matcher import Matcher

from ..conftest import clip, write_video

FPS = 25
SIZE = (640, 360)
SET = "chroma-keying-video.mp4"  # 24 s; the title takes 0-10 s
# (clip, start s, end s): the set's scene sits between unrelated scenes, as in a film.
SCENES = (("bbb_first60s.mp4", 20.0, 32.0), (SET, 0.0, 10.0), ("cockatoo.mp4", 0.0, 12.0), ("friday.mp4", 0.0, 6.0))


def _cover(img: np.ndarray, size=SIZE) -> np.ndarray:
    """Scale to fill `size` and crop the overflow (a title's one frame format)."""
    w, h = size
    scale = max(w / img.shape[1], h / img.shape[0])
    big = cv2.resize(img, (round(img.shape[1] * scale), round(img.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    y, x = (big.shape[0] - h) // 2, (big.shape[1] - w) // 2
    return np.ascontiguousarray(big[y: y + h, x: x + w])


def _frames(name: str, start: float, end: float, fps: float = FPS, edit=None) -> list[np.ndarray]:
    """Frames of [start, end) of a real clip resampled to `fps` (the latest frame at each tick)."""
    out, ticks, last = [], iter(np.arange(start, end, 1 / fps)), None
    tick = next(ticks, None)
    with av.open(str(clip(name))) as container:
        for frame in container.decode(video=0):
            while tick is not None and frame.time > tick + 1e-6:
                if last is not None:
                    out.append(last)
                tick = next(ticks, None)
            if tick is None:
                break
            last = frame.to_ndarray(format="rgb24")
            last = edit(last) if edit else last
    while tick is not None and last is not None:
        out.append(last)
        tick = next(ticks, None)
    return out


@pytest.fixture(scope="module")
def title(tmp_path_factory):
    """A library holding one title of four joined scenes; returns (matcher, the set scene's span, folder)."""
    root = tmp_path_factory.mktemp("scenes")
    frames, spans, at = [], {}, 0.0
    for name, start, end in SCENES:
        part = [_cover(f) for f in _frames(name, start, end)]
        spans[name] = (at, at + len(part) / FPS)
        at += len(part) / FPS
        frames += part
    path = write_video(root / "feature.mp4", frames, fps=FPS)
    lib = Library(root / "lib")
    report = index_paths(lib, [path], workers=1)
    assert report.count("indexed") == 1, report.to_dict()
    yield Matcher(lib), spans[SET], root
    lib.close()


@pytest.mark.parametrize("start,length", [(15.0, 9.0), (14.0, 6.0)])
def test_same_set_footage_does_not_match_the_scene_it_looks_like(title, start, length):
    matcher, _, root = title
    suspect = write_video(root / f"set_{start:g}_{length:g}.mp4", _frames(SET, start, start + length, fps=30), fps=30)
    result = matcher.match_file(suspect)
    assert result.verdict == "no_match", [(m.chance, m.query_span, m.ref_span) for m in result.matches]


@pytest.mark.parametrize("start,length", [(0.5, 6.0), (5.0, 4.0)])
def test_a_copy_of_that_scene_still_matches_inside_it(title, start, length):
    matcher, (scene0, scene1), root = title

    def brighter(img):  # a light re-grade, as a seller's re-upload
        return np.clip(img.astype(np.int16) + 12, 0, 255).astype(np.uint8)

    suspect = write_video(root / f"copy_{start:g}.mp4", _frames(SET, start, start + length, fps=30, edit=brighter), fps=30)
    result = matcher.match_file(suspect)
    assert result.verdict == "match"
    best = result.matches[0]
    assert best.chance <= matcher.config.max_chance
    assert scene0 - 0.5 <= best.ref_span[0] and best.ref_span[1] <= scene1 + 0.5
    assert abs(best.ref_span[0] - (scene0 + start)) < 1.0

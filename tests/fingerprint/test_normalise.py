from dataclasses import replace

import av
import cv2
import numpy as np
import pytest

from fp.fingerprint.hashers import DctHasher
from fp.fingerprint.normalise import (FULL, VIEWS, active_picture, detect_active_area, detect_active_area_window,
                                      detect_active_areas, normalise, shrink, view_image)
from fp.fingerprint.pipeline import QUERY, fingerprint_video

from ..conftest import clip, write_video
from .test_hashers import real_frames

H = DctHasher(8)


def dist(a, b):
    return int(np.unpackbits(H.hash_batch([a]).codes ^ H.hash_batch([b]).codes).sum())


@pytest.fixture(scope="module")
def frames():
    return real_frames(every=40, limit=20)[3:]


def pad(img, top, bottom, left, right, value, noise=0.0, seed=0):
    out = cv2.copyMakeBorder(img, top, bottom, left, right, cv2.BORDER_CONSTANT, value=value)
    if noise:
        rng = np.random.default_rng(seed)
        mask = np.ones(out.shape, bool)
        mask[top : top + img.shape[0], left : left + img.shape[1]] = False
        out = out.astype(float)
        out[mask] += rng.normal(0, noise, mask.sum())
        out = np.clip(out, 0, 255).astype(np.uint8)
    return out


@pytest.mark.parametrize("value,noise", [(0, 0), (16, 3), (128, 0), (255, 0), (10, 4), (60, 20)])
def test_bars_vanish(frames, value, noise):
    for f in frames:
        h, w = f.shape
        letterbox = pad(f, h // 5, h // 5, 0, 0, value, noise)
        pillarbox = pad(f, 0, 0, w // 4, w // 4, value, noise)
        base = normalise(f)[0]
        assert dist(base, normalise(letterbox)[0]) <= 6
        assert dist(base, normalise(pillarbox)[0]) <= 6


def test_active_area_found(frames):
    f = frames[0]
    h, w = f.shape
    padded = pad(f, 0, 0, w // 2, w // 2, 0)  # content is the middle half of the width
    area = detect_active_area(shrink(padded))
    assert abs(area.left - 0.25) < 0.02 and abs(area.right - 0.75) < 0.02
    assert area.top < 0.02 and area.bottom > 0.98


def test_flat_frame_is_not_cropped_to_nothing():
    flat = np.full((360, 640), 5, np.uint8)
    img, area = normalise(flat)
    assert img.shape == (64, 64)
    assert area.area == 1.0


def test_crop_views_catch_crops(frames):
    # A 15 % crop at a corner is exactly one of the reference views.
    f = frames[1]
    h, w = f.shape
    cropped = f[: round(h * 0.85), : round(w * 0.85)]
    active, _ = active_picture(f)
    best = min(dist(normalise(cropped)[0], view_image(active, v)) for v in range(len(VIEWS)))
    assert best <= 4
    assert dist(normalise(cropped)[0], normalise(f)[0]) > best


def rgb_frames(name, start, length, fps=10):
    """RGB frames of a real clip's [start, start+length), about fps a second."""
    out = []
    with av.open(str(clip(name))) as c:
        for f in c.decode(video=0):
            if start <= f.time < start + length and len(out) < round((f.time - start) * fps) + 1:
                out.append(f.to_ndarray(format="rgb24"))
    return out


def cover(img, w, h):
    scale = max(w / img.shape[1], h / img.shape[0])
    big = cv2.resize(img, (round(img.shape[1] * scale), round(img.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    y, x = (big.shape[0] - h) // 2, (big.shape[1] - w) // 2
    return np.ascontiguousarray(big[y : y + h, x : x + w])


def spliced(bars):
    """3 s of frog, 6 s of friday (640x480) letterboxed to 640x640 with black or noisy bars
    (or, bars=None, stretched over the 640x640 canvas), 3 s of stream-of-water: one bar
    window (10 s) holds all three shots."""
    rng = np.random.default_rng(0)

    def letterbox(img):
        if bars is None:
            return cv2.resize(img, (640, 640), interpolation=cv2.INTER_AREA)
        top, bottom = (np.clip(rng.normal(bars, 12 if bars else 0, (80, 640, 1)), 0, 255).astype(np.uint8).repeat(3, axis=2) for _ in range(2))
        return np.concatenate([top, img, bottom])

    return ([cover(f, 640, 640) for f in rgb_frames("frog.mp4", 0, 3)]
            + [letterbox(f) for f in rgb_frames("friday.mp4", 0, 6)]
            + [cover(f, 640, 640) for f in rgb_frames("stream-of-water.mp4", 0, 3)])


def grey(frames):
    return [shrink(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY)) for f in frames]


@pytest.mark.parametrize("bars", [0, 40])
def test_bars_of_a_spliced_shot_are_found(bars):
    # The window's 50 frames mix three shots; only the middle one is letterboxed (12.5 % a side).
    smalls = grey(spliced(bars))[::2][:50]
    areas = detect_active_areas(smalls)
    assert detect_active_area_window(smalls) == FULL  # the window alone cannot see them
    middle = areas[16:45]
    assert all(abs(a.top - 0.125) < 0.02 and abs(a.bottom - 0.875) < 0.02 and a.left == 0 and a.right == 1 for a in middle), middle
    assert areas[:15] == [FULL] * 15 and areas[-4:] == [FULL] * 4


def test_unmixed_footage_keeps_the_window_decision():
    # bbb's first minute has many hard cuts and no bars; cockatoo is one shot. Per-shot
    # decisions change nothing there (libraries made before them stay valid).
    for frames in (real_frames(every=24, limit=50), real_frames("cockatoo.mp4", every=4, limit=50)):
        smalls = [shrink(f) for f in frames]
        assert detect_active_areas(smalls) == [detect_active_area_window(smalls)] * len(smalls)


def test_letterboxed_copy_spliced_between_unbarred_footage_hashes_as_its_picture(tmp_path):
    # End to end on real video: the letterboxed shot's whole-picture hashes are those of
    # its picture without bars.
    config = replace(QUERY, inset_view=False, fine_hasher=None)
    barred = fingerprint_video(write_video(tmp_path / "barred.mp4", spliced(0), fps=10), config)
    clean = fingerprint_video(write_video(tmp_path / "clean.mp4", spliced(None), fps=10), config)
    assert np.array_equal(barred.times, clean.times)
    copy = (barred.times >= 3.4) & (barred.times < 8.8) & (barred.views == 0)
    hamming = np.unpackbits(barred.codes[copy] ^ clean.codes[copy], axis=1).sum(axis=1)
    assert np.median(hamming) <= 4, hamming

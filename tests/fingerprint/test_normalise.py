import cv2
import numpy as np
import pytest

from fp.fingerprint.hashers import DctHasher
from fp.fingerprint.normalise import VIEWS, active_picture, detect_active_area, normalise, shrink, view_image

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

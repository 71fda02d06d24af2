"""Picture-in-picture and reframe strips found in real footage."""
import cv2
import numpy as np
import pytest

from fp.fingerprint.inset import detect_insets
from fp.fingerprint.normalise import shrink

from .test_hashers import real_frames


def reframe_9x16(grey, noise=0.0, seed=0):
    """Noise on the picture, then a 270x480 canvas: a blurred, stretched copy behind the
    picture fitted to its width (the order a seller's editing chain applies them)."""
    rng = np.random.default_rng(seed)
    grey = np.clip(grey + rng.normal(0, noise, grey.shape), 0, 255).astype(np.uint8)
    back = cv2.GaussianBlur(cv2.resize(grey, (270, 480)), (0, 0), 20)
    fg_h = round(grey.shape[0] * 270 / grey.shape[1])
    y0 = (480 - fg_h) // 2
    canvas = back.astype(np.float64)
    canvas[y0 : y0 + fg_h] = cv2.resize(grey, (270, fg_h), interpolation=cv2.INTER_AREA)
    return canvas.astype(np.uint8), y0 / 480, (y0 + fg_h) / 480


@pytest.mark.parametrize("noise", [0.0, 12.0])
def test_reframe_strip_without_a_brightness_step_is_found(noise):
    # Over a blurred copy of itself the strip's border shows little brightness step (no
    # persistent edge on this table-top footage); its sharpness against the fill remains.
    frames = real_frames("frog.mp4", every=6, limit=30)
    made = [reframe_9x16(f, noise=noise, seed=i) for i, f in enumerate(frames)]
    found = detect_insets([shrink(img) for img, _, _ in made])
    _, top, bottom = made[0]
    assert any(abs(a.top - top) < 0.03 and abs(a.bottom - bottom) < 0.03 and a.left < 0.03 and a.right > 0.97
               for a in found), found


def test_plain_footage_has_no_inset():
    frames = real_frames(every=12, limit=30)
    assert detect_insets([shrink(f) for f in frames]) == []


def test_off_centre_strip_is_also_tried_centred():
    # friday: the strong edge of a desk inside the picture outshines the strip's dark bottom
    # border; the reframe is centred, so the centred hull of the strip is tried as well.
    frames = real_frames("friday.mp4", every=6, limit=30)
    made = [reframe_9x16(f, seed=i) for i, f in enumerate(frames)]
    found = detect_insets([shrink(img) for img, _, _ in made])
    _, top, bottom = made[0]
    assert any(abs(a.top - top) < 0.03 and abs(a.bottom - bottom) < 0.03 for a in found), (top, bottom, found)

import av
import cv2
import imagehash
import numpy as np
import pytest
from PIL import Image

from fp.fingerprint.hashers import HASHERS, DctHasher, get_hasher
from fp.fingerprint.normalise import normalise
from fp.fingerprint.types import FrameHash, hamming

from ..conftest import clip


def real_frames(name="bbb_first60s.mp4", every=20, limit=40):
    out = []
    with av.open(str(clip(name))) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i % every == 0:
                out.append(f.to_ndarray(format="gray"))
            if len(out) >= limit:
                break
    return out


@pytest.fixture(scope="module")
def frames():
    return real_frames() + real_frames("cockatoo.mp4", every=15, limit=15)


@pytest.mark.parametrize("hash_size", [8, 16])
def test_bit_identical_to_imagehash_on_real_frames(frames, hash_size):
    images = [normalise(f)[0] for f in frames]
    batch = DctHasher(hash_size).hash_batch(images)
    for img, code in zip(images, batch.codes):
        expected = imagehash.phash(Image.fromarray(img), hash_size=hash_size)
        assert code.tobytes().hex() == str(expected)


def test_bit_identical_on_odd_sizes(frames):
    # The Lanczos step must match Pillow for any input size, not only the work size.
    for img in frames[:10]:
        small = cv2.resize(img, (97, 53), interpolation=cv2.INTER_AREA)
        code = DctHasher(8).hash_batch([small]).codes[0]
        assert code.tobytes().hex() == str(imagehash.phash(Image.fromarray(small)))


def test_mirror_code_is_the_hash_of_the_flipped_image(frames):
    images = [normalise(f)[0] for f in frames]
    flipped = [np.ascontiguousarray(i[:, ::-1]) for i in images]
    h = DctHasher(8)
    direct = h.hash_batch(flipped).codes
    derived = h.hash_batch(images).mirror_codes
    dist = np.unpackbits(direct ^ derived, axis=1).sum(axis=1)
    assert dist.max() <= 2  # Lanczos windows are symmetric up to rounding
    assert np.mean(dist == 0) > 0.9


@pytest.mark.parametrize("name", sorted(HASHERS))
def test_every_hasher_small_change_near_different_far(frames, name):
    h = get_hasher(name)
    images = [normalise(f)[0] for f in frames[:30]]
    noisy = [np.clip(i.astype(int) + np.random.default_rng(0).integers(-6, 7, i.shape), 0, 255).astype(np.uint8) for i in images]
    a, b = h.hash_batch(images).codes, h.hash_batch(noisy).codes
    near = np.unpackbits(a ^ b, axis=1).sum(axis=1)
    far = np.unpackbits(a ^ np.roll(a, 7, axis=0), axis=1).sum(axis=1)
    assert np.median(near) <= h.nbits * 0.1
    assert np.median(far) >= h.nbits * 0.3
    assert a.shape == (30, h.nbits // 8)


def test_quality_flags_flat_frames():
    h = DctHasher(8)
    flat = np.full((64, 64), 17, np.uint8)
    gradient = np.tile(np.linspace(0, 255, 64, dtype=np.uint8), (64, 1))
    textured = np.random.default_rng(1).integers(0, 255, (64, 64)).astype(np.uint8)
    q = h.hash_batch([flat, gradient, textured]).quality
    assert q[0] == 0
    assert q[2] > 50


def test_framehash_value_object():
    a = FrameHash(1.0, bytes.fromhex("ff00ff00ff00ff00"), 80)
    b = FrameHash(1.2, bytes.fromhex("ff00ff00ff00ff01"), 80)
    assert a.hex == "ff00ff00ff00ff00"
    assert a - b == 1
    assert hamming(a.code, a.code) == 0
    with pytest.raises(ValueError):
        hamming(b"\x00", b"\x00\x00")

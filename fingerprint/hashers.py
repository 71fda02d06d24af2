"""Perceptual frame hashers behind one small interface."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import numpy as np

from .resample import resize_lanczos


class FrameHasher(Protocol):
    name: str
    nbits: int

    def params(self) -> dict: ...

    def hash_batch(self, images: list[np.ndarray]) -> "HashBatch": ...


@dataclass(frozen=True, eq=False)
class HashBatch:
    codes: np.ndarray  # uint8 (n, nbytes)
    mirror_codes: np.ndarray  # uint8 (n, nbytes): hashes of the left-right flipped images
    quality: np.ndarray  # uint8 (n,)


@lru_cache(maxsize=8)
def _dct_rows(n_out: int, size: int) -> np.ndarray:
    """First n_out rows of the unnormalised DCT-II matrix (scipy.fftpack.dct's convention)."""
    k = np.arange(n_out)[:, None]
    n = np.arange(size)[None, :]
    return 2.0 * np.cos(np.pi * k * (2 * n + 1) / (2 * size))


def quality_score(small: np.ndarray) -> np.ndarray:
    """0..100 from the mean absolute gradient of (n, s, s) images; flat frames score ~0."""
    grad = np.abs(np.diff(small, axis=1)).mean(axis=(1, 2)) + np.abs(np.diff(small, axis=2)).mean(axis=(1, 2))
    return np.clip(np.round(grad * 10.0), 0, 100).astype(np.uint8)


@dataclass(frozen=True)
class DctHasher:
    """pHash: DCT of a (hash_size*highfreq_factor)^2 LANCZOS thumbnail, low band vs its median.

    hash_size=8 is bit-identical to `imagehash.phash(img)`; hash_size=16 gives 256 bits.
    The mirrored hash comes from the same coefficients with odd horizontal frequencies negated.
    """

    hash_size: int = 8
    highfreq_factor: int = 4

    @property
    def name(self) -> str:
        return f"phash{self.nbits}"

    @property
    def nbits(self) -> int:
        return self.hash_size * self.hash_size

    def params(self) -> dict:
        return {"hash_size": self.hash_size, "highfreq_factor": self.highfreq_factor}

    def thumbnails(self, images: list[np.ndarray]) -> np.ndarray:
        side = self.hash_size * self.highfreq_factor
        if not images:
            return np.zeros((0, side, side))
        return np.stack([resize_lanczos(img, side, side) for img in images])

    def hash_batch(self, images: list[np.ndarray]) -> HashBatch:
        thumbs = self.thumbnails(images)
        side = self.hash_size * self.highfreq_factor
        dct = _dct_rows(self.hash_size, side)
        low = np.einsum("uy,nyx,vx->nuv", dct, thumbs, dct, optimize=True)
        flat = low.reshape(len(thumbs), -1)
        sign = np.where(np.arange(self.hash_size) % 2 == 1, -1.0, 1.0)
        mirrored = (low * sign[None, None, :]).reshape(len(thumbs), -1)
        return HashBatch(
            codes=_threshold_median(flat),
            mirror_codes=_threshold_median(mirrored),
            quality=quality_score(thumbs),
        )


def _threshold_median(coeffs: np.ndarray) -> np.ndarray:
    med = np.median(coeffs, axis=1, keepdims=True)
    return np.packbits(coeffs > med, axis=1)


HASHERS = {"phash64": DctHasher(8), "phash256": DctHasher(16)}


def get_hasher(name: str) -> DctHasher:
    try:
        return HASHERS[name]
    except KeyError:
        raise ValueError(f"unknown hasher {name!r}; known: {', '.join(HASHERS)}") from None


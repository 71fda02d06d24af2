"""Core value types: a sampled frame, its hash, and a video's fingerprint."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

INSET_VIEW = 110  # view id of a suspect's picture-in-picture inset rows (110, 111, ...)
INSETS = 3  # insets per window at most; INSET_VIEW + INSETS + n: inset n with its one-sided flat lines kept
TURNED_VIEW = 90  # view id of a suspect's picture turned back by normalise.TURNS[i] (90-93), then
#                  zoomed out at normalise.ZOOMS[i] (94-102): never searched, only verified against
#                  the hypotheses other views found
PHASE_VIEW = 89  # a suspect's whole picture at the half-step between two samples (10 fps in all):
#                 never searched; verification may read it in place of the sample before it
INNER_VIEW = 88  # a match found by the inner-view check (index/inner_check.py): read from the pixels, never in a fingerprint


def turned(views: np.ndarray) -> np.ndarray:
    """Rows of the suspect's picture turned back by a few degrees (TURNED_VIEW + i)."""
    views = np.asarray(views)
    return (views >= TURNED_VIEW) & (views < INSET_VIEW)


def whole_picture(views: np.ndarray) -> np.ndarray:
    """Rows that hash a whole picture (view 0 or an inset), not one of the crop or turned views."""
    views = np.asarray(views)
    return (views == 0) | (views >= INSET_VIEW)


@dataclass(frozen=True, eq=False)
class Frame:
    """One decoded, sampled frame: presentation time in seconds and its grey pixels."""

    t: float
    index: int
    luma: np.ndarray  # uint8 (H, W), display orientation and aspect


@dataclass(frozen=True)
class FrameHash:
    """A timed perceptual hash. `str()` of the code is hex, like imagehash."""

    t: float
    code: bytes
    quality: int
    view: int = 0  # 0: the whole active picture; >0: a crop view (reference side)

    @property
    def hex(self) -> str:
        return self.code.hex()

    def __sub__(self, other: "FrameHash") -> int:
        return hamming(self.code, other.code)

    def to_dict(self) -> dict:
        out = {"t": round(self.t, 4), "hash": self.hex, "quality": self.quality}
        if self.view:
            out["view"] = self.view
        return out


def hamming(a: bytes, b: bytes) -> int:
    if len(a) != len(b):
        raise ValueError(f"hash lengths differ: {len(a)} and {len(b)} bytes")
    return int.from_bytes(bytes(x ^ y for x, y in zip(a, b)), "big").bit_count()


@dataclass(frozen=True, eq=False)
class Fingerprint:
    """A video's timed hashes, as arrays (one row per hashed view of a sampled frame).

    `codes` are the hashes of the normalised frames; `mirror_codes` the hashes of the same
    images flipped left-right (used for queries); `views` says which view of the frame a row
    hashes (0 = the whole active picture). `fine_codes` / `fine_mirror_codes` hold a larger
    hash of the same image for rows of whole pictures (view 0 and insets; zeros on crop rows),
    used to verify alignments the search hash cannot separate. Arrays are read-only.
    """

    source: str
    hasher: str
    params: dict
    duration: float
    width: int
    height: int
    times: np.ndarray  # float64 (n,)
    codes: np.ndarray  # uint8 (n, nbytes)
    quality: np.ndarray  # uint8 (n,), 0..100
    mirror_codes: np.ndarray | None = None
    views: np.ndarray | None = None  # uint8 (n,); None means all 0
    meta: dict = field(default_factory=dict)
    fine_codes: np.ndarray | None = None  # uint8 (n, fine nbytes)
    fine_mirror_codes: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.times)
        if self.codes.ndim != 2 or self.codes.shape[0] != n or self.quality.shape != (n,):
            raise ValueError("times, codes and quality must describe the same frames")
        if self.views is None:
            object.__setattr__(self, "views", np.zeros(n, dtype=np.uint8))
        if self.fine_codes is not None and len(self.fine_codes) != n:
            raise ValueError("fine_codes must have one row per frame row")
        for arr in (self.times, self.codes, self.quality, self.mirror_codes, self.views, self.fine_codes, self.fine_mirror_codes):
            if arr is not None:
                arr.flags.writeable = False

    def __len__(self) -> int:
        return len(self.times)

    @property
    def nbits(self) -> int:
        return self.codes.shape[1] * 8

    def frames(self) -> list[FrameHash]:
        return [
            FrameHash(float(t), bytes(c), int(q), int(v))
            for t, c, q, v in zip(self.times, self.codes, self.quality, self.views)
        ]

    def select(self, mask: np.ndarray) -> "Fingerprint":
        """The same fingerprint restricted to the rows where `mask` is true."""
        def pick(arr):
            return arr[mask] if arr is not None else None

        return Fingerprint(self.source, self.hasher, self.params, self.duration, self.width, self.height,
                           self.times[mask], self.codes[mask], self.quality[mask], pick(self.mirror_codes), self.views[mask],
                           dict(self.meta), pick(self.fine_codes), pick(self.fine_mirror_codes))

    @property
    def fine_rows(self) -> np.ndarray:
        """Rows that carry a fine hash (whole pictures, not crop views)."""
        if self.fine_codes is None:
            return np.zeros(len(self), bool)
        return whole_picture(self.views)

    def to_dict(self, with_frames: bool = True) -> dict:
        out = {
            "source": self.source,
            "hasher": self.hasher,
            "params": self.params,
            "duration": round(self.duration, 4),
            "width": self.width,
            "height": self.height,
            "n_hashes": len(self),
            "n_frames": int((self.views == 0).sum()),
            **self.meta,
        }
        if with_frames:
            out["frames"] = [f.to_dict() for f in self.frames()]
        return out

"""The naive baseline fp is compared with: per-frame pHash at 1 fps, flat FAISS, vote by count.

No bar removal, no crop views, no mirror, no temporal alignment: what a plain
"pHash every second and count hits" tool does.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import cv2
import faiss
import numpy as np

from fp.fingerprint.decode import iter_frames
from fp.fingerprint.hashers import DctHasher

FPS = 1.0
MAX_DISTANCE = 10  # per-frame hit
MIN_SHARE = 0.3  # share of query frames that must hit one reference


def fingerprint(path) -> tuple[np.ndarray, np.ndarray]:
    images, times = [], []
    for frame in iter_frames(path, fps=FPS):
        images.append(cv2.resize(frame.luma, (64, 64), interpolation=cv2.INTER_AREA))
        times.append(frame.t)
    return np.asarray(times), DctHasher(8).hash_batch(images).codes


@dataclass
class BaselineMatch:
    ref: str | None
    candidate: str | None
    score: float
    ref_span: tuple[float, float] | None


class Baseline:
    def __init__(self):
        self.index = faiss.IndexBinaryFlat(64)
        self.owner: list[str] = []
        self.times: list[float] = []

    def add(self, name: str, path) -> None:
        times, codes = fingerprint(path)
        if len(codes):
            self.index.add(codes)
            self.owner += [name] * len(codes)
            self.times += list(times)

    def match(self, path) -> BaselineMatch:
        times, codes = fingerprint(path)
        if len(codes) == 0 or self.index.ntotal == 0:
            return BaselineMatch(None, None, float("-inf"), None)
        dist, ids = self.index.search(codes, 1)
        votes = Counter(self.owner[i] for d, i in zip(dist[:, 0], ids[:, 0]) if i >= 0 and d <= MAX_DISTANCE)
        if not votes:
            return BaselineMatch(None, None, float("-inf"), None)
        best, n = votes.most_common(1)[0]
        share = n / len(codes)
        ref_t = [self.times[i] for d, i in zip(dist[:, 0], ids[:, 0]) if i >= 0 and d <= MAX_DISTANCE and self.owner[i] == best]
        span = (min(ref_t), max(ref_t) + 1.0 / FPS)
        return BaselineMatch(best if share >= MIN_SHARE else None, best, share, span)

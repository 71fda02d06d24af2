"""Synthetic films made of real fingerprints, for library-scale and film-length benchmarks.

A film is real clips' fingerprints laid end to end (times shifted), each copy's codes XORed
with its own random mask (64-bit search codes, mirror codes, 256-bit fine codes). Within a
copy every Hamming distance is the real one, so shots, static scenes and crop views keep their
real structure; copies are unrelated to each other and to the real clips (a random mask puts a
code about half its bits away; masks closer than 3/8 of the bits are redrawn). Films are made one at a time from a seeded generator, so a
library of any size streams through memory one film at a time.

Caveat: XOR with a uniform random mask makes each masked code uniformly distributed, so chance
near-hits between unrelated videos are rarer than in a real catalogue (where dark frames,
title cards and look-alike sets cluster).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from fp.fingerprint.types import Fingerprint

FIELDS = ("times", "codes", "quality", "mirror_codes", "views", "fine_codes", "fine_mirror_codes")


def save_fingerprint(fpr: Fingerprint, path: str | os.PathLike, extra: dict | None = None) -> None:
    """Write a fingerprint (arrays and header) to one .npz file, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = {"source": fpr.source, "hasher": fpr.hasher, "params": fpr.params, "duration": fpr.duration,
              "width": fpr.width, "height": fpr.height, "meta": fpr.meta, "extra": extra or {}}
    arrays = {name: getattr(fpr, name) for name in FIELDS if getattr(fpr, name) is not None}
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "wb") as fh:
        np.savez(fh, header=np.frombuffer(json.dumps(header).encode(), np.uint8), **arrays)
    os.replace(tmp, path)


def load_fingerprint(path: str | os.PathLike) -> tuple[Fingerprint, dict]:
    """(fingerprint, the `extra` dict saved with it)."""
    with np.load(path, allow_pickle=False) as data:
        header = json.loads(bytes(data["header"]).decode())
        arrays = {name: np.array(data[name]) if name in data.files else None for name in FIELDS}
    fpr = Fingerprint(header["source"], header["hasher"], header["params"], header["duration"], header["width"],
                      header["height"], meta=header["meta"], **arrays)
    return fpr, header["extra"]


MIN_MASK_SHARE = 3 / 8  # masks flip at least this share of the bits (24 of 64, 96 of 256)


def random_mask(rng: np.random.Generator, nbytes: int) -> np.ndarray:
    """A random XOR mask with at least MIN_MASK_SHARE of its bits set. A copy masked closer to
    the real code would be a near-duplicate of a real reference, not an unrelated video: with a
    uniform mask that happens with chance ~4e-6 per copy (<= 14 of 64 bits), and a 10,000 h
    library holds ~10^5 copies of each sample clip."""
    while True:
        mask = rng.integers(0, 256, nbytes, dtype=np.uint8)
        if np.unpackbits(mask).sum() >= MIN_MASK_SHARE * nbytes * 8:
            return mask


def masked(fpr: Fingerprint, rng: np.random.Generator) -> Fingerprint:
    """The fingerprint with every code XORed with one random mask (fine codes with another;
    rows without a fine hash stay zero)."""
    mask = random_mask(rng, fpr.codes.shape[1])

    def xor(codes: np.ndarray | None, mask: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray | None:
        if codes is None:
            return None
        out = codes ^ mask
        if rows is not None:
            out[~rows] = 0
        return out

    fine_mask = random_mask(rng, fpr.fine_codes.shape[1]) if fpr.fine_codes is not None else None
    rows = fpr.fine_rows
    return Fingerprint(fpr.source, fpr.hasher, fpr.params, fpr.duration, fpr.width, fpr.height, fpr.times.copy(),
                       xor(fpr.codes, mask), fpr.quality.copy(), xor(fpr.mirror_codes, mask), fpr.views.copy(),
                       dict(fpr.meta), xor(fpr.fine_codes, fine_mask, rows), xor(fpr.fine_mirror_codes, fine_mask, rows))


def concat(parts: Sequence[tuple[float, Fingerprint]], source: str, duration: float) -> Fingerprint:
    """One fingerprint of parts placed at the given start times (rows in time order)."""
    first = parts[0][1]

    def stack(name: str) -> np.ndarray | None:
        arrays = [getattr(p, name) for _, p in parts]
        return None if any(a is None for a in arrays) else np.concatenate(arrays)

    times = np.concatenate([p.times + start for start, p in parts])
    return Fingerprint(source, first.hasher, first.params, duration, first.width, first.height, times,
                       stack("codes"), stack("quality"), stack("mirror_codes"), stack("views"),
                       {"sample_fps": first.meta.get("sample_fps"), "synthetic": True},
                       stack("fine_codes"), stack("fine_mirror_codes"))


@dataclass(frozen=True)
class FilmPlan:
    """Which clips, in which order, with which mask seeds, make a film of `seconds`."""

    seconds: float
    pieces: tuple[tuple[int, float, float, int], ...]  # (clip index, start in film, seconds used, mask seed)


def plan_film(durations: Sequence[float], seconds: float, rng: np.random.Generator) -> FilmPlan:
    """Random clips end to end until `seconds`; the last one is cut to fit."""
    pieces, start = [], 0.0
    while start < seconds - 1e-6:
        index = int(rng.integers(len(durations)))
        used = min(durations[index], seconds - start)
        pieces.append((index, start, used, int(rng.integers(2**62))))
        start += used
    return FilmPlan(seconds, tuple(pieces))


def make_film(plan: FilmPlan, material: Sequence[Fingerprint], source: str) -> Fingerprint:
    """The film `plan` describes, made of (masked) fingerprints from `material`."""
    parts = []
    for index, start, used, mask_seed in plan.pieces:
        piece = material[index]
        if used < piece.duration - 1e-6:
            piece = piece.select(piece.times < used)
        parts.append((start, masked(piece, np.random.default_rng(mask_seed))))
    parts = [(s, p) for s, p in parts if len(p)]
    return concat(parts, source, plan.seconds)


def iter_films(material: Sequence[Fingerprint], total_seconds: float, film_seconds: float, seed: int,
               first: int = 0) -> Iterator[tuple[int, Fingerprint]]:
    """(number, film) until `total_seconds`; film n depends only on (seed, n), so a build can stop
    and resume, and never holds more than one film."""
    durations = [f.duration for f in material]
    number, done = first, 0.0
    while done < total_seconds - 1e-6:
        seconds = min(film_seconds, total_seconds - done)
        plan = plan_film(durations, seconds, np.random.default_rng([seed, number]))
        yield number, make_film(plan, material, f"synthetic/film_{number:06d}")
        done += seconds
        number += 1

"""Fingerprints as JSON, both ways: what `fp fingerprint --json` writes and `fp match --hashes` reads.

One JSON object, columnar (one list per array, one entry per hash row):

    {"format": "fp-fingerprint", "version": 2, "source": "clip.mp4",
     "hasher": "phash64", "params": {...the library's hash settings...}, "fine_bits": 256,
     "duration": 61.0, "width": 640, "height": 360, "meta": {...},
     "times": [0.0, ...], "views": [0, ...], "quality": [57, ...],
     "codes": ["8f3a...", ...], "mirror_codes": [...], "fine_codes": [...], "fine_mirror_codes": [...]}

Times are JSON numbers written with Python's shortest exact repr, so a round trip gives the very
same float64 values and the same match. Codes are lower-case hex, one string per row; fine codes
are null when the fingerprint has no fine hash (`fine_bits` 0). Everything read is checked, and a
bad document raises InputError naming its source and the reason. Version 1 (before the edge
zooms, fingerprint/types.py) is read too, its inset view ids moved up to today's.
"""
from __future__ import annotations

import json
import os
import re

import numpy as np

from .errors import InputError
from .hashers import HASHERS
from .types import INSET_VIEW, Fingerprint, whole_picture

FORMAT = "fp-fingerprint"
VERSION = 2
OLD_INSET_VIEW = 100  # version 1 numbered inset views from 100 (before the four edge zooms took 99-102)
_HEX = re.compile(r"[0-9a-fA-F]*")
_REQUIRED = ("source", "hasher", "params", "duration", "width", "height", "times", "views", "quality",
             "codes", "mirror_codes")


def fingerprint_to_json(fpr: Fingerprint) -> dict:
    """The JSON object (plain dicts, lists, str and numbers) for one fingerprint."""
    if fpr.mirror_codes is None:
        raise ValueError(f"{fpr.source}: fingerprint has no mirror codes, so it cannot be matched")
    fine = fpr.fine_codes is not None and fpr.fine_mirror_codes is not None
    return {
        "format": FORMAT,
        "version": VERSION,
        "source": fpr.source,
        "hasher": fpr.hasher,
        "params": dict(fpr.params),
        "fine_bits": int(fpr.fine_codes.shape[1] * 8) if fine else 0,
        "duration": float(fpr.duration),
        "width": int(fpr.width),
        "height": int(fpr.height),
        "meta": dict(fpr.meta),
        "times": fpr.times.astype(np.float64).tolist(),
        "views": fpr.views.astype(int).tolist(),
        "quality": fpr.quality.astype(int).tolist(),
        "codes": _hex_rows(fpr.codes),
        "mirror_codes": _hex_rows(fpr.mirror_codes),
        "fine_codes": _hex_rows(fpr.fine_codes) if fine else None,
        "fine_mirror_codes": _hex_rows(fpr.fine_mirror_codes) if fine else None,
    }


def fingerprint_from_json(obj, source: str, expect_params: dict | None = None) -> Fingerprint:
    """A Fingerprint from the object `fingerprint_to_json` made (e.g. parsed from a file or a request).

    `source` names where `obj` came from (a file path, an upload) in error messages. With
    `expect_params` (a library's `FingerprintConfig.hash_params()`), hashes made with other
    settings are refused: they would match nothing, or match wrongly.
    """
    def bad(reason: str) -> InputError:
        return InputError(f"{source}: not a usable fp fingerprint ({reason})")

    if not isinstance(obj, dict):
        raise bad(f"expected a JSON object, got {type(obj).__name__}")
    if obj.get("format") != FORMAT:
        raise bad(f"format is {obj.get('format')!r}, expected {FORMAT!r}")
    version = obj.get("version")
    if version not in (1, VERSION):
        raise bad(f"format version {version!r}, this fp reads versions 1 and {VERSION}")
    missing = [k for k in _REQUIRED if k not in obj]
    if missing:
        raise bad(f"missing {', '.join(missing)}")
    hasher = obj["hasher"]
    if not isinstance(hasher, str) or hasher not in HASHERS:
        raise bad(f"unknown hasher {hasher!r} (known: {', '.join(HASHERS)})")
    params = obj["params"]
    if not isinstance(params, dict) or params.get("hasher") != hasher:
        raise bad("params must be an object naming the same hasher")
    if expect_params is not None and params != expect_params:
        diff = sorted(k for k in set(params) | set(expect_params) if params.get(k) != expect_params.get(k))
        raise bad(f"hashed with other settings than the library's ({', '.join(diff)} differ)")
    if not isinstance(obj["source"], str):
        raise bad("source must be a string")
    meta = obj.get("meta", {})
    if not isinstance(meta, dict):
        raise bad("meta must be an object")

    duration = _number(obj["duration"], "duration", bad)
    width, height = (_integer(obj[k], k, 0, 1 << 20, bad) for k in ("width", "height"))
    times = _numbers(obj["times"], "times", bad)
    n = len(times)
    views = _integers(obj["views"], "views", n, 0, 255, bad)
    if version == 1:
        views = np.where(views >= OLD_INSET_VIEW, views - OLD_INSET_VIEW + INSET_VIEW, views)
        if views.max(initial=0) > 255:
            raise bad("too many inset views")
    views = views.astype(np.uint8)
    quality = _integers(obj["quality"], "quality", n, 0, 100, bad).astype(np.uint8)
    nbytes = HASHERS[hasher].nbits // 8
    codes = _codes(obj["codes"], "codes", n, nbytes, bad)
    mirror_codes = _codes(obj["mirror_codes"], "mirror_codes", n, nbytes, bad)

    fine_bits = obj.get("fine_bits", 0)
    if fine_bits not in {0} | {h.nbits for h in HASHERS.values()}:
        raise bad(f"fine_bits is {fine_bits!r}")
    fine_codes = fine_mirror_codes = None
    if fine_bits:
        fine_codes = _codes(obj.get("fine_codes"), "fine_codes", n, fine_bits // 8, bad)
        fine_mirror_codes = _codes(obj.get("fine_mirror_codes"), "fine_mirror_codes", n, fine_bits // 8, bad)
        crop_rows = ~whole_picture(views)
        if fine_codes[crop_rows].any() or fine_mirror_codes[crop_rows].any():
            raise bad("fine codes on crop-view rows (only whole pictures carry them)")
    elif obj.get("fine_codes") is not None or obj.get("fine_mirror_codes") is not None:
        raise bad("fine codes given but fine_bits is 0")

    return Fingerprint(
        source=obj["source"] or source, hasher=hasher, params=params, duration=duration, width=width, height=height,
        times=times, codes=codes, quality=quality, mirror_codes=mirror_codes, views=views, meta=dict(meta),
        fine_codes=fine_codes, fine_mirror_codes=fine_mirror_codes,
    )


def load_fingerprint(path: str | os.PathLike, expect_params: dict | None = None) -> Fingerprint:
    """Read a fingerprint JSON file (as `fp fingerprint --json` writes it)."""
    try:
        with open(path, encoding="utf-8") as fh:
            obj = json.load(fh)
    except OSError as exc:
        raise InputError(f"{path}: cannot read fingerprint file ({exc.strerror or exc})") from exc
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise InputError(f"{path}: not a JSON fingerprint file ({exc})") from exc
    return fingerprint_from_json(obj, str(path), expect_params)


def _hex_rows(codes: np.ndarray) -> list[str]:
    return [bytes(row).hex() for row in np.asarray(codes, np.uint8)]


MAX_SECONDS = 1e7  # times and durations past ~116 days are no video's


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _in_range(x) -> bool:
    """A number of seconds a video can have: 0..MAX_SECONDS (NaN fails every comparison; a huge
    int is compared exactly, never made a float)."""
    return _is_number(x) and 0 <= x <= MAX_SECONDS


def _number(value, name: str, bad) -> float:
    if not _in_range(value):
        raise bad(f"{name} must be a number of seconds in 0..{MAX_SECONDS:g}, got {_shown(value)}")
    return float(value)


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _integer(value, name: str, lo: int, hi: int, bad) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise bad(f"{name} must be an integer in {lo}..{hi}, got {value!r}")
    return value


def _numbers(values, name: str, bad) -> np.ndarray:
    if not isinstance(values, list):
        raise bad(f"{name} must be a list")
    for i, x in enumerate(values):
        if not _in_range(x):
            raise bad(f"{name}[{i}] is {_shown(x)}, not a number of seconds in 0..{MAX_SECONDS:g}")
    return np.asarray(values, dtype=np.float64).reshape(len(values))


def _integers(values, name: str, n: int, lo: int, hi: int, bad) -> np.ndarray:
    if not isinstance(values, list) or len(values) != n:
        raise bad(f"{name} must be a list of {n} entries (one per time), got "
                  f"{len(values) if isinstance(values, list) else type(values).__name__}")
    for i, x in enumerate(values):
        if not isinstance(x, int) or isinstance(x, bool) or not lo <= x <= hi:
            raise bad(f"{name}[{i}] is {x!r}, not an integer in {lo}..{hi}")
    return np.asarray(values, dtype=np.int64).reshape(n)


def _codes(values, name: str, n: int, nbytes: int, bad) -> np.ndarray:
    """(n, nbytes) uint8 from n hex strings of 2 * nbytes digits each."""
    if not isinstance(values, list) or len(values) != n:
        raise bad(f"{name} must be a list of {n} hex strings (one per time), got "
                  f"{len(values) if isinstance(values, list) else type(values).__name__}")
    for i, x in enumerate(values):
        if not isinstance(x, str) or len(x) != 2 * nbytes:
            raise bad(f"{name}[{i}] must be {2 * nbytes} hex digits ({nbytes * 8}-bit hash), got {str(x)[:40]!r}")
    joined = "".join(values)
    if not _HEX.fullmatch(joined):
        i = next(i for i, x in enumerate(values) if not _HEX.fullmatch(x))
        raise bad(f"{name}[{i}] is not hex: {values[i][:40]!r}")
    return np.frombuffer(bytes.fromhex(joined), np.uint8).reshape(n, nbytes).copy()

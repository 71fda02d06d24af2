"""Seller listings: what a suspect claims to be, compared with what fp found."""
from __future__ import annotations

import csv
import re
from pathlib import Path

from fp.fingerprint.errors import InputError


def read_path_csv(path, what: str, keep_path: bool) -> dict[str, dict]:
    """Rows of a CSV with a `path` column, keyed by resolved path (relative paths are taken
    from the CSV's folder); empty cells are dropped."""
    p = Path(path)
    try:
        with open(p, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{p}: cannot read {what} CSV ({exc})") from exc
    if rows and "path" not in rows[0]:
        raise InputError(f"{p}: {what} CSV needs a 'path' column (has: {', '.join(rows[0])})")
    out = {}
    for row in rows:
        target = Path(row["path"])
        if not target.is_absolute():
            target = p.parent / target
        out[str(target.resolve())] = {k: v for k, v in row.items() if v not in (None, "") and (keep_path or k != "path")}
    return out


def read_listings(path) -> dict[str, dict]:
    """Seller listings keyed by the resolved suspect path."""
    return read_path_csv(path, "listings", keep_path=True)


def _norm(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", title.lower()).strip()


def _sellers(value) -> set[str]:
    if not value:
        return set()
    return {s.strip() for s in re.split(r"[;,|]", str(value)) if s.strip()}


def flags_for(listing: dict, detected_title: str | None, ref_metadata: dict) -> list[str]:
    """Flags for one suspect: title-mismatch, unlicensed-seller / licensed-seller."""
    flags = []
    claimed = listing.get("claimed_title")
    if detected_title and claimed is not None:
        a, b = _norm(claimed), _norm(detected_title)
        if not a or (a != b and a not in b and b not in a):
            flags.append("title-mismatch")
    licensed = _sellers(ref_metadata.get("licensed_sellers"))
    seller = listing.get("seller_id")
    if detected_title and licensed and seller:
        flags.append("licensed-seller" if seller in licensed else "unlicensed-seller")
    return flags

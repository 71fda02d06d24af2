"""Seller listings: what a suspect claims to be, compared with what fp found."""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from fp.fingerprint.errors import InputError


@dataclass(frozen=True)
class CsvProblem:
    """A row of a metadata or listings CSV that was not used as written."""

    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"

    def to_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "reason": self.reason}


@dataclass(frozen=True)
class PathTable:
    """Rows of a CSV keyed by the resolved path they name, and the rows that were not usable."""

    source: str
    rows: dict[str, dict]
    lines: dict[str, int]  # resolved path -> CSV line of its row
    problems: tuple[CsvProblem, ...] = ()

    def get(self, path, default=None):
        return self.rows.get(str(path), default)

    def __contains__(self, path) -> bool:
        return str(path) in self.rows

    def __len__(self) -> int:
        return len(self.rows)

    def unused(self, used_paths) -> list[CsvProblem]:
        """Rows whose path matched none of `used_paths` (resolved path strings)."""
        used = {str(p) for p in used_paths}
        return [CsvProblem(self.source, line, f"no file matches path {path}")
                for path, line in sorted(self.lines.items(), key=lambda kv: kv[1]) if path not in used]


def read_path_csv(path, what: str, keep_path: bool) -> PathTable:
    """Rows of a CSV with a `path` column, keyed by resolved path (relative paths are taken
    from the CSV's folder); empty cells are dropped. A repeated path keeps its last row and
    reports the earlier ones; a row without a path is reported."""
    p = Path(path)
    try:
        with open(p, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            rows = [(reader.line_num, row) for row in reader]
            columns = [k for k in reader.fieldnames or [] if k]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{p}: cannot read {what} CSV ({exc})") from exc
    if "path" not in columns:  # a JSON file, an empty file: said, not silently ignored
        raise InputError(f"{p}: {what} CSV needs a header row with a 'path' column (has: {', '.join(columns) or 'no header'})")
    out: dict[str, dict] = {}
    lines: dict[str, int] = {}
    problems: list[CsvProblem] = []
    for line, row in rows:
        if not (row.get("path") or "").strip():
            problems.append(CsvProblem(str(p), line, "no path in this row"))
            continue
        target = Path(row["path"])
        if not target.is_absolute():
            target = p.parent / target
        key = str(target.resolve())
        if key in out:
            problems.append(CsvProblem(str(p), lines[key], f"duplicate row for {row['path']}: line {line} is used instead"))
        out[key] = {k: v for k, v in row.items() if k and v not in (None, "") and (keep_path or k != "path")}
        lines[key] = line
    return PathTable(str(p), out, lines, tuple(problems))


def read_listings(path) -> PathTable:
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

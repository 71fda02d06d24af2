"""Ground truth of a copy-detection benchmark: dataclasses and truth.json I/O.

The format is documented in TRUTH_FORMAT.md.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from fp.fingerprint.errors import FpError, InputError

TRUTH_VERSION = 1
KINDS = ("copy", "negative", "natural")
# Optional query groups the generator writes (others are allowed): copies of 2-3 s, and
# the kinds of unrelated footage a negative shows.
GROUPS = ("short", "heldout", "same_set", "same_source", "static", "card", "black")


class BenchmarkError(FpError):
    """Base error of the benchmark generator and truth files."""


class TruthFormatError(BenchmarkError, InputError):
    """A truth file is missing, unreadable or malformed."""


@dataclass(frozen=True)
class TruthQuery:
    """One query video and where (if anywhere) its material comes from."""

    query: str  # relative to the truth file's folder
    reference: str | None  # relative to the refs dir; None for unrelated
    ref_span: tuple[float, float] | None = None
    query_span: tuple[float, float] | None = None
    speed: float = 1.0  # reference seconds per query second
    mirrored: bool = False
    edits: tuple[str, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)
    kind: str = "copy"
    group: str | None = None  # e.g. "short" (a 2-3 s copy) or a negative's kind of footage

    def to_dict(self) -> dict:
        out = {
            "query": self.query,
            "reference": self.reference,
            "ref_span": list(self.ref_span) if self.ref_span else None,
            "query_span": list(self.query_span) if self.query_span else None,
            "speed": self.speed,
            "mirrored": self.mirrored,
            "edits": list(self.edits),
            "params": _plain(self.params),
            "kind": self.kind,
        }
        if self.group is not None:
            out["group"] = self.group
        return out


@dataclass(frozen=True)
class Scene:
    """One scene of a multi-scene title: source seconds [start, end) shown from `at` on."""

    source: str  # clip path relative to the refs dir
    start: float
    end: float
    at: float
    motion: float | None = None  # clip_motion of the source (small: a fixed camera)

    @property
    def length(self) -> float:
        return self.end - self.start

    def to_dict(self) -> dict:
        out = {"source": self.source, "start": self.start, "end": self.end, "at": self.at}
        if self.motion is not None:
            out["motion"] = self.motion
        return out


@dataclass(frozen=True)
class Title:
    """A reference made by joining scenes (real clips) with hard cuts, like a film."""

    path: str  # relative to the refs dir; also listed in `references`
    scenes: tuple[Scene, ...]

    @property
    def duration(self) -> float:
        return max(s.at + s.length for s in self.scenes)

    def scene_at(self, t: float) -> Scene | None:
        return next((s for s in self.scenes if s.at <= t < s.at + s.length), None)

    def to_dict(self) -> dict:
        return {"path": self.path, "scenes": [s.to_dict() for s in self.scenes]}


@dataclass(frozen=True)
class Truth:
    """A whole benchmark: reference and negative clips plus the queries."""

    seed: int
    references: tuple[str, ...]
    negatives: tuple[str, ...]
    queries: tuple[TruthQuery, ...]
    refs_dir: str | None = None  # optional; relative to the truth file's folder
    version: int = TRUTH_VERSION
    titles: tuple[Title, ...] = ()  # references made of several scenes

    def title(self, path: str | None) -> Title | None:
        return next((t for t in self.titles if t.path == path), None)

    def to_dict(self) -> dict:
        out = {
            "version": self.version,
            "seed": self.seed,
            "references": list(self.references),
            "negatives": list(self.negatives),
            "queries": [q.to_dict() for q in self.queries],
        }
        if self.refs_dir is not None:
            out["refs_dir"] = self.refs_dir
        if self.titles:
            out["titles"] = [t.to_dict() for t in self.titles]
        return out

    @classmethod
    def from_dict(cls, data: Any, source: str = "<truth>") -> "Truth":
        return _parse_truth(data, source)


def save_truth(truth: Truth, path: str | os.PathLike) -> Path:
    """Write truth.json atomically; returns the path written."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(truth.to_dict(), indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def load_truth(path: str | os.PathLike) -> Truth:
    """Read and validate a truth file; raises TruthFormatError naming the file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TruthFormatError(f"{path}: cannot read truth file: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise TruthFormatError(f"{path}: not valid JSON: {exc}") from exc
    return _parse_truth(data, str(path))


def resolve_query(truth_path: str | os.PathLike, query: TruthQuery) -> Path:
    """Absolute path of a query video."""
    return (Path(truth_path).parent / query.query).resolve()


def resolve_refs_dir(truth_path: str | os.PathLike, truth: Truth) -> Path | None:
    """Absolute refs dir if the truth file records one."""
    if truth.refs_dir is None:
        return None
    return (Path(truth_path).parent / truth.refs_dir).resolve()


# -- validation ---------------------------------------------------------------

def _plain(value: Any) -> Any:
    """Copy a params value into plain JSON types (tuples become lists)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _fail(source: str, where: str, problem: str) -> TruthFormatError:
    return TruthFormatError(f"{source}: {where}: {problem}")


def _str_list(data: dict, key: str, source: str) -> tuple[str, ...]:
    items = data.get(key)
    if not isinstance(items, list) or not all(isinstance(s, str) and s for s in items):
        raise _fail(source, key, "must be a list of non-empty path strings")
    if len(set(items)) != len(items):
        raise _fail(source, key, "lists the same path twice")
    return tuple(items)


def _span(value: Any, source: str, where: str) -> tuple[float, float] | None:
    if value is None:
        return None
    if (not isinstance(value, (list, tuple)) or len(value) != 2
            or not all(_is_number(v) for v in value)):
        raise _fail(source, where, f"must be [start_s, end_s] or null, got {value!r}")
    start, end = float(value[0]), float(value[1])
    if start < 0 or end <= start:
        raise _fail(source, where, f"needs 0 <= start < end, got [{start}, {end}]")
    return (start, end)


def _is_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def _parse_query(item: Any, index: int, refs: set[str], source: str) -> TruthQuery:
    where = f"queries[{index}]"
    if not isinstance(item, dict):
        raise _fail(source, where, "must be an object")
    query = item.get("query")
    if not isinstance(query, str) or not query:
        raise _fail(source, where, "'query' must be a non-empty path string")
    where = f"queries[{index}] ({query})"
    kind = item.get("kind", "copy")
    if kind not in KINDS:
        raise _fail(source, where, f"'kind' must be one of {KINDS}, got {kind!r}")
    reference = item.get("reference")
    if reference is not None and not isinstance(reference, str):
        raise _fail(source, where, "'reference' must be a path string or null")
    if (kind == "negative") != (reference is None):
        raise _fail(source, where, "'reference' must be null exactly when kind is 'negative'")
    if reference is not None and reference not in refs:
        raise _fail(source, where, f"reference {reference!r} is not listed in 'references'")
    ref_span = _span(item.get("ref_span"), source, where + " ref_span")
    query_span = _span(item.get("query_span"), source, where + " query_span")
    if (ref_span is None) != (query_span is None):
        raise _fail(source, where, "'ref_span' and 'query_span' must both be set or both null")
    if reference is None and ref_span is not None:
        raise _fail(source, where, "an unrelated query cannot have spans")
    speed = item.get("speed", 1.0)
    if not _is_number(speed) or speed <= 0:
        raise _fail(source, where, f"'speed' must be a positive number, got {speed!r}")
    mirrored = item.get("mirrored", False)
    if not isinstance(mirrored, bool):
        raise _fail(source, where, "'mirrored' must be true or false")
    edits = item.get("edits", [])
    if not isinstance(edits, list) or not all(isinstance(e, str) for e in edits):
        raise _fail(source, where, "'edits' must be a list of strings")
    params = item.get("params", {})
    if not isinstance(params, dict):
        raise _fail(source, where, "'params' must be an object")
    group = item.get("group")
    if group is not None and (not isinstance(group, str) or not group):
        raise _fail(source, where, "'group' must be a non-empty string or absent")
    return TruthQuery(query=query, reference=reference, ref_span=ref_span,
                      query_span=query_span, speed=float(speed), mirrored=mirrored,
                      edits=tuple(edits), params=params, kind=kind, group=group)


def _parse_title(item: Any, index: int, refs: set[str], source: str) -> Title:
    where = f"titles[{index}]"
    if not isinstance(item, dict) or not isinstance(item.get("path"), str):
        raise _fail(source, where, "must be an object with a 'path' string")
    path = item["path"]
    if path not in refs:
        raise _fail(source, where, f"title {path!r} is not listed in 'references'")
    scenes = item.get("scenes")
    if not isinstance(scenes, list) or not scenes:
        raise _fail(source, where, "'scenes' must be a non-empty list")
    parsed = []
    for j, scene in enumerate(scenes):
        here = f"{where} scenes[{j}]"
        if not isinstance(scene, dict) or not isinstance(scene.get("source"), str):
            raise _fail(source, here, "must be an object with a 'source' path string")
        span = _span([scene.get("start"), scene.get("end")], source, here)
        at, motion = scene.get("at"), scene.get("motion")
        if not _is_number(at) or at < 0:
            raise _fail(source, here, f"'at' must be a number >= 0, got {at!r}")
        if motion is not None and not _is_number(motion):
            raise _fail(source, here, f"'motion' must be a number or absent, got {motion!r}")
        parsed.append(Scene(scene["source"], span[0], span[1], float(at), motion))
    return Title(path, tuple(parsed))


def _parse_truth(data: Any, source: str) -> Truth:
    if not isinstance(data, dict):
        raise _fail(source, "top level", "must be a JSON object")
    version = data.get("version")
    if version != TRUTH_VERSION:
        raise _fail(source, "version", f"expected {TRUTH_VERSION}, got {version!r}")
    seed = data.get("seed")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise _fail(source, "seed", f"must be an integer, got {seed!r}")
    references = _str_list(data, "references", source)
    negatives = _str_list(data, "negatives", source)
    both = set(references) & set(negatives)
    if both:
        raise _fail(source, "negatives", f"also listed as references: {sorted(both)}")
    items = data.get("queries")
    if not isinstance(items, list):
        raise _fail(source, "queries", "must be a list")
    queries = tuple(_parse_query(item, i, set(references), source)
                    for i, item in enumerate(items))
    names = [q.query for q in queries]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise _fail(source, "queries", f"query paths repeat: {dup[:5]}")
    refs_dir = data.get("refs_dir")
    if refs_dir is not None and not isinstance(refs_dir, str):
        raise _fail(source, "refs_dir", "must be a path string or absent")
    titles = data.get("titles", [])
    if not isinstance(titles, list):
        raise _fail(source, "titles", "must be a list or absent")
    return Truth(seed=seed, references=references, negatives=negatives,
                 queries=queries, refs_dir=refs_dir, version=version,
                 titles=tuple(_parse_title(t, i, set(references), source)
                              for i, t in enumerate(titles)))

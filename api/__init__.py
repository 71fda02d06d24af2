"""fp: find pirated copies of reference videos from their pixels.

The documented Python entry points (the CLI and the HTTP service call these too)::

    import fp

    with fp.Library("lib/", create=False) as lib:
        result = fp.match_file("suspect.mp4", lib)      # an fp.MatchResult
        print(result.verdict, [m.title for m in result.matches])
        row = fp.versioned(result.to_dict())            # a line of `fp match --json`

For many suspects keep one `fp.Matcher(lib)` (it holds the loaded index) and call its
`match_file` / `match_fingerprint`, or `fp.match_paths(matcher, paths)` for a batch (one result
per suspect, failures included, optionally on several processes). Every result type is a frozen dataclass with `to_dict()`.
Errors are `fp.FpError` subclasses; `fp.InputError` means bad input (a CLI exit code 2).
Names load on first use, so `import fp` stays cheap.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .schema import SCHEMA_VERSION, versioned

if TYPE_CHECKING:  # pragma: no cover - for type checkers; the names load lazily below
    from fp.fingerprint.errors import FpError, InputError, LibraryError, LibraryFormatError, VideoDecodeError
    from fp.fingerprint.pipeline import QUERY, REFERENCE, FingerprintConfig, fingerprint_video
    from fp.fingerprint.types import Fingerprint, FrameHash
    from fp.index.indexer import FileOutcome, IndexReport, index_paths
    from fp.index.library import Library
    from fp.index.match_batch import HashFile, match_paths
    from fp.index.matcher import Match, MatchConfig, Matcher, MatchResult
    from fp.index.store import VideoRecord

    from .matching import match_file, match_fingerprint

_LAZY = {
    "FpError": "fp.fingerprint.errors", "InputError": "fp.fingerprint.errors", "LibraryError": "fp.fingerprint.errors",
    "LibraryFormatError": "fp.fingerprint.errors", "VideoDecodeError": "fp.fingerprint.errors",
    "FingerprintConfig": "fp.fingerprint.pipeline", "fingerprint_video": "fp.fingerprint.pipeline",
    "QUERY": "fp.fingerprint.pipeline", "REFERENCE": "fp.fingerprint.pipeline",
    "Fingerprint": "fp.fingerprint.types", "FrameHash": "fp.fingerprint.types",
    "FileOutcome": "fp.index.indexer", "IndexReport": "fp.index.indexer", "index_paths": "fp.index.indexer",
    "Library": "fp.index.library", "VideoRecord": "fp.index.store",
    "match_paths": "fp.index.match_batch", "HashFile": "fp.index.match_batch",
    "Match": "fp.index.matcher", "MatchConfig": "fp.index.matcher", "Matcher": "fp.index.matcher", "MatchResult": "fp.index.matcher",
    "match_file": "fp.matching", "match_fingerprint": "fp.matching",
}

__all__ = sorted([*_LAZY, "SCHEMA_VERSION", "versioned", "__version__"])


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("fp-video")
        except PackageNotFoundError:  # pragma: no cover - running from an uninstalled tree
            return "0+unknown"
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'fp' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__

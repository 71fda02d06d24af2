"""One-call matching for scripts: open (or take) a library, match, return typed results."""
from __future__ import annotations

import os

from fp.fingerprint.types import Fingerprint
from fp.index.library import Library
from fp.index.matcher import MatchConfig, Matcher, MatchResult

LibraryLike = Library | Matcher | str | os.PathLike


def match_file(path: str | os.PathLike, library: LibraryLike, config: MatchConfig | None = None) -> MatchResult:
    """Match one suspect video file against `library` (a folder, an open Library or a Matcher)."""
    return _with_matcher(library, config, lambda m: m.match_file(path))


def match_fingerprint(fingerprint: Fingerprint, library: LibraryLike, config: MatchConfig | None = None,
                      query: str | None = None) -> MatchResult:
    """Match a suspect's fingerprint (hashed elsewhere, e.g. at the edge) against `library`."""
    return _with_matcher(library, config, lambda m: m.match_fingerprint(fingerprint, query=query))


def _with_matcher(library: LibraryLike, config: MatchConfig | None, run) -> MatchResult:
    if isinstance(library, Matcher):
        return run(library)
    if isinstance(library, Library):
        return run(Matcher(library, config or MatchConfig()))
    with Library(library, create=False) as lib:
        return run(Matcher(lib, config or MatchConfig()))

"""Client-named files: only under the configured roots, symlinks resolved first."""
from __future__ import annotations

import os
from pathlib import Path

from fp.fingerprint.errors import InputError

SHOWN_CHARS = 200  # of a client's path echoed in an error


def resolve_under_roots(raw: str, roots: tuple[Path, ...]) -> Path:
    """The real path of `raw` when it lies under one of `roots` (after resolving every symlink
    and '..'); InputError otherwise. Relative paths are taken from the first root."""
    if not roots:
        raise InputError("this server accepts no paths (start it with --root DIR)")
    if not raw or "\x00" in raw:
        raise InputError("empty or invalid path")
    shown = raw if len(raw) <= SHOWN_CHARS else raw[:SHOWN_CHARS] + "..."
    try:
        return _resolve(raw, shown, roots)
    except OSError as exc:  # a name too long, a loop of symlinks, ...
        raise InputError(f"{shown}: {exc.strerror or exc}") from exc


def _resolve(raw: str, shown: str, roots: tuple[Path, ...]) -> Path:
    real_roots = [Path(os.path.realpath(r)) for r in roots]
    candidate = Path(raw)
    if not candidate.is_absolute():
        candidate = real_roots[0] / candidate
    real = Path(os.path.realpath(candidate))
    if not any(real == root or real.is_relative_to(root) for root in real_roots):
        raise InputError(f"{shown}: outside the server's roots")
    if not real.exists():
        raise InputError(f"{shown}: no such file under the server's roots")
    return real

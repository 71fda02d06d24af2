"""The version of fp's JSON output (results, jobs, reports). Bump it when a field changes meaning
or disappears; adding a field does not bump it."""
from __future__ import annotations

SCHEMA_VERSION = 1  # the same number as fp.index.matcher.SCHEMA_VERSION (kept here so `import fp` stays light)


def versioned(obj: dict) -> dict:
    """`obj` with `schema_version` first (the form every JSON object fp writes has)."""
    return {"schema_version": SCHEMA_VERSION, **obj}

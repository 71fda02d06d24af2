"""Pydantic models of the API's request and response bodies (the same fields as the CLI's JSON)."""
from __future__ import annotations

import json
import math
from typing import Annotated, Any, Literal

from annotated_types import Interval
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from fp.schema import SCHEMA_VERSION


SQLITE_MAX_INT = 2**63 - 1
RowId = Annotated[int, Interval(ge=1, le=SQLITE_MAX_INT)]  # a row id SQLite can take (past it: 422, not 500)


def finite(value: Any) -> Any:
    """`value` with every NaN or infinity (nested too) replaced by None: JSON has no such numbers."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


class FiniteJSONResponse(JSONResponse):
    """JSON that shows a non-finite number (stored before inputs were checked) as null instead of
    failing, and a file name that is not UTF-8 (a reference's path) as \\u escapes of its
    surrogates, as `fp ... --json` writes it (os.fsencode of the parsed string gives the name)."""

    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except UnicodeEncodeError:  # a ValueError too: checked first
            return json.dumps(finite(content), allow_nan=False, separators=(",", ":")).encode("ascii")
        except ValueError:  # "Out of range float values are not JSON compliant"
            return super().render(finite(content))


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Versioned(Open):
    schema_version: int = SCHEMA_VERSION


class Accepted(Versioned):
    id: str
    status: str = "queued"


class MatchOut(Open):
    """One match, as in a line of `fp match --json`."""

    title: str
    ref_path: str
    video_id: int
    confidence: float
    chance: float
    query_span: list[float]
    ref_span: list[float]
    speed: float
    mirrored: bool
    matched_frames: int
    metadata: dict = {}


class MatchResultOut(Open):
    """A line of `fp match --json`."""

    query: str
    verdict: Literal["match", "no_match", "error"]
    error: str | None = None
    claimed_title: str | None = None
    matches: list[MatchOut] = []
    duration: float = 0.0


class JobOut(Versioned):
    id: str
    kind: str
    status: Literal["queued", "running", "done", "failed"]
    result: MatchResultOut | dict[str, Any] | None = None  # a line of `fp match --json` for match jobs
    error: str | None = None
    name: str | None = None
    sha256: str | None = None
    listing: dict = {}


class ReferenceAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = Field(description="A video file under one of the server's --root folders.")
    title: str | None = Field(None, max_length=500)
    metadata: dict[str, Any] = Field(default_factory=dict, description="rights_holder, licensed_sellers, licence_ids, ...")


class ReferenceEdit(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool | None = None
    metadata: dict[str, Any] | None = None
    replace_metadata: bool = Field(False, description="Replace the whole metadata instead of merging keys into it.")


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["confirm", "reject", "confirmed", "rejected"]
    note: str | None = Field(None, max_length=2000)

"""Pydantic models of the API's request and response bodies (the same fields as the CLI's JSON)."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from fp.schema import SCHEMA_VERSION


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

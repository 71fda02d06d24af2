"""Errors the HTTP layer answers with: one JSON shape, `{"error": "..."}`, and a fitting status."""
from __future__ import annotations

from fp.fingerprint.errors import InputError

RETRY_AFTER_SECONDS = 10  # asked of a client whose request met a re-shard (a large library's takes minutes)


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict | None = None):
        self.status = status
        self.message = message
        self.headers = headers
        super().__init__(message)


class NotFound(InputError):
    """No such job, match, seller or reference (HTTP 404)."""


def status_for(exc: Exception) -> int:
    """The HTTP status for an fp exception: the upload's own, 404, 422 for bad input, else 500."""
    status = getattr(exc, "status", None)
    if isinstance(status, int):
        return status
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, InputError):
        return 422
    return 500

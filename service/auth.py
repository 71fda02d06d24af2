"""Who is calling: `Authorization: Bearer KEY` for the API, a session cookie for the review pages."""
from __future__ import annotations

from fastapi import Depends, Request

from .errors import ApiError
from .keys import KeyRecord, authenticate, session_key
from .state import Service, service

SESSION_COOKIE = "fp_session"


class LoginRequired(Exception):
    """A review page was asked for without a valid session: answered with a redirect to the login."""


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def require(*roles: str):
    """Dependency: the caller's key, which must hold one of `roles` (any role when none given)."""

    def dependency(request: Request, svc: Service = Depends(service)) -> KeyRecord:
        token = bearer(request)
        record = authenticate(svc.db, token) if token else None
        if record is None:
            raise ApiError(401, "missing or invalid API key (send 'Authorization: Bearer KEY'; `fp keys add` makes one)",
                           {"WWW-Authenticate": "Bearer"})
        if roles and record.role not in roles:
            raise ApiError(403, f"a {record.role} key cannot do this (it needs a {' or '.join(roles)} key)")
        return record

    return dependency


def page_reviewer(request: Request, svc: Service = Depends(service)) -> KeyRecord:
    """Dependency of the review pages: a reviewer's session (or a reviewer's Bearer key)."""
    token = request.cookies.get(SESSION_COOKIE)
    record = session_key(svc.db, token) if token else None
    if record is None and bearer(request):
        record = authenticate(svc.db, bearer(request))
    if record is None:
        raise LoginRequired()
    if record.role != "reviewer":
        raise ApiError(403, f"a {record.role} key cannot review (it needs a reviewer key)")
    return record

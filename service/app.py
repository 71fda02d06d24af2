"""create_app(settings): the FastAPI app of `fp serve` (tests start it on loopback the same way)."""
from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

import fp
from fp.fingerprint.errors import FpError

from . import api_match, api_refs, api_review, ops, pages
from .auth import LoginRequired
from .errors import ApiError, status_for
from .state import Service

log = logging.getLogger(__name__)


def _error(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def create_app(settings, start_worker: bool = True) -> FastAPI:
    svc = Service.open(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        recovered = svc.jobs.recover(settings.max_attempts)
        if any(recovered.values()):
            log.warning("after a restart: %(requeued)d jobs requeued, %(failed)d failed", recovered)
        if start_worker:
            svc.worker.start()
        try:
            yield
        finally:
            svc.worker.stop()

    app = FastAPI(title="fp", version=fp.__version__, lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None,
                  description="Video copy detection as a service: match suspects, manage references, review matches.")
    app.state.fp = svc

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError):
        return _error(exc.status, exc.message, exc.headers)

    @app.exception_handler(FpError)
    async def fp_error(request: Request, exc: FpError):
        status = status_for(exc)
        if status >= 500:
            log.error("%s %s: %s", request.method, request.url.path, exc)
        return _error(status, str(exc))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        log.exception("%s %s failed", request.method, request.url.path)
        return _error(500, f"internal error: {type(exc).__name__}")

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired):
        return RedirectResponse("/review/login", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        return _error(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        problems = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors())
        return _error(422, f"invalid request: {problems}")

    @app.middleware("http")
    async def count_requests(request: Request, call_next):
        response = await call_next(request)
        route = request.scope.get("route")
        svc.metrics.requests.labels(request.method, getattr(route, "path", "unmatched"), str(response.status_code)).inc()
        return response

    for module in (ops, api_match, api_refs, api_review, pages):
        app.include_router(module.router)
    return app

"""create_app(settings): the FastAPI app of `fp serve` (tests start it on loopback the same way)."""
from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

import fp
from fp.fingerprint.errors import FpError, LibraryBusyError

from . import api_match, api_refs, api_review, ops, pages
from .auth import LoginRequired
from .errors import RETRY_AFTER_SECONDS, ApiError, status_for
from .metrics import Metrics
from .models import FiniteJSONResponse
from .state import Service

log = logging.getLogger(__name__)


def _error(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return FiniteJSONResponse({"error": message}, status_code=status, headers=headers)  # a message may name any file


CLIENT_GONE = 499  # the status counted for a client that left mid-request (nginx's "client closed request")


class CountRequests:
    """ASGI middleware: counts every answer by method, route and status code. An unexpected error
    is logged here once (with its traceback) and answered 500, so it is counted too; a client that
    disconnects mid-request is one info line."""

    def __init__(self, app, metrics: Metrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        status = None

        async def counted(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, counted)
        except ClientDisconnect:
            log.info("%s %s: the client disconnected before its request ended", scope["method"], scope["path"])
            status = status or CLIENT_GONE
        except Exception as exc:
            log.exception("%s %s failed", scope["method"], scope["path"])
            if status is None:  # else the answer has begun: the server closes the connection
                await _error(500, f"internal error: {type(exc).__name__}")(scope, receive, counted)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.requests.labels(scope["method"], route, str(status or 500)).inc()


def _sweep_spool(svc: Service) -> None:
    """Remove spooled uploads no job needs and no running server owns (spool.py): cut off by a
    crash, or by a stop that cancelled them (the process may exit before a cancelled request gets
    to remove its own file)."""
    removed = svc.spool.sweep(svc.jobs.spool_folders())
    if removed:
        log.warning("removed %d abandoned upload(s) from the spool", removed)


def create_app(settings, start_worker: bool = True) -> FastAPI:
    svc = Service.open(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        recovered = svc.worker.recover()  # another live server's jobs stay its own
        if any(recovered.values()):
            log.warning("after a restart: %(requeued)d jobs requeued, %(failed)d failed", recovered)
        svc.spool.claim()
        _sweep_spool(svc)
        if start_worker:
            svc.worker.start()
        try:
            yield
        finally:
            svc.worker.stop()
            svc.spool.release()
            _sweep_spool(svc)  # requests still running were cancelled by now

    app = FastAPI(title="fp", version=fp.__version__, lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None,
                  default_response_class=FiniteJSONResponse,
                  description="Video copy detection as a service: match suspects, manage references, review matches.")
    app.state.fp = svc

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError):
        return _error(exc.status, exc.message, exc.headers)

    @app.exception_handler(LibraryBusyError)
    async def library_busy(request: Request, exc: LibraryBusyError):
        """A write that outwaited a re-shard (or a read that met it twice): nothing was written; come back later."""
        log.warning("%s %s: %s", request.method, request.url.path, exc)
        return _error(503, f"the reference library is being re-sharded; try again in {RETRY_AFTER_SECONDS} s",
                      {"Retry-After": str(RETRY_AFTER_SECONDS)})  # the reason, without the library's path

    @app.exception_handler(FpError)
    async def fp_error(request: Request, exc: FpError):
        status = status_for(exc)
        if status >= 500:
            log.error("%s %s: %s", request.method, request.url.path, exc)
        return _error(status, str(exc))

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

    app.add_middleware(CountRequests, metrics=svc.metrics)
    for module in (ops, api_match, api_refs, api_review, pages):
        app.include_router(module.router)
    return app

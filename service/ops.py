"""GET /healthz (no key) and GET /metrics (Prometheus text, any key)."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

import fp
from fp.schema import versioned

from .auth import require
from .keys import KeyRecord
from .metrics import CONTENT_TYPE
from .state import Service, service

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness and readiness: 200 once the library is loaded, 503 before or on error")
def healthz(svc: Service = Depends(service)):
    worker = svc.worker
    stats = worker.library_stats
    counts = svc.jobs.counts()
    body = versioned({
        "status": "ok" if worker.state == "ready" else worker.state, "fp_version": fp.__version__,
        "queue": sum(n for (_, s), n in counts.items() if s == "queued"),
        "running": sum(n for (_, s), n in counts.items() if s == "running"), "error": worker.error,
        "library": {k: stats.get(k) for k in ("videos", "enabled_videos", "hashes", "hours", "generation")} if stats else None,
    })
    return JSONResponse(body, status_code=200 if worker.state == "ready" else 503)


@router.get("/metrics", summary="Prometheus metrics: jobs, latency, queue depth, library size")
def metrics(caller: KeyRecord = Depends(require()), svc: Service = Depends(service)):
    return Response(svc.metrics.render(), media_type=CONTENT_TYPE)


@router.get("/v1/openapi.json", summary="The API's OpenAPI description (any key)")
def openapi(request: Request, caller: KeyRecord = Depends(require())):
    return JSONResponse(request.app.openapi())

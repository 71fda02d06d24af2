"""The reference library for studios: GET/POST /v1/references, GET/PATCH/DELETE /v1/references/{id}."""
from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from fp.fingerprint.decode import check_readable
from fp.fingerprint.errors import InputError, VideoDecodeError
from fp.schema import versioned

from .auth import require
from .keys import KeyRecord
from .models import Accepted, ReferenceAdd, ReferenceEdit, RowId
from .paths import resolve_under_roots
from .references import References, check_metadata
from .state import Service, service

router = APIRouter(prefix="/v1/references", tags=["references"])
studio = require("studio")


@router.get("", summary="Every reference video with its metadata and whether matching uses it")
def list_references(caller: KeyRecord = Depends(studio), svc: Service = Depends(service)):
    return versioned({"references": References(svc.settings).list()})


@router.post("", status_code=202, response_model=Accepted, summary="Add a reference (a path under a root); a job")
def add_reference(body: ReferenceAdd, caller: KeyRecord = Depends(studio), svc: Service = Depends(service)):
    path = resolve_under_roots(body.path, svc.settings.roots)
    try:
        check_readable(path)
    except VideoDecodeError as exc:
        raise InputError(f"{body.path}: {exc.reason}") from exc
    job = svc.jobs.submit("add_reference", {"path": str(path), "title": body.title, "metadata": check_metadata(body.metadata)},
                          key_id=caller.id, role=caller.role, name=body.path)
    svc.worker.wake()
    return JSONResponse(Accepted(id=job.id).model_dump(), status_code=202, headers={"Location": f"/v1/jobs/{job.id}"})


@router.get("/{video_id}", summary="One reference video")
def get_reference(video_id: RowId, caller: KeyRecord = Depends(studio), svc: Service = Depends(service)):
    return References(svc.settings).get(video_id)


@router.patch("/{video_id}", summary="Disable/enable a title, or edit its metadata (rights holder, licensed sellers)")
def edit_reference(video_id: RowId, body: ReferenceEdit, caller: KeyRecord = Depends(studio), svc: Service = Depends(service)):
    if body.enabled is None and body.metadata is None:
        raise InputError("nothing to change: send 'enabled' and/or 'metadata'")
    out = References(svc.settings).edit(video_id, body.enabled, body.metadata, body.replace_metadata)
    svc.worker.references_changed()
    return out


@router.delete("/{video_id}", summary="Remove a reference video and its hashes")
def remove_reference(video_id: RowId, caller: KeyRecord = Depends(studio), svc: Service = Depends(service)):
    out = References(svc.settings).remove(video_id)
    svc.worker.references_changed()
    return versioned({"removed": out})

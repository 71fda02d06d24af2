"""The reference library for studios: GET/POST /v1/references, GET/PATCH/DELETE /v1/references/{id}."""
from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from fp.fingerprint.decode import check_readable
from fp.fingerprint.errors import InputError, VideoDecodeError
from fp.schema import versioned

from .auth import require
from .errors import ApiError, NotFound
from .keys import KeyRecord
from .models import Accepted, ReferenceAdd, ReferenceEdit, RowId
from .paths import resolve_under_roots
from .references import References, check_metadata
from .state import Service, service

router = APIRouter(prefix="/v1/references", tags=["references"])
studio = require("studio")


def _mine(caller: KeyRecord, reference: dict) -> bool:
    """A studio key with a rights holder reaches that holder's references only."""
    return caller.rights_holder is None or (reference.get("metadata") or {}).get("rights_holder") == caller.rights_holder


def _owned(caller: KeyRecord, svc: Service, video_id: int) -> dict:
    reference = References(svc.settings).get(video_id)
    if not _mine(caller, reference):
        raise NotFound(f"no reference video {video_id}")  # another studio's: not even its existence
    return reference


def _stamped(caller: KeyRecord, metadata: dict | None) -> dict | None:
    """Metadata a scoped studio key sends: its own rights holder, never another's."""
    if caller.rights_holder is None or metadata is None:
        return metadata
    given = metadata.get("rights_holder")
    if given not in (None, caller.rights_holder):
        raise ApiError(403, f"this key holds the references of {caller.rights_holder!r}, not {given!r}")
    return {**metadata, "rights_holder": caller.rights_holder}


@router.get("", summary="Every reference video with its metadata and whether matching uses it")
def list_references(caller: KeyRecord = Depends(studio), svc: Service = Depends(service)):
    return versioned({"references": [r for r in References(svc.settings).list() if _mine(caller, r)]})


@router.post("", status_code=202, response_model=Accepted, summary="Add a reference (a path under a root); a job")
def add_reference(body: ReferenceAdd, caller: KeyRecord = Depends(studio), svc: Service = Depends(service)):
    path = resolve_under_roots(body.path, svc.settings.roots)
    try:
        check_readable(path)
    except VideoDecodeError as exc:
        raise InputError(f"{body.path}: {exc.reason}") from exc
    metadata = check_metadata(_stamped(caller, body.metadata) if caller.rights_holder else body.metadata)
    job = svc.jobs.submit("add_reference", {"path": str(path), "title": body.title, "metadata": metadata},
                          key_id=caller.id, role=caller.role, name=body.path)
    svc.worker.wake()
    return JSONResponse(Accepted(id=job.id).model_dump(), status_code=202, headers={"Location": f"/v1/jobs/{job.id}"})


@router.get("/{video_id}", summary="One reference video")
def get_reference(video_id: RowId, caller: KeyRecord = Depends(studio), svc: Service = Depends(service)):
    return _owned(caller, svc, video_id)


@router.patch("/{video_id}", summary="Disable/enable a title, or edit its metadata (rights holder, licensed sellers)")
def edit_reference(video_id: RowId, body: ReferenceEdit, caller: KeyRecord = Depends(studio), svc: Service = Depends(service)):
    if body.enabled is None and body.metadata is None:
        raise InputError("nothing to change: send 'enabled' and/or 'metadata'")
    _owned(caller, svc, video_id)
    out = References(svc.settings).edit(video_id, body.enabled, _stamped(caller, body.metadata), body.replace_metadata)
    svc.worker.references_changed()
    return out


@router.delete("/{video_id}", summary="Remove a reference video and its hashes")
def remove_reference(video_id: RowId, caller: KeyRecord = Depends(studio), svc: Service = Depends(service)):
    _owned(caller, svc, video_id)
    out = References(svc.settings).remove(video_id)
    svc.worker.references_changed()
    return versioned({"removed": out})

"""POST /v1/match (upload or path), POST /v1/match/hashes, GET /v1/jobs/{id}."""
from __future__ import annotations

import asyncio
import json
import os
import uuid

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from fp.fingerprint.serialize import fingerprint_from_json

from .auth import require
from .errors import NotFound
from .jobs import JobRecord, Listing
from .keys import KeyRecord
from .models import Accepted, FiniteJSONResponse, JobOut
from .paths import resolve_under_roots
from .state import Service, service
from .uploads import UploadError, check_video, discard_spooled, idle_limited, receive_form

router = APIRouter(prefix="/v1", tags=["matching"])

LISTING_FIELDS = ("listing_id", "seller_id", "claimed_title", "licence_id")
MAX_HASHES_BYTES = 256 * 1024**2  # a fingerprint JSON of a multi-hour film is tens of MB
FORM_OVERHEAD = 64 * 1024  # multipart headers and text fields besides the file
MAX_WAIT = 60.0


def _listing(fields: dict) -> Listing:
    values = {}
    for name in LISTING_FIELDS:
        value = (fields.get(name) or "").strip()
        if len(value) > 500:
            raise UploadError(f"{name} longer than 500 characters", 400)
        values[name] = value or None
    return Listing(**values)


def _accepted(job: JobRecord) -> JSONResponse:
    return JSONResponse(Accepted(id=job.id).model_dump(), status_code=202, headers={"Location": f"/v1/jobs/{job.id}"})


@router.post("/match", status_code=202, response_model=Accepted,
             summary="Match a suspect: an upload in field `file` or a `path` under a root; listing fields optional")
async def submit_match(request: Request, caller: KeyRecord = Depends(require("platform")), svc: Service = Depends(service)):
    settings = svc.settings
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > settings.max_upload_bytes + FORM_OVERHEAD:
        raise UploadError(f"upload too large: {int(length)} bytes, the limit is {settings.max_upload_bytes}", 413)
    upload = await receive_form(idle_limited(request.stream()), request.headers.get("content-type", ""), svc.spool.folder,
                                settings.max_upload_bytes)
    try:
        listing = _listing(upload.fields)
        raw_path = (upload.fields.get("path") or "").strip()
        if upload.path is not None and raw_path:
            raise UploadError("send either a file or a path, not both", 400)
        if upload.path is not None:
            await run_in_threadpool(check_video, upload.path, settings.max_duration)
            file, name, sha, spooled = upload.path, upload.filename, upload.sha256, True
        elif raw_path:
            file = resolve_under_roots(raw_path, settings.roots)
            await run_in_threadpool(check_video, file, settings.max_duration)
            name, sha, spooled = raw_path, None, False
        else:
            raise UploadError("no suspect: send a file in field 'file' or a 'path'", 400)
        job = await run_in_threadpool(svc.jobs.submit, "match", {"file": str(file), "spooled": spooled},
                                      key_id=caller.id, role=caller.role, name=name, sha256=sha, listing=listing)
    except BaseException:
        upload.discard()
        raise
    svc.worker.wake()
    return _accepted(job)


@router.post("/match/hashes", status_code=202, response_model=Accepted,
             summary="Match a fingerprint JSON (as `fp fingerprint --json` writes it); listing fields as query parameters")
async def submit_hashes(request: Request, listing_id: str | None = None, seller_id: str | None = None,
                        claimed_title: str | None = None, licence_id: str | None = None,
                        caller: KeyRecord = Depends(require("platform")), svc: Service = Depends(service)):
    listing = _listing({"listing_id": listing_id, "seller_id": seller_id, "claimed_title": claimed_title, "licence_id": licence_id})
    folder = svc.spool.folder / uuid.uuid4().hex
    folder.mkdir(parents=True)
    path = folder / "fingerprint.json"
    size = 0
    try:
        with open(path, "xb") as fh:
            async for chunk in idle_limited(request.stream()):
                size += len(chunk)
                if size > MAX_HASHES_BYTES:
                    raise UploadError(f"fingerprint JSON too large: over {MAX_HASHES_BYTES} bytes", 413)
                fh.write(chunk)
        name = await run_in_threadpool(_check_hashes, path, svc.worker.hash_params)
        job = await run_in_threadpool(svc.jobs.submit, "match_hashes", {"file": str(path), "spooled": True},
                                      key_id=caller.id, role=caller.role, name=name, listing=listing)
    except BaseException:
        discard_spooled(path)
        raise
    svc.worker.wake()
    return _accepted(job)


def _check_hashes(path, library_params: dict | None) -> str:
    """The suspect's name from a fingerprint JSON, after checking it parses and fits the library."""
    try:
        obj = json.loads(path.read_bytes(), parse_constant=_no_constant)
    except RecursionError as exc:
        raise UploadError("not a fingerprint: JSON nested too deeply", 400) from exc
    except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError, or an integer too long to read
        raise UploadError(f"not JSON: {exc}", 400) from exc
    if not isinstance(obj, dict):
        raise UploadError("expected a JSON object (the output of `fp fingerprint --json`)")
    name = os.path.basename(str(obj.get("source") or "hashes"))[:500] or "hashes"
    fingerprint_from_json(obj, source=name, expect_params=library_params)  # InputError (422) naming the reason
    return name


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def visible(job: JobRecord | None, caller: KeyRecord) -> bool:
    """A job is visible to the key that made it, to keys of the same role (a studio key scoped to
    a rights holder: its own jobs only), and to reviewers."""
    if job is None:
        return False
    same_role = job.role == caller.role and caller.rights_holder is None
    return job.key_id == caller.id or same_role or caller.role == "reviewer"


def _with_evidence_links(svc: Service, job: JobRecord) -> dict:
    """The job, each match's `evidence` pointing at its image once the worker has drawn it."""
    out = job.to_dict()
    matches = (out.get("result") or {}).get("matches") or []
    if matches and job.kind in ("match", "match_hashes"):
        drawn = {item.rank: item.id for item in svc.review.matches_of(job.id) if item.evidence}
        for rank, match in enumerate(matches, start=1):
            match["evidence"] = f"/v1/review/{drawn[rank]}/evidence.png" if rank in drawn else None
    return out


@router.get("/jobs/{job_id}", response_model=JobOut, summary="A job's status and result (wait up to `wait` seconds for it)")
async def get_job(job_id: str, wait: float = Query(0.0, ge=0.0, le=MAX_WAIT), caller: KeyRecord = Depends(require()),
                  svc: Service = Depends(service)):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    delay = 0.05
    while True:
        job = await run_in_threadpool(svc.jobs.get, job_id)
        if not visible(job, caller):
            raise NotFound(f"no job {job_id}")
        if job.finished or loop.time() >= deadline:
            return FiniteJSONResponse(await run_in_threadpool(_with_evidence_links, svc, job))
        await asyncio.sleep(min(delay, max(deadline - loop.time(), 0.0)))
        delay = min(delay * 1.5, 0.5)

"""Reviewers' JSON API (queue, decisions, evidence) and the reports: sellers and notices."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse

from fp.schema import versioned

from .auth import require
from .errors import NotFound
from .keys import KeyRecord
from .models import Decision, RowId
from .notices import confirmed_notices
from .review import ReviewItem
from .sellers import seller_reports
from .state import Service, service

router = APIRouter(prefix="/v1", tags=["review"])
reviewer = require("reviewer")


@router.get("/review", summary="Matches awaiting a decision (or decided ones: status=confirmed|rejected|all)")
def review_queue(status: str = "pending", limit: int = Query(200, ge=1, le=5000), caller: KeyRecord = Depends(reviewer),
                 svc: Service = Depends(service)):
    items = svc.review.queue(status, limit)
    return versioned({"status": status, "counts": svc.review.counts(), "items": [i.to_dict() for i in items]})


@router.get("/review/{match_id}", summary="One match with its listing, licence status and frame pairs")
def review_item(match_id: RowId, caller: KeyRecord = Depends(reviewer), svc: Service = Depends(service)):
    return svc.review.item(match_id).to_dict(with_pairs=True)


@router.post("/review/{match_id}", summary="Confirm or reject a match")
def decide(match_id: RowId, body: Decision, caller: KeyRecord = Depends(reviewer), svc: Service = Depends(service)):
    return svc.review.decide(match_id, body.decision, caller.id, body.note).to_dict()


def evidence_file(svc: Service, item: ReviewItem) -> FileResponse:
    if not item.evidence:
        raise NotFound(f"no evidence image for match {item.id} yet")
    path = (svc.settings.service_dir / item.evidence).resolve()
    if not path.is_relative_to(svc.settings.evidence_dir.resolve()) or not path.is_file():
        raise NotFound(f"evidence image for match {item.id} is missing")
    return FileResponse(path, media_type="image/png")


@router.get("/review/{match_id}/evidence.png", summary="The evidence image: frame pairs and the alignment plot")
def review_evidence(match_id: RowId, caller: KeyRecord = Depends(reviewer), svc: Service = Depends(service)):
    return evidence_file(svc, svc.review.item(match_id))


@router.get("/sellers", summary="Per seller: listings checked, confirmed copies, titles, licence status, repeat flag")
def sellers(repeat_after: int | None = Query(None, ge=1), caller: KeyRecord = Depends(require("platform", "reviewer")),
            svc: Service = Depends(service)):
    n = repeat_after or svc.settings.repeat_after
    return versioned({"repeat_after": n, "sellers": [s.to_dict() for s in seller_reports(svc.db, n)]})


@router.get("/sellers/{seller_id}", summary="One seller's report")
def seller(seller_id: str, repeat_after: int | None = Query(None, ge=1),
           caller: KeyRecord = Depends(require("platform", "reviewer")), svc: Service = Depends(service)):
    found = seller_reports(svc.db, repeat_after or svc.settings.repeat_after, seller_id)
    if not found:
        raise NotFound(f"no seller {seller_id!r} among checked listings")
    return found[0].to_dict()


@router.get("/notices", summary="Takedown notices (confirmed copies) grouped per rights holder")
def notices(caller: KeyRecord = Depends(require("reviewer", "studio")), svc: Service = Depends(service)):
    groups = confirmed_notices(svc.db)
    if caller.rights_holder is not None:  # a studio key scoped to one rights holder sees its own notices
        groups = {h: pairs for h, pairs in groups.items() if h == caller.rights_holder}
    return versioned({"rights_holders": [{"rights_holder": holder, "notices": [n.to_dict() for n, _ in pairs]}
                                         for holder, pairs in groups.items()]})

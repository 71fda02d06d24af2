"""The review page (server-rendered HTML): log in with a reviewer key, see the queue of matches,
open one (evidence, listing, seller, claimed vs detected title, licence status), confirm or reject."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from .api_review import evidence_file
from .auth import SESSION_COOKIE, bearer, page_reviewer
from .errors import ApiError
from .keys import KeyRecord, authenticate, close_session, csrf_token, open_session
from .models import RowId
from .sellers import seller_reports
from .state import Service, service
from .templates import environment

router = APIRouter(tags=["review page"], include_in_schema=False)
HEADINGS = {"pending": "Matches to review", "confirmed": "Confirmed copies", "rejected": "Rejected matches", "all": "All matches"}


def _render(name: str, request: Request, status_code: int = 200, **context) -> HTMLResponse:
    token = request.cookies.get(SESSION_COOKIE)
    html = environment().get_template(name).render(csrf=csrf_token(token) if token else "", **context)
    return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-store"})


def _check_csrf(request: Request, csrf: str) -> None:
    """A form posted with the session cookie must carry the session's form token."""
    token = request.cookies.get(SESSION_COOKIE)
    if token and not bearer(request) and csrf != csrf_token(token):
        raise ApiError(403, "form token missing or stale: reload the page and try again")


@router.get("/")
def home():
    return RedirectResponse("/review", status_code=303)


@router.get("/review/login")
def login_page(request: Request):
    return _render("login.html", request, who=None, error=None)


@router.post("/review/login")
def login(request: Request, key: str = Form(...), svc: Service = Depends(service)):
    record = authenticate(svc.db, key.strip())
    if record is None or record.role != "reviewer":
        why = "That key is not a reviewer's key." if record else "Unknown or revoked key."
        return _render("login.html", request, status_code=401, who=None, error=why)
    token = open_session(svc.db, record, svc.settings.session_hours)
    response = RedirectResponse("/review", status_code=303)
    response.set_cookie(SESSION_COOKIE, token, max_age=int(svc.settings.session_hours * 3600), httponly=True,
                        samesite="strict", secure=request.url.scheme == "https", path="/")
    return response


@router.post("/review/logout")
def logout(request: Request, csrf: str = Form(""), svc: Service = Depends(service)):
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        _check_csrf(request, csrf)
        close_session(svc.db, token)
    response = RedirectResponse("/review/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/review")
def queue_page(request: Request, status: str = "pending", decided: RowId | None = None,
               who: KeyRecord = Depends(page_reviewer), svc: Service = Depends(service)):
    items = svc.review.queue(status)
    repeat = {s.seller_id for s in seller_reports(svc.db, svc.settings.repeat_after) if s.repeat_infringer}
    done = None
    if decided is not None:
        item = svc.review.item(decided)
        done = {"id": item.id, "detected": item.title, "suspect": item.suspect, "decision": item.decision}
    return _render("queue.html", request, who=who, items=items, status=status, heading=HEADINGS.get(status, status),
                   counts=svc.review.counts(), repeat=repeat, decided=done)


@router.get("/review/{match_id}")
def item_page(request: Request, match_id: RowId, who: KeyRecord = Depends(page_reviewer), svc: Service = Depends(service)):
    item = svc.review.item(match_id)
    seller = None
    if item.listing.seller_id:
        found = seller_reports(svc.db, svc.settings.repeat_after, item.listing.seller_id)
        seller = found[0] if found else None
    return _render("item.html", request, who=who, item=item, seller=seller)


@router.post("/review/{match_id}")
def decide_page(request: Request, match_id: RowId, decision: str = Form(...), note: str = Form(""), csrf: str = Form(""),
                who: KeyRecord = Depends(page_reviewer), svc: Service = Depends(service)):
    _check_csrf(request, csrf)
    svc.review.decide(match_id, decision, who.id, note)
    return RedirectResponse(f"/review?decided={match_id}", status_code=303)


@router.get("/review/{match_id}/evidence.png")
def evidence_page(match_id: RowId, who: KeyRecord = Depends(page_reviewer), svc: Service = Depends(service)):
    return evidence_file(svc, svc.review.item(match_id))

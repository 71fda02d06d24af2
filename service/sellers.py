"""Sellers: licence status of a listing, and the per-seller report (`fp report sellers`, GET /v1/sellers)."""
from __future__ import annotations

import re
from dataclasses import dataclass

from fp.schema import versioned

from .db import ServiceDB
from .jobs import Listing

LICENSED, UNLICENSED, UNKNOWN = "licensed", "unlicensed", "unknown"


def _items(value) -> set[str]:
    if not value:
        return set()
    if isinstance(value, (list, tuple, set)):
        return {str(v).strip() for v in value if str(v).strip()}
    return {s.strip() for s in re.split(r"[;,|]", str(value)) if s.strip()}


def licence_status(listing: Listing, ref_metadata: dict) -> str:
    """'licensed' when the reference names the listing's seller among its `licensed_sellers` or
    its licence among `licence_ids`; 'unlicensed' when it names some and not this one;
    'unknown' when the reference names none (or the listing gives no seller and no licence)."""
    sellers = _items(ref_metadata.get("licensed_sellers"))
    licences = _items(ref_metadata.get("licence_ids"))
    if not (sellers or licences) or not (listing.seller_id or listing.licence_id):
        return UNKNOWN
    if (listing.seller_id and listing.seller_id in sellers) or (listing.licence_id and listing.licence_id in licences):
        return LICENSED
    return UNLICENSED


@dataclass(frozen=True)
class SellerReport:
    seller_id: str
    listings_checked: int  # distinct listings (or suspects without a listing id) matched so far
    listings_matched: int  # of those, how many copy a reference
    confirmed_copies: int  # matches a reviewer confirmed
    rejected: int
    pending: int
    titles: tuple[str, ...]  # titles of confirmed copies
    rights_holders: tuple[str, ...]
    licence: dict  # licence status of matched listings: {"licensed": n, "unlicensed": n, "unknown": n}
    repeat_infringer: bool
    repeat_after: int

    def to_dict(self) -> dict:
        return versioned({**self.__dict__, "titles": list(self.titles), "rights_holders": list(self.rights_holders)})


def seller_reports(db: ServiceDB, repeat_after: int, seller_id: str | None = None) -> list[SellerReport]:
    """One report per seller seen in finished match jobs, worst first (confirmed copies, then id)."""
    where, args = ("AND j.seller_id = ?", [seller_id]) if seller_id else ("", [])
    with db.read() as conn:
        listings = conn.execute(
            "SELECT j.seller_id, COUNT(DISTINCT COALESCE(j.listing_id, j.id)),"
            " COUNT(DISTINCT CASE WHEN j.verdict = 'match' THEN COALESCE(j.listing_id, j.id) END)"
            f" FROM jobs j WHERE j.seller_id IS NOT NULL AND j.status = 'done' AND j.kind IN ('match', 'match_hashes') {where}"
            " GROUP BY j.seller_id", args).fetchall()
        matches = conn.execute(
            "SELECT j.seller_id, COALESCE(j.listing_id, j.id) AS listing, m.title, m.rights_holder, m.licence_status, m.decision"
            f" FROM matches m JOIN jobs j ON j.id = m.job_id WHERE j.seller_id IS NOT NULL {where}", args).fetchall()
    by_seller: dict[str, list] = {}
    for row in matches:
        by_seller.setdefault(row["seller_id"], []).append(row)
    out = []
    for seller, checked, matched in listings:
        rows = by_seller.get(seller, [])
        confirmed = [r for r in rows if r["decision"] == "confirmed"]
        licence = {LICENSED: 0, UNLICENSED: 0, UNKNOWN: 0}
        best: dict[str, str] = {}  # listing -> its licence status (a listing counts once)
        for r in rows:
            if best.get(r["listing"]) != UNLICENSED:
                best[r["listing"]] = r["licence_status"]
        for status in best.values():
            licence[status] = licence.get(status, 0) + 1
        out.append(SellerReport(
            seller_id=seller, listings_checked=checked, listings_matched=matched, confirmed_copies=len(confirmed),
            rejected=sum(r["decision"] == "rejected" for r in rows), pending=sum(r["decision"] is None for r in rows),
            titles=tuple(sorted({r["title"] for r in confirmed})),
            rights_holders=tuple(sorted({r["rights_holder"] for r in confirmed if r["rights_holder"]})),
            licence=licence, repeat_infringer=len(confirmed) >= repeat_after, repeat_after=repeat_after))
    out.sort(key=lambda s: (-s.confirmed_copies, s.seller_id))
    return out

"""The review queue: match rows of finished jobs, their evidence, and reviewers' decisions."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass

from fp.fingerprint.errors import InputError
from fp.schema import versioned

from .db import ServiceDB
from .errors import NotFound
from .jobs import Listing

DECISIONS = {"confirm": "confirmed", "confirmed": "confirmed", "reject": "rejected", "rejected": "rejected"}


@dataclass(frozen=True)
class ReviewItem:
    id: int
    job_id: str
    rank: int
    video_id: int
    title: str  # the detected title
    rights_holder: str | None
    licence_status: str
    flags: tuple[str, ...]
    confidence: float
    chance: float
    match: dict  # Match.to_dict(with_pairs=True)
    evidence: str | None  # PNG path relative to the service folder
    decision: str | None
    decided_by: str | None
    decided_at: float | None
    note: str | None
    suspect: str  # the suspect as the client named it
    sha256: str | None
    listing: Listing
    library_generation: int | None
    fp_version: str | None
    matched_at: float | None

    def to_dict(self, with_pairs: bool = False) -> dict:
        match = dict(self.match)
        if not with_pairs:
            match.pop("pairs", None)
        return versioned({
            "id": self.id, "job_id": self.job_id, "rank": self.rank, "suspect": self.suspect, "sha256": self.sha256,
            "listing": self.listing.to_dict(), "claimed_title": self.listing.claimed_title, "detected_title": self.title,
            "video_id": self.video_id, "rights_holder": self.rights_holder, "licence_status": self.licence_status,
            "flags": list(self.flags), "confidence": self.confidence, "chance": self.chance, "match": match,
            "has_evidence": bool(self.evidence), "decision": self.decision, "decided_by": self.decided_by,
            "decided_at": self.decided_at, "note": self.note, "library_generation": self.library_generation,
            "fp_version": self.fp_version, "matched_at": self.matched_at,
        })


_SELECT = ("SELECT m.*, j.name AS suspect, j.sha256, j.listing_id, j.seller_id, j.claimed_title, j.licence_id,"
           " j.library_generation, j.fp_version, j.finished_at AS matched_at FROM matches m JOIN jobs j ON j.id = m.job_id")


def _item(row) -> ReviewItem:
    d = dict(row)
    listing = Listing(d.pop("listing_id"), d.pop("seller_id"), d.pop("claimed_title"), d.pop("licence_id"))
    d["flags"] = tuple(json.loads(d["flags"]))
    d["match"] = json.loads(d["match"])
    d["suspect"] = d["suspect"] or d["job_id"]
    return ReviewItem(listing=listing, **d)


class ReviewStore:
    def __init__(self, db: ServiceDB):
        self.db = db

    def queue(self, status: str = "pending", limit: int = 200) -> list[ReviewItem]:
        """Matches awaiting a decision (oldest first), or decided ones (newest first)."""
        if status == "pending":
            where, order = "m.decision IS NULL", "m.id"
        elif status in ("confirmed", "rejected"):
            where, order = f"m.decision = '{status}'", "m.decided_at DESC"
        elif status == "all":
            where, order = "1", "m.id"
        else:
            raise InputError(f"unknown review status {status!r} (pending, confirmed, rejected, all)")
        with self.db.read() as conn:
            rows = conn.execute(f"{_SELECT} WHERE {where} ORDER BY {order} LIMIT ?", (limit,)).fetchall()
        return [_item(r) for r in rows]

    def item(self, match_id: int) -> ReviewItem:
        with self.db.read() as conn:
            row = conn.execute(f"{_SELECT} WHERE m.id = ?", (match_id,)).fetchone()
        if row is None:
            raise NotFound(f"no match {match_id} in the review queue")
        return _item(row)

    def matches_of(self, job_id: str) -> list[ReviewItem]:
        with self.db.read() as conn:
            rows = conn.execute(f"{_SELECT} WHERE m.job_id = ? ORDER BY m.rank", (job_id,)).fetchall()
        return [_item(r) for r in rows]

    def counts(self) -> dict[str, int]:
        with self.db.read() as conn:
            rows = conn.execute("SELECT COALESCE(decision, 'pending'), COUNT(*) FROM matches GROUP BY 1").fetchall()
        return {"pending": 0, "confirmed": 0, "rejected": 0, **{k: n for k, n in rows}}

    def decide(self, match_id: int, decision: str, key_id: str | None, note: str | None = None) -> ReviewItem:
        """Store a reviewer's decision (the latest one counts; every one is kept in `decisions`)."""
        value = DECISIONS.get((decision or "").strip().lower())
        if value is None:
            raise InputError(f"decision must be 'confirm' or 'reject', not {decision!r}")
        note = (note or "").strip()[:2000] or None
        now = time.time()
        with self.db.write() as conn:
            if conn.execute("UPDATE matches SET decision = ?, decided_by = ?, decided_at = ?, note = ? WHERE id = ?",
                            (value, key_id, now, note, match_id)).rowcount == 0:
                raise NotFound(f"no match {match_id} in the review queue")
            conn.execute("INSERT INTO decisions(match_id, decision, key_id, note, decided_at) VALUES (?, ?, ?, ?, ?)",
                         (match_id, value, key_id, note, now))
        return self.item(match_id)

    def set_evidence(self, match_id: int, path: str) -> None:
        with self.db.write() as conn:
            conn.execute("UPDATE matches SET evidence = ? WHERE id = ?", (path, match_id))

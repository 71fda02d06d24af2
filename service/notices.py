"""Takedown notices: every confirmed copy, grouped per rights holder, as JSON, CSV and one
HTML page per notice with its evidence image (`fp report notices`)."""
from __future__ import annotations

import csv
import errno
import hashlib
import json
import re
import shutil
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from fp.fingerprint.errors import FpError
from fp.schema import versioned

from .db import ServiceDB
from .review import ReviewItem, ReviewStore
from .templates import environment

UNKNOWN_HOLDER = "(no rights holder on record)"
CSV_FIELDS = ("notice_id", "rights_holder", "title", "suspect", "sha256", "listing_id", "seller_id", "claimed_title",
              "licence_id", "licence_status", "suspect_start", "suspect_end", "reference_start", "reference_end",
              "confidence", "chance", "mirrored", "speed", "confirmed_at", "fp_version", "library_generation", "evidence")


@dataclass(frozen=True)
class Notice:
    notice_id: str
    rights_holder: str
    title: str
    video_id: int
    suspect: str
    sha256: str | None
    listing_id: str | None
    seller_id: str | None
    claimed_title: str | None
    licence_id: str | None
    licence_status: str
    suspect_span: tuple[float, float]
    reference_span: tuple[float, float]
    confidence: float
    chance: float
    mirrored: bool
    speed: float
    matched_frames: int
    matched_at: float | None
    confirmed_at: float | None
    reviewer_note: str | None
    fp_version: str | None
    library_generation: int | None
    evidence: str | None  # the evidence image's file name beside the notice (None: none drawn)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["suspect_span"], d["reference_span"] = list(self.suspect_span), list(self.reference_span)
        return d

    def csv_row(self) -> list:
        d = self.to_dict()
        d.update(suspect_start=self.suspect_span[0], suspect_end=self.suspect_span[1],
                 reference_start=self.reference_span[0], reference_end=self.reference_span[1])
        return ["" if d.get(k) is None else d[k] for k in CSV_FIELDS]


@dataclass(frozen=True)
class NoticeFolder:
    rights_holder: str
    folder: str
    notices: int
    files: tuple[str, ...]

    def to_dict(self) -> dict:
        return {**asdict(self), "files": list(self.files)}


def notice_for(item: ReviewItem) -> Notice:
    m = item.match
    return Notice(
        notice_id=f"{item.job_id[:12]}-{item.rank}", rights_holder=item.rights_holder or UNKNOWN_HOLDER, title=item.title,
        video_id=item.video_id, suspect=item.suspect, sha256=item.sha256, listing_id=item.listing.listing_id,
        seller_id=item.listing.seller_id, claimed_title=item.listing.claimed_title, licence_id=item.listing.licence_id,
        licence_status=item.licence_status, suspect_span=tuple(m["query_span"]), reference_span=tuple(m["ref_span"]),
        confidence=item.confidence, chance=item.chance, mirrored=bool(m.get("mirrored")), speed=float(m.get("speed", 1.0)),
        matched_frames=int(m.get("matched_frames", 0)), matched_at=item.matched_at, confirmed_at=item.decided_at,
        reviewer_note=item.note, fp_version=item.fp_version, library_generation=item.library_generation,
        evidence=None)


def confirmed_notices(db: ServiceDB) -> dict[str, list[tuple[Notice, ReviewItem]]]:
    """Confirmed matches as notices, grouped by rights holder (sorted)."""
    groups: dict[str, list[tuple[Notice, ReviewItem]]] = {}
    for item in sorted(ReviewStore(db).queue("confirmed", limit=1_000_000), key=lambda i: i.id):
        notice = notice_for(item)
        groups.setdefault(notice.rights_holder, []).append((notice, item))
    return dict(sorted(groups.items()))


def holder_folders(names) -> dict[str, str]:
    """A folder name per rights holder: its ASCII letters, digits and separators ("Pond
    Pictures" -> Pond-Pictures), with a short digest of the whole name when letters were dropped
    (non-Latin names) or two holders would share a folder: one holder's notices never overwrite
    another's."""
    def slug(name: str) -> str:
        return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-._")[:60]

    def tagged(name: str) -> str:
        return f"{slug(name) or 'holder'}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"

    plain = {n: slug(n) if n.isascii() and slug(n) else tagged(n) for n in names}
    uses = Counter(plain.values())
    return {n: tagged(n) if uses[f] > 1 else f for n, f in plain.items()}


def write_notices(db: ServiceDB, service_dir: Path, out_dir: str | Path) -> list[NoticeFolder]:
    """Write `<out>/<rights holder>/notices.json|csv` and `<notice id>.html|.png` per notice."""
    out = Path(out_dir)
    env = environment()
    page = env.get_template("notice.html")
    written = []
    try:
        groups = confirmed_notices(db)
        folders = holder_folders(groups)
        for holder, pairs in groups.items():
            folder = out / folders[holder]
            folder.mkdir(parents=True, exist_ok=True)
            notices = []
            files = []
            for notice, item in pairs:
                if item.evidence and (service_dir / item.evidence).is_file():
                    image = f"{notice.notice_id}.png"
                    shutil.copyfile(service_dir / item.evidence, folder / image)
                    notice = Notice(**{**notice.__dict__, "evidence": image})
                    files.append(image)
                html_name = f"{notice.notice_id}.html"
                (folder / html_name).write_text(page.render(notice=notice, item=item), encoding="utf-8")
                files.append(html_name)
                notices.append(notice)
            (folder / "notices.json").write_text(json.dumps(versioned(
                {"rights_holder": holder, "notices": [n.to_dict() for n in notices]}), indent=2, ensure_ascii=False), encoding="utf-8")
            with open(folder / "notices.csv", "w", newline="", encoding="utf-8") as fh:
                writer = csv.writer(fh)
                writer.writerow(CSV_FIELDS)
                writer.writerows(_safe_cells(n.csv_row()) for n in notices)
            written.append(NoticeFolder(holder, str(folder), len(notices), ("notices.json", "notices.csv", *files)))
    except OSError as exc:
        raise FpError(_cannot_write(exc, out)) from exc
    return written


def _cannot_write(exc: OSError, out: Path) -> str:
    """One line naming the path in the way (not only --out) and why."""
    path = Path(exc.filename) if exc.filename else out
    if exc.errno in (errno.EEXIST, errno.ENOTDIR):  # mkdir met a file: the first one on the way down
        for part in reversed((path, *path.parents)):
            if (part.exists() or part.is_symlink()) and not part.is_dir():
                return f"{part}: cannot write notices: a file is in the way, where a folder is needed"
    if exc.errno == errno.EISDIR:
        return f"{path}: cannot write notices: a folder is in the way, where a notice file goes"
    return f"{path}: cannot write notices ({exc.strerror or exc})"


def _safe_cells(row: list) -> list:
    """Cells a spreadsheet would run as formulas get a leading apostrophe (OWASP CSV injection)."""
    return [f"'{c}" if isinstance(c, str) and c[:1] in ("=", "+", "-", "@", "\t", "\r") else c for c in row]

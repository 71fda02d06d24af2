"""API keys with roles, stored hashed, and review-page sessions made from them.

A key reads `fpk_<id>_<secret>`: the id finds the row, the sha256 of the whole key must equal
the stored hash (compared in constant time). The secret is 256 random bits, so a plain
sha256 is enough: there is nothing to guess and the database never holds a usable key.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import asdict, dataclass

from fp.fingerprint.errors import InputError

from .db import ServiceDB

ROLES = ("studio", "platform", "reviewer")  # references; matching; decisions
PREFIX = "fpk"


@dataclass(frozen=True)
class KeyRecord:
    id: str
    role: str
    label: str | None
    created_at: float
    revoked_at: float | None = None
    rights_holder: str | None = None  # a studio key's own titles and notices only (None: every studio's)

    def to_dict(self) -> dict:
        return asdict(self)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def add_key(db: ServiceDB, role: str, label: str | None = None, rights_holder: str | None = None) -> tuple[KeyRecord, str]:
    """A new key for `role`: its record and the key itself (shown once, never stored). A studio
    key given a `rights_holder` sees, adds, edits and removes that holder's references only."""
    if role not in ROLES:
        raise InputError(f"unknown role {role!r} (roles: {', '.join(ROLES)})")
    if rights_holder is not None and (role != "studio" or not rights_holder.strip()):
        raise InputError("a rights holder is given to studio keys only, and cannot be empty")
    key_id = secrets.token_hex(4)
    key = f"{PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
    record = KeyRecord(key_id, role, label, time.time(), rights_holder=rights_holder and rights_holder.strip())
    with db.write() as conn:
        conn.execute("INSERT INTO keys(id, role, hash, label, created_at, rights_holder) VALUES (?, ?, ?, ?, ?, ?)",
                     (key_id, role, _digest(key), label, record.created_at, record.rights_holder))
    return record, key


def list_keys(db: ServiceDB) -> list[KeyRecord]:
    with db.read() as conn:
        rows = conn.execute("SELECT id, role, label, created_at, revoked_at, rights_holder FROM keys ORDER BY created_at").fetchall()
    return [KeyRecord(**dict(r)) for r in rows]


def revoke_key(db: ServiceDB, key_id: str) -> KeyRecord:
    with db.write() as conn:
        if conn.execute("UPDATE keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (time.time(), key_id)).rowcount == 0:
            raise InputError(f"no active key with id {key_id!r}")
        conn.execute("DELETE FROM sessions WHERE key_id = ?", (key_id,))
        row = conn.execute("SELECT id, role, label, created_at, revoked_at, rights_holder FROM keys WHERE id = ?", (key_id,)).fetchone()
    return KeyRecord(**dict(row))


def authenticate(db: ServiceDB, key: str) -> KeyRecord | None:
    """The active key record for `key`, or None."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX:
        return None
    with db.read() as conn:
        row = conn.execute("SELECT id, role, label, created_at, revoked_at, rights_holder, hash FROM keys WHERE id = ?",
                           (parts[1],)).fetchone()
    if row is None or row["revoked_at"] is not None or not hmac.compare_digest(row["hash"], _digest(key)):
        return None
    return KeyRecord(row["id"], row["role"], row["label"], row["created_at"], rights_holder=row["rights_holder"])


def open_session(db: ServiceDB, record: KeyRecord, hours: float) -> str:
    """A session token for the review page (a cookie); only its hash is stored."""
    token = secrets.token_urlsafe(32)
    with db.write() as conn:
        conn.execute("DELETE FROM sessions WHERE expires_at < ?", (time.time(),))
        conn.execute("INSERT INTO sessions(hash, key_id, expires_at) VALUES (?, ?, ?)",
                     (_digest(token), record.id, time.time() + hours * 3600))
    return token


def session_key(db: ServiceDB, token: str) -> KeyRecord | None:
    with db.read() as conn:
        row = conn.execute(
            "SELECT k.id, k.role, k.label, k.created_at, k.rights_holder FROM sessions s JOIN keys k ON k.id = s.key_id"
            " WHERE s.hash = ? AND s.expires_at > ? AND k.revoked_at IS NULL", (_digest(token), time.time())).fetchone()
    return KeyRecord(**dict(row)) if row else None


def close_session(db: ServiceDB, token: str) -> None:
    with db.write() as conn:
        conn.execute("DELETE FROM sessions WHERE hash = ?", (_digest(token),))


def csrf_token(token: str) -> str:
    """The form token of a session (a page's POST must carry it besides the cookie)."""
    return hmac.new(token.encode(), b"fp-review-form", hashlib.sha256).hexdigest()[:32]

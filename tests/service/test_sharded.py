"""fp serve over a sharded library (`fp library shard`): matching asks every shard, reference
edits reach the shard holding the video, and a server follows a re-shard made while it runs."""
from __future__ import annotations

import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from fp.index import writelock
from fp.index.library import Library, content_hash
from fp.index.shards import ShardedLibrary, open_library, reshard, shard_of
from fp.service import worker

from ..conftest import clip, clips_folder, reshard_held
from .conftest import LiveServer, free_port, fp_serve, make_key, upload, wait_healthy, wait_job
from .test_references import titles

# With 2 shards, friday.mp4 lives in shard 0, elf.mp4 and frog.mp4 in shard 1, cockatoo.mp4 in shard 0.
IN_SHARD = {"friday.mp4": 0, "elf.mp4": 1, "frog.mp4": 1, "cockatoo.mp4": 0}


def test_the_shards_are_what_these_tests_assume():
    assert {name: shard_of(content_hash(clip(name)), 2) for name in IN_SHARD} == IN_SHARD


def matched(client, name: str) -> list[str]:
    return titles(wait_job(client, upload(client, clip(name)), timeout=120))


def add(client, path: str, title: str) -> int:
    r = client.post("/v1/references", json={"path": path, "title": title})
    assert r.status_code == 202, r.text
    job = wait_job(client, r.json()["id"], timeout=120)
    assert job["status"] == "done" and job["result"]["status"] == "indexed", job
    return job["result"]["video_id"]


def shard_holding(library, video_id: int) -> int | None:
    with open_library(library, create=False, readonly=True) as lib:
        return lib.owner(video_id) if lib.n_shards > 1 else 0


@contextmanager
def fp_serve_clients(library, settings, *args):
    """`fp serve` as its own process on a free loopback port; a platform and a studio client."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = fp_serve(library, port, "--no-evidence", *args)
    try:
        wait_healthy(url, proc=proc)
        keys = {role: make_key(settings, role) for role in ("platform", "studio")}
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {keys['platform']}"}, timeout=60) as platform, \
                httpx.Client(base_url=url, headers={"Authorization": f"Bearer {keys['studio']}"}, timeout=60) as studio:
            yield platform, studio
    finally:
        proc.terminate()
        proc.wait(30)


def fp_library_shard(library, n: int) -> None:
    """`fp library shard --shards N` as its own process, as an operator runs it beside the server."""
    done = subprocess.run([sys.executable, "-m", "fp.cli.main", "library", "shard", "--shards", str(n), "--library", str(library),
                           "--quiet"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr


def test_fp_serve_serves_a_library_of_two_shards(library, settings_for, tmp_path):
    """`fp serve` refused a sharded library (it opened one plain Library): now every shard is
    matched, an added reference goes to its shard, and edits reach the second shard."""
    reshard(library, 2)
    root = clips_folder(tmp_path / "studio", ["frog.mp4"])
    with fp_serve_clients(library, settings_for(library), "--root", str(root)) as (platform, studio):
        refs = {r["title"]: r["id"] for r in studio.get("/v1/references").json()["references"]}
        assert sorted(refs) == ["Big Buck Bunny", "Elf", "Friday"]
        assert matched(platform, "friday.mp4") == ["Friday"]  # shard 0
        assert matched(platform, "elf.mp4") == ["Elf"]  # shard 1

        frog_id = add(studio, "frog.mp4", "The Frog")
        assert shard_holding(library, frog_id) == IN_SHARD["frog.mp4"]
        assert matched(platform, "frog.mp4") == ["The Frog"]

        elf = refs["Elf"]
        assert shard_holding(library, elf) == 1
        assert studio.patch(f"/v1/references/{elf}", json={"enabled": False}).json()["enabled"] is False
        assert matched(platform, "elf.mp4") == []
        assert studio.patch(f"/v1/references/{elf}", json={"metadata": {"rights_holder": "Elves"}}).status_code == 200
        assert studio.patch(f"/v1/references/{elf}", json={"enabled": True}).json()["metadata"]["rights_holder"] == "Elves"
        assert matched(platform, "elf.mp4") == ["Elf"]
        assert studio.delete(f"/v1/references/{elf}").status_code == 200
        assert studio.get(f"/v1/references/{elf}").status_code == 404
        assert matched(platform, "elf.mp4") == []
        assert platform.get("/healthz").json()["library"]["videos"] == 3
    with open_library(library, create=False, readonly=True) as lib:
        assert lib.n_shards == 2 and lib.verify() == []
        assert sorted(v.title for v in lib.videos()) == ["Big Buck Bunny", "Friday", "The Frog"]


def test_a_running_server_follows_a_reshard_without_restart(library, settings_for, tmp_path):
    """A server kept matching the layout it had opened, and its reference adds failed ("re-sharded
    by another fp process") until a restart. It reopens the library when the layout changed."""
    root = clips_folder(tmp_path / "studio", ["frog.mp4", "cockatoo.mp4"])
    with LiveServer(settings_for(library, roots=(root,))) as server, \
            server.client("studio") as studio, server.client("platform") as platform:
        assert matched(platform, "friday.mp4") == ["Friday"]  # the one-shard library is loaded

        fp_library_shard(library, 2)
        assert len(studio.get("/v1/references").json()["references"]) == 3
        assert matched(platform, "friday.mp4") == ["Friday"]  # shard 0
        assert matched(platform, "elf.mp4") == ["Elf"]  # shard 1
        frog_id = add(studio, "frog.mp4", "The Frog")
        assert shard_holding(library, frog_id) == IN_SHARD["frog.mp4"]
        assert matched(platform, "frog.mp4") == ["The Frog"]

        fp_library_shard(library, 1)  # and back to one library
        assert matched(platform, "frog.mp4") == ["The Frog"]
        assert studio.patch(f"/v1/references/{frog_id}", json={"enabled": False}).status_code == 200
        assert matched(platform, "frog.mp4") == []
        add(studio, "cockatoo.mp4", "Cockatoo")
        assert matched(platform, "cockatoo.mp4") == ["Cockatoo"]
        assert server.client().get("/healthz").json()["library"]["videos"] == 5
    with open_library(library, create=False, readonly=True) as lib:
        assert getattr(lib, "n_shards", 1) == 1 and lib.verify() == []
        assert len(lib.videos()) == 5


def test_job_generations_never_go_back_when_the_library_is_resharded(library, settings_for):
    """A job records the library generation it ran against; over a re-shard 1 -> 2 -> 1 of a
    three-video library it read 3, then 2, then 1: time going backwards for a client comparing them."""
    with LiveServer(settings_for(library)) as server, server.client("platform") as platform:
        generations = [wait_job(platform, upload(platform, clip("friday.mp4")), timeout=120)["library_generation"]]
        for n in (2, 1):
            fp_library_shard(library, n)
            generations.append(wait_job(platform, upload(platform, clip("friday.mp4")), timeout=120)["library_generation"])
        assert all(b > a for a, b in zip(generations, generations[1:])), generations
        assert server.client().get("/healthz").json()["library"]["generation"] == generations[-1]


def test_a_reference_edit_that_outwaits_a_reshard_answers_503(library, settings_for, monkeypatch):
    """An edit that waited past the write lock's timeout while a re-shard ran answered 500
    ("internal error"); it answers 503 with Retry-After and says why, and writes nothing."""
    monkeypatch.setattr(writelock, "WAIT", 0.5)
    with LiveServer(settings_for(library)) as server, server.client("studio") as studio:
        before = studio.get("/v1/references").json()["references"]
        elf = next(r["id"] for r in before if r["title"] == "Elf")
        holder = reshard_held(library, 3.0)
        try:
            answers = [studio.patch(f"/v1/references/{elf}", json={"enabled": False, "metadata": {"rights_holder": "Elves"}}),
                       studio.delete(f"/v1/references/{elf}")]
        finally:
            holder.join()
        for r in answers:
            assert r.status_code == 503, r.text
            assert int(r.headers["Retry-After"]) > 0
            assert list(r.json()) == ["error"] and "\n" not in r.json()["error"] and "re-sharded" in r.json()["error"]
        assert studio.get("/v1/references").json()["references"] == before  # nothing half-written
        r = studio.patch(f"/v1/references/{elf}", json={"enabled": False})  # the re-shard over: the edit goes in
        assert r.status_code == 200 and r.json()["enabled"] is False


def test_a_reference_add_that_outwaits_a_reshard_goes_back_to_the_queue(library, settings_for, tmp_path, monkeypatch):
    """An add whose worker waited past the write lock's timeout while a re-shard ran failed for
    good ("being re-sharded"): what the studio sent was lost. It goes back to the queue, matching
    goes on meanwhile, and it is indexed once the re-shard is over (its attempts not counted up)."""
    monkeypatch.setattr(writelock, "WAIT", 0.5)
    monkeypatch.setattr(worker, "BUSY_RETRY_SECONDS", 0.5)
    root = clips_folder(tmp_path / "studio", ["frog.mp4"])
    with LiveServer(settings_for(library, roots=(root,))) as server, \
            server.client("studio") as studio, server.client("platform") as platform:
        holder = reshard_held(library, 6.0)
        try:
            sent = time.time()
            r = studio.post("/v1/references", json={"path": "frog.mp4", "title": "The Frog"})
            assert r.status_code == 202, r.text
            assert matched(platform, "friday.mp4") == ["Friday"]  # the add waits, matches do not
            assert holder.is_alive()
            assert studio.get(f"/v1/jobs/{r.json()['id']}").json()["status"] in ("queued", "running")
            waiting = _waiting(studio, r.json()["id"], holder)  # a client sees why it waits
            assert "re-shard" in waiting["reason"] and waiting["since"] >= sent, waiting
        finally:
            holder.join()
        job = wait_job(studio, r.json()["id"], timeout=120)
        assert job["status"] == "done" and job["result"]["status"] == "indexed", job
        assert job["attempts"] == 1
        assert matched(platform, "frog.mp4") == ["The Frog"]


def _waiting(client, job_id: str, holder) -> dict:
    """The job's `waiting` while the re-shard holds it back (it is claimed and put back in turn)."""
    while holder.is_alive():
        job = client.get(f"/v1/jobs/{job_id}").json()
        if job["status"] == "queued" and "waiting" in job:
            return job["waiting"]
        time.sleep(0.05)
    raise AssertionError("the job never showed why it waited")


def test_a_reference_add_held_up_by_a_reshard_too_long_fails_naming_the_library(library, settings_for, tmp_path,
                                                                               monkeypatch):
    """Retried for `reshard_patience` seconds from the first wait, no longer: then it fails saying
    which library is being re-sharded and that it was not added."""
    monkeypatch.setattr(writelock, "WAIT", 0.3)
    monkeypatch.setattr(worker, "BUSY_RETRY_SECONDS", 0.3)
    root = clips_folder(tmp_path / "studio", ["frog.mp4"])
    with LiveServer(settings_for(library, roots=(root,), reshard_patience=1.5)) as server, server.client("studio") as studio:
        holder = reshard_held(library, 6.0)
        try:
            r = studio.post("/v1/references", json={"path": "frog.mp4", "title": "The Frog"})
            job = wait_job(studio, r.json()["id"], timeout=60)
            assert holder.is_alive()
        finally:
            holder.join()
        assert job["status"] == "failed", job
        assert job["finished_at"] - job["created_at"] >= 1.5  # retried meanwhile
        assert str(library) in job["error"] and "re-shard" in job["error"] and "not added" in job["error"], job["error"]
        assert len(studio.get("/v1/references").json()["references"]) == 3


@pytest.mark.parametrize("shards, to", [(1, 2), (2, 1)])
@pytest.mark.parametrize("what", ["list", "get"])
def test_a_reference_read_that_meets_a_reshard_switching_layouts_reads_the_new_one(library, settings_for, monkeypatch,
                                                                                  shards, to, what):
    """A list or get that read the layout just before a re-shard replaced it, then opened its
    files, answered 500 (a shard missing, or 'a sharded library'). A real `fp library shard`
    is run at that moment (a hook on opening to read); the read is retried on the new layout."""
    if shards > 1:
        reshard(library, shards)
    opened = ShardedLibrary if shards > 1 else Library  # what a reader opens after reading the layout
    real_init, switched = opened.__init__, []

    def reshard_first(self, *args, **kw):
        if kw.get("readonly") and not switched:  # the worker opens to write; only the reader's open
            switched.append(True)
            fp_library_shard(library, to)
        real_init(self, *args, **kw)

    with LiveServer(settings_for(library)) as server, server.client("studio") as studio:
        monkeypatch.setattr(opened, "__init__", reshard_first)
        r = studio.get("/v1/references") if what == "list" else studio.get("/v1/references/2")
        assert switched == [True]
        assert r.status_code == 200, r.text
        if what == "list":
            assert sorted(ref["title"] for ref in r.json()["references"]) == ["Big Buck Bunny", "Elf", "Friday"]
        else:
            assert r.json()["id"] == 2 and r.json()["title"] == "Friday"
    with open_library(library, create=False, readonly=True) as lib:
        assert getattr(lib, "n_shards", 1) == to and lib.verify() == []


def test_a_reference_read_that_meets_two_reshards_answers_503(library, settings_for, monkeypatch):
    """The retry met a second re-shard switching layouts: 503 with Retry-After, never 500."""
    real = {cls: cls.__init__ for cls in (Library, ShardedLibrary)}
    switched = []

    def hook(cls, to, is_root):
        def reshard_first(self, *args, **kw):
            if kw.get("readonly") and is_root(args) and len(switched) < 2:
                switched.append(to)
                fp_library_shard(library, to)
            real[cls](self, *args, **kw)
        return reshard_first

    with LiveServer(settings_for(library)) as server, server.client("studio") as studio:
        monkeypatch.setattr(Library, "__init__", hook(Library, 2, lambda args: Path(args[0]) == library))  # not a shard
        monkeypatch.setattr(ShardedLibrary, "__init__", hook(ShardedLibrary, 1, lambda args: True))
        r = studio.get("/v1/references")
        assert switched == [2, 1]
        assert r.status_code == 503 and int(r.headers["Retry-After"]) > 0, r.text
        assert "re-sharded" in r.json()["error"] and str(library) not in r.json()["error"]
        assert len(studio.get("/v1/references").json()["references"]) == 3  # once the layout holds still

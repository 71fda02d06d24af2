"""What one running service holds: settings, its database, the job store, the worker, metrics."""
from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from .db import ServiceDB
from .jobs import JobStore
from .metrics import Metrics
from .review import ReviewStore
from .settings import ServiceSettings
from .spool import Spool
from .worker import Worker


@dataclass
class Service:
    settings: ServiceSettings
    db: ServiceDB
    jobs: JobStore
    review: ReviewStore
    worker: Worker
    metrics: Metrics
    spool: Spool  # this server's part of the upload spool

    @classmethod
    def open(cls, settings: ServiceSettings) -> "Service":
        db = ServiceDB(settings.db_path)
        jobs = JobStore(db)
        holder: dict = {}
        metrics = Metrics(jobs, lambda: holder["worker"].library_stats)
        spool = Spool(settings.spool_dir)
        worker = Worker(settings, jobs, metrics, owner=lambda: spool.name,  # its locked folder: alive while it runs
                        running=spool.running, sweep=lambda: spool.sweep_gone(jobs.spool_folders))
        holder["worker"] = worker
        for folder in (settings.spool_dir, settings.evidence_dir):
            folder.mkdir(parents=True, exist_ok=True)
        return cls(settings, db, jobs, ReviewStore(db), worker, metrics, spool)


def service(request: Request) -> Service:
    """FastAPI dependency: the app's Service."""
    return request.app.state.fp

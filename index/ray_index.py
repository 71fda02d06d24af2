"""`fp index --ray`: fingerprint files as Ray tasks across a cluster; write the library here.

Decoding is the work and it is stateless, so each file is one Ray task. The library is written
only by this process (the driver), one transaction per video into the video's shard, so kill
safety, idempotency and resuming are those of `index_paths`. Videos are committed in input
order (results wait in a bounded window), so the same files give the same video ids on any
cluster as `fp index --workers 1` does here.

A task whose worker process dies (a decoder crash, a lost node) is run once more by Ray
(`max_retries=1`); if that dies too, only its file fails.
"""
from __future__ import annotations

import logging
from collections import deque
from typing import Callable

from .indexer import _fingerprint_job
from .ray_cluster import cluster_cpus, import_ray

log = logging.getLogger(__name__)

RETRIES = 1
WINDOW_PER_CPU = 4  # files in flight or waiting for their turn to be committed, per cluster CPU
DIED = "the worker fingerprinting this file died twice (Ray ran it once more)"


def ray_runner(job: Callable | None = None, window: int | None = None) -> Callable:
    """An `index_paths(runner=...)` that fingerprints each file as a Ray task on the connected
    cluster. `job(path, config) -> (path, fingerprint | None, reason | None)` is
    indexer._fingerprint_job unless given (tests give one that kills its worker)."""

    def run(paths: list[str], config, add: Callable) -> None:
        ray = import_ray()
        task = ray.remote(num_cpus=1, max_retries=RETRIES)(job or _fingerprint_job)
        limit = window or WINDOW_PER_CPU * cluster_cpus(ray)
        queue = deque(paths)
        in_flight: deque[tuple[str, object]] = deque()  # input order
        try:
            while queue or in_flight:
                while queue and len(in_flight) < limit:
                    path = queue.popleft()
                    in_flight.append((path, task.remote(path, config)))
                path, ref = in_flight.popleft()
                add(*_outcome(ray, path, ref))
        except BaseException:
            for _, ref in in_flight:
                ray.cancel(ref, force=True)
            raise

    return run


def _outcome(ray, path: str, ref) -> tuple:
    try:
        return ray.get(ref)
    except ray.exceptions.WorkerCrashedError:
        log.warning("%s: %s", path, DIED)
        return path, None, DIED
    except ray.exceptions.RayError as exc:  # lost node, out of memory, ...: this file fails, the batch goes on
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return path, None, f"Ray could not fingerprint this file ({type(exc).__name__}: {reason})"

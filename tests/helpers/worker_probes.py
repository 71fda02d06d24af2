"""Jobs and initializers that tests hand to fp's worker pools in place of the real ones.

Workers start from a forkserver (fp.index.pools), so what they run must be importable by name
there: the `worker_probes` fixture puts this folder on sys.path, which workers inherit.
"""
import os
import signal

from fp.index import indexer, match_batch

_fingerprint_job = indexer._fingerprint_job  # the real jobs, taken before a test patches them
_match_job = match_batch._match_job
_init_worker = match_batch._init_worker


def _crash_on(path) -> None:
    """Kill this worker on files named crash*, as a decoder segfault would."""
    if os.path.basename(str(path)).startswith("crash"):
        os.kill(os.getpid(), signal.SIGKILL)


def crashing_fingerprint_job(path, config):
    _crash_on(path)
    return _fingerprint_job(path, config)


def crashing_match_job(job, evidence_dir):
    _crash_on(job.query)
    return _match_job(job, evidence_dir)


def counting_init(opened, *setup):
    """The real initializer, after writing this worker's pid to `opened`."""
    with open(opened, "a") as fh:
        fh.write(f"{os.getpid()}\n")
    _init_worker(*setup)

"""Worker pools whose processes start from a clean interpreter, not forked from the caller.

A forked worker inherits whatever threads and locks the caller holds: a Ray driver's gRPC
threads (its children crash in `_raylet.so`), an OpenMP pool after a FAISS search. Workers come
from a forkserver instead, which imports fp once and forks each worker from that clean state.
"""
from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

PRELOAD = ["fp.fingerprint.pipeline", "fp.index.matcher"]  # imported once, in the server


def process_pool(max_workers: int, initializer=None, initargs=()) -> ProcessPoolExecutor:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return ProcessPoolExecutor(max_workers=max_workers, mp_context=context, initializer=initializer, initargs=initargs)

"""Run one benchmark step in a fresh Python process and measure its peak memory.

A new interpreter (not a fork) holds only what the step loads, so its peak resident set
(VmHWM in /proc/self/status) is the step's own: the build and match peaks of a benchmark are
measured separately, each including the interpreter and imports, as a real `fp` process would.
A watchdog in the parent stops a child whose resident set passes a limit (a whole-film match
can otherwise take the shared machine's memory) or that runs past a time limit.

Protocol: the child reads {"target": "module:function", "kwargs": {...}, "threads": n,
"result": path} as JSON on stdin, calls `function(**kwargs, report=report)` and writes
{"ok", "value", "peak_rss_mb", "baseline_rss_mb", "error"} to the result path. `report(dict)`
sends a progress message to the parent (one `FPCHILD {json}` line on stderr).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from fp.benchmarks.truth import BenchmarkError

MARK = "FPCHILD "
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")


@dataclass(frozen=True)
class ChildOutcome:
    ok: bool
    value: Any = None  # what the step returned (JSON), when ok
    peak_rss_mb: float = 0.0  # the child's VmHWM; when stopped, the largest VmRSS the watchdog saw
    baseline_rss_mb: float = 0.0  # resident set after imports, before the step ran
    elapsed_s: float = 0.0
    cpu_s: float = 0.0  # user + system CPU seconds of the child (all its threads)
    error: str | None = None  # the step's exception, or why the watchdog stopped it
    stopped: bool = False  # stopped by the watchdog (memory or time limit)
    log_tail: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict:
        return {"ok": self.ok, "peak_rss_mb": round(self.peak_rss_mb, 1), "baseline_rss_mb": round(self.baseline_rss_mb, 1),
                "elapsed_s": round(self.elapsed_s, 3), "cpu_s": round(self.cpu_s, 3), "error": self.error, "stopped": self.stopped}


def rss_mb(pid: int | str = "self", key: str = "VmRSS") -> float:
    """VmRSS (current) or VmHWM (peak) of a process in MB (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def run_child(target: str, kwargs: dict, *, threads: int | None = None, mem_limit_mb: float | None = None,
              time_limit_s: float | None = None, on_report: Callable[[dict], None] | None = None,
              nice: int = 0) -> ChildOutcome:
    """Run `target` ("package.module:function") in a new process; see the module docstring."""
    env = dict(os.environ)
    env["OMP_WAIT_POLICY"] = "PASSIVE"  # spinning OpenMP threads steal the shared cores (and slow the step 10x)
    if threads:
        env.update({name: str(threads) for name in THREAD_VARS})
    with tempfile.TemporaryDirectory(prefix="fp-child-") as tmp:
        result_path = Path(tmp) / "result.json"
        request = json.dumps({"target": target, "kwargs": kwargs, "threads": threads, "result": str(result_path)})
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "fp.benchmarks.child"], stdin=subprocess.PIPE,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, text=True,
                                preexec_fn=(lambda: os.nice(nice)) if nice else None)
        tail: deque[str] = deque(maxlen=30)
        reader = threading.Thread(target=_read_stderr, args=(proc.stderr, tail, on_report), daemon=True)
        reader.start()
        proc.stdin.write(request)
        proc.stdin.close()
        seen, stopped = 0.0, None
        try:
            while proc.poll() is None:
                seen = max(seen, rss_mb(proc.pid))
                if mem_limit_mb and seen > mem_limit_mb:
                    stopped = f"stopped: resident memory passed {mem_limit_mb:.0f} MB after {time.perf_counter() - start:.0f} s"
                elif time_limit_s and time.perf_counter() - start > time_limit_s:
                    stopped = f"stopped: still running after {time_limit_s:.0f} s (resident {seen:.0f} MB)"
                if stopped:
                    proc.kill()
                    proc.wait()
                    break
                time.sleep(0.2)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        reader.join(timeout=5)
        elapsed = time.perf_counter() - start
        if stopped:
            return ChildOutcome(False, peak_rss_mb=seen, elapsed_s=elapsed, error=stopped, stopped=True, log_tail=tuple(tail))
        if not result_path.exists():
            last = next((line for line in reversed(tail) if line.strip()), "no output")
            return ChildOutcome(False, peak_rss_mb=seen, elapsed_s=elapsed, log_tail=tuple(tail),
                                error=f"child exited with code {proc.returncode} ({last.strip()})")
        out = json.loads(result_path.read_text())
    return ChildOutcome(bool(out["ok"]), out.get("value"), float(out["peak_rss_mb"]), float(out["baseline_rss_mb"]),
                        elapsed, float(out.get("cpu_s", 0.0)), out.get("error"), log_tail=tuple(tail))


def check(outcome: ChildOutcome, step: str) -> ChildOutcome:
    """The outcome, or BenchmarkError naming the step and why it failed."""
    if not outcome.ok:
        raise BenchmarkError(f"{step}: {outcome.error}")
    return outcome


def hold_memory(mb: int, seconds: float, report=None) -> dict:
    """A step that holds `mb` MB for `seconds` (what the watchdog is tested with)."""
    if mb < 0:
        raise ValueError(f"cannot hold {mb} MB")
    block = bytearray(mb * 1024 * 1024)
    block[::4096] = b"x" * len(block[::4096])  # touch every page so it is resident
    time.sleep(seconds)
    return {"held_mb": len(block) // (1024 * 1024)}


def _read_stderr(stream, tail: deque, on_report) -> None:
    for line in stream:
        if line.startswith(MARK):
            if on_report is not None:
                try:
                    on_report(json.loads(line[len(MARK):]))
                except ValueError:
                    pass
        else:
            tail.append(line.rstrip("\n"))


def _main() -> None:
    request = json.loads(sys.stdin.read())
    result_path = Path(request["result"])
    module_name, func_name = request["target"].split(":")
    import importlib

    func = getattr(importlib.import_module(module_name), func_name)
    if request.get("threads"):
        import faiss

        faiss.omp_set_num_threads(int(request["threads"]))
        import cv2

        cv2.setNumThreads(int(request["threads"]))
    baseline = rss_mb()

    def report(message: dict) -> None:
        sys.stderr.write(MARK + json.dumps(message) + "\n")
        sys.stderr.flush()

    try:
        value = func(**request["kwargs"], report=report)
        out = {"ok": True, "value": value, "error": None}
    except Exception as exc:  # the parent turns this into a BenchmarkError naming the step
        out = {"ok": False, "value": None, "error": f"{type(exc).__name__}: {exc}"}
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    out.update(peak_rss_mb=rss_mb(key="VmHWM"), baseline_rss_mb=baseline, cpu_s=usage.ru_utime + usage.ru_stime)
    result_path.write_text(json.dumps(out))
    sys.exit(0 if out["ok"] else 1)


if __name__ == "__main__":
    _main()

"""Ray, only when asked for (`--ray`): importing it, and connecting to (or starting) a cluster.

Nothing else in fp imports Ray: the single-machine path runs without it installed. A local Ray
(no address, or a loopback one) is kept on 127.0.0.1: Ray otherwise advertises and dials the
machine's network address even for a cluster that lives on one machine.
"""
from __future__ import annotations

import logging
import os
import re
import sys
from contextlib import contextmanager
from typing import Iterator

from fp.fingerprint.errors import FpError, InputError

log = logging.getLogger(__name__)

INSTALL_HINT = "--ray needs Ray, which is not installed: pip install 'fp-video[ray]' (in a checkout: pip install -e '.[ray]')"
LOCAL = "local"  # start a Ray instance on this machine for the command, stop it after
LOOPBACK_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"  # "0": Ray takes 127.0.0.1 as this node's address
OBJECT_STORE_BYTES = 512 * 1024**2  # of a local Ray: fingerprints in flight, not the library
_ADDRESS = re.compile(r"^(ray://)?(\[[0-9a-fA-F:]+\]|[A-Za-z0-9_.-]+):\d{1,5}$")


class RayMissingError(InputError):
    """`--ray` without Ray installed (exit code 2)."""


def is_address(value: str) -> bool:
    """Whether `value` names a Ray cluster: "local", "auto" (RAY_ADDRESS or the one `ray start`
    made here), host:port, or ray://host:port."""
    return value in (LOCAL, "auto") or bool(_ADDRESS.match(value))


def _loopback(address: str) -> bool:
    host = re.sub(r"^ray://", "", address).rsplit(":", 1)[0].strip("[]")
    return host in ("localhost", "::1") or host.startswith("127.")


def import_ray(address: str = LOCAL):
    """The ray module; RayMissingError (one line saying how to install it) when it is missing."""
    if "ray" not in sys.modules and (address == LOCAL or _loopback(address)):
        os.environ.setdefault(LOOPBACK_ENV, "0")  # read when ray is imported; its processes inherit it
    try:
        import ray
    except ImportError:
        raise RayMissingError(INSTALL_HINT) from None
    return ray


@contextmanager
def ray_session(address: str = LOCAL, num_cpus: int | None = None) -> Iterator[object]:
    """Ray connected for the block. A connection that exists (a test's cluster, a notebook) is
    used as it is and left open; otherwise fp connects to `address` (or starts a local Ray for
    LOCAL) and disconnects (stops it) afterwards."""
    if not is_address(address):
        raise InputError(f"--ray {address}: not a Ray address (host:port, ray://host:port or auto); "
                         "give --ray after the paths, or --ray=ADDRESS")
    ray = import_ray(address)
    if ray.is_initialized():
        yield ray
        return
    quiet = {"log_to_driver": False, "logging_level": logging.WARNING}  # stdout is for results
    try:
        if address == LOCAL:
            ray.init(address="local", num_cpus=num_cpus or os.cpu_count(), include_dashboard=False,
                     object_store_memory=OBJECT_STORE_BYTES, **quiet)
        else:
            ray.init(address=address, **quiet)
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        where = "start a local Ray" if address == LOCAL else f"connect to the Ray cluster at {address}"
        raise FpError(f"--ray: cannot {where} ({reason})") from exc
    try:
        yield ray
    finally:
        ray.shutdown()


def cluster_cpus(ray) -> int:
    return max(1, int(ray.cluster_resources().get("CPU", 1)))

"""`fp match --ray`: one Ray actor per shard; search fans out, each shard verifies what it holds.

Per suspect view, as on one machine (matcher.py), in two rounds:
1. search: the query hashes go to every shard actor; each answers its k nearest, and the driver
   merges them into the library's k nearest (shards.merge_search), votes alignment hypotheses
   and ranks them, exactly as `Matcher` does on one library;
2. verify: each hypothesis goes to the actor holding its video, which verifies it on its own
   hashes with the whole library's counts and null sample (`ShardView`); the driver replays the
   checks in rank order (`Matcher._match_part`).
So the results are the single-machine results: same titles, spans and confidences.

An actor that dies is restarted by Ray (it reopens its shard) and the call it was answering is
sent again (`max_restarts`, `max_task_retries`). Actors open their shard folders by path: on a
cluster of several machines the library folder must be at the same path on every node (shared
or copied), and fp installed in the same environment.
"""
from __future__ import annotations

import logging
import os
import time
import uuid
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator

import numpy as np

from fp.fingerprint.errors import FpError, InputError, LibraryError, VideoDecodeError
from fp.fingerprint.pipeline import REFERENCE, FingerprintConfig, fingerprint_video

from .align import Hypothesis
from .chance import NULL_ROWS  # rows of the null sample the chance model uses (Library.null_sample's default)
from .library import Library
from .matcher import Check, MatchConfig, Matcher, MatchResult, QueryPart
from .ray_cluster import cluster_cpus, import_ray
from .shards import merge_null_samples, merge_search, read_manifest
from .store import VideoRecord

log = logging.getLogger(__name__)

RESTARTS = 3  # times Ray restarts a dead shard actor (and resends the call it was answering)


@dataclass(frozen=True)
class ShardInfo:
    """What a shard actor tells the driver once: its videos, hash count and null-sample rows."""

    shard: int
    videos: tuple[VideoRecord, ...]
    hashes: int
    has_fine: bool
    null_search: tuple[np.ndarray, np.ndarray]  # every null-sample row (codes, video ids)
    null_fine: tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True, eq=False)
class WholeLibrary:
    """The whole library's side of the chance model, which every shard's verification uses."""

    token: str
    hashes: int
    has_fine: bool
    null_search: tuple[np.ndarray, np.ndarray]  # the library's null sample (NULL_ROWS rows)
    null_fine: tuple[np.ndarray, np.ndarray]


class ShardView:
    """What a shard's Matcher reads: the shard's own videos and hashes, and the whole library's
    hash count, fine-hash flag and null sample (so chance is counted over the whole library)."""

    def __init__(self, library: Library, whole: WholeLibrary):
        self.library, self.whole = library, whole
        self.root, self.config, self.nbits = library.root, library.config, library.nbits

    @property
    def hashes(self) -> int:
        return self.whole.hashes

    @property
    def has_fine(self) -> bool:
        return self.whole.has_fine

    def null_sample(self, kind: str = "search", limit: int | None = NULL_ROWS):
        if limit != NULL_ROWS:
            raise LibraryError(f"{self.root}: a shard holds the library's null sample of {NULL_ROWS} rows only")
        return self.whole.null_search if kind == "search" else self.whole.null_fine

    def videos(self) -> list[VideoRecord]:
        return self.library.videos()

    def stream(self, video_id: int, kind: str = "search"):
        return self.library.stream(video_id, kind)

    def search(self, codes, k):
        raise LibraryError(f"{self.root}: a shard's matcher only verifies; search goes through the driver")


class ShardActor:
    """Holds one shard (store, FAISS index) for its lifetime: answers searches, verifies."""

    def __init__(self, shard: int, folder: str, library_config: FingerprintConfig, match_config: MatchConfig,
                 query_config: FingerprintConfig | None):
        import faiss

        faiss.omp_set_num_threads(1)  # one core per actor; shards are the parallelism
        self.shard = shard
        self.library = Library(folder, library_config, create=False, readonly=True)
        self.library.hashes  # loads (and catches up) the FAISS index now, not on the first query
        self.match_config, self.query_config = match_config, query_config
        self._matcher: Matcher | None = None
        self._token: str | None = None

    def info(self) -> ShardInfo:
        lib = self.library
        return ShardInfo(self.shard, tuple(lib.videos()), lib.hashes, lib.has_fine, lib.null_sample("search", None),
                         lib.null_sample("fine", None))

    def search(self, codes: np.ndarray, k: int):
        return self.library.search(codes, k)

    def check(self, part: QueryPart, todo: list[tuple[int, Hypothesis]], whole: WholeLibrary) -> list[Check]:
        if self._token != whole.token:
            self._matcher = Matcher(ShardView(self.library, whole), self.match_config, self.query_config)
            self._token = whole.token
        return list(self._matcher.check_hypotheses(part, todo))

    def pid(self) -> int:
        return os.getpid()

    def node(self) -> str:
        return import_ray().get_runtime_context().get_node_id()


class RayLibrary:
    """The driver's view of a library held by shard actors: what Matcher reads, answered by them."""

    def __init__(self, root: Path, config: FingerprintConfig, actors: list, infos: list[ShardInfo]):
        self.root, self.config = Path(root), config
        self.nbits = int(config.hash_params()["hash_size"]) ** 2
        self.readonly = True
        self.actors, self.infos = actors, infos
        self._owner = {v.id: info.shard for info in infos for v in info.videos}
        self._videos = sorted((v for info in infos for v in info.videos), key=lambda v: v.id)
        self.whole = WholeLibrary(uuid.uuid4().hex, self.hashes, self.has_fine, self.null_sample("search"), self.null_sample("fine"))
        self.whole_ref = import_ray().put(self.whole)

    @property
    def hashes(self) -> int:
        return sum(info.hashes for info in self.infos)

    @property
    def has_fine(self) -> bool:
        return any(info.has_fine for info in self.infos)

    def null_sample(self, kind: str = "search", limit: int | None = NULL_ROWS):
        return merge_null_samples([info.null_search if kind == "search" else info.null_fine for info in self.infos], limit)

    def search(self, codes: np.ndarray, k: int):
        ray = import_ray()
        codes_ref = ray.put(np.ascontiguousarray(codes))
        return merge_search(_get(ray, [actor.search.remote(codes_ref, k) for actor in self.actors]), k)

    def videos(self) -> list[VideoRecord]:
        return list(self._videos)

    def video(self, video_id: int) -> VideoRecord | None:
        i = self._owner.get(video_id)
        return None if i is None else next(v for v in self.infos[i].videos if v.id == video_id)

    def owner(self, video_id: int) -> int | None:
        return self._owner.get(video_id)

    def stream(self, video_id: int, kind: str = "search"):
        raise LibraryError(f"{self.root}: the shard actors hold the hashes; verification runs there")


class RayMatcher(Matcher):
    """A Matcher whose library is held by shard actors: verification runs on the actor holding
    each hypothesis's video; the checks come back and are replayed in rank order. Suspect videos
    are fingerprinted as Ray tasks, a window of them ahead of the one being matched."""

    library: RayLibrary
    window_per_cpu = 2

    def prefetch(self, paths: list[str], triage: bool = False) -> None:
        """Suspects that match_file will be asked for, in order (match_batch.match_paths tells)."""
        self._queue = deque([] if triage else [str(p) for p in paths])  # triage decodes keyframes first, here
        self._pending: dict[str, object] = {}
        self._top_up()

    def _top_up(self) -> None:
        ray = import_ray()
        task = ray.remote(num_cpus=1, max_retries=1)(fingerprint_suspect)
        limit = self.window_per_cpu * cluster_cpus(ray)
        while self._queue and len(self._pending) < limit:
            path = self._queue.popleft()
            if path not in self._pending:
                self._pending[path] = task.remote(path, self.query_config)

    def match_file(self, path, progress=None) -> MatchResult:
        start = time.perf_counter()
        ray = import_ray()
        pending = getattr(self, "_pending", {})
        ref = pending.pop(str(path), None)
        if ref is None:
            ref = ray.remote(num_cpus=1, max_retries=1)(fingerprint_suspect).remote(str(path), self.query_config)
        if hasattr(self, "_queue"):
            self._top_up()
        try:
            kind, value = ray.get(ref)
        except ray.exceptions.WorkerCrashedError:
            raise FpError(f"{path}: the decoder crashed on this file twice (Ray ran it once more)") from None
        except ray.exceptions.RayError as exc:
            raise FpError(f"{path}: Ray could not fingerprint this file ({type(exc).__name__})") from exc
        if kind == "decode":
            raise VideoDecodeError(path, value)
        if kind == "input":
            raise InputError(value)
        if kind == "error":
            raise FpError(value)
        result = self.match_fingerprint(value, query=str(path))
        if self.config.inner_check:  # here, on the driver: it reads the suspect's and the reference's files
            result = self.inner_rescue(path, result)
        return replace(result, elapsed=time.perf_counter() - start)

    def check_hypotheses(self, part: QueryPart, todo: list[tuple[int, Hypothesis]]) -> Iterator[Check]:
        by_shard: dict[int, list[tuple[int, Hypothesis]]] = {}
        for rank, h in todo:
            shard = self.library.owner(h.video_id)
            if shard is not None:
                by_shard.setdefault(shard, []).append((rank, h))
        if not by_shard:
            return
        ray = import_ray()
        part_ref = ray.put(part)
        calls = [self.library.actors[shard].check.remote(part_ref, items, self.library.whole_ref) for shard, items in by_shard.items()]
        yield from sorted((check for checks in _get(ray, calls) for check in checks), key=lambda c: c.rank)


def fingerprint_suspect(path: str, config: FingerprintConfig) -> tuple[str, object]:
    """A Ray task: ("ok", fingerprint), or the kind of failure and its message (fp's exceptions
    carry constructor arguments that do not survive pickling, so they are rebuilt by the driver)."""
    try:
        return "ok", fingerprint_video(path, config)
    except VideoDecodeError as exc:
        return "decode", exc.reason
    except InputError as exc:
        return "input", str(exc)
    except FpError as exc:
        return "error", str(exc)


def _get(ray, refs: list) -> list:
    try:
        return ray.get(refs)
    except ray.exceptions.RayActorError as exc:
        raise LibraryError(f"a shard actor died and could not be restarted ({type(exc).__name__})") from exc
    except ray.exceptions.RayError as exc:
        raise LibraryError(f"a shard actor failed: {type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}") from exc


def shard_folders(root: str | os.PathLike) -> list[Path]:
    """Each shard's library folder (the library itself when it has one shard)."""
    root = Path(root)
    manifest = read_manifest(root)
    if manifest is None:
        Library(root, create=False, readonly=True).close()  # the usual error when there is no library
        return [root]
    return manifest.shard_dirs(root)


@contextmanager
def ray_matcher(root: str | os.PathLike, match_config: MatchConfig = MatchConfig(), library_config: FingerprintConfig = REFERENCE,
                query_config: FingerprintConfig | None = None) -> Iterator[RayMatcher]:
    """A RayMatcher over the library in `root`, one actor per shard spread over the connected
    cluster; the actors are stopped when the block ends."""
    ray = import_ray()
    remote = ray.remote(max_restarts=RESTARTS, max_task_retries=RESTARTS)(ShardActor)
    folders = shard_folders(root)
    placement = _round_robin(ray, len(folders))
    actors = [remote.options(scheduling_strategy=placement[i]).remote(i, str(folder), library_config, match_config, query_config)
              for i, folder in enumerate(folders)]
    try:
        infos = _get(ray, [actor.info.remote() for actor in actors])
        library = RayLibrary(root, library_config, actors, infos)
        yield RayMatcher(library, match_config, query_config)
    finally:
        for actor in actors:
            ray.kill(actor, no_restart=True)


def _round_robin(ray, n: int) -> list:
    """Shard i's actor on the i-th alive node, round robin (soft: a restarted actor may go
    elsewhere when its node is gone). Ray's SPREAD is best effort and put every actor on one
    node when they need no CPU to run."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    nodes = sorted(node["NodeID"] for node in ray.nodes() if node.get("Alive"))
    if not nodes:
        return ["SPREAD"] * n
    return [NodeAffinitySchedulingStrategy(node_id=nodes[i % len(nodes)], soft=True) for i in range(n)]

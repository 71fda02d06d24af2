"""The studio side: list, add, edit (metadata, enabled) and remove reference videos."""
from __future__ import annotations

import json
import logging
import math
from typing import Callable, TypeVar

from fp.fingerprint.errors import InputError, LibraryBusyError, LibraryError
from fp.index.library import Library
from fp.index.shards import ShardedLibrary, layout, open_library, write_library
from fp.index.store import VideoRecord
from fp.schema import versioned

from .errors import NotFound
from .settings import ServiceSettings

log = logging.getLogger(__name__)

MAX_METADATA_BYTES = 16 * 1024
T = TypeVar("T")


def reference_dict(video: VideoRecord) -> dict:
    return {**video.to_dict(), "enabled": bool(getattr(video, "enabled", True))}


def check_metadata(metadata: dict) -> dict:
    """Reference metadata: short string keys; strings, finite numbers, booleans or lists of strings.
    Lists are stored as one ';'-separated string, the library's form (as in `--metadata` CSVs)."""
    out = {}
    for key, value in metadata.items():
        if not key or len(key) > 100:
            raise InputError(f"metadata key {key[:100]!r}: empty or longer than 100 characters")
        ok = value is None or isinstance(value, (str, int, float, bool)) or (
            isinstance(value, list) and all(isinstance(v, str) for v in value))
        if not ok:
            raise InputError(f"metadata {key!r}: values are strings, numbers, booleans or lists of strings")
        if isinstance(value, float) and not math.isfinite(value):
            raise InputError(f"metadata {key!r}: {value} is not a finite number (JSON has no NaN or Infinity)")
        out[key] = ";".join(v.strip() for v in value if v.strip()) if isinstance(value, list) else value
    if len(json.dumps(out)) > MAX_METADATA_BYTES:
        raise InputError(f"metadata larger than {MAX_METADATA_BYTES} bytes")
    return out


class References:
    def __init__(self, settings: ServiceSettings):
        self.settings = settings

    def _read(self, read: Callable[[Library | ShardedLibrary], T]) -> T:
        """`read` on the library opened to read, as `fp library list` opens it (one library or
        every shard). Readers take no lock, so a re-shard may commit between reading the layout
        and opening its files (then gone): a read that fails as the layout changed is tried once
        on the new one; one that meets a re-shard again is LibraryBusyError (503)."""
        root = self.settings.library
        for tries_left in (1, 0):
            before = layout(root)
            try:
                with open_library(root, create=False, readonly=True) as lib:
                    return read(lib)
            except LibraryError as exc:
                if layout(root) == before:
                    raise  # not a re-shard's doing
                if not tries_left:
                    raise LibraryBusyError(f"{root}: re-sharded twice while being read ({exc})") from exc
                log.info("%s: re-sharded while being read (%s); reading the new layout", root, exc)

    def list(self) -> list[dict]:
        return self._read(lambda lib: [reference_dict(v) for v in lib.videos()])

    def get(self, video_id: int) -> dict:
        return self._read(lambda lib: versioned(reference_dict(self._video(lib, video_id))))

    def edit(self, video_id: int, enabled: bool | None, metadata: dict | None, replace: bool) -> dict:
        with write_library(self.settings.library, create=False) as lib:  # a re-shard waits for the edit, or it for one
            video = self._video(lib, video_id)
            if metadata is not None:
                video = lib.set_metadata(video_id, check_metadata(metadata), replace=replace)
            if enabled is not None:
                video = lib.set_enabled(video_id, enabled)
            return versioned(reference_dict(video))

    def remove(self, video_id: int) -> dict:
        with write_library(self.settings.library, create=False) as lib:  # a re-shard waits for the edit, or it for one
            video = self._video(lib, video_id)
            lib.remove(video_id)
            return reference_dict(video)

    @staticmethod
    def _video(lib: Library | ShardedLibrary, video_id: int) -> VideoRecord:
        video = lib.video(video_id)
        if video is None:
            raise NotFound(f"no reference video {video_id}")
        return video

"""Shared fixtures: the shipped real clips, small generated videos, a session library."""
from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import av
import numpy as np
import pytest

CLIPS = Path(__file__).resolve().parents[1] / "data" / "sample_clips"


# A shell starts background jobs with SIGINT ignored, and children inherit that: the Ctrl-C
# tests send SIGINT to fp processes started from here, so let it through.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


class LateSubmitPool(ProcessPoolExecutor):
    """A real pool whose later submits wait a second: time for the first job to kill its worker,
    so that the next submit meets a broken pool (tests of what a batch does then)."""

    def submit(self, *args, **kwargs):
        if getattr(self, "_submitted", 0):
            time.sleep(1.0)
        self._submitted = getattr(self, "_submitted", 0) + 1
        return super().submit(*args, **kwargs)


@pytest.fixture
def worker_probes(monkeypatch):
    """tests/helpers/worker_probes.py, importable in fp's forkserver workers too."""
    import importlib

    monkeypatch.syspath_prepend(str(Path(__file__).parent / "helpers"))
    return importlib.import_module("worker_probes")


def clip(name: str) -> Path:
    path = CLIPS / name
    assert path.exists(), f"missing sample clip {path}"
    return path


def clips_folder(folder: Path, names) -> Path:
    """`folder`, made, holding copies of these sample clips."""
    import shutil

    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(clip(name), folder / name)
    return folder


def write_video(path: Path, frames, fps: float = 25, codec: str = "libx264", pts=None, time_base=None,
                pix_fmt: str = "yuv420p", rotation: int = 0, sar=None) -> Path:
    """Encode RGB uint8 frames to a real video file with PyAV (`rotation`: a display matrix,
    degrees counter-clockwise; `sar`: the pixels' aspect, a Fraction)."""
    frames = list(frames)
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as out:
        # x264's macroblock tree (its default rate control) coded the same frames differently
        # within one long test process (one file in four; a deep-crop test then missed by 10x).
        options = {"x264-params": "mbtree=0"} if codec == "libx264" else {}
        stream = out.add_stream(codec, rate=int(fps) if float(fps).is_integer() else fps, options=options)
        stream.width, stream.height = w, h
        stream.pix_fmt = pix_fmt
        if rotation:
            stream.set_display_rotation(rotation)
        if sar is not None:
            stream.codec_context.sample_aspect_ratio = sar
        stream.codec_context.thread_count = 1  # x264's threads: the same frames coded differently
        if time_base is not None:
            stream.codec_context.time_base = time_base
        for i, img in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
            if pts is not None:
                frame.pts = pts[i]
                frame.time_base = time_base
            else:  # without timestamps x264 coded the same frames differently from run to run
                frame.pts = i
                frame.time_base = 1 / stream.average_rate
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def textured_frames(n: int, w: int = 160, h: int = 120, seed: int = 0):
    """Moving, textured synthetic frames (for shape/timing tests, not accuracy)."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (h * 2, w * 2, 3), dtype=np.uint8)
    import cv2

    base = cv2.GaussianBlur(base, (0, 0), 3)
    for i in range(n):
        y, x = (i * 3) % h, (i * 5) % w
        yield np.ascontiguousarray(base[y : y + h, x : x + w])


def best_match(library_path: Path, suspect: Path, title: str):
    """Match `suspect` against the library at `library_path`; assert it is a match with `title`
    first, and return that best match."""
    from fp.index.library import Library
    from fp.index.matcher import Matcher

    with Library(library_path) as lib:
        result = Matcher(lib).match_file(suspect)
    assert result.verdict == "match", result.nearest
    best = result.matches[0]
    assert best.title == title, [(m.title, m.chance) for m in result.matches]
    return best


@pytest.fixture(scope="session")
def clips_dir() -> Path:
    return CLIPS


@pytest.fixture(scope="session")
def session_library(tmp_path_factory):
    """A library of five real sample clips (bbb, friday, flower, elf, cockatoo)."""
    from fp.index.indexer import index_paths
    from fp.index.library import Library

    root = tmp_path_factory.mktemp("lib")
    names = ["bbb_first60s.mp4", "friday.mp4", "flower.mp4", "elf.mp4", "cockatoo.mp4"]
    with Library(root / "lib") as lib:
        report = index_paths(lib, [clip(n) for n in names], workers=min(2, os.cpu_count() or 1))
        assert report.count("indexed") == len(names), report.to_dict()
        assert not report.notes, report.notes  # five distinct clips: none holds another's footage
    return root / "lib"


def reshard_held(root, seconds: float) -> threading.Thread:
    """A re-shard in progress on the library at `root` for `seconds` (its exclusive write lock
    held, index/writelock.py), in a thread; returned once the lock is taken."""
    from fp.index import writelock

    held = threading.Event()

    def hold():
        with writelock.exclusive(root):
            held.set()
            time.sleep(seconds)

    thread = threading.Thread(target=hold)
    thread.start()
    assert held.wait(10)
    return thread

"""fingerprint_video: decode, sample, normalise and hash a video file."""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np

from .decode import iter_frames, probe
from .hashers import get_hasher
from .inset import detect_insets
from .normalise import (FULL, TURNS, WORK_SIDE, ZOOM_SCALE, ZOOMED_VIEW, ZOOMS, crop_to, detect_active_area_window, detect_active_areas, reference_views, shrink,
                        turned_image, view_image, zoomed_image)
from .types import INSET_VIEW, INSETS, PHASE_VIEW, TURNED_VIEW, Fingerprint, whole_picture

Progress = Callable[[float, float], None]  # (seconds done, seconds total)
WINDOW = 50  # sampled frames that share one bar decision (10 s at 5 fps; a shot may have its own)


@dataclass(frozen=True)
class FingerprintConfig:
    """How a video is sampled and hashed. Library and queries must share hasher and work side."""

    fps: float = 5.0  # frames sampled per second of video
    crop_views_fps: float = 0.0  # rate of the extra crop views (reference side; 0 = none)
    inset_view: bool = False  # also hash a detected picture-in-picture inset (suspect side)
    turned_views: bool = False  # also hash the picture turned back (normalise.TURNS) and zoomed out (ZOOMS) (suspect side)
    phase_rows: bool = False  # also hash the whole picture half a step after each sample (PHASE_VIEW; suspect side)
    hasher: str = "phash64"
    fine_hasher: str | None = "phash256"  # verification hash of whole pictures (None: none)
    threads: int = 1  # decoder threads
    keyframes_only: bool = False
    max_seconds: float | None = None

    def hash_params(self) -> dict:
        """The settings that decide what a hash means (stored with a library)."""
        return {"hasher": self.hasher, **get_hasher(self.hasher).params(), "work_side": WORK_SIDE, "normalise": "flat-borders-window-v2", "views": "full+crop15x9"}

    def to_dict(self) -> dict:
        return asdict(self)


REFERENCE = FingerprintConfig(fps=5.0, crop_views_fps=2.5)
QUERY = FingerprintConfig(fps=5.0, inset_view=True, turned_views=True, phase_rows=True)
TURN_EVERY = 2  # sampled frames per turned set (2.5 fps: a tilted copy is a few seconds long)


def _inset_rows(pending: list[tuple[float, np.ndarray]], times: list[float], views: list[int]) -> list[np.ndarray]:
    """Rows for picture-in-picture insets found in this window (none when there is none)."""
    shapes = {small.shape for _, small in pending}
    if len(shapes) != 1:
        return []
    images = []
    for n, inset in enumerate(detect_insets([small for _, small in pending])[:INSETS]):
        inner = [crop_to(small, inset) for _, small in pending]
        area = detect_active_area_window(inner)
        # Flat lines at one end only are bars the reference lost too, or dark picture it kept
        # (a title card's black above its text, its own 10 s holding other shots): both are
        # hashed, the whole one as a view of its own (one more share of the chance budget).
        one_sided = (area.top > 0) != (area.bottom < 1) or (area.left > 0) != (area.right < 1)
        for view, cut in ((INSET_VIEW + n, area), (INSET_VIEW + INSETS + n, FULL))[: 2 if one_sided else 1]:
            for (t, _), img in zip(pending, inner):
                times.append(t)
                views.append(view)
                images.append(view_image(crop_to(img, cut), 0))
    return images


def fingerprint_video(path: str | os.PathLike, config: FingerprintConfig | None = None, progress: Progress | None = None,
                      stream: int | None = None) -> Fingerprint:
    """Hash a video's sampled frames: the longest moving picture, or video stream `stream`."""
    config = config or FingerprintConfig()
    hasher = get_hasher(config.hasher)
    info = probe(path, stream)
    times: list[float] = []
    views: list[int] = []
    areas: list[float] = []
    codes, mirrors, quality = [], [], []
    fine_hasher = get_hasher(config.fine_hasher) if config.fine_hasher else None
    fines, fine_mirrors = [], []
    view_every = max(1, round(config.fps / config.crop_views_fps)) if config.crop_views_fps else 0

    pending: list[tuple[float, np.ndarray]] = []  # (time, shrunk grey) awaiting a bar decision
    between: list[tuple[int, float, np.ndarray]] = []  # half-step frames: (sample before it, time, shrunk grey)
    n_sampled = 0

    def flush() -> None:
        nonlocal n_sampled
        if not pending:
            between.clear()
            return
        by_shape: dict[tuple, list[int]] = {}
        for i, (_, small) in enumerate(pending):
            by_shape.setdefault(small.shape, []).append(i)
        area_of: list = [None] * len(pending)
        for group in by_shape.values():
            for i, area in zip(group, detect_active_areas([pending[i][1] for i in group])):
                area_of[i] = area
        images = []
        for (t, small), area in zip(pending, area_of):
            areas.append(area.area)
            active = crop_to(small, area)
            all_views = view_every and n_sampled % view_every == 0
            n_sampled += 1
            for view in reference_views(active.shape) if all_views else (0,):
                times.append(t)
                views.append(view)
                images.append(view_image(active, view))
            if config.turned_views and (n_sampled - 1) % TURN_EVERY == 0:
                for i, degrees in enumerate(TURNS):
                    times.append(t)
                    views.append(TURNED_VIEW + i)
                    images.append(turned_image(active, degrees))
                for i, at in enumerate(ZOOMS):
                    times.append(t)
                    views.append(ZOOMED_VIEW + i)
                    images.append(zoomed_image(active, ZOOM_SCALE, at=at))
        for i, t, small in between:  # cut as the sample before it (or the first, at the start)
            times.append(t)
            views.append(PHASE_VIEW)
            images.append(view_image(crop_to(small, area_of[max(i, 0)]), 0))
        if config.inset_view:
            images += _inset_rows(pending, times, views)
        batch = hasher.hash_batch(images)
        codes.append(batch.codes)
        mirrors.append(batch.mirror_codes)
        quality.append(batch.quality)
        if fine_hasher is not None:
            whole = np.nonzero(whole_picture(views[len(views) - len(images):]))[0]
            fine = fine_hasher.hash_batch([images[i] for i in whole.tolist()])
            rows = np.zeros((len(images), fine_hasher.nbits // 8), np.uint8)
            mirror_rows = rows.copy()
            rows[whole], mirror_rows[whole] = fine.codes, fine.mirror_codes
            fines.append(rows)
            fine_mirrors.append(mirror_rows)
        pending.clear()
        between.clear()

    # With phase rows every frame at 2 x fps is read: those the fps sampling takes (the first at
    # or after each k / fps, exactly the frames it takes alone) and the ones between them.
    phases = config.phase_rows and not config.keyframes_only
    step = 1.0 / config.fps
    next_t = 0.0
    frames = iter_frames(path, config.fps * (2 if phases else 1), config.threads, config.keyframes_only, config.max_seconds, stream)
    for frame in frames:
        if phases and frame.t + 1e-6 < next_t:
            between.append((len(pending) - 1, frame.t, shrink(frame.luma)))
            continue
        next_t = (np.floor(frame.t / step + 1e-6) + 1) * step
        pending.append((frame.t, shrink(frame.luma)))
        if len(pending) >= WINDOW:
            flush()
            if progress:  # the header's claim is only an estimate of how far there is to go
                progress(frame.t, max(info.header_duration, frame.t))
    flush()
    nbytes = hasher.nbits // 8
    summary = frames.summary
    duration = max(summary.end, times[-1] if times else 0.0)  # the decoded stream's, never the header's
    meta = {"sample_fps": config.fps, "mean_active_area": round(float(np.mean(areas)), 4) if areas else 1.0}
    if summary.partial:
        meta.update(partial=True, partial_reason=summary.partial)
    if summary.notes:
        meta["notes"] = list(summary.notes)
    if stream is not None:
        meta["stream"] = stream  # which video stream of the file these hashes are  # e.g. restarting timestamps joined end to end
    if progress:
        progress(duration, duration)
    return Fingerprint(
        source=str(path),
        hasher=hasher.name,
        params=config.hash_params(),
        duration=duration,
        width=info.width,
        height=info.height,
        times=np.asarray(times, dtype=np.float64),
        codes=np.concatenate(codes) if codes else np.zeros((0, nbytes), np.uint8),
        quality=np.concatenate(quality) if quality else np.zeros(0, np.uint8),
        mirror_codes=np.concatenate(mirrors) if mirrors else np.zeros((0, nbytes), np.uint8),
        views=np.asarray(views, dtype=np.uint8),
        meta=meta,
        fine_codes=_stack(fines, fine_hasher),
        fine_mirror_codes=_stack(fine_mirrors, fine_hasher),
    )


def _stack(parts: list[np.ndarray], hasher) -> np.ndarray | None:
    if hasher is None:
        return None
    return np.concatenate(parts) if parts else np.zeros((0, hasher.nbits // 8), np.uint8)


def decode_warnings(fpr: Fingerprint, verb: str) -> tuple[str, ...]:
    """What decoding said about a file, for a result's warnings: only part of it usable, and
    notes such as timestamps joined ("matched" / "indexed" what decodes)."""
    partial = fpr.meta.get("partial_reason")
    head = (f"partial file, {verb} what decodes: {partial}",) if partial else ()
    return head + tuple(fpr.meta.get("notes", ()))

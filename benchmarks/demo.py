"""fp demo: index the shipped sample clips, disguise an excerpt of one, and find it."""
from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from typing import Callable

from fp.index.indexer import index_paths
from fp.index.library import Library
from fp.index.matcher import Matcher

from .generate import EncodeSettings, iter_frames, write_video
from .transforms import crop, logo, mirror


def _sample_clips() -> Path:
    """The shipped sample clips: package data `fp.sample_clips` when installed, else the checkout's."""
    spec = importlib.util.find_spec("fp.sample_clips")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        if any(Path(folder).glob("*.mp4")):
            return Path(folder)
    return Path(__file__).resolve().parents[1] / "data" / "sample_clips"


SAMPLE_CLIPS = _sample_clips()
SOURCE, START, LENGTH = "bbb_first60s.mp4", 20.0, 12.0
DISGUISED = "summer_travel_vlog_2024.mp4"  # what a seller might call it


def disguise(src: Path, dst: Path) -> Path:
    """Excerpt, off-centre 12 % crop, corner logo, mirror, low-bitrate re-encode at 25 fps."""
    edits = [crop(0.12, 0.2, 0.7), mirror(), logo("FLIX4U", (255, 255, 255), 0.18, "tr", 0.85)]

    def stream():
        for t, rgb in iter_frames(src, START, START + LENGTH):
            for edit in edits:
                rgb = edit(rgb)
            yield t - START, rgb

    write_video(dst, stream(), EncodeSettings(fps=25.0, duration=LENGTH, kbps_360p=250, max_height=360))
    return dst


def run_demo(workdir: Path, clips: Path | None = None, log: Callable[[str], None] = print) -> dict:
    clips = Path(clips or SAMPLE_CLIPS)
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with Library(workdir / "library") as lib:
        log(f"indexing reference clips from {clips} ...")
        report = index_paths(lib, [clips])
        log(f"  {report.count('indexed')} indexed, {report.count('skipped')} already there, {report.count('failed')} failed")
        source = clips / SOURCE
        suspect = workdir / DISGUISED
        log(f"making a disguised copy: {SOURCE} {START:.0f}-{START + LENGTH:.0f} s, cropped, mirrored, "
            f"logo-stamped, re-encoded at low bitrate, renamed {DISGUISED} ...")
        disguise(source, suspect)
        log("matching it against the library ...")
        result = Matcher(lib).match_file(suspect)
    from fp.index.evidence import write_evidence

    evidence = write_evidence(result, workdir / "evidence") if result.matches else []
    best = result.matches[0] if result.matches else None
    found = bool(best and Path(best.ref_path).name == SOURCE)
    summary = (
        f"{DISGUISED} is a copy of '{best.title}' {best.ref_span[0]:.1f}-{best.ref_span[1]:.1f} s "
        f"(truth: {START:.1f}-{START + LENGTH:.1f} s), mirrored={best.mirrored}, confidence {best.confidence:.4f}"
        if best else f"{DISGUISED}: no match found (expected {SOURCE})"
    )
    if evidence:
        summary += f"\nevidence for a reviewer: {evidence[0]}"
    summary += f"\nlibrary and copy in {workdir}; {time.perf_counter() - started:.1f} s in all"
    return {"found": found, "summary": summary, "result": result.to_dict(), "result_obj": result,
            "workdir": str(workdir), "indexed": report.to_dict()}

"""A fast first pass for suspects (`fp match --triage`): keyframes first, the full match only
for a suspect with a candidate.

Decoding every frame is most of a match's cost (benchmarks/SPEED.md); decoding only keyframes
costs a few percent of it. A suspect none of whose keyframes (nor their mirror images, nor a
picture-in-picture inset) has a reference hash within the matching radius is answered
"no_match" from that pass alone; any other suspect, and one whose keyframes are all blank or
cannot be decoded on their own, gets the full match. Measured on the real-clips benchmark in
benchmarks/SCALE.md ("Throughput").
"""
from __future__ import annotations

import time
from dataclasses import replace

from fp.fingerprint.errors import FpError
from fp.fingerprint.pipeline import fingerprint_video

from .matcher import Matcher, MatchResult


def triage_file(matcher: Matcher, path, radius: int | None = None) -> MatchResult | None:
    """The suspect's result when its keyframes settle it ("no_match"), None when it needs the
    full match. `radius`: Hamming distance of a keyframe hit (default: the matching radius)."""
    start = time.perf_counter()
    try:
        quick = fingerprint_video(path, replace(matcher.query_config, keyframes_only=True))
    except FpError:
        return None  # the full pass reports what is wrong with the file
    if matcher.has_candidate(quick, radius):
        return None
    partial = quick.meta.get("partial_reason")
    if partial:
        return None  # a damaged file: let the full pass say what decodes
    return MatchResult(str(path), "no_match", duration=quick.duration, frames=int((quick.views == 0).sum()),
                       elapsed=time.perf_counter() - start)

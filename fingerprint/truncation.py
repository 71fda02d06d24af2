"""Is a video file cut short? Its container's own layout says how many bytes it should have.

Checked for the containers whose top level declares sizes: MP4/MOV boxes, RIFF (AVI) and
the Matroska/WebM segment (or its clusters, when a live or unfinished recording leaves the
segment's size unknown). A file cut anywhere inside such a box is shorter than its box says.
Other containers (MPEG-TS, ...) declare no size: a cut there shows only as corrupt packets,
which the decoder reports.
"""
from __future__ import annotations

import os
import struct
from pathlib import Path

_MP4_TOP = {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"styp", b"sidx", b"moof", b"mfra", b"uuid", b"meta", b"pdin"}
_EBML, _SEGMENT, _CLUSTER = 0x1A45DFA3, 0x18538067, 0x1F43B675
_MAX_BOXES = 1_000_000  # a fragmented MP4 has two boxes per fragment


def truncation(path: str | os.PathLike) -> str | None:
    """A one-line reason when the file is shorter than its container declares, else None."""
    p = Path(path)
    try:
        size = p.stat().st_size
        with open(p, "rb") as fh:
            head = fh.read(16)
            if head[:4] == b"RIFF" and len(head) >= 8:
                need = 8 + struct.unpack("<I", head[4:8])[0]
                return _cut("its RIFF header", need, size)
            if head[4:8] in _MP4_TOP:
                return _mp4(fh, size)
            if int.from_bytes(head[:4], "big") == _EBML:
                return _matroska(fh, size)
    except (OSError, struct.error):
        return None
    return None


def _cut(what: str, need: int, size: int) -> str | None:
    if need <= size:
        return None
    return f"truncated: the file has {size} bytes, {what} declares {need} ({100 * size / need:.0f} %)"


def _mp4(fh, size: int) -> str | None:
    offset = 0
    seen = set()
    for _ in range(_MAX_BOXES):
        if offset + 8 > size:
            return _unfinished(seen)
        fh.seek(offset)
        box, kind = struct.unpack(">I4s", fh.read(8))
        seen.add(kind)
        if box == 1:
            box = struct.unpack(">Q", fh.read(8))[0]
        elif box == 0:
            return _unfinished(seen)  # "runs to the end of the file"
        if box < 8:
            return None  # not a box layout we can follow; the decoder will judge
        if offset + box > size:
            return _cut(f"its '{kind.decode('latin-1')}' box", offset + box, size)
        offset += box
    return None


def _unfinished(seen: set) -> str | None:
    """Media data but no 'moov' (the index most writers add last): a file still being written,
    or cut before its index. HEIF/AVIF stills have a top-level 'meta' instead."""
    if b"mdat" in seen and not seen & {b"moov", b"meta"}:
        return "unfinished: no 'moov' index after the media data (still being written, or cut)"
    return None


def _vint(fh) -> tuple[int, bool]:
    """An EBML variable-length size: (value, unknown)."""
    first = fh.read(1)
    if not first:
        raise struct.error("end of file")
    b = first[0]
    length = 9 - b.bit_length()
    if length > 8:
        raise struct.error("bad EBML size")
    value = b & ((1 << (8 - length)) - 1)
    rest = fh.read(length - 1)
    if len(rest) != length - 1:
        raise struct.error("end of file")
    for c in rest:
        value = (value << 8) | c
    return value, value == (1 << (7 * length)) - 1


def _ebml_id(fh) -> int:
    first = fh.read(1)
    if not first:
        raise struct.error("end of file")
    length = 9 - first[0].bit_length()
    if length > 4:
        raise struct.error("bad EBML id")
    return int.from_bytes(first + fh.read(length - 1), "big")


def _matroska(fh, size: int) -> str | None:
    fh.seek(4)
    header, _ = _vint(fh)
    fh.seek(fh.tell() + header)
    if _ebml_id(fh) != _SEGMENT:
        return None
    body, unknown = _vint(fh)
    if unknown:  # a live or unfinished recording: its elements still declare their sizes
        return _elements(fh, size)
    return _cut("its Matroska segment", fh.tell() + body, size)


def _elements(fh, size: int) -> str | None:
    """The segment's children (clusters, one a few seconds) in turn, to the first one cut short."""
    for _ in range(_MAX_BOXES):
        at = fh.tell()
        if at >= size:
            return None
        try:
            kind, (body, unknown) = _ebml_id(fh), _vint(fh)
        except struct.error:  # at the end of the file: cut inside a header; else not a layout we follow
            return None if fh.tell() < size else f"truncated: the file ends inside a Matroska element's header (byte {at})"
        if unknown:
            return None  # a cluster that declares no size ends where the next begins: not checked
        if fh.tell() + body > size:
            what = "cluster" if kind == _CLUSTER else f"element 0x{kind:X}"
            return _cut(f"its Matroska {what} at byte {at}", fh.tell() + body, size)
        fh.seek(fh.tell() + body)
    return None

"""Uploads: a multipart body streamed straight into the spool folder, then checked as a video.

The body is parsed as it arrives (python-multipart's push parser): the `file` part goes to
`<this server's spool folder (spool.py)>/<random id>/<the client's file name, reduced to safe
characters>`, counted and hashed on the way, and stopped at the size limit; small text fields
are kept in memory.
Nothing a client sends is written anywhere else.
"""
from __future__ import annotations

import asyncio
import hashlib
import os
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import AsyncIterator
from urllib.parse import parse_qsl

from python_multipart import MultipartParser
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import parse_options_header

from fp.fingerprint.decode import probe, stream_duration
from fp.fingerprint.truncation import truncation
from fp.fingerprint.errors import InputError, VideoDecodeError

MAX_FIELD_BYTES = 4096
IDLE_SECONDS = 60.0  # a body that sends nothing this long is dropped: a stalled client holds a connection and a spool file
MAX_FIELDS = 16
FILE_FIELD = "file"


class UploadError(InputError):
    """A rejected upload; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 422):
        self.status = status
        super().__init__(message)


@dataclass
class Upload:
    fields: dict[str, str] = field(default_factory=dict)
    path: Path | None = None  # the spooled file, when a `file` part came
    filename: str | None = None
    size: int = 0
    sha256: str | None = None

    def discard(self) -> None:
        if self.path is not None:
            discard_spooled(self.path)


def safe_name(filename: str) -> str:
    """A file name made only of letters, digits, '.', '_' and '-' (never empty, never hidden)."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", filename).strip("._-")[:120]
    return name or "upload"


def discard_spooled(path: Path) -> None:
    """Delete a spooled upload and its folder."""
    path.unlink(missing_ok=True)
    try:
        path.parent.rmdir()
    except OSError:
        pass


async def idle_limited(chunks: AsyncIterator[bytes], seconds: float | None = None) -> AsyncIterator[bytes]:
    """`chunks`, failing with 408 when the client sends nothing for `seconds` (IDLE_SECONDS)."""
    seconds = seconds or IDLE_SECONDS
    it = chunks.__aiter__()
    while True:
        try:
            chunk = await asyncio.wait_for(it.__anext__(), seconds)
        except StopAsyncIteration:
            return
        except asyncio.TimeoutError:
            raise UploadError(f"upload stalled: nothing received for {seconds:g} s", 408) from None
        yield chunk


async def receive_form(chunks: AsyncIterator[bytes], content_type: str, spool: Path, max_bytes: int) -> Upload:
    """Parse a multipart/form-data body from `chunks` into an Upload (file spooled to disk)."""
    ctype, params = parse_options_header(content_type)
    if not ctype:
        return await _receive_untyped(chunks)
    if ctype == b"application/x-www-form-urlencoded":  # fields only (a `path`, listing fields)
        return await _receive_fields(chunks)
    if ctype != b"multipart/form-data" or b"boundary" not in params:
        raise UploadError("expected a multipart/form-data body (or url-encoded fields)", 415)
    spool.mkdir(parents=True, exist_ok=True)
    up = Upload()
    state: dict = {"headers": {}, "field": b"", "value": b"", "name": None, "buf": None, "fh": None}
    digest = hashlib.sha256()

    def on_header_field(data, start, end):
        state["field"] += data[start:end]

    def on_header_value(data, start, end):
        state["value"] += data[start:end]

    def on_header_end():
        state["headers"][state["field"].decode("latin-1").lower()] = state["value"]
        state["field"], state["value"] = b"", b""

    def on_headers_finished():
        _, disp = parse_options_header(state["headers"].get("content-disposition", b""))
        name = disp.get(b"name", b"").decode("utf-8", "replace")
        state["name"] = name
        if name == FILE_FIELD:
            if up.path is not None:
                raise UploadError("more than one file part", 400)
            up.filename = os.path.basename(disp.get(b"filename", b"").decode("utf-8", "replace"))[:200] or "upload"
            folder = spool / uuid.uuid4().hex
            folder.mkdir()
            up.path = folder / safe_name(up.filename)
            state["fh"] = open(up.path, "xb")
        else:
            if len(up.fields) >= MAX_FIELDS:
                raise UploadError("too many form fields", 400)
            state["buf"] = bytearray()

    def on_part_data(data, start, end):
        chunk = data[start:end]
        if state["fh"] is not None:
            up.size += len(chunk)
            if up.size > max_bytes:
                raise UploadError(f"upload too large: over the limit of {max_bytes} bytes", 413)
            digest.update(chunk)
            state["fh"].write(chunk)
        else:
            state["buf"] += chunk
            if len(state["buf"]) > MAX_FIELD_BYTES:
                raise UploadError(f"form field {state['name']!r} longer than {MAX_FIELD_BYTES} bytes", 400)

    def on_part_end():
        if state["fh"] is not None:
            state["fh"].close()
            state["fh"] = None
        elif state["buf"] is not None:
            up.fields[state["name"]] = bytes(state["buf"]).decode("utf-8", "replace")
            state["buf"] = None
        state["headers"] = {}

    parser = MultipartParser(params[b"boundary"], {
        "on_header_field": on_header_field, "on_header_value": on_header_value, "on_header_end": on_header_end,
        "on_headers_finished": on_headers_finished, "on_part_data": on_part_data, "on_part_end": on_part_end,
    })
    try:
        async for chunk in chunks:
            parser.write(chunk)
        parser.finalize()
        if state["fh"] is not None:  # the body ended inside the file part
            raise UploadError("upload truncated: the request body ended before the file did", 400)
    except MultipartParseError as exc:
        up.discard()
        raise UploadError(f"malformed multipart body ({exc})", 400) from exc
    except BaseException:
        if state["fh"] is not None:
            state["fh"].close()
        up.discard()
        raise
    if up.path is not None:
        up.sha256 = digest.hexdigest()
    return up


async def _receive_untyped(chunks: AsyncIterator[bytes]) -> Upload:
    """A body without a Content-Type: fine when empty (the caller then says what is missing)."""
    async for chunk in chunks:
        if chunk:
            raise UploadError("no Content-Type: send a file as multipart/form-data, fields as "
                              "application/x-www-form-urlencoded", 415)
    return Upload()


async def _receive_fields(chunks: AsyncIterator[bytes]) -> Upload:
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) > MAX_FIELD_BYTES * MAX_FIELDS:
            raise UploadError("form fields too long", 400)
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError) as exc:
        raise UploadError(f"malformed form fields ({exc})", 400) from exc
    if any(name == FILE_FIELD for name, _ in pairs):
        raise UploadError("a file upload needs a multipart/form-data body", 400)
    return Upload(fields=dict(pairs))


def check_video(path: Path, max_duration: float) -> float:
    """The duration of a spooled upload, from its own packet times (a header can lie);
    UploadError naming why it is not a usable video."""
    if path.stat().st_size == 0:
        raise UploadError("empty file")
    cut = truncation(path)
    if cut:
        raise UploadError(f"truncated video: {cut}")
    try:
        info = probe(path)
        duration = stream_duration(path)
    except VideoDecodeError as exc:
        raise UploadError(f"not a video: {exc.reason}") from exc
    if duration > max_duration:
        raise UploadError(f"video too long: {duration:.1f} s, the limit is {max_duration:g} s")
    declared = info.header_duration
    if 2.0 < declared < 10 * max_duration and duration < declared * 0.9 - 0.5:
        raise UploadError(f"truncated video: its frames end at {duration:.1f} s of the {declared:.1f} s it declares")
    return duration


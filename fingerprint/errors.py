"""The exceptions fp raises. The CLI maps them to one-line messages and exit codes."""
from __future__ import annotations


class FpError(Exception):
    """Base of every error fp raises on purpose."""


class InputError(FpError):
    """Bad input from the user (exit code 2)."""


class VideoDecodeError(InputError):
    """A file that cannot be read as a usable video. `str()` names the file and the reason."""

    def __init__(self, path: object, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class LibraryError(FpError):
    """The reference library could not be opened, read or written."""


class LibraryBusyError(LibraryError):
    """The library is being re-sharded by another process: a write (or a read that met the
    layout switching) may succeed when it has finished."""


class LibraryFormatError(LibraryError):
    """The library was made by another format version or hasher."""


class LibraryReadOnlyError(LibraryError):
    """The library cannot be written (read-only mount or no write permission)."""


class DuplicateContentError(LibraryError):
    """A video with the same bytes is already in the library."""

    def __init__(self, path: object, existing_title: str, existing_id: int):
        self.path = str(path)
        self.existing_title = existing_title
        self.existing_id = existing_id
        super().__init__(f"{self.path}: same content as {existing_title} (id {existing_id})")

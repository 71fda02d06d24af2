"""Shared output plumbing: --json flag, stdout results, stderr progress and messages."""
from __future__ import annotations

import json
import sys
from enum import IntEnum

import click


class Exit(IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    MATCH_FOUND = 3  # only with --fail-on-match
    INTERRUPTED = 130


def json_option(fn):
    """Adds --json to a command (results as JSON on stdout)."""
    return click.option("--json", "as_json", is_flag=True, help="Write results as JSON to stdout.")(fn)


def emit_json(obj) -> None:
    text = json.dumps(obj, ensure_ascii=False, default=str)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a file name that is not UTF-8: \u escapes keep its bytes (os.fsencode)
            text = json.dumps(obj, default=str)
    click.echo(text)


def emit_exact(text: str) -> None:
    """Write `text` to stdout as UTF-8 whatever the locale, a file name that is not UTF-8 as its
    own bytes (surrogateescape, as os.fsencode): for output a program reads back (CSV)."""
    click.echo(text.encode("utf-8", "surrogateescape"), nl=False)


def named(paths: list[str], most: int = 5) -> str:
    """The first few of a list of file names, for a one-line message."""
    head = ", ".join(paths[:most])
    return head + (f" and {len(paths) - most} more" if len(paths) > most else "")


def warn(message: str) -> None:
    click.echo(message, err=True)


class Progress:
    """A progress bar on stderr; silent when stderr is not a terminal or --quiet is given."""

    def __init__(self, total: float, label: str, quiet: bool = False, unit: str = "files"):
        self.enabled = not quiet and sys.stderr.isatty()
        self.total = max(total, 1)
        self.label = label
        self.unit = unit
        self.done = 0.0
        self.bar = None
        if self.enabled:
            self.bar = click.progressbar(length=int(self.total * 1000), label=label, file=sys.stderr, show_pos=False, show_percent=True, show_eta=True)
            self.bar.__enter__()

    def update(self, done: float, info: str | None = None) -> None:
        if not self.bar:
            return
        step = int(done * 1000) - self.bar.pos
        if info:
            self.bar.label = f"{self.label} {info}"
        if step > 0:
            self.bar.update(step)

    def close(self) -> None:
        if self.bar:
            self.bar.__exit__(None, None, None)
            self.bar = None

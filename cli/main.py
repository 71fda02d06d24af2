"""`fp` command line: a thin layer over fp.fingerprint and fp.index.

The one place that turns exceptions into one-line messages and exit codes.
"""
from __future__ import annotations

import logging
import sys

import click

from fp.fingerprint.errors import FpError, InputError

from .output import Exit


class FpGroup(click.Group):
    """Maps fp's exceptions and the commands' return values to messages and exit codes."""

    def invoke(self, ctx: click.Context):
        try:
            code = super().invoke(ctx)
        except InputError as exc:
            click.echo(f"fp: error: {exc}", err=True)
            ctx.exit(Exit.USAGE)
        except FpError as exc:
            click.echo(f"fp: error: {exc}", err=True)
            ctx.exit(Exit.ERROR)
        except KeyboardInterrupt:
            click.echo("fp: interrupted", err=True)
            ctx.exit(Exit.INTERRUPTED)
        if isinstance(code, int) and code:
            ctx.exit(int(code))
        return code


@click.group(cls=FpGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="Log more (-vv for debug).")
@click.version_option(package_name="fp-video", prog_name="fp")
def cli(verbose: int) -> None:
    """fp: find pirated copies of reference videos from their pixels."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")


def _register() -> None:
    from . import cmd_bench, cmd_demo, cmd_fingerprint, cmd_index, cmd_keys, cmd_library, cmd_match, cmd_report, cmd_serve

    cli.add_command(cmd_fingerprint.fingerprint)
    cli.add_command(cmd_index.index)
    cli.add_command(cmd_library.library)
    cli.add_command(cmd_match.match)
    cli.add_command(cmd_bench.bench)
    cli.add_command(cmd_demo.demo)
    cli.add_command(cmd_serve.serve)
    cli.add_command(cmd_keys.keys)
    cli.add_command(cmd_report.report)


_register()


def main(argv: list[str] | None = None) -> None:
    try:
        cli.main(args=argv, prog_name="fp")
    except BrokenPipeError:
        sys.exit(Exit.ERROR)


if __name__ == "__main__":
    main()

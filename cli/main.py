"""`fp` command line: a thin layer over fp.fingerprint and fp.index.

The one place that turns exceptions into one-line messages and exit codes.
"""
from __future__ import annotations

import logging
import sys

import click

from fp.fingerprint.errors import FpError, InputError

from .output import Exit


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="Log more (-vv for debug).")
@click.version_option(package_name="fp-video", prog_name="fp")
def cli(verbose: int) -> None:
    """fp: find pirated copies of reference videos from their pixels."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")


def _register() -> None:
    from . import cmd_fingerprint, cmd_index, cmd_library, cmd_match

    cli.add_command(cmd_fingerprint.fingerprint)
    cli.add_command(cmd_index.index)
    cli.add_command(cmd_library.library)
    cli.add_command(cmd_match.match)
    # cli.add_command(cmd_bench.bench)
    # cli.add_command(cmd_demo.demo)


_register()


def main(argv: list[str] | None = None) -> None:
    try:
        code = cli.main(args=argv, prog_name="fp", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("fp: interrupted", err=True)
        sys.exit(Exit.INTERRUPTED)
    except KeyboardInterrupt:
        click.echo("fp: interrupted", err=True)
        sys.exit(Exit.INTERRUPTED)
    except click.ClickException as exc:
        exc.show()
        sys.exit(Exit.USAGE if isinstance(exc, click.UsageError) else exc.exit_code)
    except InputError as exc:
        click.echo(f"fp: error: {exc}", err=True)
        sys.exit(Exit.USAGE)
    except FpError as exc:
        click.echo(f"fp: error: {exc}", err=True)
        sys.exit(Exit.ERROR)
    except BrokenPipeError:
        sys.exit(Exit.ERROR)
    sys.exit(code if isinstance(code, int) else Exit.OK)


if __name__ == "__main__":
    main()

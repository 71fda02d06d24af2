"""fp demo: index the shipped sample clips, disguise one, and find it."""
from __future__ import annotations

import tempfile
from pathlib import Path

import click

from fp.benchmarks.demo import run_demo

from .output import Exit, emit_json, json_option
from .render import match_table


@click.command()
@click.option("--clips", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Reference clips folder (default: the shipped data/sample_clips).")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where to put the demo library and the disguised copy (default: a temp folder).")
@click.option("-q", "--quiet", is_flag=True, help="No progress messages.")
@json_option
def demo(clips, workdir, quiet, as_json):
    """Index the sample clips, make a disguised copy of one, and find it."""
    log = (lambda msg: None) if quiet or as_json else (lambda msg: click.echo(msg, err=True))
    if workdir is None:
        workdir = Path(tempfile.mkdtemp(prefix="fp-demo-"))
    outcome = run_demo(workdir, clips=clips, log=log)
    if as_json:
        emit_json({k: v for k, v in outcome.items() if k != "result_obj"})
    else:
        click.echo(match_table([outcome["result_obj"]]))
        click.echo("")
        click.echo(outcome["summary"])
    return Exit.OK if outcome["found"] else Exit.ERROR

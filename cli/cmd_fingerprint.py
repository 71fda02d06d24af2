"""fp fingerprint FILE: print the timed hashes of a video."""
from __future__ import annotations

import click

from dataclasses import replace

from fp.fingerprint.hashers import HASHERS
from fp.fingerprint.pipeline import QUERY, REFERENCE, decode_warnings, fingerprint_video
from fp.fingerprint.serialize import fingerprint_to_json

from .output import Progress, emit_json, json_option, warn


@click.command()
@click.argument("file", type=click.Path(dir_okay=True, path_type=str))
@click.option("--fps", type=click.FloatRange(min=0.01), default=None, help="Frames sampled per second (default 5).")
@click.option("--hasher", type=click.Choice(sorted(HASHERS)), default="phash64", show_default=True)
@click.option("--reference", is_flag=True, help="Also hash the crop views a library stores.")
@click.option("--inset", is_flag=True, help="Also hash a detected picture-in-picture inset, the picture turned back a few "
              "degrees and the half-step frames (as matching does; always on with --json).")
@click.option("--keyframes", is_flag=True, help="Decode keyframes only (fast triage).")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True, help="Decoder threads.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@json_option
def fingerprint(file, fps, hasher, reference, inset, keyframes, threads, quiet, as_json):
    """Print the timed perceptual hashes of FILE (one line per hash: time, hash, quality).

    --json writes the fingerprint format (fingerprint/serialize.py) that `fp match --hashes FILE`
    matches without decoding: hashed as matching hashes a suspect (mirror, inset, turned and fine
    hashes).
    """
    inset = inset or (as_json and not reference)
    config = replace(REFERENCE if reference else QUERY, hasher=hasher, keyframes_only=keyframes, threads=threads, inset_view=inset,
                     turned_views=inset, phase_rows=inset and not reference)
    if fps:
        config = replace(config, fps=fps)
    bar = Progress(1.0, file, quiet=quiet or as_json)
    try:
        fpr = fingerprint_video(file, config, progress=lambda done, total: bar.update(done / total if total else 0))
    finally:
        bar.close()
    for message in decode_warnings(fpr, "hashed"):
        warn(f"fp: warning: {file}: {message}")
    if as_json:
        emit_json(fingerprint_to_json(fpr))
        return
    click.echo(f"# {fpr.source} hasher={fpr.hasher} duration={fpr.duration:.3f}s hashes={len(fpr)}")
    click.echo("# time_s,hash_hex,quality" + (",view" if reference or inset else ""))
    for h in fpr.frames():
        click.echo(f"{h.t:.3f},{h.hex},{h.quality}" + (f",{h.view}" if reference or inset else ""))

"""fp index PATH...: add reference videos to the library."""
from __future__ import annotations

import contextlib
import os
import time

import click

from fp.index.indexer import index_paths, read_metadata_csv
from fp.index.shards import open_library

from .options import library_option, ray_option
from .output import Exit, Progress, emit_json, json_option, named, warn


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@library_option
@click.option("--title", help="Title for a single video (default: file name without extension).")
@click.option("--metadata", "metadata_csv", type=click.Path(dir_okay=False, path_type=str),
              help="CSV with a path column and title, rights_holder, licensed_sellers, ... columns.")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Parallel processes (default: all cores).")
@click.option("--strict", is_flag=True, help="Stop at the first file that fails.")
@ray_option
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@json_option
def index(paths, library_dir, title, metadata_csv, workers, strict, ray_address, quiet, as_json):
    """Fingerprint reference videos (files or folders, walked recursively) into the library.

    With --ray each file is fingerprinted as a Ray task on the cluster (a task whose worker dies
    is run once more, then only its file fails); this process writes every video to its shard.
    """
    metadata = read_metadata_csv(metadata_csv) if metadata_csv else {}
    workers = workers or os.cpu_count() or 1
    with contextlib.ExitStack() as stack:
        runner = None
        if ray_address is not None:
            from fp.index.ray_cluster import ray_session
            from fp.index.ray_index import ray_runner

            stack.enter_context(ray_session(ray_address))
            runner = ray_runner()
        lib = stack.enter_context(open_library(library_dir))
        bar = Progress(1.0, "indexing", quiet=quiet)
        stats = {"hours": 0.0, "start": time.monotonic()}

        def progress(outcome, done, total):
            stats["hours"] += outcome.duration / 3600
            speed = stats["hours"] * 3600 / max(time.monotonic() - stats["start"], 1e-6)
            bar.update(done / total, f"{done}/{total} files, {stats['hours']:.2f} h of video, {speed:.1f}x real time")
            if outcome.status == "failed" and not as_json:
                bar_msg = f"fp: {outcome.path}: {outcome.reason}"
                warn(("\n" if bar.bar else "") + bar_msg)
            for message in outcome.warnings if not as_json else ():
                warn(("\n" if bar.bar else "") + f"fp: warning: {outcome.path}: {message}")

        try:
            report = index_paths(lib, paths, title=title, metadata=metadata, workers=workers, strict=strict, progress=progress,
                                 runner=runner)
        finally:
            bar.close()
        summary = report.to_dict()
        summary["library"] = lib.stats()
    for problem in report.csv_problems:
        warn(f"fp: warning: {problem}")
    for note in report.notes:
        warn(f"fp: note: {note}")
    if report.interrupted:
        warn("fp: interrupted; what finished is kept (run the same command again to finish)")
    if as_json:
        emit_json(summary)
    else:
        click.echo(
            f"indexed {summary['indexed']}, updated {summary['updated']}, skipped {summary['skipped']} (already indexed), "
            f"duplicates {summary['duplicate']}, failed {summary['failed']}"
            + (f", {summary['not_video']} not video" if summary["not_video"] else "") + "; "
            f"{summary['hours_indexed']:.3f} h of video, {summary['hashes_added']} hashes, {summary['elapsed']:.1f} s"
            + (f" ({summary['realtime_multiple']}x real time)" if summary["realtime_multiple"] else "")
        )
        for o in report.outcomes:
            if o.status in ("failed", "duplicate", "updated"):
                click.echo(f"{o.status}: {o.path}: {o.reason}")
        if report.not_video_files:
            click.echo(f"not video: {named(report.not_video_files)}")
        lib_stats = summary["library"]
        click.echo(f"library {lib_stats['library']}: {lib_stats['videos']} videos, {lib_stats['hours']:.3f} h, {lib_stats['hashes']} hashes")
    if report.interrupted:
        return Exit.INTERRUPTED
    return Exit.ERROR if report.failed else Exit.OK

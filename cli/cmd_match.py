"""fp match PATH...: which reference does each suspect copy, where, and how sure."""
from __future__ import annotations

import contextlib
import csv
import io
import time

import click

from fp.index.listings import read_listings
from fp.index.match_batch import BatchSummary, HashFile, listing_problems, match_paths
from fp.index.matcher import MatchConfig, Matcher, MatchResult
from fp.index.shards import open_library
from fp.index.walk import walk_paths

from .options import library_option, ray_option
from .output import Exit, Progress, emit_exact, emit_json, json_option, named, warn
from .render import match_table

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # OWASP CSV injection: a cell starting so runs as a formula


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=str, readable=False))
@library_option
@click.option("--hashes", "hash_files", multiple=True, type=click.Path(path_type=str, readable=False),
              help="A fingerprint JSON file (from `fp fingerprint --json`) to match without decoding; repeatable; answered after PATHS.")
@click.option("--listings", "listings_csv", type=click.Path(dir_okay=False, path_type=str),
              help="CSV with path, claimed_title, seller_id, licence_id columns.")
@click.option("--evidence", "evidence_dir", type=click.Path(path_type=str, readable=False),
              help="Write a PNG per match: frame pairs side by side and the time alignment.")
@click.option("--csv", "as_csv", is_flag=True, help="Write results as UTF-8 CSV (cells a spreadsheet would run as formulas get a leading '; "
              "a file name that is not UTF-8 keeps its bytes).")
@click.option("--max-chance", type=click.FloatRange(min=0, min_open=True), default=MatchConfig.max_chance, show_default=True,
              help="Accept a match when fewer than this many chance matches as strong are expected in this library.")
@click.option("--search-zooms", is_flag=True,
              help="Also search each suspect's zoomed-out pictures: finds more deep crops (25-30 %), tried on fewer "
                   "unseen suspects than the default (benchmarks/RESULTS.md, ninth pass).")
@click.option("--inner-check/--no-inner-check", default=MatchConfig.inner_check, show_default=True,
              help="Read a suspect file of 30 s or less that matched nothing again: its strongest refused alignment, if "
                   "the hashes nearly proved it (chance <= 10), is checked on the centre of both pictures (deep crops of "
                   "still shots) and, where every moment hashes alike (a fixed camera), by its pixels registered on the "
                   "reference; 1-2 s of CPU a line read; each way's false-pass rate is measured, not modelled, and a "
                   "pass is given only under a --max-chance at or above it: benchmarks/RESULTS.md). Not for --hashes (no pixels).")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Processes matching in parallel, each with the library open once (output stays in input order).")
@click.option("--triage", is_flag=True,
              help="Decode each suspect's keyframes first; run the full match only when one of them is near a "
                   "reference hash (much faster when most suspects are not copies; see benchmarks/SCALE.md).")
@ray_option
@click.option("--fail-on-match", is_flag=True, help="Exit 3 when any suspect matches (even if another failed).")
@click.option("--strict", is_flag=True, help="Stop at the first suspect that fails.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@json_option
def match(paths, library_dir, hash_files, listings_csv, evidence_dir, as_csv, max_chance, search_zooms, inner_check, workers, triage,
          ray_address, fail_on_match, strict, quiet, as_json):
    """Match suspect videos (files or folders) and fingerprint files (--hashes) against the library.

    Every suspect gets a result, in input order (folders in sorted order): a file that cannot be
    read or decoded, or whose evidence cannot be written, gets verdict "error" with the reason
    and the others go on (--strict stops at the first failure).

    --json writes one JSON object per suspect per line, then a last line {"schema_version": 1,
    "summary": {...}} with the counts (also after Ctrl-C, with "interrupted": true). Every line
    carries "schema_version".

    Exit codes, first that applies: 130 interrupted; 3 with --fail-on-match when any suspect
    matched (even if another failed: 3 beats 1); 1 when any suspect failed; 0 otherwise.

    With --ray, one Ray actor per library shard holds that shard; each suspect's search fans out
    to all of them and each verifies the alignments of its own videos (same results as without).
    """
    if not paths and not hash_files:
        raise click.UsageError("give at least one PATH or --hashes FILE")
    listings = read_listings(listings_csv) if listings_csv else {}
    suspects = [*paths, *(HashFile(h) for h in hash_files)]
    start = time.perf_counter()
    results: list[MatchResult] = []
    skipped: list[str] = []  # walked files that hold no video
    interrupted = False
    with contextlib.ExitStack() as stack:
        config = MatchConfig(max_chance=max_chance, search_zooms=search_zooms, inner_check=inner_check)
        if ray_address is not None:
            from fp.index.ray_cluster import ray_session
            from fp.index.ray_match import ray_matcher

            stack.enter_context(ray_session(ray_address))
            matcher = stack.enter_context(ray_matcher(library_dir, config))
        else:
            matcher = Matcher(stack.enter_context(open_library(library_dir, create=False, readonly=True)), config)
        bar = Progress(1.0, "matching", quiet=quiet)

        def progress(done: float, total: int) -> None:
            bar.update(done / total if total else 1.0, f"{int(done)}/{total}")

        try:
            def not_video(paths: list[str]) -> None:
                skipped.extend(paths)
                if paths:
                    warn(f"fp: {len(paths)} files in the folders given hold no video (not matched): {named(paths)}")

            for result in match_paths(matcher, suspects, listings=listings, evidence_dir=evidence_dir, workers=workers,
                                      strict=strict, progress=progress, not_video=not_video, triage=triage):
                results.append(result)
                if as_json:
                    emit_json(result.to_dict())
        except KeyboardInterrupt:
            interrupted = True
        finally:
            bar.close()
    for r in results:
        if r.verdict == "error":
            warn(f"fp: {r.query}: {r.error}")
        for message in r.warnings:
            warn(f"fp: warning: {r.query}: {message}")
    problems = [] if interrupted else listing_problems(listings, results)
    for problem in problems:
        warn(f"fp: warning: {problem}")
    if as_json:
        emit_json(BatchSummary.of(results, time.perf_counter() - start, workers, interrupted, problems, skipped).to_dict())
    elif as_csv:
        emit_exact(match_csv(results))
    else:
        click.echo(match_table(results))
    if interrupted:
        raise KeyboardInterrupt  # main maps it to one line and exit 130
    if fail_on_match and any(r.matches for r in results):
        return Exit.MATCH_FOUND
    if any(r.verdict == "error" for r in results):
        return Exit.ERROR
    return Exit.OK


def csv_cell(value) -> str:
    """A cell a spreadsheet shows as text: OWASP's rule, a leading ' when it starts with = + - @ TAB CR."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def match_csv(results: list[MatchResult]) -> str:
    """One row per match (one per suspect without a match); every cell quoted and neutralised."""
    buf = io.StringIO()
    writer = csv.writer(buf, quoting=csv.QUOTE_ALL)  # quoted cells: a ; or , inside cannot start a new cell
    row = lambda cells: writer.writerow([csv_cell(c) for c in cells])
    row(["query", "verdict", "error", "title", "ref_path", "confidence", "chance", "query_start", "query_end",
         "ref_start", "ref_end", "speed", "mirrored", "matched_frames", "claimed_title", "flags", "evidence", "seen_as"])
    for r in results:
        claimed = r.listing.get("claimed_title", "")
        flags = ";".join(r.listing.get("flags", []))
        if not r.matches:
            row([r.query, r.verdict, r.error or "", "", "", "", "", "", "", "", "", "", "", "", claimed, flags, "", ""])
        for m in r.matches:
            row([r.query, r.verdict, r.error or "", m.title, m.ref_path, f"{m.confidence:.6f}", f"{m.chance:.3g}",
                 f"{m.query_span[0]:.3f}", f"{m.query_span[1]:.3f}", f"{m.ref_span[0]:.3f}", f"{m.ref_span[1]:.3f}",
                 f"{m.speed:.4f}", int(m.mirrored), m.matched_frames, claimed, flags, m.evidence or "", m.seen_as])
    return buf.getvalue()

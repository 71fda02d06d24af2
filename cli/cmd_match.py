"""fp match PATH...: which reference does each suspect copy, where, and how sure."""
from __future__ import annotations

import csv
import io
from dataclasses import replace
from pathlib import Path

import click

from fp.fingerprint.errors import FpError, VideoDecodeError
from fp.index.library import Library
from fp.index.listings import flags_for, read_listings
from fp.index.matcher import MatchConfig, Matcher, MatchResult
from fp.index.walk import walk_paths

from .options import library_option
from .output import Exit, Progress, emit_json, json_option, warn
from .render import match_table


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@library_option
@click.option("--listings", "listings_csv", type=click.Path(dir_okay=False, path_type=str),
              help="CSV with path, claimed_title, seller_id, licence_id columns.")
@click.option("--evidence", "evidence_dir", type=click.Path(file_okay=False, path_type=str),
              help="Write a PNG per match: frame pairs side by side and the time alignment.")
@click.option("--csv", "as_csv", is_flag=True, help="Write results as CSV.")
@click.option("--max-chance", type=click.FloatRange(min=0, min_open=True), default=MatchConfig.max_chance, show_default=True,
              help="Accept a match when fewer than this many chance matches as strong are expected in this library.")
@click.option("--fail-on-match", is_flag=True, help="Exit 3 when any suspect matches.")
@click.option("--strict", is_flag=True, help="Stop at the first suspect that fails to decode.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@json_option
def match(paths, library_dir, listings_csv, evidence_dir, as_csv, max_chance, fail_on_match, strict, quiet, as_json):
    """Match suspect videos (files or folders) against the library.

    --json writes one JSON object per suspect per line.
    """
    listings = read_listings(listings_csv) if listings_csv else {}
    walk = walk_paths(paths)
    files, missing = walk.files, walk.problems
    if walk.not_video:
        warn(f"fp: {len(walk.not_video)} files in the folders given hold no video (not matched)")
    results: list[MatchResult] = [MatchResult(m.path, "error", error=m.reason) for m in missing]
    with Library(library_dir, create=False) as lib:
        matcher = Matcher(lib, MatchConfig(max_chance=max_chance))
        bar = Progress(len(files), "matching", quiet=quiet)
        try:
            for i, f in enumerate(files):
                try:
                    result = matcher.match_file(f, progress=lambda d, t, i=i: bar.update(i + (d / t if t else 0)))
                except VideoDecodeError as exc:
                    if strict:
                        raise
                    result = MatchResult(str(f), "error", error=exc.reason)
                except FpError as exc:
                    if strict:
                        raise
                    result = MatchResult(str(f), "error", error=str(exc))
                result = _attach_listing(result, listings.get(str(Path(f).resolve())))
                if evidence_dir and result.matches:
                    from fp.index.evidence import write_evidence

                    write_evidence(result, evidence_dir)
                results.append(result)
                bar.update(i + 1, f"{i + 1}/{len(files)}")
                if as_json:
                    emit_json(result.to_dict())
        finally:
            bar.close()
    for r in results:
        if r.verdict == "error":
            warn(f"fp: {r.query}: {r.error}")
        for message in r.warnings:
            warn(f"fp: warning: {r.query}: {message}")
    if as_json:
        for r in results[: len(missing)]:
            emit_json(r.to_dict())
    elif as_csv:
        click.echo(_csv(results), nl=False)
    else:
        click.echo(match_table(results))
    if any(r.verdict == "error" for r in results):
        return Exit.ERROR
    if fail_on_match and any(r.verdict == "match" for r in results):
        return Exit.MATCH_FOUND
    return Exit.OK


def _attach_listing(result: MatchResult, listing: dict | None) -> MatchResult:
    if not listing:
        return result
    best = result.matches[0] if result.matches else None
    flags = flags_for(listing, best.title if best else None, best.metadata if best else {})
    return replace(result, listing={**listing, "flags": flags})


def _csv(results: list[MatchResult]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["query", "verdict", "error", "title", "ref_path", "confidence", "chance", "query_start", "query_end",
                     "ref_start", "ref_end", "speed", "mirrored", "matched_frames", "claimed_title", "flags"])
    for r in results:
        claimed = r.listing.get("claimed_title", "")
        flags = ";".join(r.listing.get("flags", []))
        if not r.matches:
            writer.writerow([r.query, r.verdict, r.error or "", "", "", "", "", "", "", "", "", "", "", "", claimed, flags])
        for m in r.matches:
            writer.writerow([r.query, r.verdict, "", m.title, m.ref_path, f"{m.confidence:.6f}", f"{m.chance:.3g}",
                             f"{m.query_span[0]:.3f}", f"{m.query_span[1]:.3f}", f"{m.ref_span[0]:.3f}", f"{m.ref_span[1]:.3f}",
                             f"{m.speed:.4f}", int(m.mirrored), m.matched_frames, claimed, flags])
    return buf.getvalue()

"""fp library info|list|remove|set-metadata|disable|enable|verify|rebuild|upgrade|shard."""
from __future__ import annotations

import click

from fp.fingerprint.errors import InputError, LibraryError
from fp.index.library import Library
from fp.index.shards import ShardedLibrary, open_library, reshard, write_library

from .options import library_option
from .output import Exit, Progress, emit_json, json_option
from .render import cell


@click.group()
def library():
    """Inspect and maintain a reference library."""


def _refs_options(fn):
    fn = click.option("--all", "all_matches", is_flag=True, help="A title held by several videos means all of them.")(fn)
    fn = click.option("--title", "by", flag_value="title", help="Every REF is a title (even when it is all digits).")(fn)
    fn = click.option("--id", "by", flag_value="id", help="Every REF is a numeric video id.")(fn)
    return fn


def _resolve(lib: Library | ShardedLibrary, refs, by, all_matches) -> list:
    found, seen = [], set()
    for ref in refs:
        for v in lib.resolve(ref, by=by or "auto", all_matches=all_matches):
            if v.id not in seen:
                seen.add(v.id)
                found.append(v)
    return found


@library.command()
@library_option
@json_option
def info(library_dir, as_json):
    """Counts, hours, hashes, bytes and index type."""
    with open_library(library_dir, create=False, readonly=True) as lib:
        stats = lib.stats()
    stats.setdefault("shards", 1)
    if as_json:
        emit_json(stats)
        return
    for key, value in stats.items():
        if key == "per_shard":
            for part in value:
                click.echo(f"shard {part['shard']:03d}: {part['videos']} videos, {part['hours']} h, {part['hashes']} hashes, "
                           f"{part['bytes']} bytes, index {part['index_type']}")
        else:
            click.echo(f"{key}: {value}")


@library.command(name="list")
@library_option
@json_option
def list_(library_dir, as_json):
    """List the indexed titles (id, title, duration, path; disabled titles are marked)."""
    with open_library(library_dir, create=False, readonly=True) as lib:
        videos = lib.videos()
    if as_json:
        emit_json([v.to_dict() for v in videos])
        return
    for v in videos:
        # cell(): one line per video whatever the name, a byte that is not UTF-8 as \xNN
        click.echo(f"{v.id}\t{cell(v.title)}\t{v.duration:.1f}s\t{cell(v.path)}" + ("" if v.enabled else "\tdisabled"))


@library.command()
@click.argument("refs", nargs=-1, required=True)
@_refs_options
@library_option
@json_option
def remove(refs, by, all_matches, library_dir, as_json):
    """Remove videos by numeric id or exact title (REF...).

    Digits are an id; a title held by several videos is refused unless --all.
    """
    with write_library(library_dir, create=False) as lib:
        found = _resolve(lib, refs, by, all_matches)
        for v in found:
            lib.remove(v.id)
        lib.save_index()
    if as_json:
        emit_json({"removed": [v.to_dict() for v in found]})
    else:
        for v in found:
            click.echo(f"removed {v.id}\t{v.title}")


@library.command(name="set-metadata")
@click.argument("ref")
@click.option("--set", "pairs", multiple=True, metavar="KEY=VALUE",
              help="A metadata value (repeatable); title=... renames; an empty value deletes the key.")
@click.option("--replace", is_flag=True, help="Replace all metadata with the given keys instead of merging.")
@_refs_options
@library_option
@json_option
def set_metadata(ref, pairs, replace, by, all_matches, library_dir, as_json):
    """Change the metadata (rights holder, licensed sellers, title, ...) of the video REF."""
    if not pairs:
        raise InputError("nothing to set: give --set KEY=VALUE")
    values = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--set {pair}: expected KEY=VALUE")
        values[key.strip()] = value if value != "" else None
    with write_library(library_dir, create=False) as lib:
        updated = [lib.set_metadata(v.id, values, replace=replace) for v in _resolve(lib, [ref], by, all_matches)]
    if as_json:
        emit_json({"updated": [v.to_dict() for v in updated]})
    else:
        for v in updated:
            click.echo(f"updated {v.id}\t{v.title}\t{v.metadata}")


def _toggle(enabled: bool):
    verb = "enable" if enabled else "disable"

    @click.argument("refs", nargs=-1, required=True)
    @_refs_options
    @library_option
    @json_option
    def command(refs, by, all_matches, library_dir, as_json):
        with write_library(library_dir, create=False) as lib:
            changed = [lib.set_enabled(v.id, enabled) for v in _resolve(lib, refs, by, all_matches)]
        if as_json:
            emit_json({f"{verb}d": [v.to_dict() for v in changed]})
        else:
            for v in changed:
                click.echo(f"{verb}d {v.id}\t{v.title}")

    command.__doc__ = ("Enable titles again (REF...: id or exact title)." if enabled else
                       "Disable titles (REF...): kept in the library, never matched, until enabled.")
    return library.command(name=verb)(command)


_toggle(False)
_toggle(True)


@library.command()
@library_option
@json_option
def verify(library_dir, as_json):
    """Check consistency: the database file, frame rows, FAISS index against SQLite."""
    try:
        with open_library(library_dir, create=False, readonly=True) as lib:
            problems = lib.verify()
    except LibraryError as exc:
        problems = [str(exc)]
    if as_json:
        emit_json({"ok": not problems, "problems": problems})
    else:
        click.echo("ok" if not problems else "\n".join(f"problem: {p}" for p in problems))
    return Exit.OK if not problems else Exit.ERROR


@library.command()
@library_option
@json_option
def rebuild(library_dir, as_json):
    """Rebuild the FAISS index from SQLite."""
    with write_library(library_dir, create=False) as lib:
        lib.rebuild_index()
        stats = lib.stats()
    if as_json:
        emit_json(stats)
    else:
        click.echo(f"rebuilt: {stats['hours']} h, {stats['hashes']} hashes, index {stats['index_type']}")


@library.command()
@library_option
@json_option
def upgrade(library_dir, as_json):
    """Bring a library made by an earlier fp to this fp's format, in place (a backup of the old
    database is kept beside it; nothing is decoded again). Opening an old library that can be
    written does the same."""
    with write_library(library_dir, create=False) as lib:
        stats = lib.stats()
    if as_json:
        emit_json(stats)
    else:
        click.echo(f"library {stats['library']}: format version {stats['format_version']}, {stats['videos']} videos, "
                   f"{stats['hashes']} hashes")


@library.command()
@click.option("--shards", "n_shards", type=click.IntRange(min=1), required=True, help="Number of shards (1: one library, the default layout).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@library_option
@json_option
def shard(n_shards, quiet, library_dir, as_json):
    """Split the library into N shards (each its own store and FAISS index), or join it back (1).

    Videos move by content hash (sha256 mod N) with their hashes as stored: nothing is decoded
    again. Index, match, list, verify and info work on a sharded library as on one; `fp match
    --ray` holds each shard in its own Ray actor. Refused while `fp index` or an `fp library` edit
    writes the library (a writer started meanwhile waits 5 s, then fails); a crash leaves either
    the old layout or the new one. An empty library is made if there is none.
    """
    bar = Progress(1.0, "sharding", quiet=quiet)
    try:
        report = reshard(library_dir, n_shards, progress=lambda done, total: bar.update(done / total if total else 1.0))
    finally:
        bar.close()
    if as_json:
        emit_json(report.to_dict())
    else:
        click.echo(f"library {report.library}: {report.shards_before} -> {report.shards} shards, {report.videos} videos "
                   f"({report.moved} moved), {report.elapsed:.1f} s")

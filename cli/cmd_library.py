"""fp library info|list|remove|verify|rebuild."""
from __future__ import annotations

import click

from fp.fingerprint.errors import InputError
from fp.index.library import Library

from .options import library_option
from .output import Exit, emit_json, json_option


@click.group()
def library():
    """Inspect and maintain a reference library."""


@library.command()
@library_option
@json_option
def info(library_dir, as_json):
    """Counts, hours, hashes, bytes and index type."""
    with Library(library_dir, create=False) as lib:
        stats = lib.stats()
    if as_json:
        emit_json(stats)
        return
    for key, value in stats.items():
        click.echo(f"{key}: {value}")


@library.command(name="list")
@library_option
@json_option
def list_(library_dir, as_json):
    """List the indexed titles."""
    with Library(library_dir, create=False) as lib:
        videos = lib.videos()
    if as_json:
        emit_json([v.to_dict() for v in videos])
        return
    for v in videos:
        click.echo(f"{v.id}\t{v.title}\t{v.duration:.1f}s\t{v.path}")


@library.command()
@click.argument("titles", nargs=-1, required=True)
@library_option
@json_option
def remove(titles, library_dir, as_json):
    """Remove videos by title, path or numeric id."""
    removed = []
    with Library(library_dir, create=False) as lib:
        for name in titles:
            found = lib.find_title(name) or ([lib.video(int(name))] if name.isdigit() and lib.video(int(name)) else [])
            if not found:
                raise InputError(f"{name}: no such title in {library_dir}")
            for v in found:
                lib.remove(v.id)
                removed.append(v.to_dict())
        lib.save_index()
    if as_json:
        emit_json({"removed": removed})
    else:
        for v in removed:
            click.echo(f"removed {v['id']}\t{v['title']}")


@library.command()
@library_option
@json_option
def verify(library_dir, as_json):
    """Check consistency: frame rows, FAISS index against SQLite."""
    with Library(library_dir, create=False) as lib:
        problems = lib.verify()
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
    with Library(library_dir, create=False) as lib:
        lib.rebuild_index()
        stats = lib.stats()
    if as_json:
        emit_json(stats)
    else:
        click.echo(f"rebuilt: {stats['hashes']} hashes, index {stats['index_type']}")

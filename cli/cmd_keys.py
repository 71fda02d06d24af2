"""fp keys add|list|revoke: API keys of the service (stored hashed in LIBRARY/service)."""
from __future__ import annotations

from pathlib import Path

import click

from fp.schema import versioned

from .options import library_option
from .output import emit_json, json_option

ROLES = ("studio", "platform", "reviewer")


def _db(library_dir: str, home: str | None):
    from fp.index.library import DB_NAME
    from fp.index.shards import MANIFEST
    from fp.service.db import ServiceDB
    from fp.service.settings import ServiceSettings

    root = Path(library_dir)
    if home is None and not ((root / DB_NAME).exists() or (root / MANIFEST).exists()):  # a typo would make a service folder beside nothing
        raise click.UsageError(f"{library_dir}: no fp library here (run `fp index` first, or give --home)")
    return ServiceDB(ServiceSettings(library=library_dir, home=home).db_path)


home_option = click.option("--home", type=click.Path(file_okay=False, path_type=str), default=None,
                           help="The service's folder (default: LIBRARY/service).")


@click.group()
def keys():
    """Make, list and revoke the service's API keys."""


@keys.command()
@click.option("--role", type=click.Choice(ROLES), required=True,
              help="studio: references; platform: matching; reviewer: decisions.")
@click.option("--label", default=None, help="Who holds the key (shown by `fp keys list`).")
@click.option("--rights-holder", default=None,
              help="Studio keys: see, add, edit and remove only this rights holder's references and notices.")
@library_option
@home_option
@json_option
def add(role, label, rights_holder, library_dir, home, as_json):
    """Make a key. The key is printed once, alone on the last line; only its hash is stored."""
    from fp.service.keys import add_key

    record, key = add_key(_db(library_dir, home), role, label, rights_holder)
    if as_json:
        emit_json(versioned({**record.to_dict(), "key": key}))
        return
    click.echo(f"# key {record.id}, role {record.role}" + (f", {label}" if label else "")
               + (f", rights holder {record.rights_holder}" if record.rights_holder else "") + " (shown only now)")
    click.echo(key)


@keys.command(name="list")
@library_option
@home_option
@json_option
def list_(library_dir, home, as_json):
    """List keys (ids, roles, labels; never the keys)."""
    from fp.service.keys import list_keys

    records = list_keys(_db(library_dir, home))
    if as_json:
        emit_json(versioned({"keys": [r.to_dict() for r in records]}))
        return
    for r in records:
        click.echo(f"{r.id}\t{r.role}\t{'revoked' if r.revoked_at else 'active'}\t{r.label or ''}")


@keys.command()
@click.argument("key_id")
@library_option
@home_option
@json_option
def revoke(key_id, library_dir, home, as_json):
    """Revoke a key by its id (its review sessions end too)."""
    from fp.service.keys import revoke_key

    record = revoke_key(_db(library_dir, home), key_id)
    if as_json:
        emit_json(versioned(record.to_dict()))
    else:
        click.echo(f"revoked {record.id} ({record.role})")

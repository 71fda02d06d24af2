"""fp report sellers|notices: what the service's reviewers confirmed, per seller and per rights holder."""
from __future__ import annotations

import click

from fp.schema import versioned

from .options import library_option
from .output import emit_json, json_option
from .render import table

home_option = click.option("--home", type=click.Path(file_okay=False, path_type=str), default=None,
                           help="The service's folder (default: LIBRARY/service).")


def _settings(library_dir: str, home: str | None):
    from fp.fingerprint.errors import InputError
    from fp.service.settings import ServiceSettings

    settings = ServiceSettings(library=library_dir, home=home)
    if not settings.db_path.exists():
        raise InputError(f"{settings.db_path}: no service database (run `fp serve` first)")
    return settings


@click.group()
def report():
    """Reports from the service's decisions."""


@report.command()
@library_option
@home_option
@click.option("--repeat-after", type=click.IntRange(min=1), default=3, show_default=True,
              help="Confirmed copies that flag a seller as a repeat infringer.")
@json_option
def sellers(library_dir, home, repeat_after, as_json):
    """Per seller: listings checked, confirmed copies, titles, rights holders, licence status, repeat flag."""
    from fp.service.db import ServiceDB
    from fp.service.sellers import seller_reports

    reports = seller_reports(ServiceDB(_settings(library_dir, home).db_path), repeat_after)
    if as_json:
        emit_json(versioned({"repeat_after": repeat_after, "sellers": [r.to_dict() for r in reports]}))
        return
    rows = [[r.seller_id, r.listings_checked, r.listings_matched, r.confirmed_copies, r.pending,
             "; ".join(r.titles), "; ".join(r.rights_holders),
             " ".join(f"{k}:{v}" for k, v in r.licence.items() if v), "REPEAT" if r.repeat_infringer else ""] for r in reports]
    click.echo(table(rows, ["seller", "checked", "matched", "confirmed", "pending", "titles", "rights holders", "licence", "flag"]))


@report.command()
@library_option
@home_option
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=str),
              help="Folder for the notices (one subfolder per rights holder).")
@json_option
def notices(library_dir, home, out_dir, as_json):
    """Write takedown notices for confirmed copies: per rights holder notices.json, notices.csv and
    one HTML page (with its evidence image) per notice."""
    from fp.service.db import ServiceDB
    from fp.service.notices import write_notices

    settings = _settings(library_dir, home)
    folders = write_notices(ServiceDB(settings.db_path), settings.service_dir, out_dir)
    if as_json:
        emit_json(versioned({"out": out_dir, "rights_holders": [f.to_dict() for f in folders]}))
        return
    for f in folders:
        click.echo(f"{f.rights_holder}: {f.notices} notices in {f.folder}")
    if not folders:
        click.echo("no confirmed copies: no notices written")

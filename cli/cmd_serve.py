"""fp serve: the HTTP service over one library (needs the `service` extra)."""
from __future__ import annotations

import click

from fp.fingerprint.errors import InputError, LibraryError

from .options import library_option


@click.command()
@library_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option("--root", "roots", multiple=True, type=click.Path(exists=True, file_okay=False, path_type=str),
              help="A folder clients may name files under (`path` fields); repeatable. None: uploads only.")
@click.option("--home", type=click.Path(file_okay=False, path_type=str), default=None,
              help="The service's folder: its SQLite, spool and evidence (default: LIBRARY/service).")
@click.option("--max-upload-mb", type=click.FloatRange(min=0, min_open=True), default=2048, show_default=True,
              help="Largest upload accepted.")
@click.option("--max-duration", type=click.FloatRange(min=0, min_open=True), default=4 * 3600, show_default=True,
              help="Longest suspect accepted, in seconds.")
@click.option("--repeat-after", type=click.IntRange(min=1), default=3, show_default=True,
              help="Confirmed copies that flag a seller as a repeat infringer.")
@click.option("--no-evidence", is_flag=True, help="Do not draw evidence images for matches.")
@click.option("--create", is_flag=True, help="Create an empty library when LIBRARY has none (add references over the API).")
@click.option("--log-level", type=click.Choice(["critical", "error", "warning", "info", "debug"]), default="info", show_default=True)
def serve(library_dir, host, port, roots, home, max_upload_mb, max_duration, repeat_after, no_evidence, create, log_level):
    """Serve the library over HTTP: matching, references, the review page, reports.

    Every endpoint but /healthz needs `Authorization: Bearer KEY` (make keys with `fp keys add`).
    """
    try:
        from fp.service.server import serve as run
        from fp.service.settings import ServiceSettings
    except ImportError as exc:
        raise InputError(f"fp serve needs the service extra: pip install 'fp-video[service]' ({exc.name} is missing)") from exc
    from fp.index.shards import open_library

    try:
        open_library(library_dir, create=create).close()  # one library or a sharded one
    except LibraryError as exc:
        raise InputError(f"{exc} (or pass --create to start an empty library)") from exc
    settings = ServiceSettings(library=library_dir, roots=tuple(roots), home=home, max_upload_bytes=int(max_upload_mb * 1024**2),
                               max_duration=max_duration, repeat_after=repeat_after, evidence=not no_evidence)
    run(settings, host=host, port=port, log_level=log_level)

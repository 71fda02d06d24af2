"""Options several commands share."""
from __future__ import annotations

import click

library_option = click.option(
    "--library", "library_dir", envvar="FP_LIBRARY", default="fp-library", show_default=True,
    type=click.Path(file_okay=False, path_type=str), help="Library folder (or $FP_LIBRARY).",
)

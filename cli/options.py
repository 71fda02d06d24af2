"""Options several commands share."""
from __future__ import annotations

import click

library_option = click.option(
    "--library", "library_dir", envvar="FP_LIBRARY", default="fp-library", show_default=True,
    type=click.Path(file_okay=False, path_type=str), help="Library folder (or $FP_LIBRARY).",
)

def _ray_address(ctx, param, value):
    from fp.index.ray_cluster import is_address  # imports no Ray

    if value is not None and not is_address(value):
        raise click.BadParameter(f"{value!r} is not a Ray address (host:port, ray://host:port or auto); "
                                 "put --ray after the paths, or write --ray=ADDRESS", ctx=ctx, param=param)
    return value


ray_option = click.option(
    "--ray", "ray_address", is_flag=False, flag_value="local", default=None, metavar="[ADDRESS]", callback=_ray_address,
    help="Run on Ray: a local Ray when no ADDRESS is given, else the cluster at ADDRESS (host:port, ray://host:port "
         "or auto). Needs the ray extra: pip install 'fp-video[ray]'.",
)

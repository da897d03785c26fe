"""`hub places load FILE`: the names of streets, communities and grid cells.

The console and the API's labels show a code by name wherever this table has it; the civil
affairs register of communities is the usual source. The running `hub serve` reads the new
table at its next request (no restart).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from hub.cli.terminal import exit_on_error, settings_or_exit

places_app = typer.Typer(add_completion=False, no_args_is_help=True,
                         help="Names of streets, communities and grid cells.")
console = Console(stderr=True)
out = Console()


@places_app.command()
def load(
    table: Annotated[Path, typer.Argument(help="UTF-8 CSV with columns code and name "
                                               "(level optional)", exists=True,
                                          dir_okay=False, readable=True)],
) -> None:
    """Check a place-name table and install it in the home (replacing the one in use)."""
    from hub.api.places import check_places, install_places

    settings = settings_or_exit(console)
    with exit_on_error(console):
        count = check_places(table)
        install_places(settings, table)
    out.print(f"installed {count} place names from {table.name}")

"""`hub views rebuild`: republish every resident and household view from the warehouse.

After each loaded upload `hub serve` republishes only the residents and households it
changed; a rebuild recomputes them all (the same documents) in a new generation, which the
API switches to at once when it is complete.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console

from hub.cli.terminal import exit_on_error, settings_or_exit

views_app = typer.Typer(add_completion=False, no_args_is_help=True,
                        help="The published resident and household views.")
console = Console(stderr=True)
out = Console()


@views_app.command()
def rebuild(
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
) -> None:
    """Rebuild the ledger and republish every view (a new generation, switched to at once)."""
    from hub.pipeline.worker import PipelineWorker

    settings = settings_or_exit(console)
    with exit_on_error(console), PipelineWorker(settings) as worker:
        summary = worker.publish()
    if as_json:
        out.print_json(json.dumps(summary, default=str))
        return
    out.print(f"rebuilt views of {summary['residents']} residents and "
              f"{summary['households']} households in {summary['partitions']} partition(s) "
              f"(generation {summary['generation']})")

"""`hub catalog list|show DATASET` and `hub quality report`: what auditors and departments read.

Both read the state store only, so they work while a pipeline worker is running.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from hub.cli.terminal import exit_on_error, settings_or_exit
from hub.settings import HubSettings

catalog_app = typer.Typer(no_args_is_help=True, help="Datasets, owners, versions, freshness.")
quality_app = typer.Typer(no_args_is_help=True, help="Data-quality reports.")
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True)


def _store(settings: HubSettings) -> Any:
    from hub.pipeline.worker import open_catalog

    return open_catalog(settings)


@catalog_app.command("list")
def catalog_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every dataset with its owner, freshness and latest quality score."""
    from catalog.detail import dataset_list

    settings = settings_or_exit(err)
    with exit_on_error(err):
        rows = dataset_list(_store(settings), date.today())
    if as_json:
        out.print_json(json.dumps(rows, default=str))
        return
    table = Table("dataset", "owner", "version", "sharing", "freshness", "lag (days)",
                  "quality score")
    for r in rows:
        fresh = r.get("freshness") or {}
        table.add_row(str(r.get("name")), str(r.get("owner")), str(r.get("current_version")),
                      str(r.get("sharing")), str(fresh.get("status", "")),
                      str(fresh.get("lag_days", "")), str(r.get("quality_score", "")))
    out.print(table)


@catalog_app.command("show")
def catalog_show(dataset: str) -> None:
    """Everything the catalog knows about one dataset, as JSON."""
    from catalog.detail import dataset_detail

    settings = settings_or_exit(err)
    with exit_on_error(err):  # an unknown dataset exits 2
        detail = dataset_detail(_store(settings), dataset, date.today())
    out.print_json(json.dumps(detail, default=str))


@quality_app.command("report")
def quality_report(
    dataset: Annotated[str | None, typer.Option(help="only this dataset")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="folder for the reports")] = None,
) -> None:
    """Write the batch, dataset and district-overview reports (HTML and JSON, offline); first
    run the quality step of any committed batch that lacks one (a worker killed after its
    commit), unless a running pipeline worker holds the warehouse (it does that itself)."""
    from hub.errors import WarehouseBusy
    from hub.pipeline.worker import PipelineWorker
    from hub.quality.hook import fill_missing_results
    from hub.quality.overview import write_quality_reports

    settings = settings_or_exit(err)
    try:
        with PipelineWorker(settings) as worker:
            assert worker.warehouse is not None
            assert worker.catalog is not None
            for batch_id in fill_missing_results(settings, worker.warehouse, worker.catalog):
                out.print(f"checked batch {batch_id} (its quality step had not run)")
    except WarehouseBusy:
        err.print("note: a pipeline worker is running; it checks unchecked batches itself")
    with exit_on_error(err):
        paths = write_quality_reports(settings, dataset, out_dir)
    for path in paths:
        out.print(str(path))

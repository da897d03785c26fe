"""The `hub` command line: init, demo, ingest, publish, batches, serve.

Exit codes (README.md): `hub ingest` exits 0 when the batch loaded (with or without
quarantined rows), was held for confirmation (a snapshot dropping too much; `hub batches
confirm|discard ID`) or was already ingested; 1 the batch was rejected whole; 2 the input
could not be read (bad file, bad source YAML, broken contract); 3 the warehouse is held by
another writer; 4 configuration error. Errors carry their own code
(hub.cli.terminal.exit_on_error).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from hub.cli.access_report import access_report_command
from hub.cli.casework import corrections_app, digest_app, referrals_app, requests_app
from hub.cli.catalog import catalog_app, quality_app
from hub.cli.export import export as export_command
from hub.cli.keys import keys_app
from hub.cli.places import places_app
from hub.cli.security import audit_app, token_app
from hub.cli.terminal import exit_on_error, progress_bar, settings_or_exit
from hub.cli.users import user_app
from hub.cli.views import views_app
from hub.settings import HubSettings
from schemas.errors import ExitCode

if TYPE_CHECKING:  # the pipeline imports pandas: load it only for commands that ingest
    from hub.pipeline.ingest import BatchResult

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Community data hub: contracts, connectors, de-identification, catalog.")
console = Console(stderr=True)
# Piped output (make demo in a log, CI) gets a wide table instead of 80 wrapped columns.
out = Console(width=None if sys.stdout.isatty() else 160)


def _settings() -> HubSettings:
    return settings_or_exit(console)


def _progress_bar(label: str) -> Any:
    return progress_bar(console, label)


def _result_line(result: BatchResult) -> str:
    colour = {"loaded": "green", "already_ingested": "cyan",
              "awaiting_confirmation": "yellow"}.get(result.outcome, "red")
    text = (f"[{colour}]{result.outcome}[/] {result.dataset} batch {result.batch_id}: "
            f"{result.rows_read} read, {result.rows_loaded} loaded, "
            f"{result.rows_quarantined} quarantined")
    if result.replaced.get("summary"):
        text += f"\n  {result.replaced['summary']}"
    if result.reason:
        text += f"\n  {result.reason}"
    return text


def _exit_code(result: BatchResult) -> int:
    return {"loaded": ExitCode.OK, "already_ingested": ExitCode.OK,
            "awaiting_confirmation": ExitCode.OK,
            "rejected": ExitCode.REFUSED}.get(result.outcome, ExitCode.BAD_INPUT)


@app.command()
def init() -> None:
    """Create the home folder, keys and warehouse tables, migrate the state store to the
    newest schema (in place, for a home of an earlier release) and register the catalog."""
    from hub.keys.config import init_keys
    from hub.pipeline.worker import PipelineWorker
    from hub.state.migrate import current_revision

    settings = _settings()
    with exit_on_error(console):
        # As `hub keys init`: new keys only while the home holds no data (else it refuses).
        for name in init_keys(settings):
            out.print(f"created the {name} key")
        with PipelineWorker(settings) as worker:  # opening it migrates the state store
            assert worker.catalog is not None
            revision = current_revision(worker.catalog.engine)
    out.print(f"hub home: {settings.home}")
    out.print(f"warehouse: {settings.warehouse_path}")
    out.print(f"state store: {_shown_url(settings)} (schema revision {revision})")
    out.print(f"keys: {settings.keys_dir} (keep a backup; losing them loses the vault)")


def _shown_url(settings: HubSettings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.resolved_state_url).render_as_string(hide_password=True)


@app.command()
def ingest(
    source: Annotated[Path, typer.Argument(help="source YAML describing the extract")],
    extract: Annotated[Path | None, typer.Argument(help="extract file (not for sql/http)")] = None,
    mode: Annotated[str | None, typer.Option(
        help="load mode: snapshot (the whole current data of the source) or delta (rows "
             "added or replaced by key); default: the source's own")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
) -> None:
    """Ingest one extract as one batch."""
    from hub.pipeline.worker import PipelineWorker

    settings = _settings()
    with exit_on_error(console), PipelineWorker(settings) as worker, _progress_bar(
            source.stem) as progress:
        result = worker.ingest(source, extract, progress, mode=mode)
    if as_json:
        out.print_json(json.dumps(result.as_dict(), default=str))
    else:
        out.print(_result_line(result))
    raise typer.Exit(_exit_code(result))


@app.command()
def publish(
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
) -> None:
    """Rebuild the ledger and republish the resident and household views and the vault copy.

    `hub ingest` loads a batch only; `hub serve` publishes after each upload it loads."""
    from hub.pipeline.worker import PipelineWorker

    settings = _settings()
    with exit_on_error(console), PipelineWorker(settings) as worker:
        summary = worker.publish()
    if as_json:
        out.print_json(json.dumps(summary, default=str))
        return
    out.print(f"published views of {summary['residents']} residents and "
              f"{summary['households']} households (generation {summary['generation']})")


batches_app = typer.Typer(add_completion=False, invoke_without_command=True,
                          help="Batch history; confirm or discard a held snapshot.")
app.add_typer(batches_app, name="batches")


@batches_app.callback()
def batches(
    ctx: typer.Context,
    dataset: Annotated[str | None, typer.Option(help="only this dataset")] = None,
    limit: Annotated[int, typer.Option(help="most recent N")] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List batches from the catalog (works while a worker is running)."""
    if ctx.invoked_subcommand is not None:
        return
    from hub.pipeline.worker import open_catalog

    with exit_on_error(console):
        rows = open_catalog(_settings()).list_batches(dataset, limit)
    if as_json:
        out.print_json(json.dumps(rows, default=str))
        return
    table = Table("batch", "dataset", "outcome", "read", "loaded", "quarantined", "as of",
                  "finished")
    for r in rows:
        table.add_row(r["batch_id"], r["dataset"], r["outcome"], str(r["rows_read"]),
                      str(r["rows_loaded"]), str(r["rows_quarantined"]), r["as_of"] or "",
                      str(r["finished_at"])[:19])
    out.print(table)


def _decide(batch_id: str, confirm: bool, as_json: bool) -> None:
    import getpass

    from hub.pipeline.worker import PipelineWorker

    settings = _settings()
    with exit_on_error(console), PipelineWorker(settings) as worker:
        decided = worker.decide_held(batch_id, confirm, f"cli:{getpass.getuser()}")
    if as_json:
        out.print_json(json.dumps(decided, default=str))
    else:
        out.print(f"batch {batch_id}: {decided['outcome']} ({decided['reason']}); "
                  "ledger and views published again")


@batches_app.command("confirm")
def confirm_batch(
    batch_id: Annotated[str, typer.Argument(help="a batch awaiting confirmation")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Confirm a held snapshot: it replaces its source's current data."""
    _decide(batch_id, True, as_json)


@batches_app.command("discard")
def discard_batch(
    batch_id: Annotated[str, typer.Argument(help="a batch awaiting confirmation")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Discard a held snapshot: the source's current data stays as it was."""
    _decide(batch_id, False, as_json)


@app.command()
def demo(
    residents: Annotated[int, typer.Option(min=100, help="residents in the district")] = 20_000,
    seed: Annotated[int, typer.Option(help="random seed")] = 7,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="do not start the API")] = False,
) -> None:
    """Generate a synthetic district, ingest every department's extract, print a summary."""
    from hub.cli.demo import run_demo

    settings = _settings()
    with exit_on_error(console):
        code = run_demo(settings, residents, seed, serve=not no_serve, console=out,
                        progress_console=console)
    raise typer.Exit(code)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="address (default HUB_HOST or 127.0.0.1)")]
    = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535,
                                             help="port (default HUB_PORT or 8000)")] = None,
    workers: Annotated[int | None, typer.Option(min=1, max=64,
                                                help="API worker processes (HUB_WORKERS)")]
    = None,
    pipeline: Annotated[bool | None, typer.Option(
        "--pipeline/--no-pipeline", help="also run the pipeline worker (HUB_PIPELINE); "
        "--no-pipeline: API only, `hub worker` runs elsewhere on the same state store")]
    = None,
) -> None:
    """Serve the API (several worker processes) and the pipeline worker taking uploads."""
    from hub.serve import serve as run_server
    from hub.settings import ServeSettings

    settings = _settings()
    overrides = {k: v for k, v in {"host": host, "port": port, "workers": workers,
                                   "pipeline": pipeline}.items() if v is not None}
    # Options of this process only (where to listen, how many workers): the API workers
    # build the rest of their settings from the same environment.
    serve_options = ServeSettings.model_validate({**settings.serve.model_dump(), **overrides})
    settings = settings.model_copy(update={"serve": serve_options})
    with exit_on_error(console):
        code = run_server(settings)
    raise typer.Exit(code)


@app.command()
def worker() -> None:
    """Run the pipeline worker alone: it drains the upload and export queues of the state
    store and publishes the views, for API hosts started with `hub serve --no-pipeline`."""
    from hub.serve import run_worker

    settings = _settings()
    with exit_on_error(console):
        code = run_worker(settings)
    raise typer.Exit(code)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        console.print("interrupted: the batch in progress was not committed")
        sys.exit(130)


# The command groups and commands that have modules of their own.
app.add_typer(token_app, name="token")
app.add_typer(audit_app, name="audit")
app.add_typer(catalog_app, name="catalog")
app.add_typer(quality_app, name="quality")
app.add_typer(keys_app, name="keys")
app.command("export")(export_command)
app.command("access-report")(access_report_command)
app.add_typer(user_app, name="user")
app.add_typer(views_app, name="views")
app.add_typer(places_app, name="places")
app.add_typer(corrections_app, name="corrections")
app.add_typer(requests_app, name="requests")
app.add_typer(referrals_app, name="referrals")
app.add_typer(digest_app, name="digest")

"""The `hub` command line: init, demo, ingest, batches.

Exit codes: 0 the batch loaded (with or without quarantined rows), was held for confirmation
(a snapshot dropping too much; `hub batches confirm|discard ID`) or was already ingested;
1 the batch was rejected whole; 2 the input could not be read (bad file, bad source YAML,
broken contract); 3 the warehouse is held by another writer; 4 configuration error.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from connectors.errors import ConnectorError
from desensitize.errors import DesensitizeError
from hub.cli.terminal import progress_bar, settings_or_exit
from hub.errors import HubError, WarehouseBusy
from hub.settings import HubSettings
from schemas.errors import SchemaError

if TYPE_CHECKING:  # the pipeline imports pandas: load it only for commands that ingest
    from hub.pipeline.ingest import BatchResult

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Community data hub: contracts, connectors, de-identification, catalog.")
console = Console(stderr=True)
# Piped output (make demo in a log, CI) gets a wide table instead of 80 wrapped columns.
out = Console(width=None if sys.stdout.isatty() else 160)

EXIT_REJECTED, EXIT_BAD_INPUT, EXIT_BUSY, EXIT_CONFIG = 1, 2, 3, 4


def _settings() -> HubSettings:
    return settings_or_exit(console)


@contextmanager
def _handled() -> Iterator[None]:
    """Turn known errors into a one-line message and an exit code, never a traceback."""
    try:
        yield
    except WarehouseBusy as exc:
        console.print(f"[red]busy:[/] {exc}")
        raise typer.Exit(EXIT_BUSY) from None
    except (ConnectorError, SchemaError) as exc:
        console.print(f"[red]bad input:[/] {exc}")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except (HubError, DesensitizeError) as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(EXIT_CONFIG) from None


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
    return {"loaded": 0, "already_ingested": 0, "awaiting_confirmation": 0,
            "rejected": EXIT_REJECTED}.get(result.outcome, EXIT_BAD_INPUT)


@app.command()
def init() -> None:
    """Create the home folder, keys, warehouse tables and catalog entries."""
    from hub.keys.config import init_keys
    from hub.pipeline.worker import PipelineWorker

    settings = _settings()
    with _handled():
        # As `hub keys init`: new keys only while the home holds no data (else it refuses).
        for name in init_keys(settings):
            out.print(f"created the {name} key")
        with PipelineWorker(settings):
            pass
    out.print(f"hub home: {settings.home}")
    out.print(f"warehouse: {settings.warehouse_path}")
    out.print(f"state store: {settings.resolved_state_url}")
    out.print(f"keys: {settings.keys_dir} (keep a backup; losing them loses the vault)")


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
    with _handled(), PipelineWorker(settings) as worker, _progress_bar(
            source.stem) as progress:
        result = worker.ingest(source, extract, progress, mode=mode)
    if as_json:
        out.print_json(json.dumps(result.as_dict(), default=str))
    else:
        out.print(_result_line(result))
    raise typer.Exit(_exit_code(result))


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

    with _handled():
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

    from hub.pipeline.load_modes import BatchNotHeld
    from hub.pipeline.worker import PipelineWorker

    settings = _settings()
    with _handled(), PipelineWorker(settings) as worker:
        try:
            decided = worker.decide_held(batch_id, confirm, f"cli:{getpass.getuser()}")
        except BatchNotHeld as exc:  # a wrong id is bad input, not a configuration error
            console.print(f"[red]error:[/] {exc}")
            raise typer.Exit(EXIT_BAD_INPUT) from None
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
    with _handled():
        code = run_demo(settings, residents, seed, serve=not no_serve, console=out,
                        progress_console=console)
    raise typer.Exit(code)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="address (default HUB_HOST or 127.0.0.1)")]
    = None,
    port: Annotated[int | None, typer.Option(help="port (default HUB_PORT or 8000)")] = None,
    workers: Annotated[int | None, typer.Option(min=1, max=64,
                                                help="API worker processes (HUB_WORKERS)")]
    = None,
) -> None:
    """Serve the API (several worker processes) and the pipeline worker taking uploads."""
    from hub.serve import ServeSettings
    from hub.serve import serve as run_server

    settings = _settings()
    overrides = {k: v for k, v in {"host": host, "port": port, "workers": workers}.items()
                 if v is not None}
    options = ServeSettings(**overrides)  # type: ignore[arg-type]
    with _handled():
        code = run_server(settings, options)
    raise typer.Exit(code)


try:  # token and audit commands (hub.cli.security), when that module is present
    from hub.cli.security import audit_app, token_app

    app.add_typer(token_app, name="token")
    app.add_typer(audit_app, name="audit")
except ImportError:
    pass


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        console.print("interrupted: the batch in progress was not committed")
        sys.exit(130)


def _register_sub_commands() -> None:
    from hub.cli.catalog import catalog_app, quality_app
    from hub.cli.keys import keys_app

    app.add_typer(catalog_app, name="catalog")
    app.add_typer(quality_app, name="quality")
    app.add_typer(keys_app, name="keys")
    # One line per further command module (export, access-report) goes here.
    __import__("hub.cli.export", fromlist=["register"]).register(app)  # hub export
    from hub.cli.access_report import access_report_command

    app.command("access-report")(access_report_command)


_register_sub_commands()

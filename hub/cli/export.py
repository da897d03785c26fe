"""`hub export DATASET --out FILE`: a safe release of one dataset, with its report.

Opens the pipeline worker (the warehouse's only writer, like `hub ingest`): while `hub serve`
runs, ask for the release through the API instead (`POST /v1/exports`).

Exit codes: 0 written; 1 no generalisation reaches k and l within the suppression budget, or
the linkage gate refused it;
2 bad request (unknown dataset, bad parameter or file name, the output exists without
--force, nothing to release); 3 the warehouse is held by another writer; 4 configuration.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from hub.cli.terminal import exit_on_error, progress_bar, settings_or_exit

console = Console(stderr=True)
out = Console(width=None if sys.stdout.isatty() else 160, highlight=False)


def _progress(label: str) -> Any:
    return progress_bar(console, label)


def _summary(report: Any, target: Path) -> str:
    r = report.release
    cells = r["aggregates"]
    l_text = r["l_reached"] if r["sensitive"] else "n/a (no sensitive column)"
    return (f"[green]released[/] {report.dataset} to {target} (release {report.release_id} "
            f"for {report.recipient})\n"
            f"  k={r['k_reached']} (distinct {r['k_counts']}; asked {r['k_requested']}), "
            f"l={l_text} (asked {r['l_requested']})\n"
            f"  persons: {r['persons_released']} of {r['persons_in']} released "
            f"({r['persons_suppressed_share']:.2%} suppressed); records: "
            f"{r['records_released']} of {r['records_in']} in {r['rows_released']} rows\n"
            f"  linkage: worst attacker {r['risk']['worst_attacker']} re-identifies "
            f"{r['risk']['worst_share']:.2%} (allowed {r['risk']['threshold']:.2%}); "
            f"singling out {r['risk']['singling_out_share']:.2%}\n"
            f"  levels: " + (", ".join(f"{q['column']}={q['level_name']}"
                                       for q in r["quasi_identifiers"]) or "no quasi-identifier")
            + f"\n  information loss {r['information_loss']['information_loss']:.3f}\n"
            f"  aggregate cells suppressed: {cells['primary_suppressed']} primary + "
            f"{cells['secondary_suppressed']} secondary of {cells['cells']} "
            f"({cells['suppressed_share']:.1%})\n"
            f"  report: {report.files['report_html']}, {report.files['report_json']}; "
            f"table: {report.files['aggregates']}")


def export(
    dataset: Annotated[str, typer.Argument(help="dataset to release (see `hub catalog list`)")],
    target: Annotated[Path, typer.Option("--out", help="output file, .csv or .parquet")],
    recipient: Annotated[str, typer.Option(
        help="who receives the release (letters, digits, _ . -); part of its pseudonym key")]
    = "internal",
    k: Annotated[int, typer.Option("--k", min=2, max=1000,
                                   help="persons every quasi-identifier class must hold")] = 5,
    l_div: Annotated[int, typer.Option("--l", min=1, max=100,
                                       help="distinct values of each sensitive column per "
                                            "class")] = 2,
    cell_threshold: Annotated[int, typer.Option(
        min=1, max=1000, help="aggregate cells behind fewer persons are suppressed")] = 10,
    max_suppression: Annotated[float, typer.Option(
        min=0.0, max=0.5, help="largest share of persons that may be suppressed")] = 0.01,
    geography: Annotated[str, typer.Option(
        help="geography of the aggregate table: grid, community, street or county")]
    = "community",
    recipient_class: Annotated[str, typer.Option(
        help="researcher, auditor or public: sets the linkage gate's threshold "
             "(HUB_RELEASE_RISK_THRESHOLDS)")] = "researcher",
    force: Annotated[bool, typer.Option("--force", help="replace existing output files")]
    = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Write a de-identified extract of DATASET, its aggregate table and its report."""
    from hub.keys.config import load_keyring
    from hub.pipeline.worker import PipelineWorker
    from hub.release.export import export_dataset

    settings = settings_or_exit(console)
    with exit_on_error(console, busy_hint="while `hub serve` runs, ask for the release "
                       "with POST /v1/exports"):
        keyring = load_keyring(settings)
        with PipelineWorker(settings) as worker, _progress(f"export {dataset}") as progress:
            report = export_dataset(worker, dataset, target, recipient=recipient, k=k, l=l_div,
                                    cell_threshold=cell_threshold,
                                    max_suppression=max_suppression, keyring=keyring,
                                    force=force, geography_level=geography,
                                    recipient_class=recipient_class,
                                    risk_threshold=settings.release_risk_threshold(
                                        recipient_class),
                                    progress=progress)
    if as_json:
        out.print_json(json.dumps(report.as_dict(), default=str))
    else:
        out.print(_summary(report, target))

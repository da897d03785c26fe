"""`hub demo`: generate the synthetic district, ingest all four departments, summarise.

The generated extracts stand in for files that departments send; they live under
`HUB_HOME/demo/` and are reused when the same size and seed are asked for again, so a second
`hub demo` finds every batch already ingested and adds nothing.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from hub.pipeline.ingest import BatchResult
from hub.pipeline.worker import PipelineWorker
from hub.settings import HubSettings

DEMO_ORDER = ["grid", "elderly_care", "medical", "employment"]


def demo_folder(settings: HubSettings, residents: int, seed: int) -> Path:
    return settings.demo_dir / f"district-{residents}-seed{seed}"


def _bar(console: Console) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=True,
                    disable=not console.is_terminal)


def ensure_demo_extracts(settings: HubSettings, residents: int, seed: int,
                         console: Console) -> Any:
    from hub.demo import DemoManifest, generate_demo

    folder = demo_folder(settings, residents, seed)
    if (folder / "manifest.json").exists():
        return DemoManifest.load(folder / "manifest.json")
    started = time.perf_counter()
    with _bar(console) as bar:
        task = bar.add_task("generating district", total=None)

        def progress(stage: str, done: int, total: int) -> None:
            bar.update(task, description=f"generating: {stage}", completed=done, total=total)

        manifest = generate_demo(folder, residents=residents, seed=seed, progress=progress)
    console.print(f"generated {residents} residents and four extracts in "
                  f"{time.perf_counter() - started:.1f} s under {folder}")
    return manifest


def _rule_label(column: str, rule: str) -> str:
    """'resident_id:check_character' already names its column; 'pattern' does not."""
    if rule.startswith(f"{column}:") or column == "*":
        return rule
    return f"{column}: {rule}"


def summary_table(results: list[BatchResult]) -> Table:
    table = Table("dataset", "outcome", "batch", "read", "loaded", "quarantined", "top reasons",
                  title="ingest summary")
    for r in results:
        reasons = "\n".join(f"{_rule_label(t['column'], t['rule'])} x{t['rows']}"
                            for t in r.top_rules[:3])
        if r.outcome == "already_ingested":
            table.add_row(r.dataset, "already ingested", r.batch_id, "-", "-", "-", "")
            continue
        table.add_row(r.dataset, r.outcome, r.batch_id, str(r.rows_read), str(r.rows_loaded),
                      str(r.rows_quarantined), reasons or r.reason or "")
    return table


def run_demo(settings: HubSettings, residents: int, seed: int, *, serve: bool,
             console: Console, progress_console: Console) -> int:
    from hub.keys.config import init_keys

    # The demo is a new home: make its keys as `hub keys init` would (and, like it, refuse to
    # make new ones for a home that already holds data).
    created = init_keys(settings)
    if created:
        console.print(f"created the demo home's keys ({', '.join(created)}) under "
                      f"{settings.keys_dir}", markup=False)
    manifest = ensure_demo_extracts(settings, residents, seed, progress_console)
    results: list[BatchResult] = []
    with PipelineWorker(settings) as worker:
        for dataset in DEMO_ORDER:
            extract = manifest.datasets[dataset]
            with _bar(progress_console) as bar:
                task = bar.add_task(f"ingesting {dataset}", total=None)

                def progress(stage: str, done: int, total: int | None, _task: Any = task,
                             _bar: Progress = bar, _name: str = dataset) -> None:
                    _bar.update(_task, description=f"ingesting {_name}: {stage}",
                                completed=done, total=total)

                results.append(worker.ingest(Path(extract.source_yaml), Path(extract.path),
                                             progress))
        worker.load_crosswalk(Path(manifest.crosswalk))
        published = worker.publish()
    console.print(summary_table(results))
    console.print(f"published views of {published['residents']} residents and "
                  f"{published['households']} households (generation {published['generation']})")
    if all(r.outcome == "already_ingested" for r in results):
        console.print("every extract was already ingested: nothing was added")
    code = 0 if all(r.ok for r in results) else 1
    from hub.cli.demo_linkage import print_linkage
    from hub.serve import print_demo_access
    from hub.serve import serve as serve_api

    print_linkage(settings, manifest, published, console)
    print_demo_access(settings, manifest, console)
    if serve and code == 0:
        return serve_api(settings)
    return code

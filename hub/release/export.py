"""One safe release of one dataset, from the warehouse to four files.

    FILE                      the de-identified extract (.csv or .parquet, by FILE's suffix)
    FILE-stem.aggregates.csv  geography x category table with suppressed cells
    FILE-stem.report.json     the report (desensitize.release figures, files, timings)
    FILE-stem.report.html     the same report as an offline page

Only the pipeline worker reads the warehouse while it runs, so the CLI opens a worker and the
API queues a job the worker runs (hub.release.jobs). Files are written to a temporary name and
renamed, so a reader never sees half a release; existing files are replaced only with `force`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from desensitize.keys import KeyRing
from desensitize.release.column_plan import plan_release
from desensitize.release.prepare import ReleaseOptions
from desensitize.release.pseudonyms import new_release_id
from desensitize.release.release import build_release
from hub.release.errors import ExportTargetExists
from hub.release.files import output_paths, tmp_path, write_text_atomic
from hub.release.report import ExportReport, render_html
from hub.release.source_rows import read_rows
from schemas.registry import get_contract

Progress = Callable[[str, int, int | None], None]


def _connection(worker_or_con: Any) -> duckdb.DuckDBPyConnection:
    warehouse = getattr(worker_or_con, "warehouse", None)
    if warehouse is not None:
        return warehouse.con
    if isinstance(worker_or_con, duckdb.DuckDBPyConnection):
        return worker_or_con
    raise RuntimeError("open the pipeline worker before exporting")


def _write_extract(frame: pd.DataFrame, path: Path) -> None:
    tmp = tmp_path(path)
    if path.suffix.lower() == ".parquet":
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp)
    else:
        frame.to_csv(tmp, index=False, encoding="utf-8")
    os.replace(tmp, path)


def export_dataset(worker_or_con: Any, dataset: str, out: Path, *, recipient: str, k: int = 5,
                   l: int = 2, cell_threshold: int = 10,  # noqa: E741 (the l of l-diversity)
                   max_suppression: float = 0.01,
                   keyring: KeyRing, force: bool = False, release_id: str | None = None,
                   geography_level: str = "community", recipient_class: str = "researcher",
                   risk_threshold: float = 0.01,
                   progress: Progress | None = None) -> ExportReport:
    """Write the release of `dataset` to `out` (and its siblings); return its report."""
    started = time.perf_counter()
    paths = output_paths(out)
    existing = [str(p) for p in paths.values() if p.exists()]
    if existing and not force:
        raise ExportTargetExists(existing)
    contract = get_contract(dataset)
    options = ReleaseOptions(recipient=recipient, release_id=release_id or new_release_id(),
                             k=k, l_div=l, cell_threshold=cell_threshold,
                             max_suppression=max_suppression, geography_level=geography_level,
                             recipient_class=recipient_class, risk_threshold=risk_threshold)
    options.check()  # before reading anything
    con = _connection(worker_or_con)
    if progress is not None:
        progress("read", 0, None)
    rows = read_rows(con, contract, plan_release(contract, []).person_key)
    read_at = time.perf_counter()
    release = build_release(rows.frame, contract, keyring.pseudonym_key, options,
                            rows.geography, progress)
    built_at = time.perf_counter()
    if progress is not None:
        progress("write", 0, None)
    out.parent.mkdir(parents=True, exist_ok=True)
    _write_extract(release.frame, paths["extract"])
    release.aggregates.to_csv(tmp_path(paths["aggregates"]), index=False, encoding="utf-8")
    os.replace(tmp_path(paths["aggregates"]), paths["aggregates"])
    written_at = time.perf_counter()
    report = ExportReport(
        dataset=dataset, contract_version=contract.version, release_id=options.release_id,
        recipient=recipient, created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        format=paths["extract"].suffix.lower().lstrip("."),
        files={role: p.name for role, p in paths.items()},
        release=release.summary,
        geography={"source": rows.geography_source, "grid_column": rows.grid_column,
                   "unmapped_rows": rows.grid_unmapped,
                   "mapping": "latest grid crosswalk version"},
        seconds={"read": round(read_at - started, 3), "release": round(built_at - read_at, 3),
                 "write": round(written_at - built_at, 3)})
    report.seconds["total"] = round(time.perf_counter() - started, 3)
    write_text_atomic(paths["report_json"], report.to_json())
    write_text_atomic(paths["report_html"], render_html(report))
    return report

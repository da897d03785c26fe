"""B1: end-to-end ingest of the grid extract, against the DuckDB floor and a plain pipeline.

Hub: `PipelineWorker.ingest` of the demo grid extract (hash, read, map, validate,
quarantine, de-identify with HMAC pseudonyms and the AES-SIV vault, stage, commit), in a fresh
HUB_HOME per run so no run finds the batch already ingested; quality checks off, then on (the
Great Expectations import is done before timing; the suite's own run is timed). Opening the
worker (keys, schema) is not timed.

References, same file, same run:
- the floor: DuckDB `read_csv` of the file into a table of a fresh database file;
- a plain pipeline: pandas `read_csv`, header/code/date mapping, the same rules as a Great
  Expectations suite (bench.b7_validate.gx_checks), a Python `hmac` loop for the two
  pseudonyms, identifiers dropped (no vault: easier than the hub), loaded into DuckDB.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from bench.common import Bench, Context, Row, fmt_rate, fmt_s, median_time, samples_note

TARGET_FLOOR = 0.6
TARGET_PLAIN = 5.0
DUCKDB_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "autoinstall_known_extensions": False}


class _Counter:
    def __init__(self) -> None:
        self.n = 0

    def next(self) -> int:
        self.n += 1
        return self.n


def hub_ingest(ctx: Context, folder: Path, quality: bool, counter: _Counter,
               timings: dict[str, float]) -> int:
    from hub.settings import HubSettings
    from hub.worker import PipelineWorker

    entry = ctx.manifest.datasets["grid"]
    settings = HubSettings(home=folder / f"home-{counter.next()}", quality_checks=quality)
    with PipelineWorker(settings) as worker:
        started = time.perf_counter()
        result = worker.ingest(Path(entry.source_yaml), Path(entry.path))
        elapsed = time.perf_counter() - started
    if result.outcome != "loaded":
        raise RuntimeError(f"grid batch {result.outcome}: {result.reason}")
    timings.clear()
    timings.update(result.timings)
    timings["_elapsed"] = elapsed
    return int(result.rows_read)


def duckdb_floor(path: Path, folder: Path, counter: _Counter) -> int:
    con = duckdb.connect(str(folder / f"floor-{counter.next()}.duckdb"), config=DUCKDB_CONFIG)
    try:
        con.execute(f"CREATE TABLE grid AS SELECT * FROM read_csv('{path}', all_varchar=true)")
        row = con.execute("SELECT count(*) FROM grid").fetchone()
        return int(row[0]) if row else 0
    finally:
        con.close()


def plain_pipeline(ctx: Context, folder: Path, counter: _Counter) -> int:
    from bench.b7_validate import gx_checks
    from connectors.mapping import mappings
    from connectors.source import load_source
    from hub.quality.runner import _gx_results
    from schemas.registry import get_contract
    from schemas.spec import ColumnType

    entry = ctx.manifest.datasets["grid"]
    spec = load_source(Path(entry.source_yaml))
    contract = get_contract(spec.dataset)
    raw = pd.read_csv(entry.path, dtype=str, encoding=spec.encoding)
    frame = pd.DataFrame(index=raw.index)
    for name, m in mappings(spec, contract).items():
        col = contract.column(name)
        values = raw[m.from_] if m.from_ else pd.Series(m.value, index=raw.index)
        values = values.str.strip()
        if col.type == ColumnType.TAGS:
            values = values.str.replace(m.separator or ";", ";", regex=False)
            for dept, code in (m.codes or {}).items():
                values = values.str.replace(dept, code, regex=False)
        elif m.codes:
            values = values.map(m.codes)
        if col.type == ColumnType.DATE:
            values = pd.to_datetime(values, format="mixed", errors="coerce")
        frame[name] = values
    _gx_results(frame, gx_checks(contract, date.today()), "bench_plain")
    key = b"bench-pseudonym-key-32-bytes...."
    for name in ("resident_id", "household_id"):
        frame[name] = [None if v is None or v != v else
                       hmac.new(key, v.encode(), hashlib.sha256).hexdigest()
                       for v in frame[name]]
    frame = frame.drop(columns=["name", "phone", "address"])
    con = duckdb.connect(str(folder / f"plain-{counter.next()}.duckdb"), config=DUCKDB_CONFIG)
    try:
        con.register("frame", frame)
        con.execute("CREATE TABLE grid AS SELECT * FROM frame")
    finally:
        con.close()
    return len(frame)


def run(ctx: Context) -> Bench:
    from hub.quality.runner import _gx_context

    started = time.perf_counter()
    folder = ctx.workdir / "b1"
    folder.mkdir(exist_ok=True)
    counter = _Counter()
    path = Path(ctx.manifest.datasets["grid"].path)
    _gx_context()  # import GX outside every timing
    timings: dict[str, float] = {}
    results: dict[str, tuple[float, list[float], int]] = {}
    cases: dict[str, Any] = {
        "duckdb": lambda: duckdb_floor(path, folder, counter),
        "hub_off": lambda: hub_ingest(ctx, folder, False, counter, timings),
        "hub_on": lambda: hub_ingest(ctx, folder, True, counter, timings),
        "plain": lambda: plain_pipeline(ctx, folder, counter),
    }
    stage_times: dict[str, float] = {}
    for name, fn in cases.items():
        fn()  # warm-up, untimed: imports, first DuckDB/pandera use
        results[name] = median_time(fn, ctx.runs)
        if name == "hub_off":
            stage_times = dict(timings)
    rows = results["hub_off"][2]
    rate = {k: rows / v[0] for k, v in results.items()}
    labels = {"hub_off": "hub ingest, quality checks off", "hub_on": "hub ingest, quality on",
              "duckdb": "floor: DuckDB read_csv into a table",
              "plain": "plain pandas + GX + hmac loop pipeline"}
    table = []
    for name in ("hub_off", "hub_on", "duckdb", "plain"):
        med, samples, _ = results[name]
        ratio = (f"{rate[name] / rate['duckdb']:.2f}x floor, "
                 f"{rate[name] / rate['plain']:.1f}x plain")
        table.append(Row(f"{labels[name]} ({rows:,} rows)", f"{fmt_s(med)}, "
                         f"{fmt_rate(rate[name])}", ratio, samples_note(samples)))
    spent = ", ".join(f"{k} {v:.3f}" for k, v in stage_times.items() if not k.startswith("_"))
    other = stage_times.get("_elapsed", 0.0) - sum(
        v for k, v in stage_times.items() if not k.startswith("_"))
    notes = [f"Hub stage seconds (last quality-off run): {spent}; outside the stages "
             f"(catalog record, manifest): {other:.3f}."]
    if rows < 1_000_000:
        notes.append(f"Measured at {rows:,} rows, not the 1M of the target: fixed costs "
                     "(batch bookkeeping, commit) weigh more on the hub side at this size.")
    met = (rate["hub_off"] >= TARGET_FLOOR * rate["duckdb"]
           and rate["hub_off"] >= TARGET_PLAIN * rate["plain"])
    return Bench("B1", "end-to-end ingest of the grid extract",
                 "at least 0.6x the DuckDB floor's rows/s and at least 5x the plain pipeline "
                 "(judged with quality checks off)", met, table, notes,
                 time.perf_counter() - started)

"""Run a dataset's suite on one batch's curated rows and produce a value-free result.

The rows are read back from the warehouse after the commit (pseudonyms only), with the
derived columns `hub.quality.suites` names, and validated as a pandas DataFrame by Great
Expectations (its SQL datasource returns nothing on DuckDB). The result keeps counts, shares
and aggregate observations of non-sensitive columns only: GX's partial_unexpected_list and
every other unexpected value are dropped here, before anything is stored or rendered.
"""

from __future__ import annotations

import itertools
import logging
import time
import warnings
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

import duckdb
import pandas as pd

from hub.quality import suites
from hub.quality.suites import Check
from schemas.spec import ContractSpec

log = logging.getLogger(__name__)
_SOURCES = itertools.count()
KEPT_RESULT_KEYS = ("element_count", "unexpected_count", "missing_count")
SCORE_NOTE = ("score = 100 x (mean over evaluated checks: 1 if met, else the share of rows "
              "that met it, 0 for a failed aggregate check) x (share of read rows loaded)")


def crosswalk_available(con: duckdb.DuckDBPyConnection) -> bool:
    """ref.grid_crosswalk exists (hub.warehouse.crosswalk creates it) and holds a version."""
    exists = con.execute("SELECT count(*) FROM information_schema.tables "
                         "WHERE table_schema = 'ref' AND table_name = 'grid_crosswalk'"
                         ).fetchone()
    if not exists or not exists[0]:
        return False
    rows = con.execute("SELECT count(*) FROM ref.grid_crosswalk").fetchone()
    return bool(rows and rows[0])


def current_crosswalk_sql(as_of: str) -> str:
    """The crosswalk in force on `as_of`, as `hub.warehouse.crosswalk` reads it: the latest version,
    and in it the latest row per (scheme, code) whose valid_from is on or before `as_of`."""
    return f"""SELECT scheme, code, standard_code, level FROM ref.grid_crosswalk
        WHERE version = (SELECT max(version) FROM ref.grid_crosswalk)
          AND CAST(valid_from AS DATE) <= DATE '{as_of}'
        QUALIFY row_number() OVER (PARTITION BY scheme, code ORDER BY valid_from DESC) = 1"""


def registry_batch(con: duckdb.DuckDBPyConnection) -> str | None:
    """The latest loaded batch of the grid registry: the 'current' resident registry."""
    row = con.execute(
        "SELECT batch_id FROM meta.batches WHERE dataset = ? AND outcome = 'loaded' "
        "ORDER BY as_of DESC NULLS LAST, finished_at DESC LIMIT 1",
        [suites.REGISTRY_DATASET]).fetchone()
    return str(row[0]) if row else None


# Above this many rows a batch is checked on a repeatable uniform sample, so the quality step
# keeps bounded memory (GX needs the rows as one DataFrame); exact rule counts come from the
# quarantine, which covers every row.
MAX_EVALUATED_ROWS = 1_000_000


def _batch_frame(con: duckdb.DuckDBPyConnection, contract: ContractSpec, batch_id: str,
                 as_of: str, registry: str | None, crosswalk: bool,
                 sample_rows: int | None = None) -> pd.DataFrame:
    names = set(contract.column_names)
    select = ["t.*"]
    joins = []
    sample = f" USING SAMPLE reservoir({int(sample_rows)} ROWS) REPEATABLE (42)" \
        if sample_rows else ""
    params: list[Any] = [batch_id]
    if registry and contract.identity_column is not None:
        select.append(f"CASE WHEN r.resident_key IS NULL THEN 'no' ELSE 'yes' END "
                      f"AS {suites.DERIVED_REGISTRY}")
        joins.append("LEFT JOIN (SELECT DISTINCT resident_key FROM curated.grid "
                     "WHERE batch_id = ?) r ON r.resident_key = t.resident_key")
        params.append(registry)
    if crosswalk and "grid_code" in names:
        select.append(f"""CASE WHEN t.grid_code IS NULL THEN NULL
                               WHEN t.grid_scheme = 'standard' OR x.standard_code IS NOT NULL
                               THEN 'yes' ELSE 'no' END AS {suites.DERIVED_CROSSWALK}""")
        joins.append(f"LEFT JOIN ({current_crosswalk_sql(as_of)}) x "
                     "ON x.scheme = t.grid_scheme AND x.code = t.grid_code")
    if {"period_start", "as_of"} <= names:
        select.append(f"CASE WHEN {_fact_programs(contract, 't')} THEN NULL "
                      "ELSE date_diff('day', t.period_start, t.as_of) END "
                      f"AS {suites.DERIVED_PERIOD_AGE}")
    base = f"(SELECT * FROM {contract.curated_table} WHERE batch_id = ?{sample}) t"
    sql = f"SELECT {', '.join(select)} FROM {base} {' '.join(joins)}"
    return con.execute(sql, params).df()


def _fact_programs(contract: ContractSpec, alias: str) -> str:
    """SQL condition true for rows that state a fact (a status, a visit), not a benefit."""
    excluded = contract.ledger.exclude_programs if contract.ledger else []
    if not excluded or "program" not in contract.column_names:
        return "false"
    facts = ", ".join("'" + p.replace("'", "''") + "'" for p in excluded)
    return f"{alias}.program IN ({facts})"


def _months_without_periods(con: duckdb.DuckDBPyConnection, contract: ContractSpec,
                            batch_id: str) -> dict[str, Any] | None:
    """Months between the first and last benefit period with no row at all (a hole)."""
    if "period_start" not in contract.column_names:
        return None
    row = con.execute(
        f"""WITH m AS (SELECT DISTINCT date_trunc('month', period_start) AS m
                       FROM {contract.curated_table} t
                       WHERE batch_id = ? AND NOT ({_fact_programs(contract, "t")}))
            SELECT date_diff('month', min(m), max(m)) + 1, count(*) FROM m""",
        [batch_id]).fetchone()
    if row is None or row[0] is None:
        return None
    spanned, present = int(row[0]), int(row[1])
    return {"id": "month_coverage", "kind": "coverage", "engine": "hub",
            "type": "months_without_periods", "column": "period_start",
            "description": "every month between the first and last period has rows",
            "success": spanned == present, "element_count": spanned,
            "unexpected_count": spanned - present,
            "unexpected_share": round((spanned - present) / spanned, 6) if spanned else 0.0}


def quarantine_summary(con: duckdb.DuckDBPyConnection, batch_id: str) -> list[dict[str, Any]]:
    rows = con.execute(
        "SELECT column_name, rule, severity, count(DISTINCT source_row) AS n "
        "FROM quarantine.row_issues WHERE batch_id = ? GROUP BY ALL "
        "ORDER BY severity, n DESC, column_name, rule", [batch_id]).fetchall()
    return [{"column": c, "rule": r, "severity": s, "rows": int(n)} for c, r, s, n in rows]


@cache
def _gx_context() -> Any:
    """One ephemeral context per process: each one makes a temporary folder GX never removes."""
    import great_expectations as gx  # a slow import: only when a batch is actually checked
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def _gx_results(frame: pd.DataFrame, checks: list[Check], name: str) -> list[dict[str, Any]]:
    import great_expectations as gx

    context = _gx_context()
    source = f"hub-{name}-{next(_SOURCES)}"
    batch = (context.data_sources.add_pandas(source).add_dataframe_asset(name)
             .add_batch_definition_whole_dataframe("batch")
             .get_batch(batch_parameters={"dataframe": frame}))
    suite = gx.ExpectationSuite(name=name)
    for check in checks:
        suite.add_expectation(getattr(gx.expectations, check.type)(
            **check.kwargs, meta={"hub_check": check.id}))
    try:
        with warnings.catch_warnings():
            # pandas warns about groups in the contracts' regexes; harmless for a match test.
            warnings.simplefilter("ignore", UserWarning)
            validation = batch.validate(suite, result_format={"result_format": "BASIC",
                                                              "partial_unexpected_count": 0})
    finally:
        context.data_sources.delete(source)
    # GX does not keep suite order: pair results with checks by the id carried in `meta`.
    by_id = {(res.expectation_config.meta or {}).get("hub_check"): res
             for res in validation.results}
    out = []
    for check in checks:
        res = by_id[check.id]
        raw = res.result or {}
        entry: dict[str, Any] = {
            "id": check.id, "kind": check.kind, "engine": "great_expectations",
            "type": res.expectation_config.type, "column": check.column,
            "description": check.description, "success": bool(res.success),
        }
        if res.exception_info.get("raised_exception"):
            # Exception text can quote data: keep only that it failed.
            entry.update(success=None, error="the check could not be evaluated")
        for key in KEPT_RESULT_KEYS:
            if isinstance(raw.get(key), int):
                entry[key] = raw[key]
        if "unexpected_count" in entry and entry.get("element_count"):
            entry["unexpected_share"] = round(entry["unexpected_count"] / entry["element_count"],
                                              6)
        observed = raw.get("observed_value")
        if observed is not None and not check.private and "unexpected_count" not in entry:
            entry["observed"] = _plain(observed)
        out.append(entry)
    return out


def _plain(value: Any) -> Any:
    """JSON-ready aggregate: numbers, strings and containers of them."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    return str(value)


def score(expectations: list[dict[str, Any]], rows_read: int, rows_loaded: int) -> float:
    values = []
    for e in expectations:
        if e.get("success") is None:
            continue
        if e["success"]:
            values.append(1.0)
        elif "unexpected_share" in e:
            values.append(1.0 - float(e["unexpected_share"]))
        else:
            values.append(0.0)
    checks = sum(values) / len(values) if values else 1.0
    loaded = rows_loaded / rows_read if rows_read else 0.0
    return round(100.0 * checks * loaded, 1)


def check_batch(con: duckdb.DuckDBPyConnection, contract: ContractSpec,
                batch: dict[str, Any], today: date) -> dict[str, Any]:
    """The quality result of one batch (a manifest row of `meta.batches` / the catalog)."""
    started = time.perf_counter()
    batch_id = str(batch["batch_id"])
    as_of = str(batch["as_of"])[:10] if batch.get("as_of") else None
    expectations: list[dict[str, Any]] = []
    rows_evaluated = 0
    if batch["outcome"] == "loaded":
        registry = registry_batch(con)
        crosswalk = crosswalk_available(con)
        checks = suites.build_suite(contract, today, registry=registry is not None,
                                    crosswalk=crosswalk)
        sample = MAX_EVALUATED_ROWS if int(batch["rows_loaded"]) > MAX_EVALUATED_ROWS else None
        try:
            frame = _batch_frame(con, contract, batch_id, as_of or today.isoformat(),
                                 registry, crosswalk, sample)
        except duckdb.Error as exc:  # e.g. a crosswalk table of another shape
            log.warning("quality: batch %s: derived columns unavailable (%s); checking "
                        "without them", batch_id, exc.__class__.__name__)
            crosswalk = False
            checks = [c for c in checks if not c.needs]
            frame = _batch_frame(con, contract, batch_id, as_of or today.isoformat(),
                                 None, False, sample)
        rows_evaluated = len(frame)
        expectations = _gx_results(frame, checks, contract.name)
        months = _months_without_periods(con, contract, batch_id)
        if months:
            expectations.append(months)
        expectations.extend(_skipped(contract, registry is not None, crosswalk))
    rows_read, rows_loaded = int(batch["rows_read"]), int(batch["rows_loaded"])
    return {
        "batch_id": batch_id, "dataset": contract.name,
        "department": batch.get("department"), "source": batch.get("source"),
        "contract_version": batch.get("contract_version"), "outcome": batch["outcome"],
        "reason": batch.get("reason") or "", "as_of": as_of,
        "evaluated_at": datetime.now(UTC).isoformat(),
        "rows_read": rows_read, "rows_loaded": rows_loaded,
        "rows_quarantined": int(batch["rows_quarantined"]),
        "rows_evaluated": rows_evaluated,
        "sampled": rows_evaluated < int(batch["rows_loaded"]),
        "quarantine": quarantine_summary(con, batch_id),
        "expectations": expectations,
        "score": score(expectations, rows_read, rows_loaded),
        "score_note": SCORE_NOTE,
        "seconds": round(time.perf_counter() - started, 3),
    }


def _skipped(contract: ContractSpec, registry: bool, crosswalk: bool) -> list[dict[str, Any]]:
    out = []
    if (not registry and contract.identity_column is not None
            and contract.name != suites.REGISTRY_DATASET):
        out.append({"id": "in_registry", "kind": "referential", "engine": "hub",
                    "type": "skipped", "column": suites.DERIVED_REGISTRY, "success": None,
                    "description": "resident in the grid registry: not checked, no grid "
                                   "registry loaded yet"})
    if (not crosswalk and "grid_code" in contract.column_names
            and contract.name != suites.REGISTRY_DATASET):
        out.append({"id": "grid_mapped", "kind": "referential", "engine": "hub",
                    "type": "skipped", "column": suites.DERIVED_CROSSWALK, "success": None,
                    "description": "grid code through the crosswalk: not checked, "
                                   "ref.grid_crosswalk is not loaded"})
    return out

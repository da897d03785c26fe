"""The grid crosswalk: departments' own grid and community codes mapped to the standard grid.

`ref.grid_crosswalk(scheme, code, standard_code, level, valid_from, version, loaded_at)` is a
versioned table in the warehouse: every load of a changed crosswalk file adds a new version
and keeps the old ones (a mapping that changed is history an auditor can ask about). Lookups
use the latest version and, within it, the latest row per (scheme, code) whose `valid_from`
is on or before the date asked about. `level` says what a code maps to: `grid` (a 15-digit
standard grid code) or `community` (a 12-digit standard community code). The scheme
`standard` maps to itself and needs no rows.

A code that maps to nothing is a data-quality finding (`unmapped_codes`), never a reason to
drop a fact: the fact stays in the ledger, its resident simply has no mapped location from
that source. Only the pipeline worker writes this table (it owns the warehouse connection).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from hub.errors import HubError
from schemas.errors import ExitCode
from schemas.identity import STANDARD_GRID_SCHEME, normalise_grid_code

CROSSWALK_TABLE = "ref.grid_crosswalk"
LEVELS = ("grid", "community")
CSV_COLUMNS = ["scheme", "code", "standard_code", "level", "valid_from"]

DDL = [
    "CREATE SCHEMA IF NOT EXISTS ref",
    f"""CREATE TABLE IF NOT EXISTS {CROSSWALK_TABLE} (
        scheme VARCHAR NOT NULL,
        code VARCHAR NOT NULL,
        standard_code VARCHAR NOT NULL,
        level VARCHAR NOT NULL,
        valid_from DATE NOT NULL,
        version INTEGER NOT NULL,
        loaded_at TIMESTAMPTZ NOT NULL
    )""",
]


class CrosswalkInvalid(HubError):
    """A crosswalk file that cannot be loaded; names the file, row and rule, never a value."""

    status = 422
    exit_code = ExitCode.BAD_INPUT

    def __init__(self, path: str, rule: str, rows: list[int] | None = None) -> None:
        self.path, self.rule, self.rows = path, rule, rows or []
        where = f" (rows {', '.join(map(str, self.rows[:10]))})" if self.rows else ""
        super().__init__(f"crosswalk {path}: {rule}{where}; fix the file and load it again")


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    for statement in DDL:
        con.execute(statement)


def read_crosswalk_csv(path: Path) -> pd.DataFrame:
    """The crosswalk file, checked and with codes cleaned the way extracts' codes are."""
    frame = pd.read_csv(path, dtype="string", encoding="utf-8-sig")
    missing = [c for c in CSV_COLUMNS if c not in frame.columns]
    if missing:
        raise CrosswalkInvalid(str(path), f"missing columns {missing}")
    frame = frame[CSV_COLUMNS].copy()
    rows = pd.Series(range(2, len(frame) + 2), index=frame.index)  # file line numbers
    bad_level = ~frame["level"].isin(LEVELS).fillna(False).astype(bool)
    if bad_level.any():
        raise CrosswalkInvalid(str(path), "level:not_grid_or_community",
                               rows[bad_level].tolist())
    standard = normalise_grid_code(frame["standard_code"], "community_or_grid").values
    digits = standard.str.len().where(frame["level"] == "grid", standard.str.len() + 3)
    bad_std = ~standard.str.fullmatch(r"\d+").fillna(False).astype(bool) | (digits != 15)
    if bad_std.any():
        raise CrosswalkInvalid(str(path), "standard_code:format", rows[bad_std].tolist())
    valid_from = pd.to_datetime(frame["valid_from"], format="%Y-%m-%d", errors="coerce")
    if valid_from.isna().any():
        raise CrosswalkInvalid(str(path), "valid_from:date", rows[valid_from.isna()].tolist())
    # Codes are cleaned per scheme exactly as the pipeline cleans extract codes, so they meet.
    codes = pd.Series(pd.NA, index=frame.index, dtype="string")
    for scheme in frame["scheme"].dropna().unique():
        sel = frame["scheme"] == scheme
        codes[sel] = normalise_grid_code(frame.loc[sel, "code"], str(scheme)).values
    if codes.isna().any() or frame["scheme"].isna().any():
        raise CrosswalkInvalid(str(path), "code:missing", rows[codes.isna()].tolist())
    out = pd.DataFrame({"scheme": frame["scheme"], "code": codes, "standard_code": standard,
                        "level": frame["level"], "valid_from": valid_from.dt.date})
    dup = out.duplicated(["scheme", "code", "valid_from"], keep="first")
    if dup.any():
        raise CrosswalkInvalid(str(path), "duplicate_key", rows[dup].tolist())
    return out


def current_version(con: duckdb.DuckDBPyConnection) -> int | None:
    row = con.execute(f"SELECT max(version) FROM {CROSSWALK_TABLE}").fetchall()[0]
    return int(row[0]) if row and row[0] is not None else None


def load_crosswalk(con: duckdb.DuckDBPyConnection, path: Path) -> dict[str, Any]:
    """Load a crosswalk file as a new version unless it equals the current one.

    Returns {"version", "rows", "changed"}. One transaction: a failed load leaves the
    previous version in force.
    """
    ensure_schema(con)
    frame = read_crosswalk_csv(path)
    version = current_version(con)
    con.register("crosswalk_new", frame)
    try:
        if version is not None:
            row = con.execute(
                f"""SELECT count(*) FROM (
                    (SELECT scheme, code, standard_code, level, valid_from FROM crosswalk_new
                     EXCEPT SELECT scheme, code, standard_code, level, valid_from
                     FROM {CROSSWALK_TABLE} WHERE version = ?)
                    UNION ALL
                    (SELECT scheme, code, standard_code, level, valid_from
                     FROM {CROSSWALK_TABLE} WHERE version = ?
                     EXCEPT SELECT scheme, code, standard_code, level, valid_from
                     FROM crosswalk_new))""", [version, version]).fetchall()[0]
            if row is not None and int(row[0]) == 0:
                return {"version": version, "rows": len(frame), "changed": False}
        new_version = (version or 0) + 1
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(
                f"INSERT INTO {CROSSWALK_TABLE} SELECT scheme, code, standard_code, level, "
                "CAST(valid_from AS DATE), ?, ? FROM crosswalk_new",
                [new_version, datetime.now(UTC)])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    finally:
        con.unregister("crosswalk_new")
    return {"version": new_version, "rows": len(frame), "changed": True}


def mapping_sql(codes: str) -> str:
    """SQL mapping `codes` (a relation with columns scheme, code, on_date) to the standard.

    Yields scheme, code, on_date, grid_code (15 digits or NULL), community_code (12 digits or
    NULL) and mapped (bool). `standard` codes map to themselves; unknown codes give
    mapped = false and stay in the result.
    """
    return f"""
    WITH cw AS (
        SELECT * FROM {CROSSWALK_TABLE}
        WHERE version = (SELECT max(version) FROM {CROSSWALK_TABLE})
    ),
    hit AS (
        SELECT c.scheme, c.code, c.on_date, cw.standard_code, cw.level
        FROM {codes} c JOIN cw ON cw.scheme = c.scheme AND cw.code = c.code
                               AND cw.valid_from <= coalesce(c.on_date, DATE '9999-12-31')
        QUALIFY row_number() OVER (PARTITION BY c.scheme, c.code, c.on_date
                                   ORDER BY cw.valid_from DESC) = 1
    )
    SELECT c.scheme, c.code, c.on_date,
           CASE WHEN c.scheme = '{STANDARD_GRID_SCHEME}' THEN c.code
                WHEN h.level = 'grid' THEN h.standard_code END AS grid_code,
           CASE WHEN c.scheme = '{STANDARD_GRID_SCHEME}' THEN left(c.code, 12)
                ELSE left(h.standard_code, 12) END AS community_code,
           (c.scheme = '{STANDARD_GRID_SCHEME}' OR h.standard_code IS NOT NULL) AS mapped
    FROM {codes} c LEFT JOIN hit h
      ON h.scheme = c.scheme AND h.code = c.code AND h.on_date IS NOT DISTINCT FROM c.on_date
    """

"""The rows a release starts from: the current curated rows of one dataset, read from the
warehouse, with department grid codes mapped to the standard grid and a geography for the
aggregate table.

Department datasets carry grid or community codes in their own schemes; the release
generalises standard codes (grid 15 -> community 12 -> street 9 -> county 6), so every code
is first mapped through the latest grid crosswalk (a code the crosswalk does not know becomes
empty rather than travelling in a department's private scheme). A dataset without a grid
column (medical, the ledger) takes the geography of its aggregate table from the resident's
registry entry; that geography is used for the table only, never added to the extract.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd
import pyarrow as pa

from hub.ledger.current import current_rows_sql
from hub.warehouse.crosswalk import mapping_sql
from schemas.spec import ContractSpec, Identity

REGISTRY = "grid"  # the resident registry the other datasets are linked against
GEOGRAPHY = "__geography"
_TYPES = {pa.int8(): pd.Int8Dtype(), pa.int16(): pd.Int16Dtype(), pa.int32(): pd.Int32Dtype(),
          pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}


@dataclass
class ExportRows:
    frame: pd.DataFrame
    geography: pd.Series | None
    geography_source: str  # "dataset:<column>", "registry" or "none"
    grid_column: str | None
    grid_unmapped: int  # rows whose grid code the crosswalk does not map


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _grid_column(contract: ContractSpec) -> str | None:
    for column in contract.columns:
        if column.identity == Identity.GRID_CODE and column.curated_name:
            return column.curated_name
    return None


def _columns(con: duckdb.DuckDBPyConnection, dataset: str) -> set[str]:
    rows = con.execute("SELECT column_name FROM information_schema.columns "
                       "WHERE table_schema = 'curated' AND table_name = ?", [dataset]).fetchall()
    return {str(r[0]) for r in rows}


def _base_sql(contract: ContractSpec) -> str:
    if contract.kind == "source":
        return current_rows_sql(contract.name)
    return f"SELECT * FROM curated.{_quote(contract.name)}"  # derived: rebuilt whole


def _mapped_sql(base: str, grid: str, has_scheme: bool) -> str:
    """`base` with its grid column replaced by the standard grid (or community) code."""
    g = _quote(grid)
    scheme = "t.grid_scheme" if has_scheme else "'standard'"
    return f"""
        WITH t AS ({base}),
        codes AS (SELECT DISTINCT {scheme} AS scheme, t.{g} AS code,
                         CAST(NULL AS DATE) AS on_date FROM t WHERE t.{g} IS NOT NULL),
        m AS ({mapping_sql('codes')})
        SELECT t.* REPLACE (coalesce(m.grid_code, m.community_code) AS {g}),
               (t.{g} IS NOT NULL AND m.mapped IS NOT TRUE) AS __unmapped
        FROM t LEFT JOIN m ON m.scheme = {scheme} AND m.code = t.{g}
    """


def _registry_sql(base: str, person: str, con: duckdb.DuckDBPyConnection) -> str:
    """`base` with each resident's standard grid from the current registry as GEOGRAPHY."""
    scheme = "grid_scheme" in _columns(con, REGISTRY)
    registry = _mapped_sql(current_rows_sql(REGISTRY), "grid_code", scheme)
    p = _quote(person)
    return f"""
        WITH t AS ({base}),
        r AS ({registry}),
        loc AS (SELECT {p}, first(grid_code ORDER BY batch_as_of DESC, batch_id DESC) AS geo
                FROM r WHERE {p} IS NOT NULL GROUP BY {p})
        SELECT t.*, loc.geo AS {GEOGRAPHY} FROM t LEFT JOIN loc USING ({p})
    """


def _frame(con: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    table = con.sql(sql).to_arrow_table()
    return table.to_pandas(types_mapper=_TYPES.get)


def read_rows(con: duckdb.DuckDBPyConnection, contract: ContractSpec,
              person_key: str | None) -> ExportRows:
    """The current rows of `contract` ready for `desensitize.release.build_release`."""
    base = _base_sql(contract)
    grid = _grid_column(contract)
    present = _columns(con, contract.name)
    if grid is not None and grid in present:
        frame = _frame(con, _mapped_sql(base, grid, "grid_scheme" in present))
        unmapped = int(frame.pop("__unmapped").fillna(False).sum())
        return ExportRows(frame, frame[grid], f"dataset:{grid}", grid, unmapped)
    if person_key is not None and person_key in present and REGISTRY in _tables(con):
        frame = _frame(con, _registry_sql(base, person_key, con))
        return ExportRows(frame, frame.pop(GEOGRAPHY), "registry", None, 0)
    return ExportRows(_frame(con, base), None, "none", None, 0)


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute("SELECT table_name FROM information_schema.tables "
                       "WHERE table_schema = 'curated'").fetchall()
    return {str(r[0]) for r in rows}

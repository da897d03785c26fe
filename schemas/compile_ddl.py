"""Compile a contract into the DuckDB DDL of its curated table.

The curated table holds what survives de-identification: pseudonyms instead of identifiers,
birth years instead of birth dates, no vaulted or dropped columns. Money is DECIMAL(14,2)
yuan, never a float. Source datasets end with the batch and source row that produced each
row (lineage); the derived ledger names its source batch itself.
"""

from __future__ import annotations

from schemas.spec import ColumnSpec, ColumnType, ContractSpec, Deid, Identity

CURATED_SCHEMA = "curated"
GRID_SCHEME_COLUMN = "grid_scheme"
BATCH_COLUMN = "batch_id"
SOURCE_ROW_COLUMN = "source_row"

DECIMAL_TYPE = "DECIMAL(14,2)"
DUCKDB_TYPES: dict[ColumnType, str] = {
    ColumnType.STRING: "VARCHAR",
    ColumnType.CATEGORY: "VARCHAR",
    ColumnType.TAGS: "VARCHAR",
    ColumnType.INTEGER: "INTEGER",
    ColumnType.DECIMAL: DECIMAL_TYPE,
    ColumnType.MONEY: DECIMAL_TYPE,
    ColumnType.DATE: "DATE",
    ColumnType.BOOLEAN: "BOOLEAN",
}
# Lineage columns are NOT NULL: every curated row of a source dataset comes from a known
# batch and row. (Kept out of the type strings so callers can use those in casts.)
NOT_NULL_COLUMNS = frozenset({"batch_id", "source_row"})


def _curated_type(column: ColumnSpec) -> str:
    if column.deid == Deid.PSEUDONYM:
        return "VARCHAR"
    if column.deid == Deid.BIRTH_YEAR:
        return "SMALLINT"
    return DUCKDB_TYPES[column.type]


def curated_columns(contract: ContractSpec) -> list[tuple[str, str]]:
    """(curated column name, DuckDB type) in contract order, lineage columns last."""
    cols: list[tuple[str, str]] = []
    for c in contract.columns:
        name = c.curated_name
        if name is None:
            continue
        cols.append((name, _curated_type(c)))
        if c.identity == Identity.GRID_CODE:
            # The scheme travels with the code: department codes mean nothing without it.
            cols.append((GRID_SCHEME_COLUMN, "VARCHAR"))
    if contract.kind == "source":
        cols.append((BATCH_COLUMN, "VARCHAR"))
        cols.append((SOURCE_ROW_COLUMN, "BIGINT"))
    return cols


def _not_null(contract: ContractSpec, name: str) -> bool:
    return contract.kind == "source" and name in NOT_NULL_COLUMNS


def table_name(contract: ContractSpec) -> str:
    return f'{CURATED_SCHEMA}."{contract.name}"'


def curated_ddl(contract: ContractSpec) -> list[str]:
    """Statements that create the curated schema and table (idempotent)."""
    body = ",\n  ".join(
        f'"{name}" {sql_type}' + (" NOT NULL" if _not_null(contract, name) else "")
        for name, sql_type in curated_columns(contract)
    )
    return [
        f"CREATE SCHEMA IF NOT EXISTS {CURATED_SCHEMA}",
        f"CREATE TABLE IF NOT EXISTS {table_name(contract)} (\n  {body}\n)",
    ]


def missing_column_ddl(contract: ContractSpec, existing: set[str]) -> list[str]:
    """ALTER TABLE statements for curated columns a newer contract version added.

    New columns are nullable: rows loaded under the older version have no value for them
    (DuckDB cannot add a NOT NULL column to a table that has rows anyway). ALTER appends, so
    an evolved table's column order differs from `curated_columns`: load it BY NAME
    (`INSERT INTO t BY NAME SELECT * FROM arrow_table`), never by position.
    """
    return [
        f'ALTER TABLE {table_name(contract)} ADD COLUMN "{name}" {sql_type}'
        for name, sql_type in curated_columns(contract)
        if name not in existing
    ]

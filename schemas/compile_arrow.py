"""Compile a contract into the Arrow schema of its curated table, and build such tables.

The Arrow schema is derived from `curated_columns`, so a table built here inserts into the
DDL table without casts. Money arrives as exact int64 fen and becomes decimal128(14,2) by
writing the 128-bit unscaled integers directly: it never passes through a float.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from schemas.compile_ddl import (
    BATCH_COLUMN,
    DECIMAL_TYPE,
    GRID_SCHEME_COLUMN,
    NOT_NULL_COLUMNS,
    SOURCE_ROW_COLUMN,
    curated_columns,
)
from schemas.errors import ContractViolation
from schemas.spec import ColumnType, ContractSpec, Identity

DECIMAL_ARROW = pa.decimal128(14, 2)
_MAX_UNSCALED = 10**14  # DECIMAL(14,2): at most 14 digits of hundredths
ARROW_TYPES: dict[str, pa.DataType] = {
    "VARCHAR": pa.string(),
    "INTEGER": pa.int32(),
    "SMALLINT": pa.int16(),
    "BIGINT": pa.int64(),
    "BOOLEAN": pa.bool_(),
    "DATE": pa.date32(),
    DECIMAL_TYPE: DECIMAL_ARROW,
}


def curated_arrow_schema(contract: ContractSpec) -> pa.Schema:
    return pa.schema(
        [
            pa.field(name, ARROW_TYPES[sql_type],
                     nullable=not (contract.kind == "source" and name in NOT_NULL_COLUMNS))
            for name, sql_type in curated_columns(contract)
        ]
    )


def decimal_from_hundredths(hundredths: pd.Series, contract: ContractSpec, column: str
                            ) -> pa.Array:
    """decimal128(14,2) from integer hundredths (fen), exactly, with nulls kept."""
    valid = hundredths.notna().to_numpy(dtype=bool)
    low = hundredths.to_numpy(dtype=np.int64, na_value=0)
    if np.any(np.abs(low) >= _MAX_UNSCALED):
        raise ContractViolation(contract.name, contract.version, column, "decimal:overflow",
                                "a value does not fit DECIMAL(14,2)")
    # Little-endian two's complement 128-bit: the int64 then its sign extension.
    words = np.empty((len(low), 2), dtype=np.int64)
    words[:, 0] = low
    words[:, 1] = np.where(low < 0, -1, 0)
    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(DECIMAL_ARROW, len(low), [bitmap, pa.py_buffer(words)],
                                 null_count=int((~valid).sum()))


def _hundredths_of(values: pd.Series) -> pd.Series:
    """Float quantities to integer hundredths, half away from zero.

    Rounding to 6 places first removes binary noise (1.005 is stored as 1.00499999...), so a
    value typed with two decimals keeps exactly those two decimals.
    """
    x = values.astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)
    scaled = np.round(x * 100, 6)
    rounded = np.sign(scaled) * np.floor(np.abs(scaled) + 0.5)
    return pd.Series(rounded, index=values.index).astype("Int64")


def _date32(values: pd.Series) -> pa.Array:
    days = pd.to_datetime(values).to_numpy(dtype="datetime64[s]").astype("datetime64[D]")
    mask = np.isnat(days)
    return pa.array(np.where(mask, 0, days.astype(np.int64)).astype(np.int32),
                    type=pa.date32(), mask=mask)


def _column(contract: ContractSpec, name: str, sql_type: str, values: pd.Series) -> pa.Array:
    if sql_type == DECIMAL_TYPE:
        spec_type = next(c.type for c in contract.columns if c.curated_name == name)
        fen = values if spec_type == ColumnType.MONEY else _hundredths_of(values)
        return decimal_from_hundredths(fen, contract, name)
    if sql_type == "DATE":
        return _date32(values)
    arrow_type = ARROW_TYPES[sql_type]
    if arrow_type == pa.string():
        values = values.astype("string")
    return pa.array(values, type=arrow_type, from_pandas=True)


def to_curated_arrow(contract: ContractSpec, frame: pd.DataFrame, batch_id: str,
                     grid_scheme: str | None = None) -> pa.Table:
    """The curated rows as an Arrow table with exactly `curated_arrow_schema(contract)`.

    `frame` holds the curated columns (de-identified; money as Int64 fen); its index is the
    source row. `grid_scheme` fills the scheme of non-null grid codes unless the frame
    already carries a `grid_scheme` column (e.g. after mapping through the crosswalk).
    """
    schema = curated_arrow_schema(contract)
    columns: dict[str, pa.Array] = {}
    for name, sql_type in curated_columns(contract):
        if name in frame.columns:
            values = frame[name]
        elif name == GRID_SCHEME_COLUMN:
            grid = next(c.curated_name for c in contract.columns
                        if c.identity == Identity.GRID_CODE)
            values = pd.Series(grid_scheme, index=frame.index, dtype="string")
            values = values.where(frame[grid].notna()) if grid in frame.columns else values
        elif name == BATCH_COLUMN:
            values = pd.Series(batch_id, index=frame.index, dtype="string")
        elif name == SOURCE_ROW_COLUMN:
            values = pd.Series(frame.index.to_numpy(dtype=np.int64), index=frame.index)
        else:
            raise ContractViolation(contract.name, contract.version, name, "curated_column",
                                    "the de-identified frame lacks this curated column")
        columns[name] = _column(contract, name, sql_type, values)
    return pa.Table.from_arrays(list(columns.values()), schema=schema)

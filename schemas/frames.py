"""How contract column types travel in pandas frames between pipeline stages.

One table shared by connectors (which produce typed frames), schemas (which validate them)
and desensitize (which fills absent optional columns). Money travels as exact integer fen.
"""

from __future__ import annotations

from typing import Any

from schemas.spec import ColumnSpec, ColumnType

# Typed Any because pandas-stubs accept only literal dtype names in astype().
FRAME_DTYPES: dict[ColumnType, Any] = {
    ColumnType.STRING: "string",
    ColumnType.CATEGORY: "string",
    ColumnType.TAGS: "string",
    ColumnType.INTEGER: "Int64",
    ColumnType.DECIMAL: "Float64",
    ColumnType.MONEY: "Int64",
    ColumnType.DATE: "datetime64[s]",
    ColumnType.BOOLEAN: "boolean",
}


def frame_dtype(column: ColumnSpec) -> Any:
    return FRAME_DTYPES[column.type]

"""Test data for the schemas tests: valid resident IDs and valid typed frames per contract."""

from __future__ import annotations

from datetime import date

import pandas as pd
from stdnum.cn.ric import calc_check_digit  # an independent oracle for the check character

from schemas.compile_pandera import frame_dtype
from schemas.spec import ColumnSpec, ColumnType, ContractSpec, Identity

TODAY = date(2025, 6, 15)


def make_id(area: str = "110105", birth: str = "19491231", seq: str = "002") -> str:
    """An 18-character ID with the right check character (the birth date may be invalid)."""
    body = area + birth + seq
    return body + calc_check_digit(body + "0")


def _valid_value(column: ColumnSpec, i: int) -> object:
    if column.identity == Identity.RESIDENT_ID:
        # Born on the birth_date below, an odd sequence digit (a man) like the gender below.
        return make_id(birth="19500101", seq=f"{(2 * i + 1) % 1000:03d}")
    if column.identity == Identity.PHONE:
        return f"1380000{i % 10000:04d}"
    if column.identity == Identity.GRID_CODE:
        return "110105001001001"
    if column.type in (ColumnType.CATEGORY, ColumnType.TAGS):
        assert column.allowed
        if column.name == "kind":
            return "cash"
        return column.allowed[0]
    if column.type == ColumnType.STRING:
        return "A01.1" if column.pattern else f"text {i}"
    if column.type == ColumnType.INTEGER:
        return int(column.min or 0)
    if column.type == ColumnType.DECIMAL:
        return 1.5
    if column.type == ColumnType.MONEY:
        return 12345  # fen
    if column.type == ColumnType.DATE:
        # A birth date agrees with the ID numbers the kit makes (born 1950-01-01).
        born = column.deid == "birth_year" or column.name == "birth_date"
        return pd.Timestamp("1950-01-01" if born else "2024-01-01")
    return True


def valid_frame(contract: ContractSpec, rows: int = 3, first_row: int = 2) -> pd.DataFrame:
    """A typed frame (as connectors deliver it) that satisfies every rule of the contract."""
    index = pd.Index(range(first_row, first_row + rows), dtype="int64")
    data = {
        c.name: pd.Series([_valid_value(c, i) for i in range(rows)], index=index).astype(
            frame_dtype(c)
        )
        for c in contract.columns
    }
    return pd.DataFrame(data, index=index)


def curated_frame(contract: ContractSpec, rows: int = 3) -> pd.DataFrame:
    """What de-identification hands to `to_curated_arrow`: curated columns, money in fen."""
    frame = valid_frame(contract, rows)
    out = {}
    for c in contract.columns:
        if c.curated_name is None:
            continue
        if c.deid == "pseudonym":
            out[c.curated_name] = pd.Series("k", index=frame.index, dtype="string")
        elif c.deid == "birth_year":
            out[c.curated_name] = pd.Series(1950, index=frame.index, dtype="Int64")
        else:
            out[c.curated_name] = frame[c.name]
    return pd.DataFrame(out, index=frame.index)

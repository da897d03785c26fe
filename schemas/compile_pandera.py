"""Compile a contract into a pandera schema for the typed frames of one chunk.

Every check is named after the rule it reports, so `schemas.validate` can turn pandera's
failure cases into issues without interpreting them. Checks are vectorised (they receive a
whole column or frame and return a boolean mask); nulls pass every check except nullability,
which has its own rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from threading import Lock

import pandas as pd
import pandera.pandas as pa

from schemas.frames import frame_dtype
from schemas.spec import ColumnSpec, ColumnType, ContractSpec

# Stable rule names for row issues found by the schema.
MISSING = "missing"  # null in a non-nullable column
ALLOWED = "allowed"
RANGE_MIN = "range:min"
RANGE_MAX = "range:max"
PATTERN = "pattern"
DATE_FUTURE = "date:future"
TYPE = "type"
PERIOD_END_BEFORE_START = "period:end_before_start"
AMOUNT_MISSING_FOR_CASH = "amount:missing_for_cash"

# The column each cross-field rule is reported against.
CROSS_FIELD_COLUMN = {PERIOD_END_BEFORE_START: "period_end", AMOUNT_MISSING_FOR_CASH: "amount"}

_CACHE: dict[tuple[str, str, date], pa.DataFrameSchema] = {}
_CACHE_LOCK = Lock()
_CACHE_MAX = 64  # a few contracts x a few days; cleared wholesale beyond that


def _bound(column: ColumnSpec, value: float) -> object:
    """A contract bound in the unit the frame carries: fen for money, a timestamp for dates."""
    if column.type == ColumnType.MONEY:
        return round(value * 100)
    if column.type == ColumnType.DATE:
        return pd.Timestamp(str(int(value)))
    return value


def _compare(op: str, bound: object) -> Callable[[pd.Series], pd.Series]:
    if op == "min":
        return lambda s: s >= bound
    return lambda s: s <= bound


def tags_pattern(allowed: list[str]) -> str:
    """Full-match regex: ';'-separated tokens from `allowed`, blanks and empty tokens tolerated."""
    token = "(?:" + "|".join(re.escape(a) for a in allowed) + ")"
    # Blanks spelt out rather than \s, which would make pandas run the regex row by row.
    sp = "[ \t]*"
    return rf"{sp}(?:{token}{sp})?(?:;{sp}(?:{token}{sp})?)*"


def _column_checks(column: ColumnSpec, today: date) -> list[pa.Check]:
    checks: list[pa.Check] = []
    if column.type == ColumnType.CATEGORY and column.allowed:
        allowed = list(column.allowed)
        checks.append(pa.Check(lambda s: s.isin(allowed), name=ALLOWED))
    if column.type == ColumnType.TAGS and column.allowed:
        regex = tags_pattern(column.allowed)
        checks.append(pa.Check(lambda s: s.str.fullmatch(regex), name=ALLOWED))
    if column.pattern is not None and column.type in (ColumnType.STRING, ColumnType.CATEGORY):
        pattern = column.pattern
        checks.append(pa.Check(lambda s: s.str.fullmatch(pattern), name=PATTERN))
    numeric = (ColumnType.INTEGER, ColumnType.DECIMAL, ColumnType.MONEY, ColumnType.DATE)
    if column.type in numeric:
        if column.min is not None:
            checks.append(pa.Check(_compare("min", _bound(column, column.min)), name=RANGE_MIN))
        if column.max is not None:
            checks.append(pa.Check(_compare("max", _bound(column, column.max)), name=RANGE_MAX))
    if column.type == ColumnType.DATE and column.not_in_future:
        # End of today, so a date-time on today is not "in the future".
        limit = pd.Timestamp(today) + pd.Timedelta(days=1) - pd.Timedelta(seconds=1)
        checks.append(pa.Check(_compare("max", limit), name=DATE_FUTURE))
    return checks


def _period_order(df: pd.DataFrame) -> pd.Series:
    if "period_start" not in df or "period_end" not in df:
        return pd.Series(True, index=df.index)
    start, end = df["period_start"], df["period_end"]
    return (end >= start) | start.isna() | end.isna()


def _amount_for_cash(df: pd.DataFrame) -> pd.Series:
    if "kind" not in df or "amount" not in df:
        return pd.Series(True, index=df.index)
    cash = df["kind"].eq("cash").fillna(False)
    return ~cash | df["amount"].notna()


def _frame_checks(contract: ContractSpec) -> list[pa.Check]:
    names = set(contract.column_names)
    checks: list[pa.Check] = []
    if {"period_start", "period_end"} <= names:
        checks.append(pa.Check(_period_order, name=PERIOD_END_BEFORE_START, ignore_na=False))
    if {"kind", "amount"} <= names:
        checks.append(pa.Check(_amount_for_cash, name=AMOUNT_MISSING_FOR_CASH, ignore_na=False))
    return checks


def build_pandera_schema(contract: ContractSpec, today: date) -> pa.DataFrameSchema:
    """Compile without the cache (for contracts that are not in the registry)."""
    columns = {
        c.name: pa.Column(
            frame_dtype(c),
            checks=_column_checks(c, today),
            nullable=c.nullable,
            required=c.required,
            coerce=False,  # frames arrive typed; `schemas.validate` conforms stray dtypes
            description=c.description or None,
        )
        for c in contract.columns
    }
    return pa.DataFrameSchema(
        columns,
        checks=_frame_checks(contract),
        strict=False,
        ordered=False,
        name=f"{contract.name} v{contract.version}",
    )


def pandera_schema(contract: ContractSpec, today: date) -> pa.DataFrameSchema:
    """The pandera schema of a contract, cached per (name, version, today)."""
    key = (contract.name, contract.version, today)
    with _CACHE_LOCK:
        schema = _CACHE.get(key)
    if schema is None:
        schema = build_pandera_schema(contract, today)
        with _CACHE_LOCK:
            if len(_CACHE) >= _CACHE_MAX:
                _CACHE.clear()
            _CACHE[key] = schema
    return schema

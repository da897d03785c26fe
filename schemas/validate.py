"""Validate one typed chunk against its contract: identity rules first, then pandera.

`validate_chunk` never drops a row: it returns every input row (identity columns normalised,
tags canonical, absent optional columns added as typed <NA>) together with the issues that
make rows bad and the warnings that do not. Issues name row, column and rule only: pandera's
failure cases carry cell values, and those are dropped here before anything leaves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandera.errors import SchemaErrors

from schemas._strings import (
    as_string,
    blank_to_null,
    fullmatch,
    replace,
    to_arrow,
    to_series,
)
from schemas.compile_pandera import (
    CROSS_FIELD_COLUMN,
    MISSING,
    TYPE,
    frame_dtype,
    pandera_schema,
)
from schemas.errors import ContractViolation
from schemas.identity import (
    STANDARD_GRID_SCHEME,
    IdentityResult,
    cross_check_resident_id,
    normalise_grid_code,
    normalise_phone,
    normalise_resident_id,
)
from schemas.issues import ISSUE_COLUMNS, concat_issues, empty_issues
from schemas.spec import ColumnSpec, ColumnType, ContractSpec, Identity


@dataclass
class ValidationResult:
    frame: pd.DataFrame  # every input row, contract columns in contract order
    issues: pd.DataFrame  # ISSUE_COLUMNS: blocking findings
    warnings: pd.DataFrame  # ISSUE_COLUMNS: non-blocking findings

    @property
    def bad_rows(self) -> np.ndarray:
        """Sorted unique source rows with at least one issue."""
        return np.unique(self.issues["source_row"].to_numpy(dtype=np.int64))


def _findings(result: pd.Series, column: str) -> pd.DataFrame:
    """Issues frame of the non-null rule names in `result`."""
    hit = result.dropna()
    if hit.empty:
        return empty_issues()
    return pd.DataFrame(
        {
            "source_row": hit.index.to_numpy(dtype=np.int64),
            "column": pd.Series([column] * len(hit), dtype="string"),
            "rule": hit.to_numpy(dtype=object),
        }
    ).astype({"rule": "string"})


def _identity(column: ColumnSpec, values: pd.Series, today: date, grid_scheme: str
              ) -> IdentityResult:
    if column.identity == Identity.RESIDENT_ID:
        return normalise_resident_id(values, today)
    if column.identity == Identity.PHONE:
        return normalise_phone(values)
    return normalise_grid_code(values, grid_scheme)


# Columns that restate what an ID number encodes; where a contract has them, they must agree.
SEX_COLUMN = "gender"
BIRTH_DATE_COLUMN = "birth_date"


def _id_witnesses(contract: ContractSpec, frame: pd.DataFrame
                  ) -> tuple[pd.Series | None, pd.Series | None]:
    """The row's own sex and birth date, when the contract and the chunk carry them."""
    names = set(contract.column_names)
    sex = frame[SEX_COLUMN] if SEX_COLUMN in names and SEX_COLUMN in frame else None
    birth = None
    if (BIRTH_DATE_COLUMN in names and BIRTH_DATE_COLUMN in frame
            and contract.column(BIRTH_DATE_COLUMN).type == ColumnType.DATE):
        birth = frame[BIRTH_DATE_COLUMN]
    return sex, birth


def normalise_tags(values: pd.Series, allowed: list[str]) -> pd.Series:
    """Strip, dedupe and sort ';'-separated tokens; an empty set becomes <NA>.

    Works per vocabulary token rather than per row. A value holding a token outside the
    vocabulary is only trimmed, so the `allowed` check still reports it.
    """
    arr = to_arrow(values)
    text = pc.utf8_trim_whitespace(replace(arr, r"[[:space:]]*;[[:space:]]*", ";",
                                           only=pc.match_substring(arr, ";")))
    token = "(?:" + "|".join(re.escape(a) for a in allowed) + ")"
    single = pc.or_(pc.is_in(text, value_set=pa.array(allowed, pa.large_string())),
                    pc.equal(text, ""))  # one tag or none: no regex needed
    known = fullmatch(text, rf"(?:{token}?;)*{token}?", known=single)
    sep = pa.scalar(";", pa.large_string())
    wrapped = pc.binary_join_element_wise(sep, text, sep, pa.scalar("", pa.large_string()))
    joined = pa.array([""] * len(arr), type=pa.large_string())
    for tag in sorted(set(allowed)):  # a loop over the vocabulary, not over rows
        has = pc.match_substring(wrapped, f";{tag};").fill_null(False)
        piece = pc.if_else(has, pa.scalar(tag + ";", pa.large_string()),
                           pa.scalar("", pa.large_string()))
        joined = pc.binary_join_element_wise(joined, piece, pa.scalar("", pa.large_string()))
    out = pc.if_else(pa.array(known), pc.utf8_rtrim(joined, characters=";"), text)
    return to_series(blank_to_null(out), values.index)


def _conform(column: ColumnSpec, values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """The column in its frame dtype, and a mask of cells that could not be converted.

    Connectors already deliver these dtypes; this only protects against a stray one
    (object, float64, datetime64[ns]) so pandera's checks see what the contract says.
    """
    dtype = frame_dtype(column)
    ok_mask = pd.Series(False, index=values.index)
    if dtype == "string":
        return as_string(values), ok_mask  # any string storage becomes the pyarrow one
    if str(values.dtype) == dtype:
        return values, ok_mask
    conv: pd.Series
    if column.type == ColumnType.DATE:
        conv = pd.to_datetime(values, errors="coerce").astype("datetime64[s]")
    elif column.type in (ColumnType.INTEGER, ColumnType.MONEY, ColumnType.DECIMAL):
        num = pd.to_numeric(values, errors="coerce")
        if dtype == "Int64":
            num = num.where(num.isna() | (num == np.round(num)))  # 1.5 is not an integer
        conv = num.astype(dtype)
    elif column.type == ColumnType.BOOLEAN:
        conv = values.map({True: True, False: False}, na_action="ignore").astype("boolean")
    else:
        raise AssertionError(f"no conversion for column type {column.type}")
    return conv, values.notna() & conv.isna()


def _schema_issues(exc: SchemaErrors, index: pd.Index) -> pd.DataFrame:
    """Failure cases as issues. Only index, column and check are read: never failure_case."""
    fc = exc.failure_cases
    check = fc["check"].astype("string")
    rule = check.where(~check.isin(["not_nullable"]), MISSING)
    rule = rule.mask(check.str.startswith("dtype(") | check.str.startswith("coerce_dtype("), TYPE)
    column = fc["column"].astype("string")
    frame_level = (fc["schema_context"] == "DataFrameSchema").to_numpy(dtype=bool)
    column = column.mask(frame_level, rule.map(CROSS_FIELD_COLUMN))
    row = pd.to_numeric(fc["index"], errors="coerce")
    parts = [
        pd.DataFrame({"source_row": row[row.notna()].astype("int64"),
                      "column": column[row.notna()], "rule": rule[row.notna()]})
    ]
    # A failure without a row (a column whose dtype is wrong) concerns every row.
    for col, rul in zip(column[row.isna()], rule[row.isna()], strict=True):
        parts.append(pd.DataFrame({"source_row": index.to_numpy(dtype=np.int64),
                                   "column": col, "rule": rul}))
    return concat_issues(parts).dropna().drop_duplicates(ignore_index=True)


def _without(issues: pd.DataFrame, known: pd.DataFrame) -> pd.DataFrame:
    """Issues on cells that `known` does not already explain."""
    if issues.empty or known.empty:
        return issues
    keys = known[["source_row", "column"]].drop_duplicates()
    merged = issues.merge(keys, on=["source_row", "column"], how="left", indicator=True)
    return merged.loc[merged["_merge"] == "left_only", ISSUE_COLUMNS].reset_index(drop=True)


def validate_chunk(
    contract: ContractSpec,
    frame: pd.DataFrame,
    today: date,
    grid_scheme: str = STANDARD_GRID_SCHEME,
    upstream: pd.DataFrame | None = None,
) -> ValidationResult:
    """Check one chunk. `upstream` (optional issues from parsing) suppresses repeat issues
    such as `missing` on a cell that is empty only because it could not be parsed."""
    for c in contract.columns:
        if c.required and c.name not in frame.columns:
            raise ContractViolation(contract.name, contract.version, c.name, "required_column",
                                    "the extract has no column mapped to it")
    out: dict[str, pd.Series] = {}
    issues: list[pd.DataFrame] = []
    warnings: list[pd.DataFrame] = []
    for c in contract.columns:
        if c.name not in frame.columns:
            out[c.name] = pd.Series(pd.NA, index=frame.index, dtype=frame_dtype(c))
            continue
        values, failed = _conform(c, frame[c.name])
        if failed.any():
            issues.append(_findings(failed.map({True: TYPE, False: pd.NA}), c.name))
        if c.identity is not None:
            found = _identity(c, values, today, grid_scheme)
            if c.identity == Identity.RESIDENT_ID:
                found = cross_check_resident_id(found, values, *_id_witnesses(contract, frame))
            # A value that fails its rule stays as received: the quarantine keeps what came in.
            values = found.values.where(found.ok, as_string(values))
            issues.append(_findings(found.error, c.name))
            warnings.append(_findings(found.warning, c.name))
        if c.type == ColumnType.TAGS and c.allowed:
            values = normalise_tags(values, c.allowed)
        out[c.name] = values
    checked = pd.DataFrame(out, index=frame.index)
    own = concat_issues(issues)
    try:
        pandera_schema(contract, today).validate(checked, lazy=True)
    except SchemaErrors as exc:
        known = concat_issues([own, upstream if upstream is not None else empty_issues()])
        own = concat_issues([own, _without(_schema_issues(exc, checked.index), known)])
    order = ["source_row", "column", "rule"]
    return ValidationResult(
        frame=checked,
        issues=own.sort_values(order, ignore_index=True),
        warnings=concat_issues(warnings).sort_values(order, ignore_index=True),
    )

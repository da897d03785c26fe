"""The comparison columns of a set of person records, computed once per record.

Input: a frame with any of `name`, `gender` (M/F), `birth_date` (date or ISO text), `address`,
`phone`, `community_code`, `grid_code`, `household_key` (a pseudonym), and a `unique_id`.
Output: the columns that `hub.linkage.comparisons` compares. Those comparable forms still
identify people (a simplified name is a name), so they live only in the pipeline worker's
memory and its in-memory DuckDB connection, never in the warehouse or the state store.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

import pandas as pd

from hub.linkage.addresses import address_forms
from hub.linkage.names import name_forms

FEATURE_COLUMNS = (
    "unique_id", "name_simplified", "name_pinyin", "name_shape", "surname", "given",
    "birth_date", "birth_digits", "sex", "address_normal", "address_road", "address_dwelling",
    "phone", "phone_tail", "community_code", "grid_code", "household_key",
)
_NOT_DIGIT = re.compile(r"\D")
_Form = TypeVar("_Form")


def _per_value(form: Callable[[object], _Form], values: pd.Series) -> list[_Form]:
    """`form` of each value, computed once per distinct value: a registry repeats names,
    addresses (a household's) and phones, and each form is a pure function of its value."""
    seen: dict[str | None, _Form] = {}
    out = []
    for value in values.tolist():
        key = value if isinstance(value, str) else None  # every non-text value is missing
        if key not in seen:
            seen[key] = form(key)
        out.append(seen[key])
    return out


def _phone(raw: object) -> str | None:
    if not isinstance(raw, str):
        return None
    digits = _NOT_DIGIT.sub("", raw)
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits if len(digits) >= 7 else None


def person_features(records: pd.DataFrame) -> pd.DataFrame:
    """One row of comparison columns per input record, in input order."""
    n = len(records)

    def column(name: str) -> pd.Series:
        if name in records.columns:
            return records[name].reset_index(drop=True)
        return pd.Series([None] * n, dtype=object)

    names = _per_value(name_forms, column("name"))
    places = _per_value(address_forms, column("address"))
    births = pd.to_datetime(column("birth_date"), errors="coerce")
    phones = _per_value(_phone, column("phone"))
    out = pd.DataFrame({
        "unique_id": column("unique_id").astype(str),
        "name_simplified": [f.undotted for f in names],
        "name_pinyin": [f.pinyin for f in names],
        "name_shape": [f.shape_key for f in names],
        "surname": [f.surname for f in names],
        "given": [f.given for f in names],
        "birth_date": births.dt.strftime("%Y-%m-%d"),
        "birth_digits": births.dt.strftime("%Y%m%d"),
        "sex": column("gender").where(column("gender").isin(["M", "F"]), None),
        "address_normal": [f.normal for f in places],
        "address_road": [f.road for f in places],
        "address_dwelling": [f.dwelling for f in places],
        "phone": phones,
        "phone_tail": [p[-8:] if p else None for p in phones],
        "community_code": column("community_code"),
        "grid_code": column("grid_code"),
        "household_key": column("household_key"),
    })
    return out.astype(object).where(out.notna(), None)

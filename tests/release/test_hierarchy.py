"""Generalisation hierarchies and the column plan read from the contracts."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from desensitize.release import hierarchy as h
from desensitize.release.column_plan import PERSON_KEY, Treatment, hierarchy_for, plan_release
from schemas.registry import get_contract
from schemas.spec import ColumnSpec


def _values(series: pd.Series) -> list[object]:
    return [None if pd.isna(v) else v for v in series]


def test_birth_years_go_to_5_10_20_year_bands_then_star() -> None:
    years = pd.Series([1943, 1958, None], dtype="Int16")
    assert _values(h.BIRTH_YEAR.generalise(years, 0)) == ["1943", "1958", None]
    assert _values(h.BIRTH_YEAR.generalise(years, 1)) == ["1940-1944", "1955-1959", None]
    assert _values(h.BIRTH_YEAR.generalise(years, 2)) == ["1940-1949", "1950-1959", None]
    assert _values(h.BIRTH_YEAR.generalise(years, 3)) == ["1940-1959", "1940-1959", None]
    assert _values(h.BIRTH_YEAR.generalise(years, 4)) == ["*", "*", "*"]


def test_grid_codes_go_to_community_street_county_then_star() -> None:
    codes = pd.Series(["110105001002003", "110105001002", "MZ11001", None], dtype="string")
    assert _values(h.GRID_CODE.generalise(codes, 1)) == [
        "110105001002", "110105001002", "*", None]
    assert _values(h.GRID_CODE.generalise(codes, 2)) == ["110105001", "110105001", "*", None]
    assert _values(h.GRID_CODE.generalise(codes, 3)) == ["110105", "110105", "*", None]
    assert set(h.GRID_CODE.generalise(codes, 4)) == {"*"}


def test_dates_go_to_month_then_year() -> None:
    dates = pd.Series([date(2024, 3, 9), None], dtype=object)
    assert _values(h.DATE.generalise(dates, 0)) == ["2024-03-09", None]
    assert _values(h.DATE.generalise(dates, 1)) == ["2024-03", None]
    assert _values(h.DATE.generalise(dates, 2)) == ["2024", None]
    assert set(h.DATE.generalise(dates, 3)) == {"*"}


def test_categories_and_booleans_are_kept_or_starred() -> None:
    flags = pd.Series([True, False, None], dtype="boolean")
    assert _values(h.CATEGORY.generalise(flags, 0)) == ["true", "false", None]
    assert set(h.CATEGORY.generalise(flags, 1)) == {"*"}


def test_numeric_quasi_identifiers_get_bands() -> None:
    column = ColumnSpec(name="income", type="money", sensitivity="quasi_identifier", min=0,
                        max=10000)
    bands = hierarchy_for(column)
    assert isinstance(bands, h.BandHierarchy)
    values = pd.Series([120.5, 9999.0])
    assert _values(bands.generalise(values, 1)) == ["0-<500", "9500-<10000"]
    assert bands.names[-1] == "suppressed"
    sizes = pd.Series([1, 2, 3, 5], dtype="Int64")
    assert _values(h.GROUP_SIZE.generalise(sizes, 1)) == ["1-2", "1-2", "3-4", "5-6"]


def test_a_level_outside_the_hierarchy_is_refused() -> None:
    with pytest.raises(ValueError, match=r"levels 0\.\.1"):
        h.CATEGORY.generalise(pd.Series(["a"]), 2)


def test_the_grid_plan_follows_its_contract() -> None:
    plan = plan_release(get_contract("grid"), ["resident_key", "gender", "birth_year",
                                               "household_key", "relation_to_head",
                                               "grid_code", "grid_scheme", "special_groups",
                                               "date_of_death", "as_of", "batch_id",
                                               "source_row"])
    treatments = {c.column: c.treatment for c in plan.columns}
    assert plan.person_key == "resident_key"
    assert treatments["resident_key"] == Treatment.PSEUDONYM
    assert treatments["household_key"] == Treatment.GROUP_SIZE
    assert {c.output for c in plan.quasi_identifiers} == {
        "gender", "birth_year", "household_size", "grid_code"}
    assert plan.sensitive == ["special_groups"]
    removed = {c.column for c in plan.removed}
    assert {"resident_key", "name", "phone", "address", "household_key", "batch_id",
            "source_row", "grid_scheme"} <= removed
    outputs = {c.output for c in plan.columns if c.output}
    assert PERSON_KEY in outputs
    assert "resident_key" not in outputs


def test_not_shared_columns_never_leave() -> None:
    plan = plan_release(get_contract("medical"), [])
    assert "diagnosis_code" in {c.column for c in plan.removed}
    assert plan.sensitive == ["chronic_condition"]


def test_the_ledger_keys_are_recognised_without_deid_rules() -> None:
    plan = plan_release(get_contract("assistance_ledger"), [])
    assert plan.person_key == "resident_key"
    assert [c.output for c in plan.quasi_identifiers] == ["household_size"]

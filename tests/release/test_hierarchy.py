"""Generalisation hierarchies and the column plan read from the contracts."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from desensitize.release import hierarchy as h
from desensitize.release.column_plan import PERSON_KEY, Treatment, plan_release
from desensitize.release.errors import ReleaseNotClassified
from schemas.registry import all_contracts, get_contract
from schemas.spec import ContractSpec, ReleaseRole


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


def test_dates_go_to_month_quarter_then_year() -> None:
    dates = pd.Series([date(2024, 3, 9), date(2024, 11, 30), None], dtype=object)
    assert _values(h.DATE.generalise(dates, 0)) == ["2024-03-09", "2024-11-30", None]
    assert _values(h.DATE.generalise(dates, 1)) == ["2024-03", "2024-11", None]
    assert _values(h.DATE.generalise(dates, 2)) == ["2024-Q1", "2024-Q4", None]
    assert _values(h.DATE.generalise(dates, 3)) == ["2024", "2024", None]
    assert set(h.DATE.generalise(dates, 4)) == {"*"}


def test_amounts_are_rounded_then_banded_and_counts_banded() -> None:
    amounts = pd.Series([123.45, 2500.0, 20000.0, None])
    assert _values(h.MONEY.generalise(amounts, 1)) == [
        "120-<130", "2500-<2510", "20000-<20010", None]
    assert _values(h.MONEY.generalise(amounts, 3)) == [
        "0-<1000", "2000-<3000", "20000-<21000", None]
    assert _values(h.MONEY.generalise(amounts, 4)) == ["0-<500", "2000-<10000", "10000+", None]
    counts = pd.Series([1, 3, 5, 30])
    assert _values(h.RECORDS.generalise(counts, 1)) == ["1", "2-3", "4-6", "25+"]
    assert _values(h.RECORDS.generalise(counts, 2)) == ["1-3", "1-3", "4-12", "13+"]


def test_programmes_and_relations_generalise_to_their_group() -> None:
    relation = h.hierarchy_named("groups", {"head": "couple", "spouse": "couple",
                                            "child": "descendant"})
    values = pd.Series(["head", "spouse", "child", "lodger", None])
    assert _values(relation.generalise(values, 1)) == [
        "couple", "couple", "descendant", "other", None]
    assert set(relation.generalise(values, 2)) == {"*"}
    # A sensitive column's hierarchy stops at the group: l counts its values.
    need = h.hierarchy_named("groups", {"meal_aid": "care"}, suppressible=False)
    assert need.top == 1
    assert _values(need.generalise(pd.Series(["meal_aid"]), 1)) == ["care"]


def test_categories_and_booleans_are_kept_or_starred() -> None:
    flags = pd.Series([True, False, None], dtype="boolean")
    assert _values(h.CATEGORY.generalise(flags, 0)) == ["true", "false", None]
    assert set(h.CATEGORY.generalise(flags, 1)) == {"*"}


def test_household_sizes_get_bands() -> None:
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
        "gender", "birth_year", "household_size", "relation_to_head", "grid_code",
        "date_of_death"}
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
    assert {c.output for c in plan.quasi_identifiers} >= {
        "household_size", "amount", "period_start", "program"}
    assert plan.sensitive == ["program"]  # what the assistance is for
    assert plan.row_owner == "department"


def test_every_column_of_every_contract_is_classified_for_release() -> None:
    for contract in all_contracts().values():
        for column in contract.columns:
            assert column.release is not None, (contract.name, column.name)
            assert column.release.reason, (contract.name, column.name)
            if column.sensitivity.value == "direct_identifier":
                assert column.release.role == ReleaseRole.REMOVED
        plan_release(contract, [])  # every hierarchy and `with` resolves


def test_quasi_identifiers_follow_the_threat_model() -> None:
    """Event dates, amounts, programme, status, household facts, care level, relation to
    head and date of death are what a department, a neighbour or a grid worker knows."""
    expected = {"elderly_care": {"program", "amount", "period_start", "care_level",
                                 "living_alone", "grid_code"},
                "medical": {"program", "amount", "period_start", "period_end"},
                "employment": {"employment_status", "program", "amount", "period_start",
                               "unemployment_registered_on", "grid_code"},
                "grid": {"relation_to_head", "date_of_death", "household_size"},
                "assistance_ledger": {"amount", "period_start", "household_size"}}
    for dataset, columns in expected.items():
        plan = plan_release(get_contract(dataset), [])
        assert columns <= {str(c.output) for c in plan.quasi_identifiers}, dataset


def test_an_unclassified_column_is_refused() -> None:
    raw = get_contract("medical").model_dump(by_alias=True)
    for column in raw["columns"]:
        if column["name"] == "amount":
            column["release"] = None
    with pytest.raises(ReleaseNotClassified, match="amount"):
        plan_release(ContractSpec.model_validate(raw), [])

"""validate_chunk: every rule yields a (row, column, rule) issue, and no issue holds a value."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
from schemas_kit import TODAY, make_id, valid_frame

from schemas.errors import ContractViolation
from schemas.issues import ISSUE_COLUMNS, issues_for
from schemas.registry import all_contracts, get_contract
from schemas.validate import ValidationResult, normalise_tags, validate_chunk

ROW = 3  # valid_frame rows are 2, 3, 4; tests break row 3


def _assert_no_values(result: ValidationResult, frame: pd.DataFrame) -> None:
    """No cell of the input appears in the issues or warnings, as a cell or inside one."""
    cells = {str(v) for col in frame.columns for v in frame[col].dropna().tolist()}
    identifiers = {c for c in cells if len(c) >= 6}
    for found in (result.issues, result.warnings):
        assert list(found.columns) == ISSUE_COLUMNS
        assert str(found["source_row"].dtype) == "int64"
        for text in found["column"].tolist() + found["rule"].tolist():
            assert text not in cells
            assert not any(ident in text for ident in identifiers)


def _check(name: str, column: str, value: Any, rule: str) -> ValidationResult:
    contract = get_contract(name)
    frame = valid_frame(contract)
    frame.loc[ROW, column] = value
    result = validate_chunk(contract, frame, TODAY)
    assert result.issues.values.tolist() == [[ROW, column, rule]]
    assert result.bad_rows.tolist() == [ROW]
    _assert_no_values(result, frame)
    return result


@pytest.mark.parametrize("name", sorted(all_contracts()))
def test_a_valid_frame_has_no_issues(name: str) -> None:
    contract = get_contract(name)
    frame = valid_frame(contract)
    result = validate_chunk(contract, frame, TODAY)
    assert result.issues.empty
    assert result.bad_rows.tolist() == []
    assert list(result.frame.columns) == contract.column_names
    assert result.frame.index.equals(frame.index)


@pytest.mark.parametrize(
    ("name", "column", "value", "rule"),
    [
        ("elderly_care", "program", None, "missing"),
        ("elderly_care", "program", "bingo", "allowed"),
        ("grid", "special_groups", "veteran;astronaut", "allowed"),
        ("elderly_care", "amount", -1, "range:min"),
        ("elderly_care", "amount", 10_000_001, "range:max"),  # fen; max is 100000 yuan
        ("elderly_care", "quantity", 10000.5, "range:max"),
        ("elderly_care", "care_level", 6, "range:max"),
        ("elderly_care", "period_start", pd.Timestamp("1999-12-31"), "range:min"),
        ("grid", "birth_date", pd.Timestamp("1899-12-31"), "range:min"),
        ("medical", "diagnosis_code", "a01", "pattern"),
        ("medical", "diagnosis_code", "A01x", "pattern"),
        ("medical", "as_of", pd.Timestamp(TODAY + timedelta(days=1)), "date:future"),
        ("elderly_care", "period_end", pd.Timestamp("2023-12-31"), "period:end_before_start"),
        ("medical", "amount", None, "amount:missing_for_cash"),
        ("elderly_care", "resident_id", make_id()[:17] + "1", "resident_id:check_character"),
        ("elderly_care", "resident_id", "1.10105E+17", "resident_id:excel_numeric"),
        ("elderly_care", "resident_id", None, "resident_id:missing"),
        ("employment", "phone", "555-0100", "phone:format"),
        ("grid", "grid_code", "11010500100", "grid_code:format"),
    ],
)
def test_each_rule_is_reported_once(name: str, column: str, value: Any, rule: str) -> None:
    _check(name, column, value, rule)


def test_boundaries_pass() -> None:
    contract = get_contract("elderly_care")
    frame = valid_frame(contract)
    frame["amount"] = pd.Series([0, 10_000_000, None], index=frame.index, dtype="Int64")
    frame.loc[:, "kind"] = "service"
    frame.loc[:, "period_start"] = pd.Timestamp("2000-01-01")
    frame.loc[:, "period_end"] = pd.Timestamp("2000-01-01")
    frame.loc[:, "as_of"] = pd.Timestamp(TODAY)
    assert validate_chunk(contract, frame, TODAY).issues.empty


def test_a_cell_of_the_wrong_type_is_a_type_issue() -> None:
    contract = get_contract("elderly_care")
    frame = valid_frame(contract)
    frame["care_level"] = pd.Series(["1", "two", None], index=frame.index, dtype="object")
    result = validate_chunk(contract, frame, TODAY)
    assert result.issues.values.tolist() == [[ROW, "care_level", "type"]]
    assert str(result.frame["care_level"].dtype) == "Int64"
    assert result.frame["care_level"].tolist()[0] == 1


def test_identity_columns_are_normalised_and_warnings_do_not_block() -> None:
    contract = get_contract("grid")
    frame = valid_frame(contract)
    frame.loc[2, "resident_id"] = "110105491231002"  # legacy 15 digits
    frame.loc[4, "resident_id"] = make_id(area="999999")  # unknown area code
    frame.loc[2, "phone"] = "+86 138-0000-0000"
    frame.loc[3, "grid_code"] = " 110105-001-001-001 "
    frame.loc[[2, 4], "birth_date"] = pd.Timestamp("1949-12-31")  # as the two IDs say
    frame.loc[[2, 4], "gender"] = "F"
    result = validate_chunk(contract, frame, TODAY)
    assert result.issues.empty
    assert result.frame.loc[2, "resident_id"] == make_id()
    assert result.frame.loc[2, "phone"] == "13800000000"
    assert result.frame.loc[3, "grid_code"] == "110105001001001"
    assert result.warnings.values.tolist() == [
        [2, "resident_id", "resident_id:upgraded_15"],
        [4, "resident_id", "resident_id:area_code"],
    ]
    _assert_no_values(result, frame)


def test_department_grid_scheme_is_not_held_to_the_standard_format() -> None:
    contract = get_contract("employment")
    frame = valid_frame(contract)
    frame.loc[:, "grid_code"] = " sa-07 "
    result = validate_chunk(contract, frame, TODAY, grid_scheme="hr_service_area")
    assert result.issues.empty
    assert set(result.frame["grid_code"]) == {"SA-07"}


def test_failing_identity_cell_keeps_the_received_value_for_quarantine() -> None:
    contract = get_contract("elderly_care")
    frame = valid_frame(contract)
    frame.loc[ROW, "resident_id"] = "not an id"
    result = validate_chunk(contract, frame, TODAY)
    assert result.frame.loc[ROW, "resident_id"] == "not an id"
    assert result.issues.values.tolist() == [[ROW, "resident_id", "resident_id:format"]]


def test_tags_are_normalised() -> None:
    allowed = ["veteran", "disabled", "extreme_poverty"]
    raw = pd.Series([" veteran ; disabled;veteran", ";;", None, "veteran;astronaut", "disabled"])
    assert normalise_tags(raw, allowed).tolist() == [
        "disabled;veteran", pd.NA, pd.NA, "veteran;astronaut", "disabled",
    ]


def test_many_findings_in_one_row_and_several_rows() -> None:
    contract = get_contract("medical")
    frame = valid_frame(contract, rows=4, first_row=100)
    frame.loc[100, "program"] = "bingo"
    frame.loc[100, "amount"] = None  # kind is cash
    frame.loc[102, "resident_id"] = "12345"
    result = validate_chunk(contract, frame, TODAY)
    assert result.issues.values.tolist() == [
        [100, "amount", "amount:missing_for_cash"],
        [100, "program", "allowed"],
        [102, "resident_id", "resident_id:format"],
    ]
    assert result.bad_rows.tolist() == [100, 102]
    _assert_no_values(result, frame)


def test_absent_optional_column_is_added_typed_and_extra_columns_dropped() -> None:
    contract = get_contract("grid")
    frame = valid_frame(contract).drop(columns=["date_of_death"])
    frame["department_note"] = "x"
    frame = frame[list(reversed(frame.columns))]
    result = validate_chunk(contract, frame, TODAY)
    assert result.issues.empty
    assert list(result.frame.columns) == contract.column_names
    assert str(result.frame["date_of_death"].dtype) == "datetime64[s]"
    assert result.frame["date_of_death"].isna().all()


def test_absent_required_column_is_a_contract_violation() -> None:
    contract = get_contract("medical")
    frame = valid_frame(contract).drop(columns=["period_end"])
    with pytest.raises(ContractViolation) as err:
        validate_chunk(contract, frame, TODAY)
    assert err.value.column == "period_end"
    assert make_id()[:6] not in str(err.value)


def test_upstream_issues_are_not_repeated() -> None:
    contract = get_contract("elderly_care")
    frame = valid_frame(contract)
    frame.loc[ROW, "period_start"] = pd.NaT  # could not be parsed upstream
    upstream = issues_for([ROW], "period_start", "parse:date")
    result = validate_chunk(contract, frame, TODAY, upstream=upstream)
    assert result.issues.empty  # the caller already holds the parse issue
    assert validate_chunk(contract, frame, TODAY).issues.values.tolist() == [
        [ROW, "period_start", "missing"]
    ]


def test_larger_chunk_reports_exactly_the_broken_rows() -> None:
    contract = get_contract("grid")
    frame = valid_frame(contract, rows=2_000, first_row=2)
    rng = np.random.default_rng(5)
    broken = np.sort(rng.choice(frame.index.to_numpy(), size=37, replace=False))
    frame.loc[broken, "relation_to_head"] = "cousin"
    result = validate_chunk(contract, frame, TODAY)
    assert result.bad_rows.tolist() == broken.tolist()
    assert set(result.issues["rule"]) == {"allowed"}


def test_empty_chunk_and_all_missing_ids() -> None:
    contract = get_contract("medical")
    empty = validate_chunk(contract, valid_frame(contract, rows=0), TODAY)
    assert empty.issues.empty
    assert list(empty.frame.columns) == contract.column_names
    frame = valid_frame(contract, rows=2)
    frame["resident_id"] = pd.Series([None, None], index=frame.index, dtype="string")
    rules = validate_chunk(contract, frame, TODAY).issues["rule"].tolist()
    assert rules == ["resident_id:missing"] * 2


def test_an_id_contradicting_the_row_is_quarantined_and_a_rounded_one_named() -> None:
    contract = get_contract("grid")
    frame = valid_frame(contract, rows=5)
    frame.loc[2, "gender"] = "F"  # the ID says a man
    frame.loc[3, "birth_date"] = pd.Timestamp("1950-01-02")  # the ID says 1950-01-01
    rounded = make_id(birth="19500101", seq="000")  # Excel kept 15 digits: ...000X -> ...0000
    frame.loc[4, "resident_id"] = rounded[:15] + "000"
    frame.loc[5, "resident_id"] = "'" + str(frame.loc[5, "resident_id"])  # wrapped
    frame.loc[6, "resident_id"] = '="' + str(frame.loc[6, "resident_id"]) + '"'
    result = validate_chunk(contract, frame, TODAY)
    assert result.issues.values.tolist() == [
        [2, "resident_id", "resident_id:contradicts_sex"],
        [3, "resident_id", "resident_id:contradicts_birth_date"],
        [4, "resident_id", "resident_id:excel_rounded"],
    ]
    assert result.frame.loc[5, "resident_id"] == valid_frame(contract, rows=5).loc[5, "resident_id"]
    assert result.frame.loc[6, "resident_id"] == valid_frame(contract, rows=5).loc[6, "resident_id"]
    _assert_no_values(result, frame)

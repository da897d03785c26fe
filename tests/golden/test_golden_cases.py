"""Each golden case (a file gone wrong the way real ones do) gives exactly the expected
outcome, counts, reason and row issues."""

from __future__ import annotations

import json

import pytest

from tests.golden.cases_kit import (
    CASES,
    LOAD_STEPS,
    build_load_steps,
    case_names,
    ingest_cases,
    ingest_load_steps,
)


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    return ingest_cases(tmp_path_factory.mktemp("golden-cases") / "home")


@pytest.mark.parametrize("case", case_names())
def test_case_matches(outputs: dict[str, dict[str, str]], case: str) -> None:
    assert outputs[case]["summary"] == (CASES / case / "expected_summary.json").read_text("utf-8")
    assert outputs[case]["issues"] == (CASES / case / "expected_issues.csv").read_text("utf-8")


def test_batch_result_separates_errors_from_warnings_with_fixes(
        outputs: dict[str, dict[str, str]]) -> None:
    findings = json.loads(outputs["rounded_and_wrapped_ids_csv"]["findings"])
    assert [(f["rule"], f["rows"]) for f in findings["errors"]] == [
        ("resident_id:contradicts_birth_date", 1), ("resident_id:contradicts_sex", 1),
        ("resident_id:excel_rounded", 1)]
    rounded = findings["errors"][2]
    assert "Excel" in rounded["explanation"]
    assert "文本" in rounded["hint"]
    bad_byte = json.loads(outputs["one_bad_byte_csv"]["findings"])
    assert [f["rule"] for f in bad_byte["errors"]] == ["encoding"]
    assert bad_byte["warnings"] == []


def test_snapshot_delta_held_discarded_and_confirmed_loads(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    got = ingest_load_steps(tmp_path_factory.mktemp("golden-steps") / "home")
    for step, _, _ in build_load_steps():
        assert got[step] == (LOAD_STEPS / f"{step}.expected.json").read_text("utf-8"), step

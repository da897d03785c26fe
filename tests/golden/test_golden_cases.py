"""Each golden case (a file gone wrong the way real ones do) gives exactly the expected
outcome, counts, reason and row issues."""

from __future__ import annotations

import pytest

from tests.golden.cases_kit import CASES, case_names, ingest_cases


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    return ingest_cases(tmp_path_factory.mktemp("golden-cases") / "home")


@pytest.mark.parametrize("case", case_names())
def test_case_matches(outputs: dict[str, dict[str, str]], case: str) -> None:
    assert outputs[case]["summary"] == (CASES / case / "expected_summary.json").read_text("utf-8")
    assert outputs[case]["issues"] == (CASES / case / "expected_issues.csv").read_text("utf-8")

"""Each department's golden extract gives exactly the expected row issues and curated rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.golden.golden_kit import DATASETS, GOLDEN, ingest_golden


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, object]]:
    return ingest_golden(tmp_path_factory.mktemp("golden") / "home")


@pytest.mark.parametrize("dataset", list(DATASETS))
def test_summary_matches(outputs: dict[str, dict[str, object]], dataset: str) -> None:
    expected = json.loads((GOLDEN / dataset / "expected_summary.json").read_text("utf-8"))
    assert outputs[dataset]["summary"] == expected


@pytest.mark.parametrize("dataset", list(DATASETS))
def test_row_issues_match(outputs: dict[str, dict[str, object]], dataset: str) -> None:
    expected = (GOLDEN / dataset / "expected_issues.csv").read_text("utf-8")
    assert outputs[dataset]["issues"] == expected


@pytest.mark.parametrize("dataset", list(DATASETS))
def test_curated_rows_match(outputs: dict[str, dict[str, object]], dataset: str) -> None:
    expected = (GOLDEN / dataset / "expected_curated.csv").read_text("utf-8")
    assert outputs[dataset]["curated"] == expected


def test_golden_inputs_are_in_department_formats() -> None:
    assert (GOLDEN / "elderly_care" / "input.csv").read_bytes().decode("gbk")
    with pytest.raises(UnicodeDecodeError):
        (GOLDEN / "elderly_care" / "input.csv").read_bytes().decode("utf-8")
    assert Path(GOLDEN / "medical" / "input.xlsx").read_bytes()[:2] == b"PK"

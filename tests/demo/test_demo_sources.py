"""The four source YAMLs load, map every required contract column, and match the headers
and codes the generated extracts really carry."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import openpyxl
import pytest

from connectors.source import SourceSpec, load_source, shipped_sources
from hub.demo import DemoManifest
from schemas.registry import get_contract
from schemas.spec import ColumnType

DATASETS = ["grid", "elderly_care", "medical", "employment"]


def _records(spec: SourceSpec, path: Path) -> list[dict[str, object]]:
    if spec.format == "csv":
        encoding = "utf-8" if spec.encoding == "auto" else spec.encoding
        with path.open(encoding=encoding, newline="") as f:
            return list(csv.DictReader(f))
    if spec.format == "xlsx":
        book = openpyxl.load_workbook(path, read_only=True)
        header, *rows = list(book.worksheets[0].iter_rows(values_only=True))
        book.close()
        return [dict(zip(header, row, strict=True)) for row in rows]
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def test_one_shipped_source_per_department() -> None:
    assert set(shipped_sources()) == set(DATASETS)


@pytest.mark.parametrize("dataset", DATASETS)
def test_source_maps_every_required_contract_column(demo: DemoManifest, dataset: str) -> None:
    spec = load_source(demo.datasets[dataset].source)
    contract = get_contract(spec.dataset)
    assert spec.dataset == dataset
    assert spec.format == demo.datasets[dataset].format
    assert set(spec.columns) <= set(contract.column_names)
    for column in contract.columns:
        mapping = spec.mapping(column.name)
        if column.required:
            assert mapping is not None, column.name
        if mapping is None:
            continue
        if mapping.codes and column.type in (ColumnType.CATEGORY, ColumnType.TAGS):
            assert set(mapping.codes.values()) <= set(column.allowed or []), column.name
        if mapping.codes and column.type == ColumnType.BOOLEAN:
            assert set(mapping.codes.values()) == {"true", "false"}
        if column.type == ColumnType.MONEY:
            assert mapping.unit in ("yuan", "fen")


@pytest.mark.parametrize("dataset", DATASETS)
def test_source_headers_and_codes_match_the_extract(demo: DemoManifest, dataset: str) -> None:
    extract = demo.datasets[dataset]
    spec = load_source(extract.source)
    records = _records(spec, extract.extract)
    headers = set(records[0])
    unmapped = extract.defects.get("unmapped_status_code", {"rows": 0})["rows"]
    for name in spec.columns:
        mapping = spec.mapping(name)
        assert mapping is not None
        assert mapping.from_ in headers, (dataset, name)
        if not mapping.codes:
            continue
        values = [r[mapping.from_] for r in records if r[mapping.from_] not in (None, "")]
        if mapping.separator:
            values = [t for v in values for t in str(v).split(mapping.separator)]
        strays = sum(str(v) not in mapping.codes for v in values)
        # Only the planted unknown status codes may be missing from a code list.
        assert strays == (unmapped if name == "employment_status" else 0), (dataset, name)

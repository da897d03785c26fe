"""The example source YAMLs for a database and an HTTP API are valid against their contracts."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors import SourceInvalid, load_source, open_reader
from connectors.mapping import mappings
from connectors.source import SOURCES_DIR
from schemas.registry import get_contract

EXAMPLES = sorted((SOURCES_DIR / "examples").glob("*.yaml"))


def test_there_is_a_sql_and_an_http_example() -> None:
    assert {load_source(p).format for p in EXAMPLES} == {"sql", "http"}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_maps_every_required_column(path: Path) -> None:
    spec = load_source(path)
    contract = get_contract(spec.dataset)
    mapped = mappings(spec, contract)
    assert {c.name for c in contract.columns if c.required} <= set(mapped)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_secrets_come_from_the_environment(path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    spec = load_source(path)
    text = path.read_text(encoding="utf-8")
    assert "${" in text
    for name in ("MEDICAL_DB_PASSWORD", "HRSS_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SourceInvalid, match=r"MEDICAL_DB_PASSWORD|HRSS_API_TOKEN"):
        open_reader(spec)
    monkeypatch.setenv("MEDICAL_DB_PASSWORD", "pw-value-123")
    monkeypatch.setenv("HRSS_API_TOKEN", "token-value-123")
    reader = open_reader(spec)  # nothing is contacted until headers() or chunks()
    assert "value-123" not in reader.location

"""No raw ID number, name or phone from the demo extracts reaches the warehouse or state store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

from hub.keys.config import init_keys
from hub.pipeline.worker import PipelineWorker
from hub.settings import HubSettings
from schemas.identity import normalise_phone, normalise_resident_id
from tests.privacy_scan import ID_PATTERN, PHONE_PATTERN, valid_id


def _raw_identifiers(demo: Any) -> dict[str, set[str]]:
    grid = pd.read_csv(demo.datasets["grid"].path, dtype=str, encoding="utf-8")
    ids = set(grid["身份证号"].dropna())
    ids |= set(normalise_resident_id(grid["身份证号"], pd.Timestamp("2026-11-22").date())
               .values.dropna())
    names = set(grid["姓名"].dropna())
    phones = set(grid["联系电话"].dropna())
    phones |= set(normalise_phone(grid["联系电话"]).values.dropna())
    return {"id": ids, "name": names, "phone": phones}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory, demo: Any) -> HubSettings:
    """The four extracts loaded into a home of the module's own, which both tests only read.
    (Not the session district's home: the name scan's time grows with every byte, and the
    published views and reports are scanned by tests/views and tests/privacy.)"""
    settings = HubSettings(home=tmp_path_factory.mktemp("scanned") / "home", chunk_rows=1_000,
                           quality_checks=False)
    init_keys(settings)
    with PipelineWorker(settings) as worker:
        for extract in demo.datasets.values():
            worker.ingest(Path(extract.source_yaml), Path(extract.path))
    return settings


def test_no_raw_identifier_in_any_text_column(loaded: HubSettings, demo: Any) -> None:
    needles = _raw_identifiers(demo)
    every = needles["id"] | needles["name"] | needles["phone"]
    con = duckdb.connect(str(loaded.warehouse_path), read_only=True)
    try:
        columns = con.execute(
            "SELECT table_schema, table_name, column_name FROM information_schema.columns "
            "WHERE data_type = 'VARCHAR' "
            "AND table_schema NOT IN ('information_schema', 'pg_catalog')").fetchall()
        assert len(columns) > 20
        for schema, table, column in columns:
            values = {v for (v,) in con.execute(
                f'SELECT DISTINCT "{column}" FROM "{schema}"."{table}"').fetchall() if v}
            where = f"{schema}.{table}.{column}"
            assert not values & every, where
            text = "\n".join(values).encode()
            embedded = {m.decode().upper() for m in ID_PATTERN.findall(text)}
            embedded |= {m.decode() for m in PHONE_PATTERN.findall(text)}
            assert not embedded & every, where
    finally:
        con.close()


def test_no_raw_identifier_in_any_file_of_the_home(loaded: HubSettings, demo: Any) -> None:
    needles = _raw_identifiers(demo)
    names = [n.encode() for n in needles["name"] if len(n) >= 2]
    # Positive control: the same scan finds the identifiers in a department's own extract.
    extract = Path(demo.datasets["grid"].path).read_bytes()
    assert {m.decode().upper() for m in ID_PATTERN.findall(extract)} & needles["id"]
    assert {m.decode() for m in PHONE_PATTERN.findall(extract)} & needles["phone"]
    assert any(n in extract for n in names[:50])
    scanned = 0
    for path in loaded.home.rglob("*"):
        if not path.is_file() or loaded.keys_dir in path.parents or loaded.demo_dir in path.parents:
            continue
        data = path.read_bytes()
        scanned += 1
        ids = [m.decode() for m in ID_PATTERN.findall(data) if valid_id(m.decode())]
        assert not [i for i in ids if i.upper() in needles["id"]], path
        phones = {m.decode() for m in PHONE_PATTERN.findall(data)}
        assert not phones & needles["phone"], path
        assert not [n for n in names if n in data], path
    assert scanned >= 2  # at least the warehouse and the state store

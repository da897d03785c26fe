"""A register that carries no ID numbers at all (a source with `no_id: true`): every row is
sealed for linkage instead of failing, and links to the demo's residents by name, sex, birth
date and address; a person the registry does not hold stays quarantined."""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from catalog.db import create_state_engine
from connectors.errors import SourceInvalid
from connectors.mapping import mappings
from connectors.source import load_source
from desensitize.pseudonym import Pseudonymiser
from hub.pipeline.worker import PipelineWorker
from hub.settings import HubSettings
from hub.views.read import ViewReader
from schemas.identity import normalise_resident_id
from schemas.registry import get_contract
from tests.conftest import DemoDistrict
from tests.district_kit import warehouse_rows as _query
from tests.privacy_scan import Needles, privacy_hits

HEADER = ["姓名", "性别", "出生日期", "住址", "服务项目", "救助形式", "金额（元）", "开始日期",
          "结束日期", "数据日期", "数量", "单位", "护理等级", "是否独居", "社区编码"]
BLANK = ["", "", "", "", ""]  # what the register leaves empty, community included
SOURCE = {
    "name": "street_office_elderly_register", "department": "civil_affairs",
    "dataset": "elderly_care", "format": "csv", "encoding": "utf-8", "load": "snapshot",
    "no_id": True,
    "columns": {
        "name": "姓名", "gender": {"from": "性别", "codes": {"男": "M", "女": "F"}},
        "birth_date": {"from": "出生日期", "formats": ["%Y-%m-%d"]}, "address": "住址",
        "program": {"from": "服务项目", "codes": {"助餐": "meal_aid", "高龄津贴": "age_allowance"}},
        "kind": {"from": "救助形式", "codes": {"现金": "cash", "服务": "service"}},
        "amount": {"from": "金额（元）", "unit": "yuan"},
        "period_start": {"from": "开始日期", "formats": ["%Y-%m-%d"]},
        "period_end": {"from": "结束日期", "formats": ["%Y-%m-%d"]},
        "as_of": {"from": "数据日期", "formats": ["%Y-%m-%d"]},
        "quantity": "数量", "unit": "单位", "care_level": "护理等级", "living_alone": "是否独居",
        "grid_code": "社区编码",
    },
}
RESIDENTS = 6


def _register(demo: Any) -> tuple[pd.DataFrame, list[list[str]]]:
    """Residents of the demo registry (one per household, adults with an address) and the
    street office's rows for them, typed without their ID numbers, plus one person the
    registry does not hold."""
    grid = pd.read_csv(demo.datasets["grid"].path, dtype=str, encoding="utf-8")
    grid["born"] = grid["出生日期"].map(_born)
    people = grid[grid["住址"].notna() & (grid["born"] < "1960")]
    people = people[~people.duplicated("姓名", keep=False)].drop_duplicates("户编号")
    people = people.head(RESIDENTS)
    assert len(people) == RESIDENTS
    rows = [[p["姓名"], p["性别"], p["born"], p["住址"], "高龄津贴", "现金", "300",
             "2026-10-01", "2026-10-31", "2026-10-31", *BLANK] for _, p in people.iterrows()]
    rows.append(["欧阳不存", "女", "1931-02-03", "北京市朝阳区无此路1号1号楼1单元101室",
                 "助餐", "服务", "", "2026-10-01", "2026-10-31", "2026-10-31", *BLANK])
    return people, rows


def _born(text: object) -> str:
    """The registry's birth dates were typed by hand in four forms: as ISO."""
    for form in ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y年%m月%d日"):
        try:
            return datetime.strptime(str(text), form).strftime("%Y-%m-%d")
        except ValueError:
            continue
    return "9999-99-99"


def _resident_keys(settings: HubSettings, ids: pd.Series, today: date) -> list[str]:
    key = bytes.fromhex((settings.keys_dir / "pseudonym.key").read_text("ascii").strip())
    normal = normalise_resident_id(ids.astype("string"), today)
    with Pseudonymiser(key) as pseudonymiser:
        return list(pseudonymiser.pseudonymise(normal.values, "resident_id"))


@pytest.fixture
def home(demo_district: DemoDistrict, tmp_path: Path) -> HubSettings:
    return demo_district.copy_home(tmp_path / "home", quality_checks=False)


def test_a_register_without_id_numbers_links_every_row_by_name_and_birth(
        demo_district: DemoDistrict, home: HubSettings, tmp_path: Path) -> None:
    people, rows = _register(demo_district.demo)
    extract = tmp_path / "养老登记.csv"
    with extract.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)
    source = tmp_path / "street_office_elderly_register.yaml"
    source.write_text(yaml.safe_dump(SOURCE, allow_unicode=True), encoding="utf-8")

    with PipelineWorker(home) as worker:
        result = worker.ingest(source, extract)
        assert (result.outcome, result.rows_read, result.rows_loaded, result.rows_sealed) == (
            "loaded", len(rows), 0, len(rows)), result.reason
        linkage = worker.publish()["linkage"]
    assert linkage["candidates"] == len(rows)

    keys = _resident_keys(home, people["身份证号"], demo_district.demo.today)
    decided = _query(home, "SELECT source_row, decision, resident_key, probability "
                           "FROM linkage.decisions WHERE batch_id = ? ORDER BY source_row",
                     [result.batch_id])
    assert [d[1] for d in decided] == ["linked"] * RESIDENTS + ["unlinked"]
    assert [d[2] for d in decided[:RESIDENTS]] == keys
    assert all(d[3] >= 0.9 for d in decided[:RESIDENTS])
    # Each resident's view shows the allowance as matched, with its probability.
    engine = create_state_engine(home.resolved_state_url)
    try:
        for key in keys:
            doc = ViewReader(engine).resident(key)
            assert doc is not None
            facts = [f for d in doc["departments"] if d["dataset"] == "elderly_care"
                     for f in d["facts"] if f["linked_by"] == "match"]
            assert [(f["program"], f["period_start"]) for f in facts] == [
                ("age_allowance", "2026-10-01")]
            assert float(facts[0]["match_probability"]) >= 0.9
    finally:
        engine.dispose()
    # The rows keep their reason in the quarantine; no name, ID or address in plain text
    # reached the sealed table, the decisions or the batch's result.
    assert _query(home, "SELECT DISTINCT rule FROM quarantine.row_issues WHERE batch_id = ?",
                  [result.batch_id]) == [("resident_id:missing",)]
    sealed = _query(home, 'SELECT * FROM quarantine."sealed_elderly_care" WHERE batch_id = ?',
                    [result.batch_id])
    assert len(sealed) == len(rows)
    needles = Needles.of(demo_district.demo)
    outputs = repr((sealed, decided, result.as_dict())).encode()
    assert privacy_hits(outputs, needles) == []
    assert not any(name in outputs.decode() for name in people["姓名"])


def test_no_id_is_refused_where_rows_cannot_be_linked_or_an_id_is_mapped(
        tmp_path: Path) -> None:
    def spec(**changes: Any) -> Any:
        path = tmp_path / "source.yaml"
        path.write_text(yaml.safe_dump({**SOURCE, **changes}, allow_unicode=True), "utf-8")
        return load_source(path)

    assert "resident_id" not in mappings(spec(), get_contract("elderly_care"))
    with pytest.raises(SourceInvalid, match="maps resident_id"):
        mappings(spec(columns={**SOURCE["columns"], "resident_id": "身份证号"}),
                 get_contract("elderly_care"))
    with pytest.raises(SourceInvalid, match="grid has no such rows"):
        mappings(spec(dataset="grid", columns={"name": "姓名"}), get_contract("grid"))

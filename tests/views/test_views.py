"""Published resident and household views: hints, overlaps, freshness, crosswalk, privacy."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pandas as pd
import yaml
from sqlalchemy import select, text

from desensitize.pseudonym import Pseudonymiser
from hub.keys.config import load_keyring
from hub.pipeline.worker import PipelineWorker
from hub.settings import HubSettings
from hub.views.read import ViewReader, resident_key_for_id_number
from hub.views.store import view_residents
from tests.views.conftest import TODAY, Published, all_documents


def test_missed_benefit_hints_match_the_planted_findings(published: Published) -> None:
    docs = all_documents(published.engine())
    found = Counter(h["rule_id"] for d in docs.values() for h in d["missed_benefits"])
    for rule, planted in published.demo.findings.items():
        assert found[rule] == planted, rule
    assert found["elderly_alone_without_care"] > 0


def test_staleness_flags_the_out_of_date_employment_extract_only(published: Published) -> None:
    docs = all_documents(published.engine())
    stale: dict[str, set[bool]] = {}
    for d in docs.values():
        for block in d["departments"]:
            stale.setdefault(block["dataset"], set()).add(block["stale"])
    assert stale == {"grid": {False}, "elderly_care": {False}, "medical": {False},
                     "employment": {True}}


def test_unmapped_crosswalk_codes_are_listed_and_their_facts_kept(published: Published) -> None:
    from hub.demo.extract_elderly import RETIRED_CODES
    from hub.demo.extract_employment import RETIRED_AREAS

    listed = ViewReader(published.engine()).unmapped_codes()
    assert listed
    assert {r["code"] for r in listed} <= set(RETIRED_CODES) | set(RETIRED_AREAS)
    docs = all_documents(published.engine())
    flagged = [d for d in docs.values() if d["location"]["unmapped"]]
    assert len(flagged) == len({k for k, d in docs.items() if d["location"]["unmapped"]})
    assert sum(r["residents"] for r in listed) >= len(flagged) > 0
    # A resident whose department code maps to nothing keeps that department's facts.
    assert any(b["facts"] for d in flagged for b in d["departments"]
               if b["dataset"] in {r["dataset"] for r in listed})


def test_overlap_rule_fires_on_a_crafted_case(published: Published, own_home: HubSettings,
                                              tmp_path: Path) -> None:
    grid = pd.read_csv(published.demo.datasets["grid"].path, dtype=str)
    raw_id = grid["身份证号"].iloc[5]
    source = yaml.safe_load(Path(published.demo.datasets["elderly_care"].source).read_text(
        encoding="utf-8"))
    source["name"] = "civil_affairs_annex"  # a second elderly-care source: both are current
    source_path = tmp_path / "annex.yaml"
    source_path.write_text(yaml.safe_dump(source, allow_unicode=True), encoding="utf-8")
    header = pd.read_csv(published.demo.datasets["elderly_care"].path, encoding="gbk",
                         dtype=str, nrows=0).columns
    values = {"身份证号": raw_id, "姓名": grid["姓名"].iloc[5], "金额（元）": "0.00",
              "开始日期": "2026-06-01", "结束日期": "2026-06-30", "护理等级": "3",
              "是否独居": "否", "社区编码": "MZ90001", "数据日期": "2026-10-20"}
    rows = [dict(values, 服务项目="机构养老", 救助形式="服务", 数量="30", 单位="天"),
            dict(values, 服务项目="居家养老", 救助形式="服务", 数量="12", 单位="小时")]
    extract = tmp_path / "annex.csv"
    pd.DataFrame(rows, columns=header).to_csv(extract, index=False, encoding="gbk")
    with PipelineWorker(own_home) as worker:
        assert worker.ingest(source_path, extract).outcome == "loaded"
        worker.publish(today=TODAY)
    with Pseudonymiser(load_keyring(own_home).pseudonym_key) as p:
        key = resident_key_for_id_number(raw_id, p, TODAY)
    assert key is not None
    from catalog.db import create_state_engine

    doc = ViewReader(create_state_engine(own_home.resolved_state_url)).resident(key)
    assert doc is not None
    overlaps = {o["rule_id"]: o for o in doc["overlaps"]}
    pair = overlaps["institutional_and_home_care"]["pairs"][0]
    assert {f["program"] for f in pair} == {"institutional_care", "home_care"}
    assert all(f["period_start"] == "2026-06-01" for f in pair)


def test_published_tables_hold_no_raw_identifier(published: Published) -> None:
    grid = pd.read_csv(published.demo.datasets["grid"].path, dtype=str)
    ids = normalise_ids(grid["身份证号"])
    names = set(grid["姓名"].dropna())
    phones = set(grid["联系电话"].dropna().str.replace(r"\D", "", regex=True))
    engine = published.engine()
    blob_parts = []
    with engine.connect() as conn:
        for table in ("view_residents", "view_households", "view_unmapped_codes",
                      "view_state"):
            for row in conn.execute(text(f"SELECT * FROM {table}")):
                blob_parts.append("\x1f".join(str(v) for v in row))
    blob = "\n".join(blob_parts)
    # Every run of digits (separators removed) and of Chinese characters, as whole tokens:
    # a raw value would show up as one of them; masked ones are broken up by stars.
    digits = set(re.findall(r"\d{7,}X?", blob.replace("-", "")))
    digits |= {d[:-1] for d in digits if d.endswith("X")}
    assert not digits & ids
    assert not digits & phones
    assert not set(re.findall(r"[\u4e00-\u9fff]{2,}", blob)) & names
    assert "*" in blob  # masked values are there


def normalise_ids(raw: pd.Series) -> set[str]:
    from schemas.identity import normalise_resident_id

    values = normalise_resident_id(raw.astype("string"), TODAY).values
    return set(values.dropna()) | {v[:17] for v in values.dropna()}


def test_diagnosis_codes_only_in_the_restricted_part(published: Published) -> None:
    docs = all_documents(published.engine())
    medical = [d for d in docs.values() if d["restricted"] and "medical" in d["restricted"]]
    assert medical
    for d in medical:
        public = json.dumps({k: v for k, v in d.items() if k != "restricted"})
        assert "diagnosis" not in public
        codes = d["restricted"]["medical"]["diagnosis_code"]
        assert all(re.fullmatch(r"[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?", c) for c in codes)
    assert any(b["attributes"].get("chronic_condition") for d in medical
               for b in d["departments"] if b["dataset"] == "medical")


def test_reader_finds_by_id_number_and_pages_a_grid(published: Published) -> None:
    reader = ViewReader(published.engine())
    grid = pd.read_csv(published.demo.datasets["grid"].path, dtype=str)
    with Pseudonymiser(load_keyring(published.settings).pseudonym_key) as p:
        raw = grid["身份证号"].iloc[0]
        key = resident_key_for_id_number(" " + raw.lower() + " ", p, TODAY)
        assert resident_key_for_id_number("12345", p, TODAY) is None
    assert key is not None
    doc = reader.resident(key)
    assert doc is not None
    assert doc["profile"]["id_number"].startswith(raw[:6])
    assert "*" in doc["profile"]["id_number"]
    assert doc["profile"]["id_number"][-4:] == raw[-4:]
    street = doc["location"]["street_code"]
    assert street is not None
    assert street == doc["location"]["grid_code"][:9]
    household = reader.household(doc["household"]["household_key"])
    assert household is not None
    assert key in {m["resident_key"] for m in household["members"]}
    grid_code = doc["location"]["grid_code"]
    items, total = reader.grid_residents(grid_code, limit=10)
    assert total >= len(items)
    assert len(items) == min(10, total)
    rest, total2 = reader.grid_residents(grid_code, offset=10, limit=1000)
    assert total2 == total
    assert len(items) + len(rest) == total
    assert not {i["resident_key"] for i in items} & {i["resident_key"] for i in rest}
    flagged, n_flagged = reader.grid_residents(grid_code, has_missed_benefit=True, limit=500)
    assert all(i["has_missed_benefit"] for i in flagged)
    assert n_flagged == len(flagged)
    with published.engine().connect() as conn:
        row = conn.execute(select(view_residents.c.grid_code).where(
            view_residents.c.special_groups.like("%;elderly_living_alone;%"))).first()
    assert row is not None
    group, _ = reader.grid_residents(row.grid_code, special_group="elderly_living_alone")
    assert group
    assert all("elderly_living_alone" in i["special_groups"] for i in group)
    assert reader.resident("0" * 32) is None


def test_publish_is_idempotent(published: Published, own_home: HubSettings) -> None:
    from catalog.db import create_state_engine

    engine = create_state_engine(own_home.resolved_state_url)
    before = all_documents(engine)
    with PipelineWorker(own_home) as worker:
        first = worker.publish(today=TODAY)
        again = worker.publish(today=TODAY)
    assert again["generation"] == first["generation"] + 1
    assert all_documents(engine) == before
    with engine.connect() as conn:
        generations = conn.execute(text(
            "SELECT DISTINCT generation FROM view_residents")).scalars().all()
    assert len(generations) <= 2  # the current one and the one before it


def test_crosswalk_versions_only_change_with_content(own_home: HubSettings,
                                                     published: Published,
                                                     tmp_path: Path) -> None:
    with PipelineWorker(own_home) as worker:
        same = worker.load_crosswalk(published.demo.crosswalk)
        frame = pd.read_csv(published.demo.crosswalk, dtype=str)
        frame.loc[len(frame)] = ["civil_affairs_community", "MZ90001",
                                 frame["standard_code"].iloc[0], "community", "2024-01-01"]
        changed_path = tmp_path / "crosswalk.csv"
        frame.to_csv(changed_path, index=False)
        changed = worker.load_crosswalk(changed_path)
        worker.publish(today=TODAY)
    assert same["changed"] is False
    assert changed["changed"] is True
    assert changed["version"] == same["version"] + 1
    from catalog.db import create_state_engine

    listed = ViewReader(create_state_engine(own_home.resolved_state_url)).unmapped_codes()
    assert "MZ90001" not in {r["code"] for r in listed}

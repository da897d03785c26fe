"""Each extract is in its department's own shape, and the manifest's defect counts agree with
what an independent count finds in the written file."""

from __future__ import annotations

import csv
import json
import re
import unicodedata
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pytest
from demo_kit import TODAY, normalise_id, valid_id

from hub.demo import DemoManifest
from hub.demo.population import Population

ISO = re.compile(r"\d{4}-\d{2}-\d{2}")
MOBILE = re.compile(r"1[3-9]\d{9}")
LANDLINE = re.compile(r"0\d{2,3}-?\d{7,8}")
ICD10 = re.compile(r"[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?")
FULLWIDTH = re.compile("[０-９]")


def _csv(path: Path, encoding: str) -> list[dict[str, str]]:
    with path.open(encoding=encoding, newline="") as f:
        return list(csv.DictReader(f))


def _duplicates(rows: list[Any]) -> int:
    """Rows that exactly repeat an earlier row."""
    seen: set[str] = set()
    repeats = 0
    for row in rows:
        key = json.dumps(row, ensure_ascii=False, sort_keys=True, default=str)
        repeats += key in seen
        seen.add(key)
    return repeats


def _bad_check(raw: str) -> bool:
    """An 18-character ID (after clerical clean-up) whose check character is wrong."""
    text = normalise_id(raw)
    return len(text) == 18 and text[:17].isdigit() and not valid_id(text)


def _defects(demo: DemoManifest, dataset: str) -> dict[str, int]:
    return {k: v["rows"] for k, v in demo.datasets[dataset].defects.items()}


def _crosswalk(demo: DemoManifest) -> dict[str, set[str]]:
    codes: dict[str, set[str]] = {}
    for row in _csv(demo.crosswalk, "utf-8"):
        codes.setdefault(row["scheme"], set()).add(row["code"])
    return codes


def _quarantine_share(demo: DemoManifest, dataset: str) -> float:
    ds = demo.datasets[dataset]
    return sum(d["rows"] for d in ds.defects.values() if d["rule"]) / ds.rows


def test_grid_defect_counts_match_the_file(demo: DemoManifest) -> None:
    rows = _csv(demo.datasets["grid"].extract, "utf-8")
    ids = [r["身份证号"] for r in rows]
    phones = [r["联系电话"] for r in rows if r["联系电话"]]
    invalid_phones = [p for p in phones if not (
        MOBILE.fullmatch(unicodedata.normalize("NFKC", p))
        or LANDLINE.fullmatch(unicodedata.normalize("NFKC", p)))]
    assert _defects(demo, "grid") == {
        "lowercase_x": sum(i.endswith("x") for i in ids),
        "fullwidth_id": sum(bool(FULLWIDTH.search(i)) for i in ids),
        "id_spaces": sum(" " in i for i in ids),
        "fullwidth_phone": sum(bool(FULLWIDTH.search(p)) for p in phones),
        "bad_check_char": sum(_bad_check(i) for i in ids),
        "invalid_phone": len(invalid_phones),
        "mixed_date_formats": sum(not ISO.fullmatch(r["出生日期"]) for r in rows),
        "duplicate_rows": _duplicates(rows),
    }
    assert len(rows) == demo.datasets["grid"].rows
    assert all(v > 0 for v in _defects(demo, "grid").values())


def test_grid_registry_is_the_population_in_the_grid_centres_words(
        demo: DemoManifest, population: Population) -> None:
    rows = _csv(demo.datasets["grid"].extract, "utf-8")
    clean = {normalise_id(r["身份证号"]) for r in rows if not _bad_check(r["身份证号"])}
    assert clean <= set(population.resident_id.to_pylist())
    assert {r["性别"] for r in rows} == {"男", "女"}
    assert {r["与户主关系"] for r in rows} <= {"户主", "配偶", "子女", "父母", "孙子女",
                                              "兄弟姐妹", "其他"}
    labels = {t for r in rows if r["特殊人群"] for t in r["特殊人群"].split("、")}
    assert labels == {"低保", "特困", "残疾", "独居老人", "退役军人", "留守儿童"}
    assert any("、" in r["特殊人群"] for r in rows)
    assert {r["数据日期"] for r in rows} == {demo.datasets["grid"].as_of.isoformat()}
    births = [r["出生日期"] for r in rows]
    styles = {"/" if "/" in b else "年" if "年" in b else "digits" if b.isdigit() else "iso"
              for b in births}
    assert styles == {"/", "年", "digits", "iso"}
    assert all(re.fullmatch(r"\d{15}", r["网格编码"]) for r in rows)


def test_elderly_care_is_gbk_and_its_defect_counts_match(demo: DemoManifest) -> None:
    path = demo.datasets["elderly_care"].extract
    data = path.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert data.decode("gbk").startswith("身份证号,姓名,服务项目")
    rows = _csv(path, "gbk")
    ids = [r["身份证号"] for r in rows]
    mz = _crosswalk(demo)["civil_affairs_community"]
    assert _defects(demo, "elderly_care") == {
        "legacy_15_digit_id": sum(len(i) == 15 for i in ids),
        "bad_check_char": sum(_bad_check(i) for i in ids if i),
        "missing_id": sum(not i for i in ids),
        "unmapped_grid_code": sum(r["社区编码"] not in mz for r in rows),
        "mixed_date_formats": sum(not ISO.fullmatch(r["开始日期"]) for r in rows),
        "duplicate_rows": _duplicates(rows),
    }
    assert all(r["社区编码"].startswith("MZ") for r in rows)
    assert {r["服务项目"] for r in rows} == {"居家养老", "日间照料", "助餐", "机构养老", "高龄津贴"}


def test_some_80_year_olds_go_without_an_age_allowance(
        demo: DemoManifest, population: Population) -> None:
    as_of = demo.datasets["elderly_care"].as_of
    rows = _csv(demo.datasets["elderly_care"].extract, "gbk")
    granted = {normalise_id(r["身份证号"]) for r in rows if r["服务项目"] == "高龄津贴"}
    day = np.datetime64(as_of.isoformat(), "D")
    births = population.birth.astype(str)
    alive = np.isnat(population.death) | (population.death > day)
    missing = 0
    for rid, birth, living in zip(population.resident_id.to_pylist(), births, alive,
                                  strict=True):
        b = date.fromisoformat(birth)
        age = as_of.year - b.year - ((as_of.month, as_of.day) < (b.month, b.day))
        missing += bool(living and age >= 80 and rid not in granted)
    assert missing == demo.findings["aged_80_without_age_allowance"]
    assert missing > 0


def test_medical_ids_are_numeric_cells_and_defect_counts_match(demo: DemoManifest) -> None:
    book = openpyxl.load_workbook(demo.datasets["medical"].extract, read_only=True)
    sheet = book.worksheets[0]
    header, *rows = list(sheet.iter_rows(values_only=True))
    book.close()
    assert header[0] == "身份证号"
    assert header[4] == "金额（分）"
    ids = [r[0] for r in rows]
    numbers = [i for i in ids if isinstance(i, int)]
    assert _defects(demo, "medical") == {
        "id_scientific_notation": sum(isinstance(i, str) and "E+" in i for i in ids),
        "bad_diagnosis_code": sum(r[5] is not None and not ICD10.fullmatch(r[5]) for r in rows),
        "check_x_lost": sum(len(str(i)) == 17 for i in numbers),
        "id_as_number": sum(len(str(i)) == 18 for i in numbers),
    }
    assert len(numbers) + _defects(demo, "medical")["id_scientific_notation"] == len(rows)
    assert all(isinstance(r[4], int) for r in rows if r[4] is not None)
    assert len(rows) == demo.datasets["medical"].rows


def test_medical_covers_a_subset_of_residents_with_several_rows(
        demo: DemoManifest, population: Population) -> None:
    book = openpyxl.load_workbook(demo.datasets["medical"].extract, read_only=True)
    rows = list(book.worksheets[0].iter_rows(min_row=2, values_only=True))
    book.close()
    people = Counter(normalise_id(str(r[0])) for r in rows if isinstance(r[0], int))
    assert set(people) <= set(population.resident_id.to_pylist())
    assert 0.04 < len(people) / population.size < 0.12
    assert sum(people.values()) / len(people) > 2


def _employment(demo: DemoManifest) -> list[dict[str, Any]]:
    lines = demo.datasets["employment"].extract.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def test_employment_is_stale_and_its_defect_counts_match(demo: DemoManifest) -> None:
    rows = _employment(demo)
    assert len(rows) == demo.datasets["employment"].rows
    as_of = demo.datasets["employment"].as_of
    assert TODAY - as_of > timedelta(days=30)
    assert {r["sjrq"] for r in rows} == {as_of.strftime("%Y%m%d")}
    known = {"11", "12", "21", "31", "41", "90"}
    rs = _crosswalk(demo)["hr_service_area"]
    assert _defects(demo, "employment") == {
        "unmapped_status_code": sum(r["jyzt"] not in known for r in rows),
        "unmapped_grid_code": sum(r["fwqy"] not in rs for r in rows),
    }
    assert all(isinstance(r["je_fen"], int) for r in rows if r["je_fen"] is not None)


def test_some_unemployed_go_six_months_without_support(demo: DemoManifest) -> None:
    rows = _employment(demo)
    cutoff = demo.datasets["employment"].as_of - timedelta(days=183)
    supported = {r["zjhm"] for r in rows if r["xmlb"] != "无"}
    stranded = {r["zjhm"] for r in rows if r["jyzt"] == "21" and r["sydjrq"]
                and date(int(r["sydjrq"][:4]), int(r["sydjrq"][4:6]), int(r["sydjrq"][6:]))
                <= cutoff and r["zjhm"] not in supported}
    assert len(stranded) == demo.findings["unemployed_6m_without_support"]
    assert stranded


def test_department_facts_join_to_grid_residents(demo: DemoManifest) -> None:
    grid = {normalise_id(r["身份证号"]) for r in _csv(demo.datasets["grid"].extract, "utf-8")}
    elderly = {normalise_id(r["身份证号"])
               for r in _csv(demo.datasets["elderly_care"].extract, "gbk")}
    employment = {r["zjhm"] for r in _employment(demo)}
    for ids in (elderly, employment):
        valid = {i for i in ids if valid_id(i)}
        assert len(valid & grid) / len(valid) > 0.98


def test_crosswalk_maps_department_codes_to_standard_ones(demo: DemoManifest) -> None:
    rows = _csv(demo.crosswalk, "utf-8")
    assert set(rows[0]) == {"scheme", "code", "standard_code", "level", "valid_from"}
    grid_codes = {r["网格编码"] for r in _csv(demo.datasets["grid"].extract, "utf-8")}
    for r in rows:
        if r["level"] == "grid":
            assert r["scheme"] == "hr_service_area"
            assert len(r["standard_code"]) == 15
        else:
            assert (r["scheme"], r["level"]) == ("civil_affairs_community", "community")
            assert len(r["standard_code"]) == 12
    assert {r["standard_code"] for r in rows if r["level"] == "grid"} >= grid_codes
    assert demo.datasets["elderly_care"].defects["unmapped_grid_code"]["rule"] is None


@pytest.mark.parametrize("dataset", ["grid", "elderly_care", "medical", "employment"])
def test_quarantined_share_stays_well_below_the_rejection_threshold(
        demo: DemoManifest, dataset: str) -> None:
    assert 0 < _quarantine_share(demo, dataset) < 0.02

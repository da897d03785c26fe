"""Mapping a department's columns onto a contract: headers, cleaning, codes, types, issues."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from extract_samples import COLUMNS, HEADERS, IDS, NAMES, assert_no_values, make_spec

from connectors import MissingColumns, RawChunk, SourceInvalid, check_headers, map_chunk
from connectors.source import SourceSpec
from schemas.registry import get_contract

CARE = get_contract("elderly_care")
GRID = get_contract("grid")


def _raw(columns: dict[str, list[Any]], first_row: int = 2) -> RawChunk:
    n = len(next(iter(columns.values())))
    frame = pd.DataFrame({k: pd.array(v, dtype="string") for k, v in columns.items()},
                         index=pd.Index(np.arange(first_row, first_row + n), dtype="int64"))
    return RawChunk(frame)


def _spec(columns: dict[str, Any], dataset: str = "elderly_care") -> SourceSpec:
    return SourceSpec.model_validate({"name": "t", "department": "d", "dataset": dataset,
                                      "format": "csv", "columns": columns})


def _issues(mapped: Any) -> list[tuple[int, str, str]]:
    return [(r["source_row"], r["column"], r["rule"]) for r in mapped.issues.to_dict("records")]


def test_headers_match_after_nfkc_and_stripping() -> None:
    headers = ["\ufeff身份证号", " 姓名 ", *HEADERS[2:9], "护理等级", "是否独居", "社区编码"]
    headers[4] = "补贴金额"
    check_headers(make_spec(), CARE, headers, "x.csv")  # no error
    spec = _spec({**COLUMNS, "amount": "补贴金额（元）"})
    check_headers(spec, CARE, [*HEADERS, "补贴金额(元)"], "x.csv")  # full-width brackets


def test_missing_required_column_names_column_header_and_version() -> None:
    headers = [h for h in HEADERS if h not in ("身份证号", "开始日期")]
    with pytest.raises(MissingColumns) as err:
        check_headers(make_spec(), CARE, headers, "care_2024_01.csv")
    message = str(err.value)
    for part in ("resident_id", "身份证号", "period_start", "开始日期", "elderly_care",
                 f"v{CARE.version}", "care_2024_01.csv"):
        assert part in message
    assert err.value.missing == {"resident_id": "身份证号", "period_start": "开始日期"}


def test_required_column_not_mapped_at_all() -> None:
    columns = {k: v for k, v in COLUMNS.items() if k != "kind"}
    with pytest.raises(MissingColumns, match="'kind' \\(not mapped\\)"):
        check_headers(_spec(columns), CARE, HEADERS, "x.csv")


def test_optional_column_may_be_absent() -> None:
    headers = ["身份证号", "姓名", "性别", "出生日期", "电话", "住址", "户号", "与户主关系", "网格",
               "特殊人群"]
    columns: dict[str, Any] = dict(zip(
        ["resident_id", "name", "gender", "birth_date", "phone", "address", "household_id",
         "relation_to_head", "grid_code", "special_groups"], headers, strict=True))
    columns |= {"date_of_death": "死亡日期", "as_of": {"value": "2024-01-31"}}
    check_headers(_spec(columns, "grid"), GRID, headers, "x.csv")  # no 死亡日期: fine


def test_mapping_a_column_the_contract_lacks_is_a_yaml_error() -> None:
    with pytest.raises(SourceInvalid, match="salary"):
        check_headers(_spec({**COLUMNS, "salary": "工资"}), CARE, HEADERS, "x.csv")


def test_text_is_cleaned_and_codes_mapped() -> None:
    codes = {"居家养老": "home_care", "助餐": "meal_aid"}
    spec = _spec({"resident_id": "身份证号", "name": "姓名",
                  "program": {"from": "项目", "codes": codes}})
    raw = _raw({"身份证号": ["１１０１０５１９４９１２３１００２ｘ", " 110105194912310021\u3000",
                         ""],
                "姓名": [f"\u3000{NAMES[0]} ", NAMES[1], None],
                "项目": ["居家养老 ", "上门理发", "　"]})
    mapped = map_chunk(spec, CARE, raw)
    assert mapped.frame["resident_id"].tolist() == ["11010519491231002x", "110105194912310021",
                                                    pd.NA]
    assert mapped.frame["name"].tolist() == [NAMES[0], NAMES[1], pd.NA]
    assert mapped.frame["program"].tolist() == ["home_care", pd.NA, pd.NA]
    assert _issues(mapped) == [(3, "program", "code:unmapped")]


def test_money_in_yuan_and_fen() -> None:
    spec = _spec({"amount": "金额"})
    raw = _raw({"金额": ["1,234.50", "￥12.5", "12", "12.345", "12.3000", "十二元", "", "1e3",
                       "-0.5", "12元"]})
    mapped = map_chunk(spec, CARE, raw)
    assert mapped.frame["amount"].tolist() == [123450, 1250, 1200, pd.NA, 1230, pd.NA, pd.NA,
                                               pd.NA, -50, 1200]
    assert str(mapped.frame["amount"].dtype) == "Int64"
    assert _issues(mapped) == [(5, "amount", "money:precision"), (7, "amount", "type:money"),
                               (9, "amount", "type:money")]
    fen = map_chunk(_spec({"amount": {"from": "金额", "unit": "fen"}}), CARE,
                    _raw({"金额": ["123450", "99.00", "99.5"]}))
    assert fen.frame["amount"].tolist() == [123450, 99, pd.NA]
    assert _issues(fen) == [(4, "amount", "money:precision")]


def test_numbers_booleans_and_dates() -> None:
    spec = _spec({"quantity": "数量", "care_level": "等级", "living_alone": "独居",
                  "period_start": {"from": "开始", "formats": ["%Y%m%d", "%d/%m/%Y"]},
                  "period_end": "结束"})
    raw = _raw({
        "数量": ["2.5", "1,000", "３", "many", ""],
        "等级": ["3", "3.0", "3.5", "x", "０"],
        "独居": ["是", "否", "Yes", "maybe", "0"],
        "开始": ["20240131", "31/01/2024", "2024-01-31", "20240230", "2024-01-31 08:00:00"],
        "结束": ["2024-02-29", "2024/2/29", "2024年2月29日", "2023-02-29", "2024.02.01"],
    })
    mapped = map_chunk(spec, CARE, raw)
    f = mapped.frame
    assert f["quantity"].tolist() == [2.5, 1000.0, 3.0, pd.NA, pd.NA]
    assert f["care_level"].tolist() == [3, 3, pd.NA, pd.NA, 0]
    assert f["living_alone"].tolist() == [True, False, True, pd.NA, False]
    day = pd.Timestamp
    assert f["period_start"].tolist() == [day("2024-01-31"), day("2024-01-31"),
                                          day("2024-01-31"), pd.NaT, day("2024-01-31")]
    assert f["period_end"].tolist() == [day("2024-02-29")] * 3 + [pd.NaT, day("2024-02-01")]
    assert {c: str(t) for c, t in f.dtypes.items()} == {
        "quantity": "Float64", "period_start": "datetime64[s]", "period_end": "datetime64[s]",
        "care_level": "Int64", "living_alone": "boolean"}
    # Row 4 has "3.5" as care level; row 5 is wrong everywhere (issues in contract order).
    assert _issues(mapped) == [
        (4, "care_level", "type:integer"), (5, "quantity", "type:decimal"),
        (5, "period_start", "type:date"), (5, "period_end", "type:date"),
        (5, "care_level", "type:integer"), (5, "living_alone", "type:boolean")]


def test_tags_and_constants() -> None:
    spec = _spec({"special_groups": {"from": "特殊人群", "separator": "、"},
                  "as_of": {"value": "2024-01-31"}}, "grid")
    raw = _raw({"特殊人群": ["disabled、veteran", " veteran ", "", "a；b"]})
    mapped = map_chunk(spec, GRID, raw)
    assert mapped.frame["special_groups"].tolist() == ["disabled;veteran", "veteran", pd.NA, "a;b"]
    assert mapped.frame["as_of"].tolist() == [pd.Timestamp("2024-01-31")] * 4
    bad = _spec({"as_of": {"value": "end of January"}}, "grid")
    with pytest.raises(SourceInvalid, match="as_of"):
        map_chunk(bad, GRID, _raw({"x": ["1"]}))


def test_issues_include_malformed_rows_and_never_values() -> None:
    raw = _raw({"身份证号": [IDS[0], IDS[1]], "姓名": NAMES[:2], "金额": ["12", IDS[2]],
                "开始": [NAMES[2], "2024-01-01"]})
    raw.malformed = pd.DataFrame({"source_row": pd.array([3], dtype="int64"),
                                  "column": pd.array(["*"], dtype="string"),
                                  "rule": pd.array(["malformed_row"], dtype="string")})
    spec = _spec({"resident_id": "身份证号", "name": "姓名", "amount": "金额",
                  "period_start": "开始"})
    mapped = map_chunk(spec, CARE, raw)
    assert mapped.rows_read == 3
    assert _issues(mapped) == [(2, "period_start", "type:date"), (3, "*", "malformed_row"),
                               (3, "amount", "type:money")]
    assert_no_values(mapped.issues.to_csv())


def test_empty_chunk_keeps_typed_columns() -> None:
    raw = RawChunk(pd.DataFrame({h: pd.array([], dtype="string") for h in HEADERS},
                                index=pd.Index([], dtype="int64")))
    mapped = map_chunk(make_spec(), CARE, raw)
    assert len(mapped.frame) == 0
    assert mapped.rows_read == 0
    assert str(mapped.frame["amount"].dtype) == "Int64"
    assert str(mapped.frame["period_start"].dtype) == "datetime64[s]"


def test_tag_codes_apply_token_by_token() -> None:
    codes = {"低保": "subsistence_allowance", "残疾": "disabled", "退役军人": "veteran"}
    spec = _spec({"special_groups": {"from": "特殊人群", "separator": "、", "codes": codes}},
                 "grid")
    raw = _raw({"特殊人群": ["低保、残疾", "退役军人 、", "", "低保、火星人"]})
    mapped = map_chunk(spec, GRID, raw)
    assert mapped.frame["special_groups"].tolist() == ["subsistence_allowance;disabled",
                                                       "veteran", pd.NA, pd.NA]
    assert _issues(mapped) == [(5, "special_groups", "code:unmapped")]

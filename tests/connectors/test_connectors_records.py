"""JSON documents, JSON Lines and Parquet: record numbering, values as text, bad input."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Hashable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from extract_samples import IDS, NAMES, assert_no_values, make_spec

from connectors import EncodingMismatch, ExtractUnreadable, jsonfiles, open_reader
from connectors.errors import ExtractTruncated

Records = list[dict[Hashable, Any]]


def _all(path: Path, fmt: str, **spec: object) -> tuple[Records, list[int], list[int]]:
    reader = open_reader(make_spec(fmt, **spec), path)
    records: Records = []
    rows: list[int] = []
    bad: list[int] = []
    for chunk in reader.chunks(2):
        records += chunk.frame.to_dict("records")
        rows += chunk.frame.index.tolist()
        bad += chunk.malformed["source_row"].tolist()
    return records, rows, bad


def test_json_document_at_a_records_path(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"meta": {"n": 3}, "result": {"items": [
        {"身份证号": IDS[0], "金额": 12.50, "次数": 3, "独居": True},
        {"身份证号": IDS[1], "金额": 110105194912310021, "地址": {"区": "东城"}},
        ["not", "an", "object"],
    ]}}, ensure_ascii=False), encoding="utf-8")
    records, rows, bad = _all(path, "json", records_path="result.items")
    assert rows == [1, 2]
    assert bad == [3]
    assert records[0] == {"身份证号": IDS[0], "金额": "12.5", "次数": "3", "独居": "true",
                          "地址": None}
    assert records[1]["金额"] == "110105194912310021"
    assert json.loads(str(records[1]["地址"])) == {"区": "东城"}


def test_json_without_the_list(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"data": {"rows": 3}}', encoding="utf-8")
    with pytest.raises(ExtractUnreadable, match="records_path"):
        open_reader(make_spec("json", records_path="data"), path).headers()


def test_truncated_json_document(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text(json.dumps([{"身份证号": IDS[0], "姓名": NAMES[0]}] * 3,
                               ensure_ascii=False)[:-20], encoding="utf-8")
    with pytest.raises(ExtractUnreadable, match="not valid JSON") as err:
        open_reader(make_spec("json"), path).headers()
    assert_no_values(str(err.value))


def test_large_json_document_suggests_json_lines(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsonfiles, "JSON_DOCUMENT_MAX_BYTES", 50)
    path = tmp_path / "x.json"
    path.write_text(json.dumps([{"a": "1" * 100}]), encoding="utf-8")
    with pytest.raises(ExtractUnreadable, match="JSON Lines"):
        open_reader(make_spec("json"), path)


def test_json_lines_bad_line_is_a_malformed_row(tmp_path: Path) -> None:
    lines = [json.dumps({"身份证号": IDS[0], "标签": ["a", "b"]}, ensure_ascii=False), "",
             '{"身份证号": "' + IDS[1] + '", broken', json.dumps({"身份证号": IDS[2], "新列": 1}),
             "[1, 2]"]
    path = tmp_path / "x.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    reader = open_reader(make_spec("jsonl"), path)
    assert reader.headers() == ["身份证号", "标签", "新列"]
    records, rows, bad = _all(path, "jsonl")
    assert rows == [1, 4]  # line numbers: line 2 is blank
    assert bad == [3, 5]
    assert json.loads(str(records[0]["标签"])) == ["a", "b"]


def test_parquet_values_as_text(tmp_path: Path) -> None:
    table = pa.table({
        "id": pa.array([IDS[0], None]),
        "n": pa.array([110105194912310021, 7], pa.int64()),
        "amount": pa.array([Decimal("1234.50"), Decimal("0.05")], pa.decimal128(10, 2)),
        "qty": pa.array([2.0, 0.25]),
        "day": pa.array([dt.date(2024, 2, 29), None], pa.date32()),
        "at": pa.array([dt.datetime(2024, 1, 5), dt.datetime(2024, 1, 5, 9, 15)],
                       pa.timestamp("ms")),
        "flag": pa.array([True, False]),
        "tags": pa.array([["a", "b"], None], pa.list_(pa.string())),
        "cat": pa.array(["x", "y"]).dictionary_encode(),
    })
    path = tmp_path / "x.parquet"
    pq.write_table(table, path, row_group_size=1)
    records, rows, _ = _all(path, "parquet")
    assert rows == [1, 2]
    assert records[0] == {"id": IDS[0], "n": "110105194912310021", "amount": "1234.50",
                          "qty": "2", "day": "2024-02-29", "at": "2024-01-05", "flag": "true",
                          "tags": '["a", "b"]', "cat": "x"}
    assert records[1]["qty"] == "0.25"
    assert records[1]["at"] == "2024-01-05 09:15:00"
    assert records[1]["id"] is None


def test_not_a_parquet_file(tmp_path: Path) -> None:
    path = tmp_path / "x.parquet"
    path.write_bytes(b"PAR1" + b"\x00" * 100)
    with pytest.raises(ExtractUnreadable, match="Parquet"):
        open_reader(make_spec("parquet"), path)


def test_json_lines_must_be_utf8(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    lines = [json.dumps({"a": "1"})] + [json.dumps({"姓名": n}, ensure_ascii=False)
                                         for n in NAMES]
    path.write_bytes("\n".join(lines).encode("gbk") + b"\n")
    with pytest.raises(EncodingMismatch) as err:
        list(open_reader(make_spec("jsonl"), path).chunks(10))
    assert err.value.line == 2
    assert_no_values(str(err.value))


@pytest.mark.parametrize("cut", [4, 1])  # inside the last character; after the last quote
def test_json_lines_cut_off_is_refused_whole(tmp_path: Path, cut: int) -> None:
    path = tmp_path / "x.jsonl"
    data = (json.dumps({"a": "1"}) + "\n" + json.dumps({"姓名": NAMES[0]}, ensure_ascii=False))
    path.write_bytes(data.encode()[:-cut])
    with pytest.raises(ExtractTruncated, match="ends in the middle of line 2"):
        _all(path, "jsonl")


def test_json_lines_without_a_final_line_end_are_whole(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps({"a": "1"}) + "\n" + json.dumps({"a": "2"}), encoding="utf-8")
    _, rows, bad = _all(path, "jsonl")
    assert rows == [1, 2]
    assert bad == []


def test_json_lines_one_bad_byte_quarantines_its_line(tmp_path: Path) -> None:
    lines = [json.dumps({"a": str(i)}).encode() for i in range(40)]
    lines[7] = b'{"a": "\xff"}'
    lines[9] = b'{"a": "\x00"}'
    path = tmp_path / "x.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    reader = open_reader(make_spec("jsonl"), path)
    issues = [c.malformed for c in reader.chunks(100)]
    found = {(int(r), str(u)) for f in issues for r, u in zip(f["source_row"], f["rule"],
                                                                 strict=True)}
    assert found == {(8, "encoding"), (10, "nul_byte")}

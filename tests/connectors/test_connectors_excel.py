"""XLSX: numbers keep their digits, rows keep their sheet row numbers, broken files say so."""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import pytest
from extract_samples import HEADERS, assert_no_values, make_spec, write_csv, write_xlsx

from connectors import ExtractUnreadable, open_reader

SPEC = make_spec("xlsx")


Records = list[dict[Hashable, Any]]


def _frame_rows(path: Path, **spec: object) -> tuple[Records, list[int], list[int]]:
    reader = open_reader(make_spec("xlsx", **spec), path)
    records: Records = []
    rows: list[int] = []
    bad: list[int] = []
    for chunk in reader.chunks(2):
        records += chunk.frame.to_dict("records")
        rows += chunk.frame.index.tolist()
        bad += chunk.malformed["source_row"].tolist()
    return records, rows, bad


def test_numeric_id_cells_come_through_exactly(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "x.xlsx", headers=["身份证号", "金额", "日期", "时间", "独居"],
                      rows=[[110105194912310021, 1234.0, dt.datetime(2024, 1, 5),
                             dt.datetime(2024, 1, 5, 8, 30), True],
                            [110105194912310021, 12.5, dt.date(2024, 2, 29), None, False]])
    records, rows, _ = _frame_rows(path)
    assert rows == [2, 3]
    assert records[0] == {"身份证号": "110105194912310021", "金额": "1234", "日期": "2024-01-05",
                          "时间": "2024-01-05 08:30:00", "独居": "true"}
    assert records[1]["金额"] == "12.5"
    assert records[1]["独居"] == "false"


def test_an_id_excel_turned_into_a_float_keeps_its_float_text(tmp_path: Path) -> None:
    # Excel stores 18-digit numbers with 15 significant digits: the lost digits must not be
    # invented, so the identity rules can tell the department what happened.
    path = write_xlsx(tmp_path / "x.xlsx", headers=["身份证号"], rows=[[110105194912310021]],
                      exact_ints=False)
    records, _, _ = _frame_rows(path)
    assert records[0]["身份证号"] == "1.1010519491231e+17"


def test_empty_rows_are_counted_and_cells_without_header_are_malformed(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "x.xlsx", headers=["a", "b"],
                      rows=[["1", "2"], [None, None], ["3", "4", "stray"], ["5", None]])
    records, rows, bad = _frame_rows(path)
    assert rows == [2, 5]
    assert bad == [4]
    assert records[1] == {"a": "5", "b": None}


def test_sheet_by_name_and_index(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "x.xlsx", title="明细")
    assert open_reader(make_spec("xlsx", sheet="明细"), path).headers() == HEADERS
    assert open_reader(make_spec("xlsx", sheet=0), path).headers() == HEADERS


def test_missing_sheet_lists_the_sheets(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "x.xlsx", title="明细")
    with pytest.raises(ExtractUnreadable, match="明细") as err:
        open_reader(make_spec("xlsx", sheet="Sheet9"), path)
    assert "Sheet9" in str(err.value)
    with pytest.raises(ExtractUnreadable, match="明细"):
        open_reader(make_spec("xlsx", sheet=3), path)


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.95])
def test_truncated_workbook(tmp_path: Path, keep: float) -> None:
    whole = write_xlsx(tmp_path / "whole.xlsx").read_bytes()
    path = tmp_path / "cut.xlsx"
    path.write_bytes(whole[: int(len(whole) * keep)])
    with pytest.raises(ExtractUnreadable, match="truncated or not an XLSX workbook") as err:
        list(open_reader(SPEC, path).chunks(10))
    assert "cut.xlsx" in str(err.value)
    assert_no_values(str(err.value))


def test_workbook_with_a_cut_sheet(tmp_path: Path) -> None:
    whole = write_xlsx(tmp_path / "whole.xlsx")
    with zipfile.ZipFile(whole) as z:
        items = {n: z.read(n) for n in z.namelist()}
    sheet = items["xl/worksheets/sheet1.xml"]
    items["xl/worksheets/sheet1.xml"] = sheet[: len(sheet) * 2 // 3]
    path = tmp_path / "cut.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        for name, data in items.items():
            z.writestr(name, data)
    with pytest.raises(ExtractUnreadable, match="truncated or not an XLSX workbook") as err:
        list(open_reader(SPEC, path).chunks(10))
    assert "cut.xlsx" in str(err.value)
    assert_no_values(str(err.value))


def test_csv_sent_as_xlsx(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "x.xlsx")
    with pytest.raises(ExtractUnreadable, match="not an XLSX workbook"):
        open_reader(SPEC, path)


def test_header_only_sheet(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "x.xlsx", rows=[[None] * len(HEADERS)])
    chunks = list(open_reader(SPEC, path).chunks(10))
    assert sum(c.rows_read for c in chunks) == 0
    assert list(chunks[0].frame.columns) == HEADERS

"""Extracts read as the department's clerk sees them: trailing junk dropped, one bad byte
losing one line, sheets a person can see, merged cells, headers padded with spaces."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import openpyxl
import pytest
from extract_samples import COLUMNS, HEADERS, TEXT_ROWS, assert_no_values, make_spec, read_all

from connectors import EncodingMismatch, ExtractUnreadable, open_reader
from connectors.errors import HeaderElsewhere, WorkbookTooLarge
from connectors.excel import MAX_SHARED_STRINGS
from connectors.mapping import check_headers
from schemas.registry import get_contract


def _line(cells: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(cells)
    return out.getvalue()


def _csv_lines(extra_commas: int = 0) -> list[str]:
    tail = "," * extra_commas
    return [_line(HEADERS) + tail] + [_line(r) + tail for r in TEXT_ROWS]


def _issues(path: Path, fmt: str = "csv", **spec: object) -> list[tuple[int, str, str]]:
    source = make_spec(fmt, **spec)
    mapped = read_all(open_reader(source, path), source)
    return [(int(r), str(c), str(u)) for r, c, u in mapped.issues.itertuples(index=False)]


def test_trailing_empty_rows_and_columns_are_not_data(tmp_path: Path) -> None:
    lines = _csv_lines(extra_commas=3) + [","* (len(HEADERS) + 2)] * 5
    path = tmp_path / "x.csv"
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    reader = open_reader(make_spec("csv"), path)
    assert reader.headers() == HEADERS
    chunks = list(reader.chunks(100))
    assert [n for c in chunks for n in c.frame.index] == [2, 3, 4]
    assert sum(len(c.malformed) for c in chunks) == 0
    assert sum(c.rows_read for c in chunks) == 3  # nothing counts against the threshold


def test_a_value_in_a_column_without_header_is_a_malformed_row(tmp_path: Path) -> None:
    lines = _csv_lines(extra_commas=2)
    lines[2] = lines[2][:-1] + "stray"
    path = tmp_path / "x.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    chunk = next(open_reader(make_spec("csv"), path).chunks(100))
    assert chunk.frame.index.tolist() == [2, 4]
    assert chunk.malformed["source_row"].tolist() == [3]


def test_one_bad_byte_quarantines_its_line(tmp_path: Path) -> None:
    rows = [_line(TEXT_ROWS[i % 3]) for i in range(60)]
    data = ("\n".join([_line(HEADERS), *rows]) + "\n").encode("utf-8")
    lines = data.split(b"\n")
    lines[10] = lines[10].replace("居家养老".encode(), b"\xff\xfe", 1)  # line 11
    lines[20] = lines[20].replace(b",", b",\x00", 1)  # line 21
    path = tmp_path / "x.csv"
    path.write_bytes(b"\n".join(lines))
    for encoding in ("auto", "utf-8"):
        chunk = next(open_reader(make_spec("csv", encoding=encoding), path).chunks(1000))
        assert len(chunk.frame) == 58
        assert chunk.malformed[["source_row", "rule"]].values.tolist() == [
            [11, "encoding"], [21, "nul_byte"]]


def test_many_bad_lines_mean_a_wrong_encoding(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(("\n".join(_csv_lines()) + "\n").encode("gbk"))
    with pytest.raises(EncodingMismatch) as err:
        list(open_reader(make_spec("csv", encoding="utf-8"), path).chunks(100))
    assert err.value.line == 1
    assert "gb18030" in str(err.value)


def test_headers_padded_with_spaces_match(tmp_path: Path) -> None:
    headers = ["姓　　名" if h == "姓名" else h for h in HEADERS]
    headers = ["身份 证号" if h == "身份证号" else h for h in headers]
    path = tmp_path / "x.csv"
    path.write_text("\n".join([_line(headers)] + [_line(r) for r in TEXT_ROWS]) + "\n",
                    encoding="utf-8")
    source = make_spec("csv")
    mapped = read_all(open_reader(source, path), source)
    assert mapped.frame["name"].notna().all()
    assert mapped.frame["resident_id"].notna().all()


def _book(path: Path, sheets: list[tuple[str, str, list[list[object]]]]) -> Path:
    """sheets: (title, state, rows) with the header as the first row."""
    book = openpyxl.Workbook()
    assert book.active is not None
    book.remove(book.active)
    for title, state, rows in sheets:
        ws = book.create_sheet(title)
        for row in rows:
            ws.append(row)
        ws.sheet_state = state  # type: ignore[assignment]
    book.save(path)
    return path


_ROWS: list[list[object]] = [HEADERS, *[list(r) for r in TEXT_ROWS]]


def test_a_hidden_sheet_is_never_read_unless_named(tmp_path: Path) -> None:
    old = [HEADERS, list(TEXT_ROWS[0])]
    path = _book(tmp_path / "x.xlsx", [("上月", "hidden", old), ("本月", "visible", _ROWS)])
    for spec in ({}, {"sheet": 0}):
        chunks = list(open_reader(make_spec("xlsx", **spec), path).chunks(100))
        assert sum(len(c.frame) for c in chunks) == 3
    named = list(open_reader(make_spec("xlsx", sheet="上月"), path).chunks(100))
    assert sum(len(c.frame) for c in named) == 1


def test_data_on_two_visible_sheets_is_refused_unless_one_is_named(tmp_path: Path) -> None:
    half = [HEADERS, list(TEXT_ROWS[0])]
    path = _book(tmp_path / "x.xlsx", [("一", "visible", _ROWS), ("二", "visible", half),
                                       ("空", "visible", [])])
    with pytest.raises(ExtractUnreadable, match="2 visible sheets hold data") as err:
        open_reader(make_spec("xlsx"), path)
    assert "YAML" not in str(err.value)
    chunks = list(open_reader(make_spec("xlsx", sheet="二"), path).chunks(100))
    assert sum(len(c.frame) for c in chunks) == 1


def _merged_book(path: Path) -> Path:
    rows = [list(r) for r in TEXT_ROWS]
    grid = HEADERS.index("社区编码")
    path = _book(path, [("明细", "visible", [HEADERS, *rows])])
    book = openpyxl.load_workbook(path)
    ws = book["明细"]
    letter = openpyxl.utils.get_column_letter(grid + 1)
    for r in (3, 4):
        ws[f"{letter}{r}"] = None
    ws.merge_cells(f"{letter}2:{letter}4")  # one community for the three rows
    book.save(path)
    return path


def test_merged_cells_fill_their_range_for_marked_columns(tmp_path: Path) -> None:
    path = _merged_book(tmp_path / "x.xlsx")
    columns = {**COLUMNS, "grid_code": {"from": "社区编码", "fill_merged": True}}
    source = make_spec("xlsx", columns=columns)
    mapped = read_all(open_reader(source, path), source)
    assert mapped.frame["grid_code"].tolist() == [TEXT_ROWS[0][HEADERS.index("社区编码")]] * 3
    assert "merged_cell" not in mapped.issues["rule"].tolist()


def test_merged_cells_of_other_columns_are_named_as_merged(tmp_path: Path) -> None:
    path = _merged_book(tmp_path / "x.xlsx")
    merged = [i for i in _issues(path, "xlsx") if i[1] == "grid_code"]
    assert merged == [(3, "grid_code", "merged_cell"), (4, "grid_code", "merged_cell")]


def test_a_shared_string_bomb_is_refused_before_reading(tmp_path: Path) -> None:
    path = _book(tmp_path / "x.xlsx", [("明细", "visible", _ROWS)])
    with zipfile.ZipFile(path) as zin:
        items = {n: zin.read(n) for n in zin.namelist()}
    items["xl/sharedStrings.xml"] = (
        b'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
        b'2006/main" count="' + str(MAX_SHARED_STRINGS * 90).encode() + b'" uniqueCount="'
        + str(MAX_SHARED_STRINGS * 90).encode() + b'"><si><t>x</t></si></sst>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in items.items():
            zout.writestr(name, data)
    with pytest.raises(WorkbookTooLarge, match="shared strings") as err:
        open_reader(make_spec("xlsx"), path)
    assert_no_values(str(err.value))


def test_an_inflating_workbook_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "x.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/sharedStrings.xml", b"<sst>" + b" " * (80 * 1024**2) + b"</sst>")
    assert path.stat().st_size < 1024**2
    with pytest.raises(WorkbookTooLarge, match="unpack"):
        open_reader(make_spec("xlsx"), path)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_title_above_the_headers_names_their_line(tmp_path: Path, fmt: str) -> None:
    title = ["某街道 2024年1月 养老服务明细"]
    if fmt == "csv":
        path = tmp_path / "x.csv"
        path.write_text("\n".join([_line(title), "", *_csv_lines()]) + "\n", encoding="utf-8")
    else:
        path = _book(tmp_path / "x.xlsx", [("明细", "visible", [title, [], *_ROWS])])
    source = make_spec(fmt)
    reader = open_reader(source, path)
    with pytest.raises(HeaderElsewhere) as err:
        check_headers(source, get_contract("elderly_care"), reader.headers(), reader.location,
                      reader.leading_rows)  # type: ignore[attr-defined]
    assert err.value.found_on == 3
    message = str(err.value)
    assert "line 3" in message
    assert "header_row" in message
    assert "YAML" not in message

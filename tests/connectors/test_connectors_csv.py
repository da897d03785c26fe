"""CSV: exact line numbers, encodings, and every way a file can be wrong."""

from __future__ import annotations

import os
import zipfile
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest
from extract_samples import HEADERS, IDS, NAMES, TEXT_ROWS, assert_no_values, make_spec, write_csv

from connectors import EncodingMismatch, ExtractUnreadable, SourceInvalid, open_reader
from connectors.csv_reader import CsvReader
from connectors.errors import ExtractTruncated

SPEC = make_spec()
HEADER_LINE = ",".join(HEADERS)


def _read(path: Path, chunk_rows: int = 1000, **spec: Any) -> tuple[list[int], list[int]]:
    reader = open_reader(make_spec("csv", **spec), path)
    rows: list[int] = []
    bad: list[int] = []
    for chunk in reader.chunks(chunk_rows):
        assert chunk.frame.index.is_monotonic_increasing
        rows += chunk.frame.index.tolist()
        bad += chunk.malformed["source_row"].tolist()
    return rows, bad


def _row(i: int) -> str:
    return ",".join([f"1101051949123100{i:02d}", "张三", *["x"] * 10])


def test_line_numbers_count_blank_lines_and_skip_malformed_rows(tmp_path: Path) -> None:
    body = [HEADER_LINE, _row(1), "", _row(2), "a,b", "\r", _row(3), ",".join(["y"] * 13),
            _row(4)]
    path = tmp_path / "x.csv"
    path.write_text("\n".join(body) + "\n", encoding="utf-8")
    rows, bad = _read(path)
    assert rows == [2, 4, 7, 9]  # line 3 and 6 are blank, 5 and 8 have the wrong field count
    assert bad == [5, 8]


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_line_numbers_are_exact_across_blocks_and_chunks(tmp_path: Path, encoding: str) -> None:
    body = [HEADER_LINE]
    expected, expected_bad = [], []
    for i in range(200):
        line = sum(b.count("\n") + 1 for b in body) + 1
        if i % 37 == 5:
            body.append("")  # blank
        elif i % 41 == 7:
            body.append("only,three,fields")
            expected_bad.append(line)
        elif i % 29 == 3:
            body.append(f'"{i}","多行\n地址",' + ",".join(["z"] * 10))  # a quoted line break
            expected.append(line)
        else:
            body.append(_row(i % 100))
            expected.append(line)
    path = tmp_path / "x.csv"
    path.write_text("\n".join(body) + "\n", encoding=encoding)
    reader = CsvReader(path, make_spec(encoding=encoding), 10**9, block_bytes=300)
    rows, bad, texts = [], [], []
    for chunk in reader.chunks(7):
        assert len(chunk.frame) <= 7
        rows += chunk.frame.index.tolist()
        bad += chunk.malformed["source_row"].tolist()
        texts += chunk.frame["姓名"].tolist()
    assert rows == expected
    assert bad == expected_bad
    assert "多行\n地址" in texts


def test_crlf_file(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(("\r\n".join([HEADER_LINE, _row(1), "", _row(2)]) + "\r\n").encode())
    assert _read(path) == ([2, 4], [])


def test_header_row_below_a_title(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("\n".join(["某街道 2024年1月 养老服务明细", HEADER_LINE, _row(1)]) + "\n",
                    encoding="utf-8")
    assert _read(path, header_row=2) == ([3], [])


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_auto_detects_the_encoding(tmp_path: Path, encoding: str) -> None:
    reader = open_reader(SPEC, write_csv(tmp_path / "x.csv", encoding))
    assert reader.headers() == HEADERS
    frame = next(iter(reader.chunks(10))).frame
    assert frame["姓名"].tolist()[:2] == NAMES[:2]


def test_declared_utf8_on_a_gbk_file_names_the_line(tmp_path: Path) -> None:
    rows = [[f"4401031965050543{i:02d}", "ascii only", *["x"] * 10] for i in range(5)]
    rows += [TEXT_ROWS[0], TEXT_ROWS[0]]  # the first line with Chinese text is line 7
    path = write_csv(tmp_path / "x.csv", "gbk", rows=rows, headers=[f"h{i}" for i in range(12)])
    with pytest.raises(EncodingMismatch) as err:
        list(open_reader(make_spec(encoding="utf-8"), path).chunks(100))
    assert err.value.line == 7
    assert "gb18030" in str(err.value)
    assert "x.csv" in str(err.value)
    assert_no_values(str(err.value))


def test_declared_gbk_on_a_utf8_file(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "x.csv", "utf-8")
    with pytest.raises(EncodingMismatch, match="utf-8") as err:
        open_reader(make_spec(encoding="gbk"), path)
    assert err.value.line == 1


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(ExtractUnreadable, match="empty") as err:
        open_reader(SPEC, path)
    assert "empty.csv" in str(err.value)


def test_header_only_file_has_no_rows_and_no_error(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text(HEADER_LINE + "\n", encoding="utf-8")
    reader = open_reader(SPEC, path)
    assert reader.headers() == HEADERS
    chunks = list(reader.chunks(100))
    assert sum(c.rows_read for c in chunks) == 0
    assert list(chunks[0].frame.columns) == HEADERS


@pytest.mark.parametrize("content", [
    pytest.param(os.urandom(4096), id="random-bytes"),
    pytest.param(b"\x89PNG\r\n\x1a\n" + os.urandom(200), id="png"),
    pytest.param(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(300), id="xls"),
])
def test_binary_garbage_is_not_a_text_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "upload.csv"
    path.write_bytes(content)
    with pytest.raises(ExtractUnreadable, match="not a text file") as err:
        open_reader(SPEC, path)
    assert "upload.csv" in str(err.value)


def test_workbook_renamed_csv_says_so(tmp_path: Path) -> None:
    path = tmp_path / "upload.csv"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
    with pytest.raises(ExtractUnreadable, match="XLSX"):
        open_reader(SPEC, path)


def test_utf16_asks_for_utf8(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes((HEADER_LINE + "\n").encode("utf-16"))
    with pytest.raises(ExtractUnreadable, match="UTF-8"):
        open_reader(SPEC, path)


@pytest.mark.parametrize("encoding", ["utf-8", "gbk"])
def test_a_file_cut_off_is_refused_whole(tmp_path: Path, encoding: str) -> None:
    whole = write_csv(tmp_path / "x.csv", encoding).read_bytes()
    cut_in_char = whole[: whole.rindex("王五".encode(encoding)) + 1]  # inside 王
    cut_in_row = whole[: whole.rindex(b"20240301")]  # a whole character, fields missing
    cut_in_last_field = whole.rstrip(b"\r\n")[:-1]  # every field there, the last one short
    for data in (cut_in_char, cut_in_row, cut_in_last_field):
        (tmp_path / "x.csv").write_bytes(data)
        with pytest.raises(ExtractTruncated, match="ends in the middle of line 4") as err:
            _read(tmp_path / "x.csv", encoding=encoding)
        assert err.value.line == 4
        assert_no_values(str(err.value))


def test_file_over_the_size_limit_is_refused_before_reading(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "big.csv")
    size = path.stat().st_size
    with pytest.raises(ExtractUnreadable) as err:
        open_reader(SPEC, path, max_bytes=100)
    message = str(err.value)
    assert f"{size:,}" in message
    assert "100" in message
    assert "big.csv" in message


@pytest.mark.parametrize(("header", "problem"), [
    ("身份证号,姓名,身份证号", "duplicate"),
    ("身份证号,,姓名", "no name"),
    ("身份证号, 姓名,姓名", "duplicate"),
])
def test_duplicate_or_empty_headers(tmp_path: Path, header: str, problem: str) -> None:
    path = tmp_path / "x.csv"
    path.write_text(header + "\n1,2,3\n", encoding="utf-8")
    with pytest.raises(ExtractUnreadable, match=problem):
        open_reader(SPEC, path)


def test_no_error_message_carries_a_cell_value(tmp_path: Path) -> None:
    rows = [[IDS[0], NAMES[0]], [IDS[1] + "\udcff", NAMES[1]]]
    path = tmp_path / "x.csv"
    path.write_bytes(("h1,h2\n" + "\n".join(",".join(r) for r in rows[:1])).encode()
                     + b"\n" + (IDS[1].encode() + b"\xff," + NAMES[1].encode() + b"\n") * 2)
    with pytest.raises(EncodingMismatch) as err:  # two bad lines of four: a wrong encoding
        list(open_reader(make_spec(encoding="utf-8"), path).chunks(10))
    assert err.value.line == 3
    assert_no_values(str(err.value))


def test_a_stray_carriage_return_loses_its_row_only(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes("\n".join([HEADER_LINE, _row(1), _row(2).replace("张三", "张\r三"), _row(3)])
                     .encode() + b"\n")
    rows, bad = _read(path)
    assert rows == [2, 4]
    assert bad == [3]


def test_tab_separated_and_bad_delimiter(tmp_path: Path) -> None:
    path = tmp_path / "x.tsv"
    path.write_text("\t".join(HEADERS) + "\n" + "\t".join(TEXT_ROWS[0]) + "\n", encoding="utf-8")
    reader = open_reader(make_spec(delimiter="\t"), path)
    assert reader.headers() == HEADERS
    assert next(iter(reader.chunks(10))).frame["补贴金额"].tolist() == ["1,234.50"]
    with pytest.raises(SourceInvalid, match="delimiter"):
        open_reader(make_spec(delimiter="||"), path)


def test_stopping_early_releases_the_reader(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("\n".join([HEADER_LINE] + [_row(i % 100) for i in range(3000)]) + "\n",
                    encoding="utf-8")
    reader = CsvReader(path, SPEC, 10**9, block_bytes=4096)
    chunks = reader.chunks(10)
    assert isinstance(chunks, Generator)
    assert len(next(chunks).frame) == 10
    chunks.close()  # the background parser stops; nothing hangs
    assert sum(c.rows_read for c in reader.chunks(1000)) == 3000


def test_a_file_without_header_row_does_not_echo_ids(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text(f"{IDS[0]},{NAMES[0]},{IDS[0]}\n{IDS[1]},{NAMES[1]},{IDS[1]}\n",
                    encoding="utf-8")
    with pytest.raises(ExtractUnreadable, match="duplicate headers") as err:
        open_reader(SPEC, path)
    assert_no_values(str(err.value))

"""A reader holds a bounded share of an extract at a time, however wide its rows: chunks stop
at CHUNK_BYTES of text before they reach the row count."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from extract_samples import HEADERS, make_spec

from connectors import ExtractUnreadable, csv_reader, jsonfiles, open_reader

WIDE = "x" * 4000  # an address column a department filled with a whole document
CHUNK = 8 << 20  # the cap under test (32 MiB in production), so the files stay small


def test_wide_csv_is_read_in_bounded_chunks(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csv_reader, "CHUNK_BYTES", CHUNK)
    path = tmp_path / "wide.csv"
    line = ",".join(["110105194912310021", "张三", *[WIDE] * (len(HEADERS) - 2)]) + "\n"
    rows_written = 4 * CHUNK // len(line)
    with path.open("w", encoding="utf-8") as fh:
        fh.write(",".join(HEADERS) + "\n")
        for _ in range(rows_written):
            fh.write(line)
    size = path.stat().st_size
    assert size > 3 * csv_reader.CHUNK_BYTES
    reader = open_reader(make_spec("csv"), path, max_bytes=size + 1)
    rows, chunks = 0, 0
    for chunk in reader.chunks(200_000):
        chunks += 1
        rows += len(chunk.frame)
        assert len(chunk.frame) * len(line) <= CHUNK + 2 * csv_reader.BLOCK_BYTES
    assert rows == rows_written
    assert chunks >= 3


def test_wide_json_lines_are_read_in_bounded_chunks(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsonfiles, "CHUNK_BYTES", CHUNK)
    path = tmp_path / "wide.jsonl"
    record = json.dumps({h: WIDE for h in HEADERS}, ensure_ascii=False) + "\n"
    count = 3 * CHUNK // len(record)
    with path.open("w", encoding="utf-8") as fh:
        for _ in range(count):
            fh.write(record)
    reader = open_reader(make_spec("jsonl"), path, max_bytes=path.stat().st_size + 1)
    sizes = [len(chunk.frame) for chunk in reader.chunks(200_000)]
    assert sum(sizes) == count
    assert len(sizes) >= 3
    assert max(sizes) * len(record) <= jsonfiles.CHUNK_BYTES + len(record)


def test_json_lines_line_over_the_cap_is_refused(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsonfiles, "MAX_LINE_BYTES", 1000)
    path = tmp_path / "long.jsonl"
    path.write_text(json.dumps({"a": "y" * 5000}) + "\n", encoding="utf-8")
    reader = open_reader(make_spec("jsonl"), path)
    with pytest.raises(ExtractUnreadable, match="line 1") as caught:
        list(reader.chunks(10))
    assert "yyyy" not in str(caught.value)

"""The same extract, in every format and encoding we accept, maps to the same contract frame."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from extract_samples import (
    HEADERS,
    SQL_QUERY,
    Api,
    expected_frame,
    make_spec,
    read_all,
    write_csv,
    write_json,
    write_jsonl,
    write_parquet,
    write_sqlite,
    write_xlsx,
)

from connectors import open_reader
from connectors.base import Reader
from connectors.source import SourceSpec


def _file(fmt: str, writer: Any, name: str, **spec_extra: Any) -> Any:
    def build(tmp_path: Path, _api: tuple[str, Api]) -> tuple[SourceSpec, Reader, int]:
        spec = make_spec(fmt, **spec_extra)
        return spec, open_reader(spec, writer(tmp_path / name)), 2 if fmt in ("csv", "xlsx") else 1
    return build


def _csv(encoding: str, declared: str) -> Any:
    return _file("csv", lambda p: write_csv(p, encoding), "extract.csv", encoding=declared)


def _sqlite(tmp_path: Path, _api: tuple[str, Api]) -> tuple[SourceSpec, Reader, int]:
    db = write_sqlite(tmp_path / "care.db")
    spec = make_spec("sql", sql={"url": f"sqlite:///{db}", "query": SQL_QUERY})
    return spec, open_reader(spec), 1


def _http(tmp_path: Path, api: tuple[str, Api]) -> tuple[SourceSpec, Reader, int]:
    base, _ = api
    spec = make_spec("http", http={"url": f"{base}/page", "paging": {"size": 2}})
    return spec, open_reader(spec), 1


CASES = {
    "csv-utf8": _csv("utf-8", "utf-8"),
    "csv-utf8-bom": _csv("utf-8-sig", "utf-8-sig"),
    "csv-utf8-bom-auto": _csv("utf-8-sig", "auto"),
    "csv-gbk": _csv("gbk", "gbk"),
    "csv-gbk-auto": _csv("gbk", "auto"),
    "csv-gb18030": _csv("gb18030", "gb18030"),
    "xlsx": _file("xlsx", write_xlsx, "extract.xlsx", sheet="服务明细"),
    "json": _file("json", lambda p: write_json(p, wrap="records"), "extract.json",
                  records_path="records"),
    "jsonl": _file("jsonl", write_jsonl, "extract.jsonl"),
    "parquet": _file("parquet", write_parquet, "extract.parquet"),
    "sqlite": _sqlite,
    "http": _http,
}


@pytest.mark.parametrize("case", list(CASES))
def test_every_format_maps_to_the_same_frame(case: str, tmp_path: Path,
                                             api: tuple[str, Api]) -> None:
    spec, reader, first_row = CASES[case](tmp_path, api)
    assert [h.lstrip("\ufeff") for h in reader.headers()] == HEADERS
    mapped = read_all(reader, spec)
    pd.testing.assert_frame_equal(mapped.frame, expected_frame(first_row))
    # The one code the YAML does not know (形式 = 实物 on the third row) is reported there.
    assert mapped.issues.to_dict("records") == [
        {"source_row": first_row + 2, "column": "kind", "rule": "code:unmapped"}]
    assert mapped.rows_read == 3

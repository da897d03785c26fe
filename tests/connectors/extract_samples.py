"""One small civil-affairs extract (Chinese headers), writers for every format we read, and a
real local HTTP API serving it."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import sqlite3
import threading
import zipfile
from collections.abc import Callable, Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from connectors.base import MappedChunk, Reader
from connectors.mapping import check_headers, map_chunk
from connectors.source import SourceSpec
from schemas.issues import concat_issues
from schemas.registry import get_contract

HEADERS = ["身份证号", "姓名", "服务项目", "形式", "补贴金额", "服务量", "单位", "开始日期",
           "结束日期", "护理等级", "是否独居", "社区编码"]
IDS = ["11010519491231002X", "320102198001011234", "440103196505054321"]
NAMES = ["张三", "李四", "王五"]
# As a department types them: separators, currency sign, full-width digits, padded cells,
# three date formats, and one form code (实物) the source YAML does not know.
TEXT_ROWS = [
    [IDS[0], NAMES[0], "居家养老", "服务", "1,234.50", "12.5", "小时", "2024-01-01", "2024-01-31",
     "3", "是", "110105001001001"],
    [IDS[1], NAMES[1], "助餐", "现金", "￥300", "", "", "2024/02/01", "2024/02/29", "0", "否",
     "１１０１０５００１００１"],
    [IDS[2], f" {NAMES[2]} ", "日间照料", "实物", "0", "20", "天", "20240301", "20240331", "5", "",
     " 110105001002 "],
]
# The same extract as a typed system (database, workbook, API, Parquet) holds it.
TYPED_ROWS: list[list[Any]] = [
    [IDS[0], NAMES[0], "居家养老", "服务", Decimal("1234.50"), 12.5, "小时", dt.date(2024, 1, 1),
     dt.date(2024, 1, 31), 3, "是", "110105001001001"],
    [IDS[1], NAMES[1], "助餐", "现金", Decimal("300"), None, None, dt.date(2024, 2, 1),
     dt.date(2024, 2, 29), 0, "否", "１１０１０５００１００１"],
    [IDS[2], f" {NAMES[2]} ", "日间照料", "实物", Decimal("0"), 20.0, "天", dt.date(2024, 3, 1),
     dt.date(2024, 3, 31), 5, None, " 110105001002 "],
]
SECRETS = [*IDS, *NAMES, "110105194912310021"]  # never in an error message or an issue

COLUMNS: dict[str, Any] = {
    "resident_id": "身份证号",
    "name": "姓名",
    "program": {"from": "服务项目",
                "codes": {"居家养老": "home_care", "日间照料": "day_care", "助餐": "meal_aid"}},
    "kind": {"from": "形式", "codes": {"现金": "cash", "服务": "service"}},
    "amount": {"from": "补贴金额", "unit": "yuan"},
    "quantity": "服务量",
    "unit": {"from": "单位", "codes": {"小时": "hour", "餐": "meal", "天": "day"}},
    "period_start": "开始日期",
    "period_end": "结束日期",
    "care_level": "护理等级",
    "living_alone": "是否独居",
    "grid_code": "社区编码",
    "as_of": {"value": "2024-03-31"},
}


def make_spec(fmt: str = "csv", **extra: Any) -> SourceSpec:
    return SourceSpec.model_validate({"name": "civil_affairs_test", "department": "civil_affairs",
                                      "dataset": "elderly_care", "format": fmt,
                                      "columns": COLUMNS, **extra})


def expected_frame(first_row: int) -> pd.DataFrame:
    """What every format of the extract maps to (rows numbered from `first_row`)."""
    ts = pd.to_datetime
    frame = pd.DataFrame(
        {
            "resident_id": pd.array(IDS, dtype="string"),
            "name": pd.array(NAMES, dtype="string"),
            "program": pd.array(["home_care", "meal_aid", "day_care"], dtype="string"),
            "kind": pd.array(["service", "cash", None], dtype="string"),
            "amount": pd.array([123450, 30000, 0], dtype="Int64"),
            "quantity": pd.array([12.5, None, 20.0], dtype="Float64"),
            "unit": pd.array(["hour", None, "day"], dtype="string"),
            "period_start": ts(["2024-01-01", "2024-02-01", "2024-03-01"]).astype("datetime64[s]"),
            "period_end": ts(["2024-01-31", "2024-02-29", "2024-03-31"]).astype("datetime64[s]"),
            "care_level": pd.array([3, 0, 5], dtype="Int64"),
            "living_alone": pd.array([True, False, None], dtype="boolean"),
            "grid_code": pd.array(["110105001001001", "110105001001", "110105001002"],
                                  dtype="string"),
            "as_of": ts(["2024-03-31"] * 3).astype("datetime64[s]"),
        },
        index=pd.Index(range(first_row, first_row + 3), dtype="int64"),
    )
    return frame


def read_all(reader: Reader, spec: SourceSpec, chunk_rows: int = 2) -> MappedChunk:
    """Headers checked, every chunk mapped, the chunks put together."""
    contract = get_contract(spec.dataset)
    check_headers(spec, contract, reader.headers(), reader.location)
    parts = [map_chunk(spec, contract, raw) for raw in reader.chunks(chunk_rows)]
    return MappedChunk(frame=pd.concat([p.frame for p in parts]),
                       issues=concat_issues(p.issues for p in parts),
                       rows_read=sum(p.rows_read for p in parts))


def assert_no_values(message: str) -> None:
    for secret in SECRETS:
        assert secret not in message


# ---- writers -------------------------------------------------------------------------------

def write_csv(path: Path, encoding: str = "utf-8", rows: list[list[str]] | None = None,
              headers: list[str] | None = None) -> Path:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(headers or HEADERS)
    writer.writerows(rows or TEXT_ROWS)
    path.write_bytes(out.getvalue().encode(encoding))
    return path


def _json_value(v: Any) -> Any:
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, dt.date):
        return v.isoformat()
    return v


def typed_records() -> list[dict[str, Any]]:
    return [{h: _json_value(v) for h, v in zip(HEADERS, row, strict=True)} for row in TYPED_ROWS]


def write_json(path: Path, wrap: str | None = None) -> Path:
    records: Any = typed_records()
    body = {wrap: records} if wrap else records
    path.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    return path


def write_jsonl(path: Path) -> Path:
    lines = [json.dumps(dict(zip(HEADERS, r, strict=True)), ensure_ascii=False) for r in TEXT_ROWS]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_xlsx(path: Path, rows: list[list[Any]] | None = None, headers: list[str] | None = None,
               title: str = "服务明细", exact_ints: bool = True) -> Path:
    """A workbook; openpyxl writes large integers with 15 digits like Excel does for floats,
    so with `exact_ints` the sheet XML gets the full digits a department system writes."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title
    sheet.append(headers or HEADERS)
    for row in rows or TYPED_ROWS:
        sheet.append([float(v) if isinstance(v, Decimal) else v for v in row])
    book.save(path)
    if exact_ints:
        big = [v for row in rows or TYPED_ROWS for v in row
               if isinstance(v, int) and not isinstance(v, bool) and abs(v) >= 10**15]
        if big:
            _patch_sheet(path, {f"{float(v):.15g}".replace("e+", "e+"): str(v) for v in big})
    return path


def _patch_sheet(path: Path, replace: dict[str, str]) -> None:
    with zipfile.ZipFile(path) as zin:
        items = {name: zin.read(name) for name in zin.namelist()}
    xml = items["xl/worksheets/sheet1.xml"].decode()
    for old, new in replace.items():
        xml = re.sub(rf"<v>{re.escape(old)}</v>", f"<v>{new}</v>", xml)
    items["xl/worksheets/sheet1.xml"] = xml.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in items.items():
            zout.writestr(name, data)


def write_parquet(path: Path) -> Path:
    cols = list(zip(*TYPED_ROWS, strict=True))
    types = [pa.string(), pa.string(), pa.string(), pa.string(), pa.decimal128(12, 2),
             pa.float64(), pa.string(), pa.date32(), pa.date32(), pa.int32(), pa.string(),
             pa.string()]
    table = pa.table({h: pa.array(list(c), t) for h, c, t in zip(HEADERS, cols, types,
                                                                  strict=True)})
    pq.write_table(table, path)
    return path


def write_sqlite(path: Path) -> Path:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE care (id_card TEXT, full_name TEXT, item TEXT, form TEXT, "
                "amount REAL, qty REAL, unit TEXT, start_date TEXT, end_date TEXT, "
                "care_level INTEGER, alone TEXT, community TEXT)")
    con.executemany("INSERT INTO care VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    [[float(v) if isinstance(v, Decimal) else
                      v.isoformat() if isinstance(v, dt.date) else v for v in row]
                     for row in TYPED_ROWS])
    con.commit()
    con.close()
    return path


SQL_QUERY = ", ".join(f'{col} AS "{h}"' for col, h in zip(
    ["id_card", "full_name", "item", "form", "amount", "qty", "unit", "start_date", "end_date",
     "care_level", "alone", "community"], HEADERS, strict=True))
SQL_QUERY = f"SELECT {SQL_QUERY} FROM care ORDER BY id_card"


# ---- a real HTTP server on 127.0.0.1 -------------------------------------------------------

class Api:
    """State of the test API: request log, failure plan."""

    def __init__(self) -> None:
        self.records = typed_records()
        self.requests: list[str] = []
        self.fail_next: list[int] = []  # status codes to answer before serving normally
        self.lock = threading.Lock()


def _handler(api: Api) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # keep pytest output clean
            pass

        def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            url = urlparse(self.path)
            q = {k: v[0] for k, v in parse_qs(url.query).items()}
            with api.lock:
                api.requests.append(self.path)
                status = api.fail_next.pop(0) if api.fail_next else None
            if status:
                self._send(status, b'{"error": "try later"}')
                return
            if self.headers.get("Authorization") not in (None, "Bearer t0ken"):
                self._send(401, b"{}")
                return
            recs = api.records
            body: Any
            if url.path == "/page":
                size, page = int(q["page_size"]), int(q["page"])
                body = {"data": recs[(page - 1) * size: page * size]}
            elif url.path == "/offset":
                start, size = int(q["offset"]), int(q["limit"])
                body = {"result": {"rows": recs[start:start + size]}}
            elif url.path == "/cursor":
                start = int(q.get("after", 0))
                nxt = start + 2 if start + 2 < len(recs) else None
                body = {"items": recs[start:start + 2], "next": nxt}
            elif url.path == "/all":
                body = recs
            elif url.path == "/endless":
                body = {"data": recs[:1]}
            elif url.path == "/html":
                self._send(200, b"<html>maintenance</html>", "text/html")
                return
            elif url.path == "/secret":
                self._send(403, b"{}")
                return
            else:
                self._send(404, b"{}")
                return
            self._send(200, json.dumps(body, ensure_ascii=False).encode())

    return Handler


@pytest.fixture(scope="module")
def api_server() -> Iterator[tuple[str, Api]]:
    api = Api()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", api
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def api(api_server: tuple[str, Api]) -> tuple[str, Api]:
    base, state = api_server
    state.requests.clear()
    state.fail_next.clear()
    return base, state


WriterFn = Callable[[Path], Path]

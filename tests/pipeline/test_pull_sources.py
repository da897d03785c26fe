"""The hub pulls from a department's database and HTTP API, not only from files.

The employment golden extract is put behind a real SQLite file and a real local HTTP server;
pulling it must load the same rows as the file, and pulling unchanged data again adds nothing.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import yaml

from hub.pipeline.worker import PipelineWorker
from hub.settings import HubSettings

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden" / "employment" / "input.jsonl"
FILE_SOURCE = ROOT / "connectors" / "sources" / "employment.yaml"


def _records() -> list[dict[str, Any]]:
    return [json.loads(line) for line in GOLDEN.read_text(encoding="utf-8").splitlines()]


def _source(tmp_path: Path, name: str, **overrides: Any) -> Path:
    spec = yaml.safe_load(FILE_SOURCE.read_text(encoding="utf-8"))
    spec.update(name=name, **overrides)
    spec.pop("encoding", None)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Path:
    records = _records()
    columns = list(records[0])
    path = tmp_path / "hrss.sqlite"
    con = sqlite3.connect(path)
    con.execute(f"CREATE TABLE employment_export ({', '.join(c + ' TEXT' for c in columns)})")
    con.executemany(f"INSERT INTO employment_export VALUES ({', '.join('?' for _ in columns)})",
                    [[r[c] for c in columns] for r in records])
    con.commit()
    con.close()
    return path


@pytest.fixture
def api_url() -> Iterator[str]:
    records = _records()

    class Pages(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = parse_qs(urlparse(self.path).query)
            page, size = int(query["page"][0]), int(query["page_size"][0])
            body = json.dumps({"data": records[(page - 1) * size: page * size]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Pages)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/employment"
    server.shutdown()
    server.server_close()


def _loaded_rows(worker: PipelineWorker, batch_id: str) -> set[tuple[Any, ...]]:
    assert worker.warehouse is not None
    return set(worker.warehouse.con.execute(
        "SELECT * EXCLUDE (batch_id) FROM curated.employment WHERE batch_id = ?",
        [batch_id]).fetchall())


def _pull_twice(settings: HubSettings, source: Path) -> None:
    with PipelineWorker(settings) as worker:
        from_file = worker.ingest(FILE_SOURCE, GOLDEN)
        pulled = worker.ingest(source, None)
        for result in (from_file, pulled):
            assert result.outcome == "loaded", result.reason
            assert result.rows_read == len(_records())
        assert _loaded_rows(worker, pulled.batch_id) == _loaded_rows(worker, from_file.batch_id)
        again = worker.ingest(source, None)
        assert again.outcome == "already_ingested"
        assert again.batch_id == pulled.batch_id


def test_pull_from_a_database_loads_the_same_rows_as_the_file(
        settings: HubSettings, tmp_path: Path, sqlite_db: Path) -> None:
    _pull_twice(settings, _source(tmp_path, "hr_employment_db", format="sql", sql={
        "url": f"sqlite:///{sqlite_db}",
        "query": "SELECT * FROM employment_export ORDER BY rowid"}))


def test_pull_from_an_api_loads_the_same_rows_as_the_file(
        settings: HubSettings, tmp_path: Path, api_url: str) -> None:
    _pull_twice(settings, _source(tmp_path, "hr_employment_api", format="http", http={
        "url": api_url, "records_path": "data",
        "paging": {"style": "page", "page_param": "page", "size_param": "page_size",
                   "size": 20}}))


def test_same_content_through_another_channel_is_not_loaded_twice(
        settings: HubSettings, tmp_path: Path, sqlite_db: Path, api_url: str) -> None:
    db = _source(tmp_path, "hr_employment_db", format="sql", sql={
        "url": f"sqlite:///{sqlite_db}", "query": "SELECT * FROM employment_export"})
    api = _source(tmp_path, "hr_employment_api", format="http", http={
        "url": api_url, "records_path": "data", "paging": {"size": 25}})
    with PipelineWorker(settings) as worker:
        first = worker.ingest(db, None)
        second = worker.ingest(api, None)
    assert first.outcome == "loaded"
    assert second.outcome == "already_ingested"
    assert second.batch_id == first.batch_id

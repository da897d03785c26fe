"""SQL sources against a real SQLite database file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from extract_samples import HEADERS, SQL_QUERY, make_spec, write_sqlite

from connectors import SourceInvalid, SourceUnavailable, open_reader


def test_reads_in_chunks_numbering_records(tmp_path: Path) -> None:
    db = write_sqlite(tmp_path / "care.db")
    reader = open_reader(make_spec("sql", sql={"url": f"sqlite:///{db}", "query": SQL_QUERY}))
    assert reader.headers() == HEADERS
    chunks = list(reader.chunks(2))
    assert [c.frame.index.tolist() for c in chunks] == [[1, 2], [3]]
    first = chunks[0].frame.iloc[0]
    assert first["补贴金额"] == "1234.5"  # REAL column, as text without float noise
    assert first["护理等级"] == "3"
    assert all(str(dtype) == "string" for dtype in chunks[0].frame.dtypes)


def test_url_variables_expand_and_the_password_stays_hidden(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = write_sqlite(tmp_path / "care.db")
    monkeypatch.setenv("CARE_DB_DIR", str(tmp_path))
    reader = open_reader(make_spec("sql", sql={"url": "sqlite:///${CARE_DB_DIR}/care.db",
                                               "query": SQL_QUERY}))
    assert reader.location == f"sqlite:///{db}"
    assert sum(c.rows_read for c in reader.chunks(10)) == 3

    monkeypatch.setenv("DB_PASSWORD", "s3cr3t-pw")
    remote = make_spec("sql", sql={"url": "postgresql://hub:${DB_PASSWORD}@127.0.0.1:1/his",
                                   "query": "SELECT 1"})
    reader = open_reader(remote)
    assert "s3cr3t-pw" not in reader.location
    assert reader.location == "postgresql://hub:***@127.0.0.1:1/his"


def test_unset_variable_is_named_not_expanded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_SUCH_DB_PASSWORD", raising=False)
    with pytest.raises(SourceInvalid, match="NO_SUCH_DB_PASSWORD"):
        open_reader(make_spec("sql", sql={"url": "sqlite:///${NO_SUCH_DB_PASSWORD}.db",
                                          "query": "SELECT 1"}))


@pytest.mark.parametrize("query", [
    "DELETE FROM care",
    "SELECT * FROM care; DROP TABLE care",
    "WITH gone AS (DELETE FROM care RETURNING *) SELECT * FROM gone",
    "SELECT * FROM care FOR UPDATE",
    "PRAGMA table_info(care)",
])
def test_only_a_select_is_run(tmp_path: Path, query: str) -> None:
    db = write_sqlite(tmp_path / "care.db")
    with pytest.raises(SourceInvalid, match=r"sql\.query"):
        open_reader(make_spec("sql", sql={"url": f"sqlite:///{db}", "query": query}))
    assert sqlite3.connect(db).execute("SELECT count(*) FROM care").fetchone() == (3,)


def test_select_with_comments_quotes_and_trailing_semicolon(tmp_path: Path) -> None:
    db = write_sqlite(tmp_path / "care.db")
    query = "-- monthly export\nSELECT id_card AS \"update\", 'delete; me' AS note FROM care;"
    reader = open_reader(make_spec("sql", sql={"url": f"sqlite:///{db}", "query": query}))
    assert reader.headers() == ["update", "note"]
    assert next(iter(reader.chunks(10))).frame["note"].tolist() == ["delete; me"] * 3


def test_missing_database_is_unavailable_and_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "care.db"
    reader = open_reader(make_spec("sql", sql={"url": f"sqlite:///{missing}",
                                               "query": SQL_QUERY}))
    with pytest.raises(SourceUnavailable, match="cannot connect"):
        reader.headers()
    assert not missing.exists()


def test_a_database_without_its_driver_says_so() -> None:
    reader = open_reader(make_spec("sql", sql={"url": "mssql+pymssql://hub@127.0.0.1:1/his",
                                               "query": "SELECT 1"}))
    with pytest.raises(SourceInvalid, match="driver"):
        reader.headers()


def test_query_error_names_the_problem_without_values(tmp_path: Path) -> None:
    db = write_sqlite(tmp_path / "care.db")
    reader = open_reader(make_spec("sql", sql={"url": f"sqlite:///{db}",
                                               "query": "SELECT * FROM no_such_table"}))
    with pytest.raises(SourceUnavailable, match="no_such_table"):
        list(reader.chunks(10))


def test_empty_result_has_columns_and_no_rows(tmp_path: Path) -> None:
    db = write_sqlite(tmp_path / "care.db")
    reader = open_reader(make_spec("sql", sql={"url": f"sqlite:///{db}",
                                               "query": SQL_QUERY.replace("ORDER BY",
                                                                          "WHERE 1 = 0 ORDER BY")}))
    chunks = list(reader.chunks(10))
    assert len(chunks) == 1
    assert chunks[0].rows_read == 0
    assert list(chunks[0].frame.columns) == HEADERS

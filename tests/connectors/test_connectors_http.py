"""HTTP sources against a real server on 127.0.0.1 (see extract_samples.Api)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from extract_samples import HEADERS, IDS, Api, assert_no_values, make_spec, typed_records

from connectors import ExtractUnreadable, SourceInvalid, SourceUnavailable, open_reader
from connectors.http import HttpReader


def _ids(reader: Any, chunk_rows: int = 2) -> tuple[list[int], list[str]]:
    rows: list[int] = []
    ids: list[str] = []
    for chunk in reader.chunks(chunk_rows):
        rows += chunk.frame.index.tolist()
        ids += chunk.frame["身份证号"].tolist()
    return rows, ids


def _http(url: str, **http: Any) -> Any:
    return make_spec("http", http={"url": url, **http})


@pytest.mark.parametrize(("path", "options"), [
    ("/page", {"paging": {"size": 2}}),
    ("/offset", {"records_path": "result.rows",
                 "paging": {"style": "offset", "size": 2, "size_param": "limit"}}),
    ("/cursor", {"records_path": "items",
                 "paging": {"style": "cursor", "cursor_param": "after", "cursor_path": "next"}}),
    ("/all", {"records_path": "", "paging": {"style": "none"}}),
])
def test_paging_styles_read_every_record_once(api: tuple[str, Api], path: str,
                                              options: dict[str, Any]) -> None:
    base, _ = api
    reader = open_reader(_http(base + path, **options))
    assert reader.headers() == HEADERS
    rows, ids = _ids(reader)
    assert rows == [1, 2, 3]
    assert ids == IDS


def test_page_params_and_empty_page_end(api: tuple[str, Api]) -> None:
    base, state = api
    list(open_reader(_http(base + "/page?district=0105", paging={"size": 2})).chunks(10))
    assert state.requests == ["/page?district=0105&page=1&page_size=2",
                              "/page?district=0105&page=2&page_size=2",
                              "/page?district=0105&page=3&page_size=2"]


def test_a_503_is_retried(api: tuple[str, Api]) -> None:
    base, state = api
    state.fail_next = [503]
    reader = HttpReader(_http(base + "/page", paging={"size": 2}), backoff_seconds=0.01)
    assert _ids(reader)[0] == [1, 2, 3]
    assert state.requests[:2] == ["/page?page=1&page_size=2"] * 2


def test_retries_are_bounded(api: tuple[str, Api]) -> None:
    base, state = api
    state.fail_next = [502] * 10
    reader = HttpReader(_http(base + "/page", retries=2), backoff_seconds=0.01)
    with pytest.raises(SourceUnavailable, match="502 after 3 attempts"):
        list(reader.chunks(10))
    assert len(state.requests) == 3


def test_a_4xx_fails_at_once_naming_url_and_status(api: tuple[str, Api]) -> None:
    base, state = api
    with pytest.raises(SourceUnavailable) as err:
        list(open_reader(_http(base + "/secret?token=abc")).chunks(10))
    assert "403" in str(err.value)
    assert f"{base}/secret" in str(err.value)
    assert "token=abc" not in str(err.value)
    assert len(state.requests) == 1


def test_connection_refused_is_unavailable() -> None:
    reader = HttpReader(_http("http://127.0.0.1:9/nothing", retries=1), backoff_seconds=0.01)
    with pytest.raises(SourceUnavailable, match="no answer"):
        reader.headers()


def test_non_json_body(api: tuple[str, Api]) -> None:
    base, _ = api
    with pytest.raises(ExtractUnreadable, match="not JSON"):
        open_reader(_http(base + "/html")).headers()


def test_max_pages_stops_an_endless_server(api: tuple[str, Api]) -> None:
    base, state = api
    with pytest.raises(SourceUnavailable, match="max_pages"):
        list(open_reader(_http(base + "/endless", paging={"size": 1, "max_pages": 5}))
             .chunks(10))
    assert len(state.requests) == 6


def test_header_variables(api: tuple[str, Api], monkeypatch: pytest.MonkeyPatch) -> None:
    base, _ = api
    spec = _http(base + "/page", headers={"Authorization": "Bearer ${HUB_TEST_TOKEN}"})
    monkeypatch.setenv("HUB_TEST_TOKEN", "t0ken")
    assert _ids(open_reader(spec))[0] == [1, 2, 3]
    monkeypatch.setenv("HUB_TEST_TOKEN", "wrong-token-value")
    with pytest.raises(SourceUnavailable, match="401") as err:
        open_reader(spec).headers()
    assert "wrong-token-value" not in str(err.value)
    monkeypatch.delenv("HUB_TEST_TOKEN")
    with pytest.raises(SourceInvalid, match="HUB_TEST_TOKEN") as err2:
        open_reader(spec)
    assert "wrong-token-value" not in str(err2.value)


def test_mock_transport_and_malformed_records() -> None:
    pages = {1: [{"身份证号": IDS[0]}, "not a record", {"身份证号": IDS[1]}], 2: []}

    def answer(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        return httpx.Response(200, content=json.dumps({"data": pages[page]}).encode())

    reader = open_reader(_http("https://api.example.test/v1/care"),
                         transport=httpx.MockTransport(answer))
    chunks = list(reader.chunks(10))
    assert chunks[0].frame.index.tolist() == [1, 3]
    assert chunks[0].malformed["source_row"].tolist() == [2]
    assert_no_values(chunks[0].malformed.to_csv())


def test_no_records_is_no_error(api: tuple[str, Api]) -> None:
    base, state = api
    state.records = []
    try:
        reader = open_reader(_http(base + "/page"))
        assert reader.headers() == []
        chunks = list(reader.chunks(10))
        assert sum(c.rows_read for c in chunks) == 0
    finally:
        state.records = typed_records()

"""A department HTTP API that answers JSON pages of records.

Paging styles (connectors.source.HttpPaging): `page` (page number + size), `offset`
(offset + size), `cursor` (the next cursor is in each body) and `none` (one request).
An empty page ends paging; `max_pages` stops a server that never ends. Connection errors and
5xx answers are retried with exponential backoff; a 4xx is the caller's problem and fails at
once. Header values may reference `${ENV_VAR}` so tokens stay out of the YAML. Record row
numbers are 1-based ordinals across all pages.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterator
from typing import Any

import httpx

from connectors.base import RawChunk
from connectors.cells import check_header_names
from connectors.env import expand_env
from connectors.errors import ExtractUnreadable, SourceInvalid, SourceUnavailable
from connectors.jsonfiles import dig, record_keys, records_chunk
from connectors.source import SourceSpec

BACKOFF_SECONDS = 0.2  # first wait; doubles per retry
BACKOFF_MAX_SECONDS = 10.0


def public_url(url: str) -> str:
    """The URL as it may appear in messages: no user:password, no query (tokens live there)."""
    u = httpx.URL(url)
    return str(u.copy_with(userinfo=b"", query=None, fragment=None))


class HttpReader:
    def __init__(self, spec: SourceSpec, transport: httpx.BaseTransport | None = None,
                 backoff_seconds: float = BACKOFF_SECONDS) -> None:
        assert spec.http is not None  # guaranteed by SourceSpec's validator
        self._opts = spec.http
        source = f"source '{spec.name}'"
        try:
            self._url = httpx.URL(spec.http.url)
        except (httpx.InvalidURL, TypeError) as exc:
            raise SourceInvalid(source, "`http.url` is not a valid URL") from exc
        if self._url.scheme not in ("http", "https"):
            raise SourceInvalid(source, "`http.url` must be an http:// or https:// URL")
        self.location = public_url(spec.http.url)
        self._headers_out = {k: expand_env(v, source, f"http.headers.{k}")
                             for k, v in spec.http.headers.items()}
        self._transport = transport
        self._backoff = backoff_seconds
        self._first: list[Any] | None = None  # the first page, kept after headers()

    def _client(self) -> httpx.Client:
        return httpx.Client(transport=self._transport, headers=self._headers_out,
                            timeout=self._opts.timeout_seconds, follow_redirects=True)

    def _get(self, client: httpx.Client, params: dict[str, Any], page: int) -> Any:
        url = self._url.copy_merge_params(params)
        problem = ""
        for attempt in range(self._opts.retries + 1):
            if attempt:
                time.sleep(min(self._backoff * 2 ** (attempt - 1), BACKOFF_MAX_SECONDS))
            try:
                resp = client.get(url)
            except httpx.TransportError as exc:
                problem = f"no answer ({exc.__class__.__name__})"
                continue
            if resp.status_code >= 500:
                problem = f"HTTP {resp.status_code}"
                continue
            if resp.status_code >= 400:
                hint = " (check the token in `http.headers`)" if resp.status_code in (401, 403) \
                    else ""
                raise SourceUnavailable(self.location,
                                        f"page {page} answered HTTP {resp.status_code}{hint}")
            try:
                return resp.json()
            except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
                kind = resp.headers.get("content-type", "no content type")
                raise ExtractUnreadable(self.location, f"page {page} is not JSON ({kind})",
                                        "check `http.url`; the API must answer JSON") from exc
        raise SourceUnavailable(
            self.location, f"page {page}: {problem} after {self._opts.retries + 1} attempts")

    def _records(self, body: Any, page: int) -> list[Any]:
        records = dig(body, self._opts.records_path)
        if records is None and isinstance(body, dict) and self._opts.paging.style != "none":
            return []  # some APIs drop the key on the page after the last
        if not isinstance(records, list):
            raise ExtractUnreadable(self.location,
                                    f"page {page} has no list of records at "
                                    f"'{self._opts.records_path}'",
                                    "set `http.records_path` in the source YAML")
        return records

    def _pages(self) -> Generator[list[Any], None, None]:
        paging = self._opts.paging
        with self._client() as client:
            page, offset, cursor = paging.first_page, 0, None
            for fetched in range(paging.max_pages + 1):
                params: dict[str, Any] = {}
                if paging.style == "page":
                    params = {paging.page_param: page, paging.size_param: paging.size}
                elif paging.style == "offset":
                    params = {paging.offset_param: offset, paging.size_param: paging.size}
                elif paging.style == "cursor" and cursor is not None:
                    params = {paging.cursor_param: cursor}
                body = self._get(client, params, fetched + 1)
                records = self._records(body, fetched + 1)
                if not records:
                    return
                if fetched == paging.max_pages:
                    raise SourceUnavailable(
                        self.location, f"still more records after {paging.max_pages} pages; "
                        "raise `http.paging.max_pages` or check the paging settings")
                yield records
                if paging.style == "none":
                    return
                page, offset = page + 1, offset + len(records)
                if paging.style == "cursor":
                    cursor = dig(body, paging.cursor_path)
                    if cursor in (None, ""):
                        return

    def headers(self) -> list[str]:
        """Keys of the first page's records (no records: no headers, nothing to check)."""
        if self._first is None:
            pages = self._pages()
            try:
                self._first = next(pages, [])
            finally:
                pages.close()  # closes the HTTP client
        headers = list(record_keys(self._first))
        check_header_names(self.location, headers)
        return headers

    def chunks(self, chunk_rows: int) -> Iterator[RawChunk]:
        keys: dict[str, None] = {}
        records: list[Any] = []
        ordinal = 0
        emitted = False
        for page in self._pages():
            records.extend(page)
            while len(records) >= chunk_rows:
                part, records = records[:chunk_rows], records[chunk_rows:]
                yield records_chunk(part, list(range(ordinal + 1, ordinal + len(part) + 1)), keys)
                ordinal += len(part)
                emitted = True
        if records or not emitted:
            yield records_chunk(records, list(range(ordinal + 1, ordinal + len(records) + 1)),
                                keys)

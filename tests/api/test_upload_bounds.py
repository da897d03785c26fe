"""Uploads over HUB_MAX_EXTRACT_BYTES are refused early (413), whether the size is declared
(Content-Length) or only streamed, and the API process does not grow with the upload: the
file part goes to disk in chunks and stops at the cap. A real uvicorn on 127.0.0.1 serves
the app in this process, so psutil sees the server's memory."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
import uvicorn

from catalog.db import create_state_engine
from hub.api.app import create_app
from hub.keys.config import load_security_keys
from hub.security.tokens import TokenStore
from hub.settings import HubSettings

CAP = 8 * 1024**2
STREAMED = 160 * 1024**2
BOUNDARY = "hubboundary7731"


@pytest.fixture
def served(settings: HubSettings) -> Iterator[tuple[str, str, HubSettings]]:
    small = settings.model_copy(update={"max_extract_bytes": CAP})
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(create_app(small), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive(), "the API did not start"
        assert time.monotonic() < deadline, "the API did not start in time"
        time.sleep(0.05)
    engine = create_state_engine(small.resolved_state_url)
    store = TokenStore(engine, load_security_keys(small).token_pepper)
    _, token = store.create("department", ["elderly_care"], "bounds-test")
    engine.dispose()
    yield f"http://127.0.0.1:{port}", token, small
    server.should_exit = True
    thread.join(30)


def _multipart(sent: list[int]) -> Iterator[bytes]:
    yield (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; "
           f"filename=\"big.csv\"\r\nContent-Type: text/csv\r\n\r\n").encode()
    block = b"110105194912310021,zhang,x\n" * (1024 * 1024 // 27)
    while sent[0] < STREAMED:
        sent[0] += len(block)
        yield block
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


def _inbox_files(settings: HubSettings) -> list[Path]:
    return [p for p in settings.inbox_dir.glob("*") if p.is_file()]


def test_streamed_upload_over_the_cap_is_413_without_growth(
        served: tuple[str, str, HubSettings]) -> None:
    url, token, settings = served
    me = psutil.Process()
    before = me.memory_info().rss
    sent = [0]
    headers = {"Authorization": f"Bearer {token}",
               "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    with httpx.Client(base_url=url, timeout=60) as client:
        try:
            response = client.post("/v1/datasets/elderly_care/uploads", headers=headers,
                                   content=_multipart(sent))
            status: int | None = response.status_code
            assert response.headers["content-type"].startswith("application/problem+json")
        except (httpx.WriteError, httpx.RemoteProtocolError):
            status = None  # the server answered and closed while the client still wrote
    grown = me.memory_info().rss - before
    assert status in (413, None)
    assert sent[0] < STREAMED  # refused early: the rest was never sent
    assert grown < 48 * 1024**2, grown
    assert _inbox_files(settings) == []  # the partial file is gone


def test_declared_size_over_the_cap_is_413_before_reading(
        served: tuple[str, str, HubSettings]) -> None:
    url, token, settings = served
    sent = [0]
    headers = {"Authorization": f"Bearer {token}", "Content-Length": str(STREAMED),
               "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    with httpx.Client(base_url=url, timeout=60) as client:
        try:
            response = client.post("/v1/datasets/elderly_care/uploads", headers=headers,
                                   content=_multipart(sent))
            status: int | None = response.status_code
            detail = response.json()["detail"]
            assert "HUB_MAX_EXTRACT_BYTES" in detail
        except (httpx.WriteError, httpx.RemoteProtocolError):
            status = None
    assert status in (413, None)
    assert sent[0] < 2 * CAP
    assert _inbox_files(settings) == []


def test_default_limit_fits_a_monthly_extract() -> None:
    assert HubSettings().max_extract_bytes == 512 * 1024**2

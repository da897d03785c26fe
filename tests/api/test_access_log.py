"""The access log of `hub serve` (hub.api.access_log): the lines of one turn of the event
loop are written together, before the loop turns again, in the text `logging` gives; outside
a loop, or under another logging set-up, each line is written at once."""

from __future__ import annotations

import asyncio
import io
import logging
import logging.config
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from hub.api.access_log import ACCESS_LOGGER, AccessLineHandler, access_line
from hub.serve import log_config


def in_own_thread(call: Callable[[], object]) -> None:
    """`call` on a thread of its own: the test's thread may hold a running loop already
    (Playwright's sync API keeps one while the browser tests' browser is open)."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(call).result()


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """`hub serve`'s logging set-up, its access lines going to a string."""
    logger = logging.getLogger(ACCESS_LOGGER)
    saved = (logger.handlers[:], logger.level, logger.propagate)
    config = log_config()
    out = io.StringIO()
    handler = AccessLineHandler(out)
    handler.setFormatter(logging.Formatter(config["formatters"]["hub"]["format"]))
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield out
    finally:
        logger.handlers[:], logger.level, logger.propagate = saved


def test_serve_gives_the_access_logger_its_own_handler() -> None:
    config = log_config()
    handler = config["loggers"][ACCESS_LOGGER]["handlers"][0]
    assert config["handlers"][handler]["class"] == "hub.api.access_log.AccessLineHandler"
    assert config["loggers"][ACCESS_LOGGER]["propagate"] is False


def test_a_turns_lines_are_written_before_the_loop_turns_again(stream: io.StringIO) -> None:
    seen: list[str] = []

    async def requests() -> None:
        access_line("POST", "/v1/residents/search", 200, 1.25, "a" * 16)
        access_line("GET", "/v1/residents/{resident_key}", 404, 0.5, "b" * 16)
        seen.append(stream.getvalue())  # the turn is not over
        await asyncio.sleep(0)
        seen.append(stream.getvalue())

    in_own_thread(lambda: asyncio.run(requests()))
    assert seen == ["", "INFO:     POST /v1/residents/search 200 1.2ms id=" + "a" * 16 + "\n"
                    "INFO:     GET /v1/residents/{resident_key} 404 0.5ms id=" + "b" * 16
                    + "\n"]


def test_outside_a_loop_a_line_is_written_at_once(stream: io.StringIO) -> None:
    in_own_thread(lambda: access_line("GET", "/healthz", 200, 0.04, "c" * 16))
    assert stream.getvalue() == "INFO:     GET /healthz 200 0.0ms id=" + "c" * 16 + "\n"


def test_records_of_the_logger_itself_read_the_same(stream: io.StringIO) -> None:
    async def both() -> None:
        access_line("GET", "/healthz", 503, 2.0, "d" * 16)
        logging.getLogger(ACCESS_LOGGER).info("%s %s %s %.1fms id=%s", "GET", "/healthz", 503,
                                              2.0, "d" * 16)

    in_own_thread(lambda: asyncio.run(both()))
    first, second = stream.getvalue().splitlines()
    assert first == second == "INFO:     GET /healthz 503 2.0ms id=" + "d" * 16


def test_another_logging_set_up_gets_the_line_through_logging(
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger=ACCESS_LOGGER):
        access_line("GET", "/healthz", 200, 1.0, "e" * 16)
    assert [r.getMessage() for r in caplog.records if r.name == ACCESS_LOGGER] == [
        "GET /healthz 200 1.0ms id=" + "e" * 16]

"""The access log: one line per request (method, route template, status, time, request id),
written once per turn of the event loop.

A loaded API worker answers many requests in one turn of its loop. Through `logging`, each
line cost a LogRecord, a format and a write with a flush of the stream, a visible share of a
search's CPU (docs/profiles.md). `hub serve` gives the `hub.access` logger an
`AccessLineHandler`: `access_line` hands it the finished text, and the handler writes the
lines of one turn with one write, at the end of that turn (never later: a line is on its
stream before the loop waits for the next request). Anywhere else (tests, another logging
set-up) the line goes through `logging` as before, with the same text.

The line names the route template (`/v1/residents/{resident_key}`), never the raw path or
query string, so that whatever a client puts in a URL never reaches a log line.
"""

from __future__ import annotations

import asyncio
import logging
from typing import IO, Any

ACCESS_LOGGER = "hub.access"
# The format of `hub serve`'s own lines (hub.serve.log_config); the handler writes exactly
# this for an access line, so both paths give the same text.
LINE_FORMAT = "%(levelname)s:     %(message)s"
_PREFIX = "INFO:     "
_MAX_WAITING = 256  # lines kept back at most, whatever the loop does

access_log = logging.getLogger(ACCESS_LOGGER)


class AccessLineHandler(logging.StreamHandler[IO[str]]):
    """A stream handler that writes what it is given at the end of the loop's turn (or at
    once outside a running loop, or when `_MAX_WAITING` lines wait)."""

    def __init__(self, stream: IO[str] | Any = None) -> None:
        super().__init__(stream)
        self.setFormatter(logging.Formatter(LINE_FORMAT))
        self._waiting: list[str] = []
        self._due = False  # a write is scheduled on the running loop

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._keep(self.format(record) + self.terminator)
        except Exception:
            self.handleError(record)

    def info_line(self, message: str) -> None:
        """`message` as an INFO record of this handler's format would read; the caller
        checked `direct`."""
        with self.lock:  # type: ignore[union-attr]
            self._keep(_PREFIX + message + self.terminator)

    @property
    def direct(self) -> bool:
        """Whether `info_line` gives the text `emit` would (the format is the hub's)."""
        formatter = self.formatter
        return formatter is not None and getattr(formatter, "_fmt", None) == LINE_FORMAT \
            and type(formatter) is logging.Formatter

    def _keep(self, text: str) -> None:
        self._waiting.append(text)
        if len(self._waiting) >= _MAX_WAITING:
            self._write()
            return
        if self._due:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop in this thread: now
            self._write()
            return
        self._due = True
        loop.call_soon(self.flush)

    def _write(self) -> None:
        waiting, self._waiting = self._waiting, []
        if waiting:
            self.stream.write("".join(waiting))
        self.stream.flush()

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            self._due = False
            if self.stream is not None:
                self._write()

    def close(self) -> None:
        self.flush()
        super().close()


def access_line(method: str, template: str, status: int, millis: float,
                request_id: str) -> None:
    """Log one request's access line."""
    handlers = access_log.handlers
    if len(handlers) == 1 and type(handler := handlers[0]) is AccessLineHandler \
            and handler.direct and not access_log.filters and not handler.filters \
            and access_log.isEnabledFor(logging.INFO) and handler.level <= logging.INFO:
        handler.info_line(f"{method} {template} {status} {millis:.1f}ms id={request_id}")
        return
    access_log.info("%s %s %s %.1fms id=%s", method, template, status, millis, request_id)

"""Running a coroutine to its end from a test, whatever the test's thread already runs.

A test process that has used the browser (Playwright's sync API) keeps an event loop
running in its main thread, where `asyncio.run` refuses to start another: the coroutine
gets a new loop in a thread of its own, as a server's worker would give it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()

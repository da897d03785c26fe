"""The single-writer lock of the warehouse.

DuckDB allows one writing process per file; a second one gets a terse lock error. We take an
advisory `flock` on a lock file beside the warehouse first, and write who holds it (pid,
command, since) into it, so a second writer is told exactly which process to wait for.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from hub.errors import WarehouseBusy


def _describe_holder(lock_path: Path) -> str:
    try:
        info = json.loads(lock_path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        info = {}
    if not info:
        return "another process (no holder recorded)"
    return f"pid {info.get('pid')} ({info.get('command', '?')}, since {info.get('since', '?')})"


class WriterLock:
    """Held for the lifetime of a pipeline worker; released on exit or process death."""

    def __init__(self, lock_path: Path, warehouse_path: Path) -> None:
        self.lock_path = lock_path
        self.warehouse_path = warehouse_path
        self._fd: int | None = None

    def acquire(self) -> WriterLock:
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o640)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            who = _describe_holder(self.lock_path)
            raise WarehouseBusy(str(self.warehouse_path), who) from None
        holder = {
            "pid": os.getpid(),
            "command": " ".join(os.path.basename(a) for a in sys.argv[:3]) or "python",
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> WriterLock:
        return self.acquire()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()

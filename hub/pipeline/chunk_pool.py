"""Worker processes that prepare chunks (hub.pipeline.chunks) beside the batch's thread.

Mapping and validation hold Python's interpreter lock, so threads cannot spread them over
cores; processes can. The processes come from a forkserver: the pipeline worker holds a
DuckDB connection and threads, which a forked child must never inherit, and the server,
started once with the pipeline's modules imported, forks each worker from a clean process.
Each worker opens its own Deidentifier from the keyring it was given; only the chunk goes
in and only its counts, staged file names and the rows to seal come back (the staged rows
themselves go to the batch's staging folder). The DuckDB warehouse stays written by the
pipeline worker alone.

A worker that dies (killed, out of memory) breaks the pool: the batch fails with
IngestWorkerLost, and the next batch starts a new pool. A pipeline worker that dies takes
its workers with it (each watches it), so no process holding the keys is left behind. An
error raised while preparing a chunk comes back as the same error, whatever its constructor
takes.
"""

from __future__ import annotations

import multiprocessing
import os
import select
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from connectors.base import RawChunk
from desensitize.deidentify import Deidentifier
from desensitize.keys import KeyRing
from hub.errors import IngestWorkerLost
from hub.pipeline.chunks import ChunkJob, PreparedChunk, prepare_chunk

_deidentifier: Deidentifier | None = None  # the worker process's own


def _start(keyring: KeyRing, parent: int) -> None:
    global _deidentifier
    _deidentifier = Deidentifier(keyring)
    threading.Thread(target=_end_with, args=(parent,), name="hub-ingest-parent",
                     daemon=True).start()


def _end_with(parent: int) -> None:
    """End this worker once the pipeline worker that started it is gone (killed, say): it
    holds the keys and nothing would ever send it work again."""
    try:
        handle = os.pidfd_open(parent)
    except OSError:  # already gone
        os._exit(1)
    select.select([handle], [], [])  # readable once the process has ended
    os._exit(1)


def _ready() -> bool:
    return _deidentifier is not None


def _prepare(job: ChunkJob, raw: RawChunk, number: int) -> tuple[Any, ...]:
    assert _deidentifier is not None
    try:
        return ("ok", prepare_chunk(job, raw, number, _deidentifier))
    except Exception as exc:  # rebuilt in the batch's process: see _raised
        return ("error", type(exc), exc.args, dict(vars(exc)))


def _raised(kind: type[Exception], args: tuple[Any, ...], state: dict[str, Any]
            ) -> Exception:
    """The error again without calling its constructor (errors take their own arguments)."""
    error = kind.__new__(kind)
    error.args = args
    vars(error).update(state)
    return error


class ChunkProcesses:
    """`processes` worker processes, each with a Deidentifier of `keyring`."""

    def __init__(self, keyring: KeyRing, processes: int) -> None:
        self.processes = processes
        self._keyring = keyring
        self._pool: ProcessPoolExecutor | None = None
        self._job: ChunkJob | None = None

    def start(self) -> None:
        """Start the processes now, without waiting for them: the worker's first batch then
        does not pay for their start-up."""
        pool = self._open()
        for _ in range(self.processes):
            pool.submit(_ready)

    def _open(self) -> ProcessPoolExecutor:
        if self._pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["hub.pipeline.chunk_pool"])
            self._pool = ProcessPoolExecutor(self.processes, mp_context=context,
                                             initializer=_start,
                                             initargs=(self._keyring, os.getpid()))
        return self._pool

    def submit(self, raw: RawChunk, number: int) -> Future[Any]:
        """Start preparing chunk `number` of the batch `bind` gave; `outcome` reads it."""
        assert self._job is not None, "bind the batch first"
        try:
            return self._open().submit(_prepare, self._job, raw, number)
        except BrokenProcessPool:
            return self._lost()

    def bind(self, job: ChunkJob) -> ChunkProcesses:
        """Prepare the chunks of `job`'s batch from now on."""
        self._job = job
        return self

    def outcome(self, future: Future[Any]) -> PreparedChunk:
        """The prepared chunk; raises what preparing it raised, or IngestWorkerLost (and the
        pool is closed, the next batch starts another) if a worker died."""
        try:
            answer = future.result()
        except BrokenProcessPool:
            answer = self._lost().result()
        if answer[0] == "ok":
            return answer[1]
        raise _raised(*answer[1:])

    def _lost(self) -> Future[Any]:
        self.close()
        batch_id = self._job.batch_id if self._job is not None else "?"
        raise IngestWorkerLost(batch_id, self.processes)

    def close(self) -> None:
        if self._pool is not None:
            # A broken pool's workers are gone already; a healthy one's finish their chunk.
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

"""One chunk of an extract, made ready to load: map -> validate -> quarantine -> de-identify
-> staged files.

These steps need nothing but the chunk, the source, the contract and a Deidentifier, so with
HUB_INGEST_WORKERS above one they run in worker processes (hub.pipeline.chunk_pool) while the
batch's own thread reads the next chunks and takes finished ones in. Each chunk writes its
own staged files, named by its number; `prepared_in_order` hands the chunks back in the order
they were read, so the staged rows, their issues and the vault entries are the same, in the
same order, with any number of workers.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from connectors.base import RawChunk
from connectors.mapping import map_chunk
from connectors.source import SourceSpec
from desensitize.deidentify import Deidentifier
from hub.pipeline.load_modes import withdrawn_rows
from hub.pipeline.sealing import id_only_rows
from hub.pipeline.staging import ChunkFiles, write_chunk
from schemas.compile_arrow import to_curated_arrow
from schemas.issues import concat_issues
from schemas.spec import ContractSpec
from schemas.validate import validate_chunk


@dataclass(frozen=True)
class ChunkJob:
    """What preparing one chunk needs besides the chunk and a Deidentifier (picklable)."""

    spec: SourceSpec
    contract: ContractSpec
    today: date
    batch_id: str
    folder: Path  # the batch's staging folder


@dataclass
class PreparedChunk:
    """One chunk's staged files, its counts, and the seconds each step took."""

    files: ChunkFiles
    rows_read: int
    rows_good: int
    rows_bad: int
    rows_withdrawn: int  # source rows that withdraw their key's fact
    seconds: dict[str, float] = field(default_factory=dict)
    # Validated rows whose only faults are in the ID column: sealed for linkage, not lost.
    sealable: pd.DataFrame | None = None


def prepare_chunk(job: ChunkJob, raw: RawChunk, number: int,
                  deidentifier: Deidentifier) -> PreparedChunk:
    spec, contract = job.spec, job.contract
    seconds: dict[str, float] = {}
    t = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal t
        now = time.perf_counter()
        seconds[stage] = seconds.get(stage, 0.0) + now - t
        t = now

    mapped = map_chunk(spec, contract, raw)
    lap("map")
    checked = validate_chunk(contract, mapped.frame, job.today, spec.grid_scheme,
                             upstream=mapped.issues)
    lap("validate")
    errors = concat_issues([mapped.issues, checked.issues])
    bad_rows = pd.Index(errors["source_row"].unique())
    good = checked.frame[~checked.frame.index.isin(bad_rows)]
    warnings = checked.warnings[checked.warnings["source_row"].isin(good.index)]
    lap("quarantine")
    deid = deidentifier.apply(contract, good)
    lap("deidentify")
    curated = to_curated_arrow(contract, deid.curated, job.batch_id, spec.grid_scheme)
    withdrawn = withdrawn_rows(spec, raw, good.index)
    files = write_chunk(job.folder, job.batch_id, contract.name, number, errors=errors,
                        warnings=warnings, curated=curated, withdrawn=withdrawn,
                        vault=deid.vault)
    lap("stage")
    sealable = checked.frame.loc[id_only_rows(contract, errors)]
    return PreparedChunk(files, mapped.rows_read, len(good), len(bad_rows), len(withdrawn),
                         seconds, sealable)


class ChunkWorkers(Protocol):
    """Prepares chunks elsewhere (hub.pipeline.chunk_pool.ChunkProcesses)."""

    processes: int

    def submit(self, raw: RawChunk, number: int) -> Future[Any]: ...

    def outcome(self, future: Future[Any]) -> PreparedChunk: ...


def prepared_in_order(chunks: Iterator[RawChunk],
                      prepare: Callable[[RawChunk, int], PreparedChunk],
                      workers: ChunkWorkers | None = None) -> Iterator[PreparedChunk]:
    """Each chunk prepared, handed back in the order read: here with `prepare`, or by
    `workers`. At most one chunk per worker waits beyond those being worked on (bounded
    memory)."""
    numbered = enumerate(chunks)
    if workers is None:
        for number, raw in numbered:
            yield prepare(raw, number)
        return
    pending: deque[Future[Any]] = deque()
    limit = 2 * workers.processes
    try:
        for number, raw in numbered:
            pending.append(workers.submit(raw, number))
            if len(pending) >= limit:
                yield workers.outcome(pending.popleft())
        while pending:
            yield workers.outcome(pending.popleft())
    finally:  # a failed or abandoned batch: no new work, wait for what runs
        for future in pending:
            future.cancel()
        for future in pending:
            if not future.cancelled():
                future.exception()  # its files go with the batch's folder

"""One chunk of an extract, made ready to stage: map -> validate -> quarantine -> de-identify.

These stages need nothing but the chunk, the source, the contract and a Deidentifier, so
`prepared_in_order` runs them for several chunks at once on `workers` threads (pandas,
Arrow, DuckDB and the batched AES-SIV release the GIL for most of their work) while the
batch's own thread reads the next chunks and stages finished ones. Chunks come out in the
order they were read, so the staged rows, their issues and the vault entries are the same,
in the same order, as with one worker. Each thread borrows a Deidentifier of its own (it
holds a DuckDB connection and is not thread-safe).
"""

from __future__ import annotations

import queue
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from connectors.base import RawChunk
from connectors.mapping import map_chunk
from connectors.source import SourceSpec
from desensitize.deidentify import Deidentifier
from hub.pipeline.load_modes import withdrawn_rows
from hub.pipeline.sealing import id_only_rows
from schemas.compile_arrow import to_curated_arrow
from schemas.issues import concat_issues
from schemas.spec import ContractSpec
from schemas.validate import validate_chunk


@dataclass
class PreparedChunk:
    """What the stage writes for one chunk, and the seconds each step took."""

    errors: pd.DataFrame
    warnings: pd.DataFrame
    curated: pa.Table
    withdrawn: np.ndarray[Any, Any]  # source rows that withdraw their key's fact
    vault: pd.DataFrame
    rows_read: int
    rows_good: int
    rows_bad: int
    seconds: dict[str, float] = field(default_factory=dict)
    # Validated rows whose only faults are in the ID column: sealed for linkage, not lost.
    sealable: pd.DataFrame | None = None


def prepare_chunk(spec: SourceSpec, contract: ContractSpec, raw: RawChunk, today: date,
                  deidentifier: Deidentifier, batch_id: str) -> PreparedChunk:
    seconds: dict[str, float] = {}
    t = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal t
        now = time.perf_counter()
        seconds[stage] = seconds.get(stage, 0.0) + now - t
        t = now

    mapped = map_chunk(spec, contract, raw)
    lap("map")
    checked = validate_chunk(contract, mapped.frame, today, spec.grid_scheme,
                             upstream=mapped.issues)
    lap("validate")
    errors = concat_issues([mapped.issues, checked.issues])
    bad_rows = pd.Index(errors["source_row"].unique())
    good = checked.frame[~checked.frame.index.isin(bad_rows)]
    warnings = checked.warnings[checked.warnings["source_row"].isin(good.index)]
    lap("quarantine")
    deid = deidentifier.apply(contract, good)
    lap("deidentify")
    curated = to_curated_arrow(contract, deid.curated, batch_id, spec.grid_scheme)
    withdrawn = withdrawn_rows(spec, raw, good.index)
    lap("stage")
    sealable = checked.frame.loc[id_only_rows(contract, errors)]
    return PreparedChunk(errors, warnings, curated, withdrawn, deid.vault, mapped.rows_read,
                         len(good), len(bad_rows), seconds, sealable)


def prepared_in_order(chunks: Iterator[RawChunk],
                      prepare: Callable[[RawChunk, Deidentifier], PreparedChunk],
                      deidentifiers: list[Deidentifier]) -> Iterator[PreparedChunk]:
    """`prepare` over the chunks, one thread per Deidentifier, results in the chunks' order.
    At most one chunk per thread waits beyond those being worked on (bounded memory)."""
    if len(deidentifiers) <= 1:
        for raw in chunks:
            yield prepare(raw, deidentifiers[0])
        return
    free: queue.SimpleQueue[Deidentifier] = queue.SimpleQueue()
    for deidentifier in deidentifiers:
        free.put(deidentifier)

    def run(raw: RawChunk) -> PreparedChunk:
        deidentifier = free.get()
        try:
            return prepare(raw, deidentifier)
        finally:
            free.put(deidentifier)

    pending: deque[Future[PreparedChunk]] = deque()
    limit = 2 * len(deidentifiers)
    with ThreadPoolExecutor(len(deidentifiers), thread_name_prefix="hub-ingest") as pool:
        try:
            for raw in chunks:
                pending.append(pool.submit(run, raw))
                if len(pending) >= limit:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:  # a failed or abandoned batch: no new work, wait for what runs
            for future in pending:
                future.cancel()

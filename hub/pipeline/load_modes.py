"""What a batch does to the current data of its source, by load mode (hub.ledger.current).

Before a batch is committed, its staged rows are compared with the source's current rows by
business key: a snapshot says how many current rows and residents it would drop (and is held
for confirmation over the source's `max_drop`), a delta how many rows it adds and replaces.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from connectors.base import RawChunk
from connectors.cells import normalise_header
from connectors.errors import LoadModeNotAllowed
from connectors.source import LoadMode, SourceSpec
from hub.errors import HubError
from hub.ledger.current import business_key, current_rows_sql
from schemas.errors import ExitCode

HELD = "awaiting_confirmation"
DISCARDED = "discarded"


class BatchNotHeld(HubError):
    """Confirm or discard of a batch that is not awaiting confirmation (unknown, already
    decided, or never held)."""

    status = 409
    exit_code = ExitCode.BAD_INPUT

    def __init__(self, batch_id: str) -> None:
        self.batch_id = batch_id
        super().__init__(f"batch {batch_id} is not awaiting confirmation (see `hub batches`); "
                         "only a held snapshot can be confirmed or discarded")


def resolve_mode(spec: SourceSpec, requested: str | None) -> LoadMode:
    """The mode of this batch: the one asked for, if the source allows it, else its own."""
    if requested is None:
        return spec.load
    if requested not in spec.allowed_modes:
        raise LoadModeNotAllowed(spec.name, requested, [str(m) for m in spec.allowed_modes])
    return "delta" if requested == "delta" else "snapshot"


def compare_with_current(con: duckdb.DuckDBPyConnection, dataset: str, source: str,
                         staged: list[Path], excluded: Path | None) -> dict[str, Any]:
    """Counts of the source's current rows and residents the staged rows keep, replace or
    drop, and of the rows they add; plus the current batches they would replace."""
    key = business_key(dataset)
    batches = [r[0] for r in con.execute(
        f"SELECT DISTINCT batch_id FROM ({current_rows_sql(dataset)}) WHERE batch_source = ? "
        "ORDER BY 1", [source]).fetchall()]
    out: dict[str, Any] = {"current_batches": batches, "rows_current": 0, "rows_dropped": 0,
                           "residents_current": 0, "residents_dropped": 0,
                           "rows_replaced": 0, "rows_added": 0}
    if not staged or not key:
        return out
    files = "[" + ", ".join(f"'{p}'" for p in staged) + "]"
    anti = (f" WHERE source_row NOT IN (SELECT source_row FROM read_parquet('{excluded}'))"
            if excluded is not None else "")
    cols = ", ".join(f'"{k}"' for k in key)
    on = " AND ".join(f'c."{k}" IS NOT DISTINCT FROM n."{k}"' for k in key)
    row = con.execute(f"""
        WITH cur AS (SELECT {cols} FROM ({current_rows_sql(dataset)}) WHERE batch_source = ?),
             new AS (SELECT DISTINCT {cols} FROM read_parquet({files}){anti}),
             cur_res AS (SELECT DISTINCT resident_key FROM cur),
             new_res AS (SELECT DISTINCT resident_key FROM new)
        SELECT (SELECT count(*) FROM cur),
               (SELECT count(*) FROM cur c WHERE NOT EXISTS (SELECT 1 FROM new n WHERE {on})),
               (SELECT count(*) FROM cur_res),
               (SELECT count(*) FROM cur_res WHERE resident_key NOT IN
                   (SELECT resident_key FROM new_res)),
               (SELECT count(*) FROM new n WHERE EXISTS (SELECT 1 FROM cur c WHERE {on})),
               (SELECT count(*) FROM new n WHERE NOT EXISTS (SELECT 1 FROM cur c WHERE {on}))
    """, [source]).fetchone()
    assert row is not None
    names = ["rows_current", "rows_dropped", "residents_current", "residents_dropped",
             "rows_replaced", "rows_added"]
    out.update({n: int(v) for n, v in zip(names, row, strict=True)})
    return out


def withdrawn_rows(spec: SourceSpec, raw: RawChunk, loaded: pd.Index) -> np.ndarray:
    """Source rows of the chunk, among those loaded, that withdraw their fact."""
    if spec.withdraw is None:
        return np.empty(0, dtype=np.int64)
    wanted = normalise_header(spec.withdraw.from_)
    header = next((h for h in raw.frame.columns if normalise_header(str(h)) == wanted), None)
    if header is None:
        return np.empty(0, dtype=np.int64)
    marks = {unicodedata.normalize("NFKC", v).strip() for v in spec.withdraw.values}
    cells = raw.frame[header].astype("string").str.normalize("NFKC").str.strip()
    hit = cells.isin(marks).fillna(False).to_numpy(dtype=bool)
    rows = raw.frame.index[hit]
    return np.asarray(rows[rows.isin(loaded)], dtype=np.int64)


def drop_share(change: dict[str, Any]) -> float:
    """The larger of the shares of current rows and of current residents a snapshot drops."""
    rows = change["rows_dropped"] / change["rows_current"] if change["rows_current"] else 0.0
    residents = (change["residents_dropped"] / change["residents_current"]
                 if change["residents_current"] else 0.0)
    return max(rows, residents)


def describe_change(mode: str, change: dict[str, Any]) -> str:
    """One sentence for the batch result: which mode applied and what it replaced."""
    withdrawn = change.get("rows_withdrawn", 0)
    if mode == "delta":
        tail = f"; {withdrawn} of its rows withdraw their fact" if withdrawn else ""
        return (f"delta: adds {change['rows_added']} rows and replaces "
                f"{change['rows_replaced']} rows with the same key; the source's other "
                f"{change['rows_current'] - change['rows_replaced']} current rows stay{tail}")
    if not change["current_batches"]:
        return "snapshot: the first data of this source"
    return (f"snapshot: replaces all {change['rows_current']} current rows of the source "
            f"(batches {', '.join(change['current_batches'])}); "
            f"{change['rows_dropped']} rows and {change['residents_dropped']} residents are "
            "not in the new extract")

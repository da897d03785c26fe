"""Load modes: which rows of the warehouse are the *current* data of a dataset.

A source declares how its extracts relate to what is loaded (`load:` in its YAML):
- `snapshot`: the extract is the whole current truth of that source; it replaces the
  source's earlier rows.
- `delta`: the extract adds rows, or replaces the rows with the same business key (the
  contract's `unique` columns, e.g. resident, program and period start); nothing else of the
  source changes.

Corrections: a source may declare a `withdraw` column; a row marked there withdraws the fact
of its business key (recorded in `meta.withdrawn_rows`).

So the current batches of a source are its latest loaded snapshot and every loaded delta
after it (`meta.batches` rows with outcome = 'loaded', ordered by `finished_at`), and its
current rows are, per business key, the row of the latest of those batches. Several sources
of one dataset (two districts' civil affairs offices, say) are each current at once and are
read together. Rejected, failed, held (`awaiting_confirmation`) and discarded batches never
become current; older batches stay in the warehouse as history (lineage) but feed no view.
"""

from __future__ import annotations

from typing import Any

import duckdb

from schemas.registry import get_contract

CURRENT_BATCHES_SQL = """
    WITH loaded AS (
        SELECT batch_id, dataset, source, department, as_of, contract_version, finished_at,
               coalesce(load_mode, 'snapshot') AS load_mode
        FROM meta.batches WHERE outcome = 'loaded'
    ), base AS (
        SELECT dataset, source, max(finished_at) AS since
        FROM loaded WHERE load_mode = 'snapshot' GROUP BY dataset, source
    )
    SELECT l.batch_id, l.dataset, l.source, l.department, l.as_of, l.contract_version,
           l.finished_at, l.load_mode,
           count(*) OVER (PARTITION BY l.dataset, l.source) AS source_batches
    FROM loaded l LEFT JOIN base b ON b.dataset = l.dataset AND b.source = l.source
    WHERE b.since IS NULL OR l.finished_at >= b.since
"""


def business_key(dataset: str) -> list[str]:
    """The curated columns that identify one fact of the dataset (its contract's `unique`)."""
    contract = get_contract(dataset)
    return [name for c in contract.unique if (name := contract.column(c).curated_name)]


def current_rows_sql(dataset: str, keys: str | None = None) -> str:
    """SELECT of the current rows of curated.<dataset>, with the batch's as-of and version;
    only of the residents in relation `keys` (a resident_key column) when given.

    A source with one current batch (a snapshot, the usual case) passes its rows through;
    only a source with deltas on top pays for picking the latest row per business key.
    """
    key = ", ".join(f't."{k}"' for k in business_key(dataset))
    select = f"""
        SELECT t.*, b.source AS batch_source, b.as_of AS batch_as_of,
               b.contract_version AS batch_contract_version
        FROM curated."{dataset}" t
        JOIN ({CURRENT_BATCHES_SQL}) b ON b.batch_id = t.batch_id AND b.dataset = '{dataset}'"""
    if keys is not None:  # before the latest-row pick, which then ranks only their rows
        select += f" AND t.resident_key IN (SELECT resident_key FROM {keys})"
    # A correction (a row that withdraws its fact) is the latest row of its key: it wins
    # the key, and then neither it nor the row it withdraws is current.
    kept = ("NOT EXISTS (SELECT 1 FROM meta.withdrawn_rows w "
            "WHERE w.batch_id = t.batch_id AND w.source_row = t.source_row)")
    if not key:
        return f"{select} WHERE {kept}"
    return f"""
        {select} WHERE b.source_batches = 1 AND {kept}
        UNION ALL BY NAME
        SELECT * EXCLUDE (batch_finished_at, withdrawn) FROM (
            {select.replace("b.contract_version AS batch_contract_version",
                            "b.contract_version AS batch_contract_version, "
                            f"b.finished_at AS batch_finished_at, NOT ({kept}) AS withdrawn")}
            WHERE b.source_batches > 1
            QUALIFY row_number() OVER (PARTITION BY b.source, {key}
                                       ORDER BY b.finished_at DESC, t.batch_id DESC) = 1)
        WHERE NOT withdrawn
    """


def current_batches(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    cursor = con.execute(CURRENT_BATCHES_SQL + " ORDER BY dataset, source, finished_at")
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

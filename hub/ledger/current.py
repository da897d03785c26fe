"""Snapshot semantics: which rows of the warehouse are the *current* data of a dataset.

Each extract a source sends is a full snapshot of that source's current records, not a
delta: a new elderly-care extract replaces the previous one of the same source, it does not
add to it. The current data of a dataset is therefore the latest loaded batch per source:
`meta.batches` rows with outcome = 'loaded', the latest `finished_at` per (dataset, source).
Several sources of one dataset (two districts' civil affairs offices, say) are each current
at once and are read together. Rejected and failed batches never become current; older
loaded batches stay in the warehouse as history (lineage) but feed no view.
"""

from __future__ import annotations

from typing import Any

import duckdb

CURRENT_BATCHES_SQL = """
    SELECT batch_id, dataset, source, department, as_of, contract_version, finished_at
    FROM meta.batches
    WHERE outcome = 'loaded'
    QUALIFY row_number() OVER (PARTITION BY dataset, source
                               ORDER BY finished_at DESC, batch_id DESC) = 1
"""


def current_rows_sql(dataset: str) -> str:
    """SELECT of the current rows of curated.<dataset>, with the batch's as-of and version."""
    return f"""
        SELECT t.*, b.source AS batch_source, b.as_of AS batch_as_of,
               b.contract_version AS batch_contract_version
        FROM curated."{dataset}" t
        JOIN ({CURRENT_BATCHES_SQL}) b ON b.batch_id = t.batch_id AND b.dataset = '{dataset}'
    """


def current_batches(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    cursor = con.execute(CURRENT_BATCHES_SQL + " ORDER BY dataset, source")
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

"""Rebuild `curated.assistance_ledger` from the current batch of every department dataset.

One fact per benefit row: each source contract with a `ledger:` mapping says which of its
columns hold the program, kind, amount, quantity, unit and period, and which programs are
facts about a person rather than benefits (`exclude_programs`, e.g. outpatient visits or
status-only employment rows). The household comes from the current grid registry batch.
The whole ledger is replaced in one DuckDB transaction, so a reader of the warehouse sees the
old ledger or the new one, never a mix; it is derived data and cheap to rebuild (a 1M-resident
district's ledger is a few million rows, rebuilt in seconds). Money stays DECIMAL(14,2).
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from hub.ledger.current import CURRENT_BATCHES_SQL, business_key, current_rows_sql
from hub.linkage.tables import sealed_table
from schemas.registry import get_contract, source_contracts
from schemas.spec import ContractSpec, LedgerMapping

LEDGER_TABLE = 'curated."assistance_ledger"'
LEDGER_COLUMNS = [c.name for c in get_contract("assistance_ledger").columns]


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _col(name: str | None, cast: str) -> str:
    return f'CAST(t."{name}" AS {cast})' if name else f"CAST(NULL AS {cast})"


def household_sql() -> str:
    """One household per resident from the current grid registry (the latest batch's if
    a resident appears in several grid sources: they are one registry split by area)."""
    return ("SELECT resident_key, first(household_key ORDER BY batch_as_of DESC, "
            "batch_id DESC) AS household_key "
            f"FROM ({current_rows_sql('grid')}) GROUP BY resident_key")


def by_id_sql(rows: str) -> str:
    """`rows` (a SELECT of current rows, which carry their own resident key) as facts
    linked by ID number."""
    return (f"SELECT *, 'id' AS linked_by, CAST(NULL AS VARCHAR) AS match_probability, "
            f"CAST(NULL AS DATE) AS linked_on FROM ({rows})")


def matched_rows_sql(dataset: str) -> str:
    """Sealed rows of the dataset's current batches that a match or a reviewer linked to a
    resident (linkage.decisions), as current rows with that resident's key.

    A later row of the same source that carries the resident's own ID number for the same
    fact (its business key) supersedes the match: the department corrected the ID."""
    rest = [k for k in business_key(dataset) if k != "resident_key"]
    same = " AND ".join(f'c."{k}" IS NOT DISTINCT FROM t."{k}"' for k in rest) or "TRUE"
    partition = "".join(f', t."{k}"' for k in rest)
    return f"""
        SELECT t.* REPLACE (d.resident_key AS resident_key),
               b.source AS batch_source, b.as_of AS batch_as_of,
               b.contract_version AS batch_contract_version,
               d.method AS linked_by, printf('%.4f', d.probability) AS match_probability,
               CAST(d.decided_at AS DATE) AS linked_on
        FROM {sealed_table(dataset)} t
        JOIN ({CURRENT_BATCHES_SQL}) b ON b.batch_id = t.batch_id AND b.dataset = '{dataset}'
        JOIN linkage.decisions d ON d.batch_id = t.batch_id AND d.source_row = t.source_row
                                AND d.decision = 'linked'
        WHERE NOT EXISTS (SELECT 1 FROM ({current_rows_sql(dataset)}) c
                          WHERE c.resident_key = d.resident_key AND c.batch_source = b.source
                            AND c.batch_id <> t.batch_id AND {same})
        -- A delta that sends the row again replaces it, as it replaces an ID-linked row.
        QUALIFY row_number() OVER (PARTITION BY b.source, d.resident_key{partition}
                                   ORDER BY b.finished_at DESC, t.batch_id DESC) = 1"""


def facts_sql(contract: ContractSpec, mapping: LedgerMapping, rows: str | None = None) -> str:
    """The ledger facts of `rows` (default: the dataset's current rows, linked by ID)."""
    rows = rows or by_id_sql(current_rows_sql(contract.name))
    excluded = ", ".join(_quote(p) for p in mapping.exclude_programs)
    where = f'WHERE t."{mapping.program}" NOT IN ({excluded})' if excluded else ""
    unit = _col(mapping.unit, "VARCHAR")
    if mapping.amount and not mapping.unit:
        # A contract without a unit column pays money only: its unit is the yuan.
        unit = f'CASE WHEN t."{mapping.amount}" IS NOT NULL THEN \'yuan\' END'
    return f"""
        SELECT t.resident_key, h.household_key,
               {_quote(mapping.department)} AS department,
               {_quote(contract.name)} AS source_dataset,
               CAST(t."{mapping.program}" AS VARCHAR) AS program,
               CAST(t."{mapping.kind}" AS VARCHAR) AS kind,
               {_col(mapping.amount, "DECIMAL(14,2)")} AS amount,
               {_col(mapping.quantity, "DECIMAL(14,2)")} AS quantity,
               {unit} AS unit,
               CAST(t."{mapping.period_start}" AS DATE) AS period_start,
               CAST(t."{mapping.period_end}" AS DATE) AS period_end,
               coalesce(t.as_of, t.batch_as_of) AS as_of,
               t.batch_id, t.batch_contract_version AS contract_version,
               t.linked_by, t.match_probability, t.linked_on
        FROM ({rows}) t
        LEFT JOIN households h ON h.resident_key = t.resident_key
        {where}
    """


def rebuild_ledger(con: duckdb.DuckDBPyConnection) -> int:
    """Replace the ledger with the facts of the current batches; returns the fact count."""
    parts = [facts_sql(c, c.ledger) for c in source_contracts().values() if c.ledger]
    parts += [facts_sql(c, c.ledger, matched_rows_sql(c.name))
              for c in source_contracts().values() if c.ledger]
    columns = ", ".join(f'"{c}"' for c in LEDGER_COLUMNS)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE households AS {household_sql()}")
        con.execute(f"DELETE FROM {LEDGER_TABLE}")
        if parts:
            con.execute(f"INSERT INTO {LEDGER_TABLE} ({columns}) SELECT {columns} FROM ("
                        + " UNION ALL ".join(parts) + ")")
        row = con.execute(f"SELECT count(*) FROM {LEDGER_TABLE}").fetchall()[0]
        con.execute("DROP TABLE households")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return int(row[0]) if row else 0


def update_ledger(con: duckdb.DuckDBPyConnection, keys_table: str,
                  rows: Callable[[str], str], households: str) -> int:
    """Replace the facts of the residents in TEMP table `keys_table` with those of their
    current rows (`rows(dataset)`, a SELECT) and households (`households`, a SELECT), in
    one transaction; the rest of the ledger stays. Returns the ledger's fact count."""
    mapped = [(c, c.ledger) for c in source_contracts().values() if c.ledger]
    parts = [facts_sql(c, m, by_id_sql(rows(c.name))) for c, m in mapped]
    # Matched rows carry their resident in the decision, not in the batch (hub.linkage).
    parts += [facts_sql(c, m, f"SELECT * FROM ({matched_rows_sql(c.name)}) WHERE resident_key "
                              f"IN (SELECT resident_key FROM {keys_table})") for c, m in mapped]
    columns = ", ".join(f'"{c}"' for c in LEDGER_COLUMNS)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE households AS {households}")
        con.execute(f"DELETE FROM {LEDGER_TABLE} "
                    f"WHERE resident_key IN (SELECT resident_key FROM {keys_table})")
        if parts:
            con.execute(f"INSERT INTO {LEDGER_TABLE} ({columns}) SELECT {columns} FROM ("
                        + " UNION ALL ".join(parts) + ")")
        row = con.execute(f"SELECT count(*) FROM {LEDGER_TABLE}").fetchall()[0]
        con.execute("DROP TABLE households")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return int(row[0]) if row else 0

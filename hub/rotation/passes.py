"""Chunked, resumable passes over work tables in the warehouse's `rotation` schema.

A pass copies a frozen snapshot (its work table, numbered into chunks once) into an output
table chunk by chunk. Each chunk's output rows and the pass's progress counter commit in one
transaction, so a process killed at any moment resumes at the first chunk not committed and
never writes a chunk twice. The writer lock is held throughout and the worker refuses to open
mid-rotation, so the tables being copied cannot change underneath.

Work tables:
    rotation.vault_work     vault.identity numbered by resident: a resident's rows share a
                            chunk, so the pseudonym pass finds the resident's ID with them
    rotation.vault_next     the vault under the new key (vault) or new resident keys (pseudonym)
    rotation.sealed_work    vault.sealed (identifiers of rows kept for linkage) numbered by
                            candidate row (they are bound to no resident key)
    rotation.sealed_next    vault.sealed under the new vault key
    rotation.identity_next  their keyed identity under the old and the new pseudonym key
                            (pseudonym only)
    rotation.resident_map   old -> new resident key, verified (pseudonym only)
    rotation.household_map  old -> new household key (pseudonym only; repeats are harmless)
    rotation.history_work   key-history rows to re-seal, and the rows this rotation appends
    rotation.history_next   the key history after the switch
"""

from __future__ import annotations

import time
from collections.abc import Callable

import duckdb
import pandas as pd
import pyarrow as pa

from hub.keys import rotation_state
from hub.keys.rotation_state import RotationRecord
from hub.warehouse.transaction import in_transaction

SCHEMA = "rotation"
Progress = Callable[[str, int, int | None], None]

_VAULT_WORK = """CREATE OR REPLACE TABLE rotation.vault_work AS
    SELECT CAST((dense_rank() OVER (ORDER BY resident_key) - 1) // $per AS INTEGER) AS c,
           resident_key, field, ciphertext, batch_id
    FROM vault.identity ORDER BY c, resident_key, field"""
_SEALED_WORK = """CREATE OR REPLACE TABLE rotation.sealed_work AS
    SELECT CAST((dense_rank() OVER (ORDER BY candidate_key) - 1) // $per AS INTEGER) AS c,
           candidate_key, field, ciphertext, batch_id
    FROM vault.sealed ORDER BY c, candidate_key, field"""
_SEALED_NEXT = """CREATE OR REPLACE TABLE rotation.sealed_next (c INTEGER NOT NULL,
    candidate_key VARCHAR NOT NULL, field VARCHAR NOT NULL, ciphertext BLOB NOT NULL,
    batch_id VARCHAR NOT NULL)"""
_IDENTITY_NEXT = """CREATE OR REPLACE TABLE rotation.identity_next (c INTEGER NOT NULL,
    candidate_key VARCHAR NOT NULL, old_identity VARCHAR NOT NULL,
    new_identity VARCHAR NOT NULL)"""
_OUTPUTS = {
    "vault": [
        """CREATE OR REPLACE TABLE rotation.vault_next (c INTEGER NOT NULL,
            resident_key VARCHAR NOT NULL, field VARCHAR NOT NULL, ciphertext BLOB NOT NULL,
            batch_id VARCHAR NOT NULL)""",
    ],
    "pseudonym": [
        """CREATE OR REPLACE TABLE rotation.vault_next (c INTEGER NOT NULL,
            resident_key VARCHAR NOT NULL, field VARCHAR NOT NULL, ciphertext BLOB NOT NULL,
            batch_id VARCHAR NOT NULL)""",
        """CREATE OR REPLACE TABLE rotation.resident_map (c INTEGER NOT NULL,
            old_key VARCHAR NOT NULL, new_key VARCHAR NOT NULL, verified BOOLEAN NOT NULL)""",
        """CREATE OR REPLACE TABLE rotation.household_map (c INTEGER NOT NULL,
            old_key VARCHAR NOT NULL, new_key VARCHAR NOT NULL)""",
    ],
}
_HISTORY_NEXT = """CREATE OR REPLACE TABLE rotation.history_next (c INTEGER NOT NULL,
    domain VARCHAR NOT NULL, current_key VARCHAR NOT NULL, sealed_previous BLOB NOT NULL,
    epoch INTEGER NOT NULL)"""
# Existing history rows follow their current key to the new one (pseudonym) or stay (vault);
# a pseudonym rotation appends one row per resident and household: new key -> sealed old key.
_HISTORY_WORK = """CREATE OR REPLACE TABLE rotation.history_work AS
    WITH maps AS ({maps}),
    rows AS (
        SELECT h.domain, h.current_key AS old_current, {new_current} AS new_current,
               h.sealed_previous, h.epoch
        FROM vault.key_history h {join}
        UNION ALL
        SELECT domain, old_key, new_key, NULL, $epoch FROM maps
    )
    SELECT CAST((row_number() OVER (ORDER BY domain, new_current, epoch, old_current) - 1)
                // $per AS INTEGER) AS c, * FROM rows ORDER BY c"""
_PSEUDONYM_MAPS = """
    SELECT 'resident_id' AS domain, old_key, new_key FROM rotation.resident_map
    UNION ALL
    SELECT DISTINCT 'household_id', old_key, new_key FROM rotation.household_map"""
_NO_MAPS = ("SELECT NULL::VARCHAR AS domain, NULL::VARCHAR AS old_key, NULL::VARCHAR AS new_key "
            "WHERE false")


def _chunks(con: duckdb.DuckDBPyConnection, table: str) -> int:
    row = con.execute(f"SELECT coalesce(max(c) + 1, 0) FROM {table}").fetchall()[0]
    return int(row[0]) if row else 0


Statement = tuple[str, dict[str, object] | None]


def _set_up(con: duckdb.DuckDBPyConnection, record: RotationRecord, name: str,
            statements: list[Statement]) -> None:
    """Run a pass's set-up statements, which number its work table (rotation.<name>_work)
    in chunks, and record the pass, in one transaction; once: a repeat finds it recorded."""
    if rotation_state.pass_progress(con, record, name) is not None:
        return
    started = time.perf_counter()

    def work() -> None:
        for sql, params in statements:
            con.execute(sql, params)
        rotation_state.add_pass(con, record, name, _chunks(con, f"rotation.{name}_work"),
                                time.perf_counter() - started)

    in_transaction(con, work)


def setup_vault_pass(con: duckdb.DuckDBPyConnection, record: RotationRecord,
                     chunk_residents: int) -> None:
    """Snapshot the vault into numbered chunks."""
    _set_up(con, record, "vault", [
        (f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}", None),
        (_VAULT_WORK, {"per": chunk_residents}),
        *((statement, None) for statement in _OUTPUTS[record.kind])])


def setup_sealed_pass(con: duckdb.DuckDBPyConnection, record: RotationRecord,
                      chunk_rows: int) -> None:
    """Snapshot vault.sealed into numbered chunks, like the vault: re-sealed under a new
    vault key, or opened for the keyed identities under a new pseudonym key."""
    _set_up(con, record, "sealed", [
        (f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}", None),
        (_SEALED_WORK, {"per": chunk_rows}),
        (_SEALED_NEXT if record.kind == "vault" else _IDENTITY_NEXT, None)])


def setup_history_pass(con: duckdb.DuckDBPyConnection, record: RotationRecord,
                       chunk_rows: int) -> None:
    from hub.keys.history import KEY_HISTORY_DDL

    if record.kind == "pseudonym":
        maps, new_current = _PSEUDONYM_MAPS, "m.new_key"
        join = "LEFT JOIN maps m ON m.domain = h.domain AND m.old_key = h.current_key"
    else:
        maps, new_current, join = _NO_MAPS, "h.current_key", ""
    _set_up(con, record, "history", [
        ("CREATE SCHEMA IF NOT EXISTS vault", None),
        (KEY_HISTORY_DDL, None),
        (_HISTORY_WORK.format(maps=maps, new_current=new_current, join=join),
         {"per": chunk_rows, "epoch": record.epoch}),
        (_HISTORY_NEXT, None)])


ChunkWork = Callable[[pd.DataFrame], dict[str, pd.DataFrame]]


def run_pass(con: duckdb.DuckDBPyConnection, record: RotationRecord, name: str, source: str,
             transform: ChunkWork, progress: Progress, label: str) -> float:
    """Feed each chunk of `source` not done yet to `transform`; insert what it returns
    ({output table: frame}) and count the chunk, in one transaction. Returns the pass's
    seconds (over every run)."""
    found = rotation_state.pass_progress(con, record, name)
    if found is None:
        raise RuntimeError(f"pass {name} was not set up")
    done, total, _ = found
    progress(label, done, total)
    for chunk in range(done, total):
        started = time.perf_counter()
        # Through Arrow: blobs arrive as bytes (a DB-API fetch gives bytearrays).
        rows = con.sql(f"SELECT * EXCLUDE (c) FROM {source} WHERE c = $c",
                       params={"c": chunk}).to_arrow_table().to_pandas()
        outputs = transform(rows)
        del rows

        def work(chunk: int = chunk, outputs: dict[str, pd.DataFrame] = outputs,
                 started: float = started) -> None:
            for table, frame in outputs.items():
                con.execute(f"DELETE FROM {table} WHERE c >= ?", [chunk])  # defensive: none
                if len(frame):
                    arrow = pa.Table.from_pandas(frame.assign(c=chunk), preserve_index=False)
                    con.register("_rotation_chunk", arrow)
                    try:
                        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _rotation_chunk")
                    finally:
                        con.unregister("_rotation_chunk")
            rotation_state.chunk_done(con, record, name, chunk, time.perf_counter() - started)

        in_transaction(con, work)
        progress(label, chunk + 1, total)
    final = rotation_state.pass_progress(con, record, name)
    return final[2] if final else 0.0


def drop_work(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")

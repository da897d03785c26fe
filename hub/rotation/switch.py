"""The checks before the switch, and the switch itself: one transaction that makes the
warehouse need the new key.

Before anything is switched, every resident and household key in every curated table must
have its new key in the maps, every vault entry its new copy, every key-history row its new
current key. A key without a sealed ID cannot be re-keyed (an HMAC does not run backwards), so
it stops the rotation with the table and the count; the caller then backs out.
"""

from __future__ import annotations

import time

import duckdb

from hub.keys import rotation_state
from hub.keys.history import KEY_HISTORY_DDL
from hub.keys.rotation_errors import RotationCopyMismatch, RotationKeyMismatch, RotationUnmappable
from hub.keys.rotation_state import RotationRecord
from hub.linkage.tables import INDEX_TABLES, sealed_table
from schemas.registry import source_contracts

_MAPS = {
    "resident_key": "(SELECT old_key, new_key FROM rotation.resident_map)",
    "household_key": "(SELECT DISTINCT old_key, new_key FROM rotation.household_map)",
}
_SUFFIX = "__rotating"


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchall()[0]
    return int(row[0]) if row else 0


def key_tables(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """Curated tables and which key columns (resident_key, household_key) each holds."""
    rows = con.execute(
        "SELECT table_name, column_name FROM duckdb_columns() WHERE schema_name = 'curated' "
        "AND column_name IN ('resident_key', 'household_key') ORDER BY table_name, column_name"
    ).fetchall()
    tables: dict[str, list[str]] = {}
    for table, column in rows:
        tables.setdefault(str(table), []).append(str(column))
    return tables


def precheck_pseudonym(con: duckdb.DuckDBPyConnection) -> None:
    """Cheap checks before the long pass: keys with no sealed ID at all in the vault."""
    ids = "(SELECT DISTINCT resident_key FROM vault.identity WHERE field = 'resident_id')"
    households = _count(con, "SELECT count(*) FROM vault.identity WHERE field = 'household_id'")
    for table, columns in key_tables(con).items():
        if "resident_key" in columns:
            n = _count(con, f'SELECT count(DISTINCT t.resident_key) FROM curated."{table}" t '
                            f"ANTI JOIN {ids} v ON v.resident_key = t.resident_key "
                            "WHERE t.resident_key IS NOT NULL")
            if n:
                raise RotationUnmappable("pseudonym", f"curated.{table}", "resident_key", n,
                                         "no sealed resident ID in the vault")
        if "household_key" in columns and not households:
            n = _count(con, f'SELECT count(DISTINCT household_key) FROM curated."{table}"')
            if n:
                raise RotationUnmappable(
                    "pseudonym", f"curated.{table}", "household_key", n,
                    "the vault holds no household IDs: these batches were loaded before the "
                    "grid contract sealed them")


def validate_pseudonym(con: duckdb.DuckDBPyConnection, key_file: str) -> None:
    """Exact checks once the maps are complete (before the history pass and the switch)."""
    n = _count(con, "SELECT count(DISTINCT resident_key) FROM rotation.vault_work w "
                    "ANTI JOIN rotation.resident_map m ON m.old_key = w.resident_key")
    if n:
        raise RotationUnmappable("pseudonym", "vault.identity", "resident_key", n,
                                 "their entries hold no sealed resident ID")
    n = _count(con, "SELECT count(*) FROM rotation.resident_map WHERE NOT verified")
    if n:
        raise RotationKeyMismatch("pseudonym", key_file,
                                  f"does not reproduce {n} resident keys from their sealed IDs")
    for table, columns in key_tables(con).items():
        for column in columns:
            n = _count(con, f'SELECT count(DISTINCT t."{column}") FROM curated."{table}" t '
                            f'ANTI JOIN {_MAPS[column]} m ON m.old_key = t."{column}" '
                            f'WHERE t."{column}" IS NOT NULL')
            if n:
                what = "resident ID" if column == "resident_key" else "household ID"
                raise RotationUnmappable("pseudonym", f"curated.{table}", column, n,
                                         f"no sealed {what} in the vault")
    con.execute("CREATE SCHEMA IF NOT EXISTS vault")
    con.execute(KEY_HISTORY_DDL)
    n = _count(con, f"""SELECT count(*) FROM vault.key_history h
        WHERE NOT EXISTS (SELECT 1 FROM {_MAPS['resident_key']} m
                          WHERE h.domain = 'resident_id' AND m.old_key = h.current_key)
          AND NOT EXISTS (SELECT 1 FROM {_MAPS['household_key']} m
                          WHERE h.domain = 'household_id' AND m.old_key = h.current_key)""")
    if n:
        raise RotationUnmappable("pseudonym", "vault.key_history", "current_key", n,
                                 "no sealed ID behind their current key")


def _rewrite(con: duckdb.DuckDBPyConnection, table: str, columns: list[str]) -> int:
    """Replace curated.<table> by a copy with new keys; same columns, types, order, rows."""
    defs = con.execute(
        "SELECT column_name, data_type, is_nullable FROM duckdb_columns() "
        "WHERE schema_name = 'curated' AND table_name = ? ORDER BY column_index", [table]
    ).fetchall()
    body = ", ".join(f'"{n}" {t}' + ("" if nullable else " NOT NULL") for n, t, nullable in defs)
    select = ", ".join(f"m_{n}.new_key" if n in columns else f't."{n}"' for n, _, _ in defs)
    joins = " ".join(f'LEFT JOIN {_MAPS[c]} m_{c} ON m_{c}.old_key = t."{c}"' for c in columns)
    target, staged = f'curated."{table}"', f'curated."{table}{_SUFFIX}"'
    con.execute(f"CREATE TABLE {staged} ({body})")
    con.execute(f"INSERT INTO {staged} SELECT {select} FROM {target} t {joins} ORDER BY t.rowid")
    counts = ", ".join(f'count("{c}")' for c in columns)
    before = con.execute(f"SELECT count(*), {counts} FROM {target}").fetchall()[0]
    after = con.execute(f"SELECT count(*), {counts} FROM {staged}").fetchall()[0]
    if before != after:  # a key without a new one would have become NULL: never commit that
        raise RotationCopyMismatch("pseudonym", f"curated.{table}",
                                   "back out with `hub keys rotate --abort`, then rotate again")
    con.execute(f"DROP TABLE {target}")
    con.execute(f'ALTER TABLE {staged} RENAME TO "{table}"')
    return int(before[0]) if before else 0


# Resident keys the linkage chose for rows that carry none of their own (hub.pipeline.linkage).
LINKAGE_KEYS = (("linkage.decisions", "resident_key"),
                ("linkage.registry_duplicates", "resident_key"),
                ("linkage.registry_duplicates", "other_key"))


def _rekey_column(con: duckdb.DuckDBPyConnection, table: str, column: str) -> int:
    """Move a column of resident keys to the new keys; every key must have one."""
    n = _count(con, f'SELECT count(*) FROM {table} t ANTI JOIN {_MAPS["resident_key"]} m '
                    f'ON m.old_key = t."{column}" WHERE t."{column}" IS NOT NULL')
    if n:
        raise RotationUnmappable("pseudonym", table, column, n, "no sealed resident ID in "
                                 "the vault")
    con.execute(f'UPDATE {table} SET "{column}" = m.new_key FROM {_MAPS["resident_key"]} m '
                f'WHERE {table}."{column}" = m.old_key')
    return _count(con, f'SELECT count("{column}") FROM {table}')


def _rekey_identities(con: duckdb.DuckDBPyConnection) -> int:
    """Rows kept for linkage take their keyed identity under the new key, where the old
    one made again from their sealed identifiers is the one they carry."""
    moved = 0
    for name, contract in source_contracts().items():
        if contract.ledger is None:
            continue
        table = sealed_table(name)
        moved += _count(con, f"""SELECT count(*) FROM {table} t JOIN rotation.identity_next m
            ON m.candidate_key = t.batch_id || ':' || t.source_row
           AND m.old_identity = t.identity_key""")
        con.execute(f"""UPDATE {table} AS t SET identity_key = m.new_identity
            FROM rotation.identity_next m
            WHERE m.candidate_key = t.batch_id || ':' || t.source_row
              AND m.old_identity = t.identity_key""")
    return moved


def _switch_sealed(con: duckdb.DuckDBPyConnection, record: RotationRecord) -> int:
    """vault.sealed replaced by its copy under the new vault key (inside the switch)."""
    n = _count(con, "SELECT count(*) FROM vault.sealed")
    if n != _count(con, "SELECT count(*) FROM rotation.sealed_next"):
        raise RotationCopyMismatch(record.kind, "vault.sealed",
                                   "back out with `hub keys rotate --abort`, then rotate again")
    con.execute("DELETE FROM vault.sealed")
    con.execute("INSERT INTO vault.sealed (candidate_key, field, ciphertext, batch_id) "
                "SELECT candidate_key, field, ciphertext, batch_id FROM rotation.sealed_next")
    return n


def switch(con: duckdb.DuckDBPyConnection, record: RotationRecord) -> None:
    """One transaction: curated keys (pseudonym), the vault, the key history, the state."""
    started = time.perf_counter()
    con.execute("BEGIN TRANSACTION")
    try:
        if record.kind == "pseudonym":
            for table, columns in key_tables(con).items():
                record.counters[f"curated.{table}"] = _rewrite(con, table, columns)
            for table, column in LINKAGE_KEYS:
                record.counters[f"{table}.{column}"] = _rekey_column(con, table, column)
            record.counters["sealed identities"] = _rekey_identities(con)
            # The registry's blocking index and models name residents by their old keys
            # (and draw samples by them): rebuilt at the next linkage.
            for table in INDEX_TABLES:
                con.execute(f"DELETE FROM {table}")
        n_vault = _count(con, "SELECT count(*) FROM vault.identity")
        if n_vault != _count(con, "SELECT count(*) FROM rotation.vault_next"):
            raise RotationCopyMismatch(record.kind, "vault.identity",
                                       "back out with `hub keys rotate --abort`, then rotate "
                                       "again")
        con.execute("DELETE FROM vault.identity")
        con.execute("INSERT INTO vault.identity (resident_key, field, ciphertext, batch_id) "
                    "SELECT resident_key, field, ciphertext, batch_id FROM rotation.vault_next")
        record.counters["vault.identity"] = n_vault
        if record.kind == "vault":
            record.counters["vault.sealed"] = _switch_sealed(con, record)
        con.execute("DELETE FROM vault.key_history")
        con.execute("INSERT INTO vault.key_history (domain, current_key, sealed_previous, epoch) "
                    "SELECT domain, current_key, sealed_previous, epoch "
                    "FROM rotation.history_next")
        record.counters["vault.key_history"] = _count(
            con, "SELECT count(*) FROM vault.key_history")
        rotation_state.set_state(con, record, "switched", {"switch": time.perf_counter() - started})
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise

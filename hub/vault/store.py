"""The vault store: the API's read copy of the re-identification vault and the key history.

The master copy of the vault (`vault.identity`) and of the sealed key history
(`vault.key_history`, see hub.keys.history) lives in the DuckDB warehouse, which only the pipeline
worker opens: DuckDB allows one process per file, and a reveal must not wait for an ingest. So
the worker copies both into this SQLite file (WAL: many reader processes, one writer) at the end
of each publish, and the API and `hub access-report` read only this file.

The copy holds ciphertexts only (AES-SIV, bound to [field, resident key]); without the vault key
it reveals nothing, but it is still kept owner-only (folder 0700, file 0600) like the keys.

Sync is incremental by batch: a batch's vault rows commit in the warehouse together with its
manifest row, so a batch id once seen is complete. A pseudonym rotation rewrites every resident
key in place under the same batch ids; after it, `rebuild_from_warehouse` replaces everything.
"""

from __future__ import annotations

import base64
import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import duckdb
import pyarrow as pa

from hub.errors import HubError
from hub.keys.history import KEY_HISTORY_DDL

# Rows per executemany call: large enough that the per-call cost vanishes, small enough that the
# Python objects of one chunk stay a few hundred MB at most.
_CHUNK_ROWS = 200_000

_SCHEMA = [
    # One row per (resident, batch), its values packed as "field:base64;...": a resident has
    # about five vaulted fields and SQLite's cost is per row, so the copy takes a fifth of the
    # time. WITHOUT ROWID keyed by resident first: one b-tree, and a reveal reads one
    # contiguous range.
    """CREATE TABLE IF NOT EXISTS identity (
        resident_key TEXT NOT NULL,
        batch_id TEXT NOT NULL,
        payload TEXT NOT NULL,
        PRIMARY KEY (resident_key, batch_id)
    ) WITHOUT ROWID""",
    "CREATE TABLE IF NOT EXISTS copied_batches (batch_id TEXT PRIMARY KEY) WITHOUT ROWID",
    """CREATE TABLE IF NOT EXISTS key_history (
        domain TEXT NOT NULL,
        current_key TEXT NOT NULL,
        sealed_previous BLOB NOT NULL,
        epoch INTEGER NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS key_history_current ON key_history (domain, current_key)",
]

# No ORDER BY inside string_agg (an ordered aggregate costs several times more); entries() sorts.
# Rows sorted by resident so that SQLite appends to its b-tree instead of seeking.
_NEW_ROWS_SQL = """
    SELECT v.resident_key, v.batch_id,
           string_agg(v.field || ':' || to_base64(v.ciphertext), ';') AS payload,
           count(*) AS n
    FROM vault.identity v
    {anti}
    GROUP BY v.resident_key, v.batch_id
    ORDER BY v.resident_key
"""
_INSERT_IDENTITY = (
    "INSERT OR REPLACE INTO identity (resident_key, batch_id, payload) VALUES (?, ?, ?)"
)
_INSERT_HISTORY = (
    "INSERT INTO key_history (domain, current_key, sealed_previous, epoch) VALUES (?, ?, ?, ?)"
)


class VaultStoreMissing(HubError):
    status = 503  # reveal before the first publish: the operator must publish

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(
            f"the vault store {path} does not exist yet: run `hub publish` once data is "
            "ingested (while `hub serve` runs, its pipeline worker copies the vault there after "
            "each upload it loads)"
        )


def _ensure_private_file(path: Path) -> None:
    """Folder 0700 and file 0600 before SQLite touches it; its -wal/-shm inherit the mode."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)  # mkdir's mode is filtered by the umask
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def _warehouse_has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    # fetchall, not fetchone: DuckDB 2.0 keeps a half-fetched result pending on the connection.
    rows = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [schema, table],
    ).fetchall()
    return bool(rows and rows[0][0])


def _ensure_key_history(con: duckdb.DuckDBPyConnection) -> None:
    if not _warehouse_has_table(con, "vault", "key_history"):
        con.execute("CREATE SCHEMA IF NOT EXISTS vault")
        con.execute(KEY_HISTORY_DDL)


def _packed_rows(reader: pa.RecordBatchReader) -> Iterator[tuple[list[tuple[str, str, str]], int]]:
    """(resident_key, batch_id, payload) tuples and the vault rows they hold, per Arrow batch.

    Column-wise to_pylist is far cheaper than building each row from Arrow scalars."""
    for batch in reader:
        if batch.num_rows:
            keys, batches, payloads, counts = (col.to_pylist() for col in batch.columns)
            yield list(zip(keys, batches, payloads, strict=True)), int(sum(counts))


def _unpack(payload: str, batch_id: str) -> list[tuple[str, bytes, str]]:
    out = []
    for item in payload.split(";"):
        field, _, encoded = item.partition(":")
        out.append((field, base64.b64decode(encoded), batch_id))
    return out


class VaultStore:
    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        if read_only:
            if not self.path.exists():
                raise VaultStoreMissing(str(self.path))
            uri = f"file:{self.path}?mode=ro"
            self._con = sqlite3.connect(uri, uri=True, check_same_thread=False)
        else:
            _ensure_private_file(self.path)
            self._con = sqlite3.connect(self.path, check_same_thread=False)
            self._con.execute("PRAGMA journal_mode=WAL")
            self._con.execute("PRAGMA synchronous=NORMAL")
        self._con.execute("PRAGMA busy_timeout=10000")
        if not read_only:
            self.create_all()

    def __repr__(self) -> str:
        return f"VaultStore({self.path}, read_only={self.read_only})"

    def __enter__(self) -> VaultStore:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def create_all(self) -> None:
        with self._con:
            for statement in _SCHEMA:
                self._con.execute(statement)

    def sync_from_warehouse(self, con: duckdb.DuckDBPyConnection) -> int:
        """Copy the vault rows of batches not copied yet, and the whole key history."""
        return self._copy(con, incremental=True)

    def rebuild_from_warehouse(self, con: duckdb.DuckDBPyConnection) -> int:
        """Replace the whole copy (after a key rotation rewrote the resident keys)."""
        return self._copy(con, incremental=False)

    def _copy(self, con: duckdb.DuckDBPyConnection, *, incremental: bool) -> int:
        self.create_all()
        _ensure_key_history(con)
        anti = ""
        if incremental:
            copied = [r[0] for r in self._con.execute("SELECT batch_id FROM copied_batches")]
            copied_table = pa.table({"batch_id": pa.array(copied, pa.string())})
            con.register("_vault_store_copied", copied_table)
            anti = "ANTI JOIN _vault_store_copied c ON c.batch_id = v.batch_id"
        try:
            batch_ids = [
                str(r[0]) for r in con.execute(
                    f"SELECT DISTINCT v.batch_id FROM vault.identity v {anti}").fetchall()
            ]
            history = con.execute(
                "SELECT domain, current_key, sealed_previous, epoch FROM vault.key_history"
            ).fetchall()
            added = 0
            # One transaction: readers see the old copy or the new one, never half of it.
            self._con.execute("BEGIN IMMEDIATE")
            try:
                if not incremental:
                    self._con.execute("DELETE FROM identity")
                    self._con.execute("DELETE FROM copied_batches")
                if batch_ids:
                    reader = con.sql(_NEW_ROWS_SQL.format(anti=anti)).to_arrow_reader(_CHUNK_ROWS)
                    for rows, values in _packed_rows(reader):
                        self._con.executemany(_INSERT_IDENTITY, rows)
                        added += values
                    self._con.executemany(
                        "INSERT OR IGNORE INTO copied_batches (batch_id) VALUES (?)",
                        [(b,) for b in batch_ids])
                self._con.execute("DELETE FROM key_history")
                self._con.executemany(_INSERT_HISTORY, [
                    (str(d), str(k), bytes(s), int(e)) for d, k, s, e in history])
                self._con.execute("COMMIT")
            except BaseException:
                self._con.execute("ROLLBACK")
                raise
        finally:
            if incremental:
                with contextlib.suppress(duckdb.Error):
                    con.unregister("_vault_store_copied")
        return added

    def entries(self, resident_key: str) -> list[tuple[str, bytes, str]]:
        """(field, ciphertext, batch_id) of every vaulted value of the resident."""
        rows = self._con.execute(
            "SELECT batch_id, payload FROM identity WHERE resident_key = ?", (resident_key,)
        ).fetchall()
        out = [entry for batch_id, payload in rows for entry in _unpack(payload, batch_id)]
        return sorted(out, key=lambda e: (e[0], e[2], e[1]))

    def history(self, domain: str, current_key: str) -> list[bytes]:
        """The sealed earlier keys of `current_key`, newest retirement first."""
        rows = self._con.execute(
            "SELECT sealed_previous FROM key_history WHERE domain = ? AND current_key = ? "
            "ORDER BY epoch DESC", (domain, current_key)
        ).fetchall()
        return [bytes(r[0]) for r in rows]

    def copied_batches(self) -> set[str]:
        return {str(r[0]) for r in self._con.execute("SELECT batch_id FROM copied_batches")}

    def close(self) -> None:
        self._con.close()

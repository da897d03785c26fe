"""The DuckDB warehouse: curated tables, quarantine, vault and the batch manifest.

Only the pipeline worker writes it (see `hub.warehouse.writer_lock`). A batch is staged to
Parquet files outside the warehouse first; `commit_batch` then moves the whole batch in with one
transaction: its curated rows, vault entries, row issues and manifest row commit together or
not at all, so a process killed at any moment leaves the whole batch or none of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb

from hub.errors import WarehouseBusy, WarehouseError
from hub.linkage.tables import INDEX_DDL, sealed_table
from schemas.compile_ddl import curated_ddl, missing_column_ddl
from schemas.spec import ContractSpec

META_DDL = [
    "CREATE SCHEMA IF NOT EXISTS meta",
    """CREATE TABLE IF NOT EXISTS meta.batches (
        batch_id VARCHAR PRIMARY KEY,
        dataset VARCHAR NOT NULL,
        source VARCHAR NOT NULL,
        department VARCHAR NOT NULL,
        location VARCHAR NOT NULL,
        content_sha256 VARCHAR NOT NULL,
        contract_version VARCHAR NOT NULL,
        grid_scheme VARCHAR,
        rows_read BIGINT NOT NULL,
        rows_loaded BIGINT NOT NULL,
        rows_quarantined BIGINT NOT NULL,
        outcome VARCHAR NOT NULL,
        reason VARCHAR,
        as_of DATE,
        started_at TIMESTAMPTZ NOT NULL,
        finished_at TIMESTAMPTZ NOT NULL,
        timings JSON,
        top_rules JSON,
        load_mode VARCHAR
    )""",
    # Warehouses made before load modes: their batches were all snapshots (NULL reads so).
    "ALTER TABLE meta.batches ADD COLUMN IF NOT EXISTS load_mode VARCHAR",
    # Corrections: loaded rows that withdraw the fact of their business key (hub.ledger.current).
    """CREATE TABLE IF NOT EXISTS meta.withdrawn_rows (
        batch_id VARCHAR NOT NULL,
        source_row BIGINT NOT NULL
    )""",
    "CREATE SCHEMA IF NOT EXISTS quarantine",
    # One row per (row, column, rule); severity 'error' rows were not loaded, 'warning' rows were.
    """CREATE TABLE IF NOT EXISTS quarantine.row_issues (
        batch_id VARCHAR NOT NULL,
        dataset VARCHAR NOT NULL,
        source_row BIGINT NOT NULL,
        column_name VARCHAR NOT NULL,
        rule VARCHAR NOT NULL,
        severity VARCHAR NOT NULL
    )""",
    "CREATE SCHEMA IF NOT EXISTS vault",
    # Raw direct identifiers, AES-SIV encrypted and bound to (field, resident key).
    # Ciphertext is random bytes: DuckDB's default string compression (DICT_FSST) saves
    # almost nothing on it for several times the CPU of storing it uncompressed.
    # A vault table made before this line keeps the default: same data, slower inserts.
    """CREATE TABLE IF NOT EXISTS vault.identity (
        resident_key VARCHAR NOT NULL,
        field VARCHAR NOT NULL,
        ciphertext BLOB NOT NULL USING COMPRESSION uncompressed,
        batch_id VARCHAR NOT NULL
    )""",
    # Identifiers of rows sealed for linkage (their ID number failed its rules), encrypted and
    # bound to (field, candidate key `batch_id:source_row`). Apart from vault.identity so that
    # the API's read copy of the vault never holds them.
    """CREATE TABLE IF NOT EXISTS vault.sealed (
        candidate_key VARCHAR NOT NULL,
        field VARCHAR NOT NULL,
        ciphertext BLOB NOT NULL USING COMPRESSION uncompressed,
        batch_id VARCHAR NOT NULL
    )""",
    "CREATE SCHEMA IF NOT EXISTS linkage",
    # One row per sealed row scored against the registry (hub.pipeline.linkage): the best
    # resident, how sure, what decided it (per-field levels, never values), and how it ended.
    """CREATE TABLE IF NOT EXISTS linkage.decisions (
        batch_id VARCHAR NOT NULL,
        source_row BIGINT NOT NULL,
        dataset VARCHAR NOT NULL,
        resident_key VARCHAR,
        probability DOUBLE,
        runner_up DOUBLE,
        levels JSON,
        decision VARCHAR NOT NULL,
        method VARCHAR,
        decided_at TIMESTAMPTZ NOT NULL,
        decided_by VARCHAR,
        PRIMARY KEY (batch_id, source_row)
    )""",
    # Pairs of registry residents that are probably one person under two ID numbers: each
    # becomes a cross-department finding for the grid centre (hub.quality.consistency);
    # nothing is merged.
    """CREATE TABLE IF NOT EXISTS linkage.registry_duplicates (
        resident_key VARCHAR NOT NULL,
        other_key VARCHAR NOT NULL,
        probability DOUBLE NOT NULL,
        found_at TIMESTAMPTZ NOT NULL
    )""",
]

_PID = re.compile(r"PID (\d+)")

# The batch's vault entries that are new: deterministic encryption makes an identical
# (resident, field, value) an identical row, already there (anti join) or repeated within the
# batch (a resident on rows of several chunks). A DISTINCT over the wide text keys of millions
# of entries was most of the commit, yet repeats are rare: rows whose 64-bit hash of the key
# is unique in the batch are unique (equal rows hash equally), so only the rows sharing a
# hash go through the exact DISTINCT. Exact, whatever the hash collisions.
_VAULT_INSERT = """INSERT INTO vault.identity
    WITH fresh AS (
        SELECT v.resident_key, v.field, v.ciphertext, v.batch_id,
               hash(v.resident_key, v.field, v.ciphertext) AS h
        FROM read_parquet({files}) v
        ANTI JOIN vault.identity i
          ON i.resident_key = v.resident_key AND i.field = v.field
         AND i.ciphertext = v.ciphertext
    ),
    shared AS (SELECT h FROM fresh GROUP BY h HAVING count(*) > 1)
    SELECT resident_key, field, ciphertext, batch_id FROM fresh ANTI JOIN shared USING (h)
    UNION ALL
    SELECT DISTINCT ON (resident_key, field, ciphertext) resident_key, field, ciphertext, batch_id
    FROM fresh SEMI JOIN shared USING (h)"""


@dataclass(frozen=True)
class StagedBatch:
    """Parquet files of one batch, written by the pipeline before the commit."""

    curated: list[Path]
    vault: list[Path]
    issues: list[Path]
    rejected_rows: Path | None  # one column `source_row`: rows found bad after staging
    withdrawn: list[Path] = field(default_factory=list)  # rows withdrawing a fact
    sealed: list[Path] = field(default_factory=list)  # rows kept for linkage, no resident key
    sealed_vault: list[Path] = field(default_factory=list)  # their identifiers, encrypted


def _parquet_list(paths: list[Path]) -> str:
    return "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths) + "]"


class Warehouse:
    def __init__(self, path: Path, *, read_only: bool = False, memory_limit: str = "1GB",
                 threads: int = 2) -> None:
        self.path = path
        config: dict[str, Any] = {
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "memory_limit": memory_limit,
            "threads": threads,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = duckdb.connect(str(path), read_only=read_only, config=config)
        except duckdb.IOException as exc:
            text = str(exc)
            if "lock" in text.lower():
                match = _PID.search(text)
                holder = f"pid {match.group(1)}" if match else "another process"
                raise WarehouseBusy(str(path), holder) from None
            raise WarehouseError(str(path), f"cannot open ({exc.__class__.__name__})") from exc
        except duckdb.Error as exc:
            raise WarehouseError(str(path), f"cannot open ({exc.__class__.__name__}: "
                                            "not a DuckDB file or a newer format)") from exc

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

    def ensure_schema(self, contracts: list[ContractSpec]) -> None:
        for statement in (*META_DDL, *INDEX_DDL):
            self.con.execute(statement)
        for contract in contracts:
            for statement in curated_ddl(contract):
                self.con.execute(statement)
            existing = {
                row[0]
                for row in self.con.execute(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_schema = 'curated' AND table_name = ?", [contract.name]
                ).fetchall()
            }
            for statement in missing_column_ddl(contract, existing):
                self.con.execute(statement)
            # Rows whose ID failed its rules, de-identified like curated rows (hub.pipeline
            # .sealing): the same columns, so that a match makes them facts unchanged.
            if contract.ledger is not None:
                self.con.execute(f'CREATE TABLE IF NOT EXISTS {sealed_table(contract.name)} AS '
                                 f'SELECT * FROM {contract.curated_table} LIMIT 0')
                self.con.execute(f"ALTER TABLE {sealed_table(contract.name)} "
                                 "ADD COLUMN IF NOT EXISTS identity_key VARCHAR")

    def find_loaded(self, dataset: str, content_sha256: str) -> str | None:
        row = self.con.execute(
            "SELECT batch_id FROM meta.batches WHERE dataset = ? AND content_sha256 = ? "
            "AND outcome = 'loaded' ORDER BY finished_at LIMIT 1", [dataset, content_sha256]
        ).fetchone()
        return str(row[0]) if row else None

    def count_duplicate_keys(self, staged: list[Path], key_columns: list[str],
                             out: Path) -> int:
        """Write the source rows whose natural key repeats an earlier row of the batch."""
        if not staged or not key_columns:
            self.con.execute(
                f"COPY (SELECT CAST(NULL AS BIGINT) AS source_row WHERE false) "
                f"TO '{out}' (FORMAT parquet)")
            return 0
        keys = ", ".join(f'"{c}"' for c in key_columns)
        self.con.execute(
            f"""COPY (
                SELECT source_row FROM (
                    SELECT source_row, row_number() OVER (PARTITION BY {keys}
                                                          ORDER BY source_row) AS seen
                    FROM read_parquet({_parquet_list(staged)})
                ) WHERE seen > 1 ORDER BY source_row
            ) TO '{out}' (FORMAT parquet)"""
        )
        row = self.con.execute(f"SELECT count(*) FROM read_parquet('{out}')").fetchone()
        return int(row[0]) if row else 0

    def commit_batch(self, contract: ContractSpec, manifest: dict[str, Any],
                     staged: StagedBatch, load_rows: bool) -> None:
        """One transaction: curated rows (if load_rows), vault, issues, manifest."""
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            if load_rows and staged.curated:
                anti = ""
                if staged.rejected_rows is not None:
                    anti = (f" WHERE source_row NOT IN (SELECT source_row FROM "
                            f"read_parquet('{staged.rejected_rows}'))")
                con.execute(
                    f"INSERT INTO {contract.curated_table} BY NAME "
                    f"SELECT * FROM read_parquet({_parquet_list(staged.curated)}){anti}"
                )
            if load_rows and staged.withdrawn:
                con.execute("INSERT INTO meta.withdrawn_rows BY NAME SELECT * FROM "
                            f"read_parquet({_parquet_list(staged.withdrawn)})")
            if load_rows and staged.vault:
                con.execute(_VAULT_INSERT.format(files=_parquet_list(staged.vault)))
            if load_rows and staged.sealed:
                con.execute(f"INSERT INTO {sealed_table(contract.name)} BY NAME SELECT * "
                            f"FROM read_parquet({_parquet_list(staged.sealed)})")
            if load_rows and staged.sealed_vault:
                con.execute("INSERT INTO vault.sealed BY NAME SELECT * FROM "
                            f"read_parquet({_parquet_list(staged.sealed_vault)})")
            if staged.issues:
                con.execute(
                    f"INSERT INTO quarantine.row_issues BY NAME "
                    f"SELECT * FROM read_parquet({_parquet_list(staged.issues)})"
                )
            columns = ", ".join(manifest)
            marks = ", ".join("?" for _ in manifest)
            con.execute(f"INSERT INTO meta.batches ({columns}) VALUES ({marks})",
                        list(manifest.values()))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def batch(self, batch_id: str) -> dict[str, Any] | None:
        cursor = self.con.execute("SELECT * FROM meta.batches WHERE batch_id = ?", [batch_id])
        names = [d[0] for d in cursor.description]
        row = cursor.fetchone()
        return dict(zip(names, row, strict=True)) if row else None

    def set_outcome(self, batch_id: str, held: str, outcome: str, reason: str) -> bool:
        """Move a batch from outcome `held` to `outcome`; False when it was not `held`.

        A confirmed batch is current from now on: its `finished_at` becomes the moment of
        the confirmation, so that it replaces what was current when a person decided."""
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            row = con.execute("SELECT outcome FROM meta.batches WHERE batch_id = ?",
                              [batch_id]).fetchone()
            if row is None or row[0] != held:
                con.execute("ROLLBACK")
                return False
            con.execute("UPDATE meta.batches SET outcome = ?, reason = ?, "
                        "finished_at = CASE WHEN ? = 'loaded' THEN now() ELSE finished_at END "
                        "WHERE batch_id = ?", [outcome, reason, outcome, batch_id])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return True

    def batches(self) -> list[dict[str, Any]]:
        cursor = self.con.execute("SELECT * FROM meta.batches ORDER BY started_at")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

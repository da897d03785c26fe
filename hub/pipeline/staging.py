"""Staging: one batch's de-identified rows, vault entries and row issues as Parquet files.

Staging happens outside the warehouse, chunk by chunk, so memory stays bounded and the
warehouse transaction that follows only moves finished files in. Staged files never hold a
raw identifier (pseudonyms, ciphertexts and row issues only); a batch's folder is removed
when the batch ends, and leftovers of a killed worker are removed when the next one starts.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from hub.warehouse.store import StagedBatch

ISSUE_SCHEMA = pa.schema([
    ("batch_id", pa.string()),
    ("dataset", pa.string()),
    ("source_row", pa.int64()),
    ("column_name", pa.string()),
    ("rule", pa.string()),
    ("severity", pa.string()),
])

VAULT_SCHEMA = pa.schema([
    ("resident_key", pa.string()),
    ("field", pa.string()),
    ("ciphertext", pa.binary()),
    ("batch_id", pa.string()),
])


def _text(values: pd.Series) -> pa.Array:
    """Arrow string column of a text series, without a Python object per value."""
    arrow = pa.array(values.astype("string").array)
    if isinstance(arrow, pa.ChunkedArray):
        arrow = arrow.combine_chunks()
    return arrow.cast(pa.string())


@dataclass
class ChunkFiles:
    """The staged files of one chunk; None or empty where the chunk had nothing of a kind."""

    curated: Path | None = None
    vault: Path | None = None
    issues: list[Path] = field(default_factory=list)
    withdrawn: Path | None = None


def _bytes(values: pd.Series) -> pa.Array | pa.ChunkedArray:
    """Arrow binary of a column of bytes; no copy when the column is Arrow-backed already."""
    if isinstance(values.dtype, pd.ArrowDtype):
        return pa.array(values.array).cast(pa.binary())
    return pa.array(values.to_numpy(dtype=object), pa.binary())


def _vault_table(frame: pd.DataFrame, batch_id: str) -> pa.Table:
    return pa.table({
        "resident_key": _text(frame["resident_key"]),
        "field": _text(frame["field"]),
        "ciphertext": _bytes(frame["ciphertext"]),
        "batch_id": pa.repeat(pa.scalar(batch_id, pa.string()), len(frame)),
    }, schema=VAULT_SCHEMA)


def _issue_table(issues: pd.DataFrame, batch_id: str, dataset: str, severity: str) -> pa.Table:
    n = len(issues)

    def repeat(value: str) -> pa.Array:
        return pa.repeat(pa.scalar(value, pa.string()), n)

    return pa.table({
        "batch_id": repeat(batch_id),
        "dataset": repeat(dataset),
        "source_row": pa.array(issues["source_row"].to_numpy(dtype="int64")),
        "column_name": _text(issues["column"].astype(str)),
        "rule": _text(issues["rule"].astype(str)),
        "severity": repeat(severity),
    }, schema=ISSUE_SCHEMA)


def write_chunk(folder: Path, batch_id: str, dataset: str, number: int, *,
                errors: pd.DataFrame, warnings: pd.DataFrame, curated: pa.Table,
                withdrawn: np.ndarray, vault: pd.DataFrame) -> ChunkFiles:
    """Write chunk `number`'s files into the batch folder. Named by chunk, so that chunks
    prepared in other processes never collide; the stage lists them in chunk order."""
    files = ChunkFiles()

    def path(kind: str) -> Path:
        return folder / f"{kind}-{number:05d}.parquet"

    for issues, severity in ((errors, "error"), (warnings, "warning")):
        if not issues.empty:
            files.issues.append(path(f"issues-{severity}"))
            pq.write_table(_issue_table(issues, batch_id, dataset, severity), files.issues[-1],
                           compression="zstd")
    if curated.num_rows:
        files.curated = path("curated")
        pq.write_table(curated, files.curated, compression="zstd")
    if len(withdrawn):
        files.withdrawn = path("withdrawn")
        pq.write_table(pa.table({"batch_id": pa.repeat(pa.scalar(batch_id), len(withdrawn)),
                                 "source_row": pa.array(withdrawn, pa.int64())}),
                       files.withdrawn)
    if not vault.empty:
        files.vault = path("vault")
        # Ciphertext does not compress: zstd over it would only add write time.
        pq.write_table(_vault_table(vault, batch_id), files.vault, compression="none")
    return files


class BatchStage:
    """Parquet files of one batch; one part file per chunk keeps each write small."""

    def __init__(self, folder: Path, batch_id: str, dataset: str) -> None:
        self.folder = folder
        self.batch_id = batch_id
        self.dataset = dataset
        folder.mkdir(parents=True, exist_ok=False)
        self.curated: list[Path] = []
        self.vault: list[Path] = []
        self.issues: list[Path] = []
        self.rejected_rows: Path | None = None
        self.withdrawn: list[Path] = []  # source rows that withdraw a fact (corrections)
        self.sealed: list[Path] = []  # rows kept for linkage (hub.pipeline.sealing)
        self.sealed_vault: list[Path] = []

    def _next(self, kind: str, bucket: list[Path]) -> Path:
        path = self.folder / f"{kind}-{len(bucket):05d}.parquet"
        bucket.append(path)
        return path

    def add_chunk(self, files: ChunkFiles) -> None:
        """Take a chunk's files (write_chunk), in the order the chunks were read."""
        self.issues += files.issues
        for path, bucket in ((files.curated, self.curated), (files.withdrawn, self.withdrawn),
                             (files.vault, self.vault)):
            if path is not None:
                bucket.append(path)

    def add_sealed(self, table: pa.Table, vault: pd.DataFrame) -> None:
        if not table.num_rows:
            return
        pq.write_table(table, self._next("sealed", self.sealed), compression="zstd")
        if not vault.empty:
            sealed = pa.table({
                "candidate_key": _text(vault["candidate_key"]),
                "field": _text(vault["field"]),
                "ciphertext": pa.array(vault["ciphertext"].to_numpy(dtype=object), pa.binary()),
                "batch_id": pa.repeat(pa.scalar(self.batch_id, pa.string()), len(vault)),
            })
            pq.write_table(sealed, self._next("sealed-vault", self.sealed_vault),
                           compression="none")

    def add_issues(self, issues: pd.DataFrame, severity: str) -> None:
        if not issues.empty:
            pq.write_table(_issue_table(issues, self.batch_id, self.dataset, severity),
                           self._next("issues", self.issues), compression="zstd")

    def rejected_rows_path(self) -> Path:
        self.rejected_rows = self.folder / "rejected-rows.parquet"
        return self.rejected_rows

    def staged(self) -> StagedBatch:
        return StagedBatch(self.curated, self.vault, self.issues, self.rejected_rows,
                           self.withdrawn, self.sealed, self.sealed_vault)

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def clear_leftovers(staging_dir: Path) -> int:
    """Remove batch folders a killed worker left behind; returns how many."""
    if not staging_dir.exists():
        return 0
    count = 0
    for child in staging_dir.iterdir():
        if child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
            count += 1
    return count

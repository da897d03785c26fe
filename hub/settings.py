"""Typed settings of a hub installation, read from `HUB_*` environment variables.

All state lives under one home folder (`HUB_HOME`): the warehouse, the state store, the keys,
the inbox, staging and reports. Settings are built by the caller (CLI command, app factory,
test), never at import time.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_home() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "community-data-hub"


class HubSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_", extra="ignore")

    home: Path = Field(default_factory=default_home)
    # SQLAlchemy URL of the state store; SQLite under the home folder unless set (Postgres later).
    state_url: str | None = None
    chunk_rows: int = Field(default=200_000, ge=1_000, le=5_000_000)
    # Extracts above this size are refused before reading (bounded disk and time per batch):
    # a department's monthly extract of a 200k-resident street is well under 512 MiB.
    max_extract_bytes: int = Field(default=512 * 1024**2, ge=1024)
    # DuckDB memory cap for the pipeline worker, so a 10M-row load stays bounded.
    warehouse_memory_limit: str = Field(default="1GB", pattern=r"^\d+(\.\d+)?\s*[KMGT]?i?B$")
    warehouse_threads: int = Field(default=2, ge=1, le=64)
    # Publishing the resident views builds one document per resident (about 6 GB at 1M).
    publish_memory_limit: str = Field(default="8GB", pattern=r"^\d+(\.\d+)?\s*[KMGT]?i?B$")
    # Great Expectations quality suite and reports after each batch (issue: quality). Costs a
    # ~10 s import per worker process and about as long again as the ingest itself.
    quality_checks: bool = True
    # `hub serve` signs an audit checkpoint after this many new records, or after this many
    # seconds if any record was added (hub.audit.publisher).
    audit_checkpoint_records: int = Field(default=1000, ge=1, le=10_000_000)
    audit_checkpoint_seconds: int = Field(default=600, ge=1, le=86_400)
    # Where each key comes from (hub.keys.config): unset, the file in the home's keys folder;
    # `file:/absolute/path` (e.g. a compose secret in /run/secrets) or `env:VARIABLE` (the
    # variable holds the key as hex). Checked by the key loader, which never echoes the value.
    pseudonym_key_ref: str | None = None
    vault_key_ref: str | None = None
    token_pepper_ref: str | None = None
    audit_signing_key_ref: str | None = None

    @field_validator("home")
    @classmethod
    def _absolute_home(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def warehouse_dir(self) -> Path:
        return self.home / "warehouse"

    @property
    def warehouse_path(self) -> Path:
        return self.warehouse_dir / "warehouse.duckdb"

    @property
    def writer_lock_path(self) -> Path:
        return self.warehouse_dir / "writer.lock"

    @property
    def state_dir(self) -> Path:
        return self.home / "state"

    @property
    def resolved_state_url(self) -> str:
        return self.state_url or f"sqlite:///{self.state_dir / 'state.sqlite'}"

    @property
    def keys_dir(self) -> Path:
        return self.home / "keys"

    @property
    def inbox_dir(self) -> Path:
        return self.home / "inbox"

    @property
    def staging_dir(self) -> Path:
        return self.home / "staging"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    @property
    def demo_dir(self) -> Path:
        return self.home / "demo"

    @property
    def vault_dir(self) -> Path:
        """The API's read copy of the vault and the sealed key history (hub.vault.store)."""
        return self.home / "vault"

    @property
    def vault_store_path(self) -> Path:
        return self.vault_dir / "vault.sqlite"

    @property
    def audit_dir(self) -> Path:
        """Signed checkpoints of the audit log and the public key that verifies them."""
        return self.home / "audit"

    @property
    def exports_dir(self) -> Path:
        """Default folder of safe releases written by API export jobs (hub.release.export)."""
        return self.home / "exports"

    def ensure_dirs(self) -> None:
        for folder in (self.home, self.warehouse_dir, self.state_dir, self.inbox_dir,
                       self.staging_dir, self.reports_dir):
            folder.mkdir(parents=True, exist_ok=True)
        # Staged batches hold de-identified data only, but nobody else needs to read them.
        self.home.chmod(0o750)

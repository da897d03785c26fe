"""Typed settings of a hub installation: the one place that reads `HUB_*` environment variables.

All state lives under one home folder (`HUB_HOME`): the warehouse, the state store, the keys,
the inbox, staging and reports. Settings are built by the caller (CLI command, app factory,
test), never at import time, and never written back to the environment: a process that needs
them (an API worker of `hub serve`) builds its own from the same environment.

Groups keep their documented variable names: `settings.serve` (`HUB_HOST`, `HUB_PORT`,
`HUB_WORKERS`, `HUB_PIPELINE`, `HUB_PIPELINE_NICE`), `settings.reveal` (`HUB_REVEAL_*`),
`settings.audit` (`HUB_AUDIT_SYNCHRONOUS`), `settings.casework` (`HUB_CASEWORK_*`). Each group
reads its variables when the HubSettings holding it is built.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_home() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "community-data-hub"


def default_workers() -> int:
    """The cores this process may run on (CPU affinity: a container's cpuset counts)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(64, cores))


class ServeSettings(BaseSettings):
    """Where and how `hub serve` listens, and its pipeline worker."""

    model_config = SettingsConfigDict(env_prefix="HUB_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # One API worker per usable core: more processes than cores only add preemption at the
    # tail (docs/benchmarks.md, B3).
    workers: int = Field(default_factory=default_workers, ge=1, le=64)
    pipeline: bool = True  # HUB_PIPELINE=false: API only (another host runs the worker)
    # Niceness added to the pipeline worker process (0: same priority as the API).
    pipeline_nice: int = Field(default=10, ge=0, le=19)


class RevealSettings(BaseSettings):
    """Who may open raw identifiers from the vault, and how often (hub.vault.reveal)."""

    model_config = SettingsConfigDict(env_prefix="HUB_REVEAL_", extra="ignore")

    street_office: bool = False  # street offices may reveal their own residents
    rate_limit: int = Field(default=10, ge=1, le=10_000)  # reveals per actor per window
    rate_window_seconds: int = Field(default=3600, ge=60, le=7 * 86_400)


class ConsoleSettings(BaseSettings):
    """The web console (hub.web): login sessions and lock-out."""

    model_config = SettingsConfigDict(env_prefix="HUB_CONSOLE_", extra="ignore")

    # A login session unused this long is ended; this many wrong passwords in a row lock the
    # account for lockout_seconds.
    idle_seconds: int = Field(default=900, ge=10, le=86_400)
    lockout_attempts: int = Field(default=5, ge=1, le=100)
    lockout_seconds: int = Field(default=900, ge=1, le=86_400)
    # Mark the session cookie Secure (sent over HTTPS only): set it behind a TLS proxy.
    secure_cookie: bool = False


class AuditSettings(BaseSettings):
    """The evidence log (hub.audit.log)."""

    model_config = SettingsConfigDict(env_prefix="HUB_AUDIT_", extra="ignore")

    # `normal` commits without an fsync per record (a power cut may lose the last ones, never
    # the chain); `full` syncs each record.
    synchronous: Literal["normal", "full"] = "normal"
    # `hub serve` signs a checkpoint after this many new records, or after this many seconds
    # if the log grew at all (hub.audit.publisher); auditors fetch copies off the machine.
    checkpoint_records: int = Field(default=1000, ge=1, le=10_000_000)
    checkpoint_seconds: int = Field(default=600, ge=1, le=86_400)
    # A witness folder (checkpoint copies kept off this machine, `hub audit
    # fetch-checkpoints`) the console's verification page checks the log against, if set.
    witness_dir: Path | None = None

    @field_validator("synchronous", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().lower() not in ("normal", "full"):
            raise ValueError("HUB_AUDIT_SYNCHRONOUS must be normal or full")
        return value.strip().lower() if isinstance(value, str) else value


class CaseworkSettings(BaseSettings):
    """The loops (hub.casework): due dates in working days per kind, and the daily digest."""

    model_config = SettingsConfigDict(env_prefix="HUB_CASEWORK_", extra="ignore")

    # Working days a department has to correct a value: from a cross-department finding, a
    # failed quality check, or a person's report.
    correction_days_finding: int = Field(default=10, ge=1, le=120)
    correction_days_quality: int = Field(default=5, ge=1, le=120)
    correction_days_report: int = Field(default=10, ge=1, le=120)
    # Working days the owner has to answer a conditional-sharing request, and a department or
    # provider to answer a case referral.
    sharing_reply_days: int = Field(default=10, ge=1, le=120)
    referral_days: int = Field(default=5, ge=1, le=120)
    # The daily digest (`hub digest send`): sent only when a host is set. Recipients map
    # console user names to addresses: "name=address,name=address".
    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_from: str = Field(default="hub@localhost", max_length=200)
    digest_recipients: str = Field(default="", max_length=20_000,
                                   pattern=r"^([^=,\s]+=[^=,\s]+@[^=,\s]+)?"
                                           r"(,[^=,\s]+=[^=,\s]+@[^=,\s]+)*$")

    def recipients(self) -> dict[str, str]:
        return dict(item.split("=", 1) for item in self.digest_recipients.split(",") if item)


class LinkageSettings(BaseSettings):
    """Linking department rows without a usable ID to the registry (hub.pipeline.linkage)."""

    model_config = SettingsConfigDict(env_prefix="HUB_LINKAGE_", extra="ignore")

    # Read off B11's precision/recall curve of the pipeline's model on the demo's truth
    # (docs/benchmarks.md, 20,000 residents): from 0.9 precision is 1.000 at recall 0.988
    # (0.99 and up lose recall); down to 0.3 precision stays 1.000, so the band 0.3-0.9 holds
    # likely matches a person confirms (rows with a name and a community but no birth date
    # or sex land there), and below 0.3 a row stays quarantined.
    auto_link: float = Field(default=0.9, gt=0, lt=1)
    review_floor: float = Field(default=0.3, gt=0, lt=1)
    # After each registry batch, look for residents registered twice under two ID numbers
    # (findings for the grid centre). Off where another system already deduplicates the
    # registry: the search trains a model on every registry batch.
    registry_duplicates: bool = True

    @model_validator(mode="after")
    def _ordered(self) -> LinkageSettings:
        if self.review_floor > self.auto_link:
            raise ValueError("HUB_LINKAGE_REVIEW_FLOOR must not exceed HUB_LINKAGE_AUTO_LINK")
        return self


class HubSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_", extra="ignore")

    home: Path = Field(default_factory=default_home)
    # SQLAlchemy URL of the state store; SQLite under the home folder unless set (Postgres later).
    state_url: str | None = None
    chunk_rows: int = Field(default=200_000, ge=1_000, le=5_000_000)
    # Worker processes that map, validate, de-identify and stage the chunks of one extract
    # at once (hub.pipeline.chunk_pool); the result is the same with any number. One by
    # default: the batch's own thread, no processes to start (tests, small homes); a
    # pipeline host sets one per core (docs/benchmarks.md, B1).
    ingest_workers: int = Field(default=1, ge=1, le=64)
    # Extracts above this size are refused before reading (bounded disk and time per batch):
    # a department's monthly extract of a 200k-resident street is well under 512 MiB.
    max_extract_bytes: int = Field(default=512 * 1024**2, ge=1024)
    # DuckDB memory cap for the pipeline worker, so a 10M-row load stays bounded.
    warehouse_memory_limit: str = Field(default="1GB", pattern=r"^\d+(\.\d+)?\s*[KMGT]?i?B$")
    warehouse_threads: int = Field(default=2, ge=1, le=64)
    # Publishing builds the documents one partition of residents at a time (hub.views.partition):
    # its lists cannot spill, but a partition's fit in this cap whatever the district's size.
    publish_memory_limit: str = Field(default="1GB", pattern=r"^\d+(\.\d+)?\s*[KMGT]?i?B$")
    # Great Expectations quality suite and reports after each batch. Costs a slow import per
    # worker process and about as long again as the ingest itself.
    quality_checks: bool = True
    # Where each key comes from (hub.keys.config): unset, the file in the home's keys folder;
    # `file:/absolute/path` (e.g. a compose secret in /run/secrets) or `env:VARIABLE` (the
    # variable holds the key as hex). Checked by the key loader, which never echoes the value.
    # Largest share of a release's persons any attacker of the threat model may re-identify,
    # per recipient class: "class=share,..." (docs/privacy.md).
    release_risk_thresholds: str = Field(
        default="researcher=0.01,auditor=0.01,public=0.01",
        pattern=r"^[a-z_]+=(0(\.[0-9]+)?|0?\.[0-9]+)(,[a-z_]+=(0(\.[0-9]+)?|0?\.[0-9]+))*$")
    pseudonym_key_ref: str | None = None
    vault_key_ref: str | None = None
    token_pepper_ref: str | None = None
    audit_signing_key_ref: str | None = None
    serve: ServeSettings = Field(default_factory=ServeSettings)
    reveal: RevealSettings = Field(default_factory=RevealSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    console: ConsoleSettings = Field(default_factory=ConsoleSettings)
    casework: CaseworkSettings = Field(default_factory=CaseworkSettings)


    linkage: LinkageSettings = Field(default_factory=LinkageSettings)

    def release_risk_threshold(self, recipient_class: str) -> float:
        """The gate's threshold for a recipient class (the strictest one for an unknown)."""
        table = {name: float(share) for name, share in
                 (item.split("=") for item in self.release_risk_thresholds.split(","))}
        return table.get(recipient_class, min(table.values(), default=0.01))

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

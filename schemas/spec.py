"""The declarative data contract: written once per dataset, compiled per target.

A contract (one YAML file in `schemas/contracts/`) states the columns of a dataset in the
hub's shared vocabulary, their types and constraints, how sensitive each one is, under which
sharing class it may travel, and how the pipeline de-identifies it. Everything else is
compiled from it: the pandera model (`schemas.compile_pandera`), the DuckDB DDL of the curated
table (`schemas.compile_ddl`) and the catalog entry (`schemas.compile_catalog`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ColumnType(StrEnum):
    STRING = "string"
    CATEGORY = "category"  # string restricted to `allowed`
    INTEGER = "integer"
    DECIMAL = "decimal"  # quantities (hours, meals); DECIMAL(14,2)
    MONEY = "money"  # yuan, two decimals, DECIMAL(14,2); carried as int64 fen in frames
    DATE = "date"
    BOOLEAN = "boolean"
    TAGS = "tags"  # a ';'-separated set of tokens from `allowed`


class Sensitivity(StrEnum):
    DIRECT_IDENTIFIER = "direct_identifier"
    QUASI_IDENTIFIER = "quasi_identifier"
    SENSITIVE = "sensitive"
    ORDINARY = "ordinary"


class SharingClass(StrEnum):
    UNCONDITIONAL = "unconditional"
    CONDITIONAL = "conditional"
    NOT_SHARED = "not_shared"


class Identity(StrEnum):
    """Identity rules from `schemas.identity` that normalise and check a column."""

    RESIDENT_ID = "resident_id"
    PHONE = "phone"
    GRID_CODE = "grid_code"


class Deid(StrEnum):
    """What the pipeline does with a column before it reaches a curated table."""

    KEEP = "keep"
    PSEUDONYM = "pseudonym"  # keyed HMAC pseudonym in column `output`
    VAULT = "vault"  # raw value only in the encrypted vault; not in the curated table
    BIRTH_YEAR = "birth_year"  # date generalised to its year, column `output`
    DROP = "drop"


class ReleaseRole(StrEnum):
    """What a safe release does with a column, decided against the threat model (docs/privacy.md).

    Any value another department, a neighbour or a grid worker could know about a person is a
    quasi-identifier; a value that would harm the person if learnt is sensitive; only values
    nobody could link on are safe."""

    REMOVED = "removed"  # direct identifiers, lineage, values that may not leave the hub
    QUASI_IDENTIFIER = "quasi_identifier"  # generalised until k persons share it
    SENSITIVE = "sensitive"  # kept; every class holds at least l of its values
    SAFE = "safe"  # kept as it is


class ColumnRelease(BaseModel):
    """The release classification of one column, with the reason for it."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    role: ReleaseRole
    reason: str
    known_by: list[str] = []  # attackers besides the owning department who know the value
    hierarchy: str | None = None  # quasi-identifiers: see desensitize.release.hierarchy
    groups: dict[str, str] = {}  # hierarchy `groups`: value -> its group (e.g. programme kind)
    with_: str | None = Field(default=None, alias="with")  # generalised at the level of this one
    min_level: int = 0  # lowest level a release may use


class ColumnSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    type: ColumnType
    description: str = ""
    required: bool = True  # the column must be present in every extract
    nullable: bool = False  # a present column may have empty cells
    sensitivity: Sensitivity = Sensitivity.ORDINARY
    sharing: SharingClass = SharingClass.CONDITIONAL
    deid: Deid = Deid.KEEP
    output: str | None = None  # curated column name for PSEUDONYM / BIRTH_YEAR
    vault: bool = False  # also keep the raw value in the vault (e.g. the ID behind a pseudonym)
    identity: Identity | None = None
    allowed: list[str] | None = None  # CATEGORY / TAGS vocabulary
    min: float | None = None  # numbers (money in yuan); dates as a YYYYMMDD number
    max: float | None = None
    pattern: str | None = None  # regex for STRING columns, full match
    not_in_future: bool = False  # dates
    release: ColumnRelease | None = None  # safe releases (desensitize.release)

    @model_validator(mode="after")
    def _consistent(self) -> ColumnSpec:
        if self.type in (ColumnType.CATEGORY, ColumnType.TAGS) and not self.allowed:
            raise ValueError(f"column {self.name}: type {self.type} needs `allowed`")
        if self.deid in (Deid.PSEUDONYM, Deid.BIRTH_YEAR) and not self.output:
            raise ValueError(f"column {self.name}: deid {self.deid} needs `output`")
        if self.deid == Deid.BIRTH_YEAR and self.type != ColumnType.DATE:
            raise ValueError(f"column {self.name}: birth_year generalises dates only")
        if self.sensitivity == Sensitivity.DIRECT_IDENTIFIER and self.deid == Deid.KEEP:
            raise ValueError(f"column {self.name}: a direct identifier cannot be kept as is")
        return self

    @property
    def curated_name(self) -> str | None:
        """Column name in the curated table, or None when the column does not reach it."""
        if self.deid in (Deid.VAULT, Deid.DROP):
            return None
        if self.deid in (Deid.PSEUDONYM, Deid.BIRTH_YEAR):
            return self.output
        return self.name


class LedgerMapping(BaseModel):
    """How one row of a department dataset becomes one fact of the assistance ledger."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    department: str
    program: str = "program"  # column holding the program code
    kind: str = "kind"
    amount: str | None = "amount"
    quantity: str | None = None
    unit: str | None = None
    period_start: str = "period_start"
    period_end: str = "period_end"
    exclude_programs: list[str] = []  # rows of these programs are facts, not benefits


class DatasetRelease(BaseModel):
    """How a dataset is released (desensitize.release)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    row_owner: str | None = None  # column naming the department whose insider knows the row
    category: str | None = None  # column the aggregate table is broken down by


class ContractSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    title: str
    version: Annotated[str, Field(pattern=r"^\d+\.\d+\.\d+$")]
    owner: str  # owning department id
    description: str
    sharing: SharingClass
    update_frequency_days: int | None = None  # promised; None for derived datasets
    legal_basis: str = ""
    kind: Literal["source", "derived"] = "source"
    bad_row_threshold: float = 0.05  # share of bad rows above which a batch is rejected whole
    unique: list[str] = []  # natural key within one batch
    changes: dict[str, str] = {}  # version -> what changed
    ledger: LedgerMapping | None = None
    release: DatasetRelease | None = None
    columns: list[ColumnSpec]

    @model_validator(mode="after")
    def _consistent(self) -> ContractSpec:
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise ValueError("duplicate column names")
        for key in self.unique:
            if key not in names:
                raise ValueError(f"unique key column {key} is not a column")
        curated = [c.curated_name for c in self.columns if c.curated_name]
        if len(set(curated)) != len(curated):
            raise ValueError("two columns map to the same curated column")
        if self.version not in self.changes:
            raise ValueError(f"`changes` must describe version {self.version}")
        return self

    def column(self, name: str) -> ColumnSpec:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def identity_column(self) -> ColumnSpec | None:
        """The resident ID column, whose pseudonym is the resident key."""
        for c in self.columns:
            if c.identity == Identity.RESIDENT_ID:
                return c
        return None

    @property
    def curated_table(self) -> str:
        return f"curated.{self.name}"

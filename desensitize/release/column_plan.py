"""What a release does with each column, read from the dataset's contract.

No column list is written here: a column's `sensitivity`, `sharing`, `deid` and type decide.

- not in the curated table (direct identifiers in the vault, dropped columns): absent
- sharing `not_shared` (diagnosis codes): removed, it may not leave the hub
- the resident pseudonym: replaced by a per-release pseudonym (`person_key`)
- another pseudonym that groups residents (the household): removed, because it would link
  the members of a household; its group size is released instead as a quasi-identifier
- quasi-identifiers: generalised along their hierarchy (see `hierarchy`)
- sensitive columns: kept, and every group of the release must hold at least l of their values
- ordinary columns: kept as they are
- columns of the frame that the contract does not name (batch id, source row, grid scheme):
  removed; a source row number points back into the department's own extract
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from desensitize.release import hierarchy as h
from schemas.registry import all_contracts
from schemas.spec import ColumnSpec, ColumnType, ContractSpec, Deid, Identity, Sensitivity
from schemas.spec import SharingClass as Sharing

PERSON_KEY = "person_key"


class Treatment(StrEnum):
    PSEUDONYM = "pseudonym"  # replaced by the release pseudonym
    GROUP_SIZE = "group_size"  # removed; its group size becomes a quasi-identifier
    GENERALISE = "generalise"
    SENSITIVE = "sensitive"
    KEEP = "keep"
    REMOVE = "remove"


@dataclass(frozen=True)
class ColumnPlan:
    column: str  # name in the rows to release (curated name), or the contract name if absent
    output: str | None  # name in the release; None when removed
    treatment: Treatment
    reason: str
    hierarchy: h.Hierarchy | None = None


@dataclass(frozen=True)
class ReleasePlan:
    dataset: str
    version: str
    person_key: str | None  # input column of the resident pseudonym
    columns: tuple[ColumnPlan, ...]

    def by(self, treatment: Treatment) -> list[ColumnPlan]:
        return [c for c in self.columns if c.treatment == treatment]

    @property
    def quasi_identifiers(self) -> list[ColumnPlan]:
        """Generalised columns, including group sizes derived from removed group keys."""
        return [c for c in self.columns if c.hierarchy is not None]

    @property
    def sensitive(self) -> list[str]:
        return [c.column for c in self.by(Treatment.SENSITIVE)]

    @property
    def removed(self) -> list[ColumnPlan]:
        """Columns absent from the release under their own name (dropped or replaced)."""
        replaced = (Treatment.PSEUDONYM, Treatment.GROUP_SIZE)
        return [c for c in self.columns if c.output is None or c.treatment in replaced]


def _pseudonym_outputs() -> tuple[set[str], set[str]]:
    """(person keys, other pseudonyms): curated names of pseudonym columns of any contract.
    A derived dataset (the ledger) carries them under the same names without re-declaring
    their deid rule."""
    persons: set[str] = set()
    others: set[str] = set()
    for contract in all_contracts().values():
        for column in contract.columns:
            if column.deid == Deid.PSEUDONYM and column.output:
                target = persons if column.identity == Identity.RESIDENT_ID else others
                target.add(column.output)
    return persons, others - persons


def hierarchy_for(column: ColumnSpec) -> h.Hierarchy:
    """The generalisation hierarchy of a quasi-identifier, by its deid rule, identity and type."""
    if column.deid == Deid.BIRTH_YEAR:
        return h.BIRTH_YEAR
    if column.identity == Identity.GRID_CODE:
        return h.GRID_CODE
    if column.type == ColumnType.DATE:
        return h.DATE
    if column.type in (ColumnType.INTEGER, ColumnType.DECIMAL, ColumnType.MONEY):
        low = column.min if column.min is not None else 0.0
        high = column.max if column.max is not None else max(low, 0.0) + 100.0
        return h.band_hierarchy(low, high, integer=column.type == ColumnType.INTEGER)
    return h.CATEGORY


def _group_size_name(curated: str) -> str:
    stem = curated[: -len("_key")] if curated.endswith("_key") else curated
    return f"{stem}_size"


def _plan_column(column: ColumnSpec, curated: str, persons: set[str],
                 others: set[str]) -> ColumnPlan:
    if column.sharing == Sharing.NOT_SHARED and curated not in persons:
        return ColumnPlan(curated, None, Treatment.REMOVE,
                          "sharing class not_shared: may not leave the hub")
    if curated in persons:
        return ColumnPlan(curated, PERSON_KEY, Treatment.PSEUDONYM,
                          "resident pseudonym replaced by a pseudonym of this release only")
    if curated in others:
        if column.sensitivity == Sensitivity.QUASI_IDENTIFIER:
            size = _group_size_name(curated)
            return ColumnPlan(curated, size, Treatment.GROUP_SIZE,
                              f"group pseudonym would link its members; released as {size} "
                              "(persons sharing it in this dataset)",
                              h.GROUP_SIZE)
        return ColumnPlan(curated, None, Treatment.REMOVE, "pseudonym of a direct identifier")
    if column.sensitivity == Sensitivity.DIRECT_IDENTIFIER:
        return ColumnPlan(curated, None, Treatment.REMOVE, "direct identifier")
    if column.sensitivity == Sensitivity.QUASI_IDENTIFIER:
        return ColumnPlan(curated, curated, Treatment.GENERALISE, "quasi-identifier",
                          hierarchy_for(column))
    if column.sensitivity == Sensitivity.SENSITIVE:
        return ColumnPlan(curated, curated, Treatment.SENSITIVE,
                          "sensitive: every group holds at least l of its values")
    return ColumnPlan(curated, curated, Treatment.KEEP, "ordinary")


def plan_release(contract: ContractSpec, frame_columns: list[str]) -> ReleasePlan:
    """The plan for the rows of `contract` whose columns are `frame_columns`."""
    persons, others = _pseudonym_outputs()
    plans: list[ColumnPlan] = []
    covered: set[str] = set()
    person_key: str | None = None
    for column in contract.columns:
        curated = column.curated_name
        if curated is None:
            reason = ("direct identifier: kept only in the encrypted vault, never curated"
                      if column.deid == Deid.VAULT else "dropped at ingest, never curated")
            plans.append(ColumnPlan(column.name, None, Treatment.REMOVE, reason))
            continue
        covered.add(curated)
        plan = _plan_column(column, curated, persons, others)
        if plan.treatment == Treatment.PSEUDONYM:
            person_key = curated
        plans.append(plan)
    for name in frame_columns:
        if name not in covered:
            reason = ("row number in the department's extract: would point back to the "
                      "person for whoever holds that extract" if name == "source_row"
                      else "pipeline lineage, not part of the contract")
            plans.append(ColumnPlan(name, None, Treatment.REMOVE, reason))
    return ReleasePlan(contract.name, contract.version, person_key, tuple(plans))

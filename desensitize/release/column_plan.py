"""What a release does with each column, read from the release classification of the
dataset's contract (`release:` of every column; the threat model is in docs/privacy.md).

- removed: direct identifiers, lineage, columns that may not leave the hub
- the resident pseudonym: replaced by a per-release pseudonym (`person_key`)
- a pseudonym that groups residents (the household) classified as quasi-identifier: removed,
  because it would link the members of a household; its group size is released instead
- quasi-identifiers: generalised along their hierarchy; a column declared `with` another one
  takes the level of that one (period end with period start, unit with programme)
- sensitive columns: kept (or generalised, when they declare a hierarchy), and every class
  of the release holds at least l of their values
- safe columns: kept as they are
- columns of the frame that the contract does not name (batch id, source row, grid scheme):
  removed; a source row number points back into the department's own extract

Every column also says who besides the owning department knows it (`known_by`): the
attackers of the linkage gate (desensitize.release.risk).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from desensitize.release import hierarchy as h
from desensitize.release.errors import ReleaseNotClassified
from schemas.registry import all_contracts
from schemas.spec import ColumnSpec, ContractSpec, Deid, Identity, ReleaseRole

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
    with_: str | None = None  # output column whose level this one follows
    known_by: tuple[str, ...] = ()  # attackers besides the owning department


@dataclass(frozen=True)
class ReleasePlan:
    dataset: str
    version: str
    person_key: str | None  # input column of the resident pseudonym
    columns: tuple[ColumnPlan, ...]
    owner: str = ""  # the owning department: it knows every column
    row_owner: str | None = None  # input column naming the department that knows each row

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
    def kept(self) -> list[ColumnPlan]:
        """Columns released as they are (sensitive and safe)."""
        return [c for c in self.columns if c.hierarchy is None
                and c.treatment in (Treatment.SENSITIVE, Treatment.KEEP)]

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


def _group_size_name(curated: str) -> str:
    stem = curated[: -len("_key")] if curated.endswith("_key") else curated
    return f"{stem}_size"


def _plan_column(dataset: str, column: ColumnSpec, curated: str, persons: set[str],
                 others: set[str]) -> ColumnPlan:
    if curated in persons:
        return ColumnPlan(curated, PERSON_KEY, Treatment.PSEUDONYM,
                          "resident pseudonym replaced by a pseudonym of this release only")
    rel = column.release
    if rel is None:
        raise ReleaseNotClassified(dataset, column.name)
    known = tuple(rel.known_by)
    if rel.role == ReleaseRole.REMOVED:
        return ColumnPlan(curated, None, Treatment.REMOVE, rel.reason)
    if curated in others:
        if rel.role != ReleaseRole.QUASI_IDENTIFIER:
            return ColumnPlan(curated, None, Treatment.REMOVE, "pseudonym: " + rel.reason)
        size = _group_size_name(curated)
        return ColumnPlan(curated, size, Treatment.GROUP_SIZE, rel.reason, h.GROUP_SIZE,
                          known_by=known)
    if rel.role == ReleaseRole.QUASI_IDENTIFIER:
        try:
            hierarchy = (h.BIRTH_YEAR if column.deid == Deid.BIRTH_YEAR
                         else h.hierarchy_named(rel.hierarchy or "flat", rel.groups))
        except ValueError as exc:
            raise ReleaseNotClassified(dataset, column.name, str(exc)) from exc
        return ColumnPlan(curated, curated, Treatment.GENERALISE, rel.reason, hierarchy,
                          with_=rel.with_, known_by=known)
    if rel.role == ReleaseRole.SENSITIVE:
        # A sensitive column may be generalised too (programme -> what it is for); l counts
        # its values at the level released, and it never enters the k signature.
        groups = (h.hierarchy_named(rel.hierarchy, rel.groups, suppressible=False)
                  if rel.hierarchy == "groups" else None)
        return ColumnPlan(curated, curated, Treatment.SENSITIVE, rel.reason, groups,
                          with_=rel.with_, known_by=known)
    return ColumnPlan(curated, curated, Treatment.KEEP, rel.reason, known_by=known)


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
            if column.release is not None:
                reason = column.release.reason
            plans.append(ColumnPlan(column.name, None, Treatment.REMOVE, reason))
            continue
        covered.add(curated)
        plan = _plan_column(contract.name, column, curated, persons, others)
        if plan.treatment == Treatment.PSEUDONYM:
            person_key = curated
        plans.append(plan)
    for name in frame_columns:
        if name not in covered:
            reason = ("row number in the department's extract: would point back to the "
                      "person for whoever holds that extract" if name == "source_row"
                      else "pipeline lineage, not part of the contract")
            plans.append(ColumnPlan(name, None, Treatment.REMOVE, reason))
    with_ = {c.output: c.with_ for c in plans if c.with_}
    outputs = {c.output for c in plans if c.hierarchy is not None}
    for follower, leader in with_.items():
        if leader not in outputs or leader in with_:
            raise ReleaseNotClassified(contract.name, str(follower),
                                       f"`with: {leader}` must name a quasi-identifier that "
                                       "follows no other")
    row_owner = contract.release.row_owner if contract.release else None
    return ReleasePlan(contract.name, contract.version, person_key, tuple(plans),
                       owner=contract.owner, row_owner=row_owner)

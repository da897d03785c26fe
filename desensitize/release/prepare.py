"""What a release starts from: its options, and the plan, levels and encoding of its rows.

Kept apart from the release itself so that the report's figures can name these types
without importing the code that computes a release.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from desensitize.release import hierarchy as h
from desensitize.release import risk
from desensitize.release.column_plan import (
    ColumnPlan,
    ReleasePlan,
    Treatment,
    plan_release,
)
from desensitize.release.errors import (
    ReleaseColumnMissing,
    ReleaseParameterInvalid,
)
from desensitize.release.lattice import (
    Dimension,
    Encoded,
    encode,
    follow,
)
from desensitize.release.pseudonyms import check_label
from desensitize.release.release_table import (
    GEOGRAPHY_LEVELS,
)
from schemas.spec import ContractSpec


@dataclass(frozen=True)
class ReleaseOptions:
    recipient: str
    release_id: str
    k: int = 5
    l_div: int = 2
    cell_threshold: int = 10
    max_suppression: float = 0.01
    geography_level: str = "community"
    risk_threshold: float = 0.01  # largest share of persons an attacker may re-identify
    recipient_class: str = "researcher"

    def check(self) -> None:
        check_label("recipient", self.recipient)
        check_label("release_id", self.release_id)
        check_label("recipient_class", self.recipient_class)
        if not 2 <= self.k <= 1000:
            raise ReleaseParameterInvalid("k", "must be between 2 and 1000")
        if not 1 <= self.l_div <= 100:
            raise ReleaseParameterInvalid("l", "must be between 1 and 100")
        if not 1 <= self.cell_threshold <= 1000:
            raise ReleaseParameterInvalid("cell_threshold", "must be between 1 and 1000")
        if not 0 <= self.max_suppression <= 0.5:
            raise ReleaseParameterInvalid("max_suppression", "must be between 0 and 0.5")
        if not 0 <= self.risk_threshold <= 0.5:
            raise ReleaseParameterInvalid("risk_threshold", "must be between 0 and 0.5")
        if self.geography_level not in GEOGRAPHY_LEVELS:
            raise ReleaseParameterInvalid("geography_level",
                                          "use one of " + ", ".join(GEOGRAPHY_LEVELS))


def _source_series(rows: pd.DataFrame, plan: ReleasePlan, column: ColumnPlan) -> pd.Series:
    if column.treatment != Treatment.GROUP_SIZE:
        return rows[column.column]
    group = rows[column.column]
    members = rows[plan.person_key] if plan.person_key else pd.Series(
        np.arange(len(rows)), index=rows.index)
    sizes = members.groupby(group, dropna=True).nunique()
    return group.map(sizes).astype("Int64").rename(column.output)


def _geography_floor(hierarchy: h.PrefixHierarchy, geography: pd.Series, digits: int) -> int:
    """The lowest level of a released geography at which every area holds at least two of the
    aggregate table's areas: below it the extract would count a table row on its own."""
    text = geography.astype("string")
    standard = text.str.fullmatch(f"[0-9]{{{digits},}}").fillna(False).astype(bool)
    fine = text[standard].str.slice(0, digits)
    for level, length in enumerate(hierarchy.lengths):
        if length >= digits:
            continue
        per_area = fine.groupby(fine.str.slice(0, length)).nunique()
        if len(per_area) and int(per_area.min()) >= 2:
            return level
    return hierarchy.top


def _dimensions(plan: ReleasePlan, options: ReleaseOptions, geography: pd.Series | None
                ) -> tuple[list[Dimension], list[int]]:
    """Lattice axes (a leader and the columns that follow it) and their lowest levels: a
    geography released beside an aggregate table is coarse enough that the extract cannot
    count any of the table's cells (see _geography_floor)."""
    qis = plan.quasi_identifiers
    dims: list[Dimension] = []
    floors: list[int] = []
    for i, column in enumerate(qis):
        if column.with_ or column.hierarchy is None:
            continue
        top = column.hierarchy.top
        members = [(i, tuple(range(top + 1)))]
        for j, other in enumerate(qis):
            if other.with_ == column.output and other.hierarchy is not None:
                members.append((j, follow(top, other.hierarchy.top)))
        dims.append(Dimension(tuple(members), top))
        floor = 0
        if geography is not None and isinstance(column.hierarchy, h.PrefixHierarchy):
            floor = _geography_floor(column.hierarchy, geography,
                                     GEOGRAPHY_LEVELS[options.geography_level])
        floors.append(floor)
    return dims, floors


@dataclass
class Prepared:
    plan: ReleasePlan
    qis: list[ColumnPlan]
    levels: list[list[pd.Series]]
    enc: Encoded
    attackers: list[risk.Attacker]
    persons: pd.Series

    @property
    def sensitive_order(self) -> list[str]:
        """Sensitive columns in the order of the lattice's l figures."""
        return ([str(self.qis[q].output) for q in self.enc.diverse]
                + [str(self.plan.kept[i].output) for i in self.enc.sensitive])


def prepare(rows: pd.DataFrame, contract: ContractSpec, options: ReleaseOptions,
            geography: pd.Series | None) -> Prepared:
    """Plan, generalise every level of every quasi-identifier, encode, find the attackers."""
    plan = plan_release(contract, list(rows.columns))
    for column in plan.columns:
        if column.treatment != Treatment.REMOVE and column.column not in rows.columns:
            raise ReleaseColumnMissing(contract.name, column.column)
    qis = plan.quasi_identifiers
    levels = [[c.hierarchy.generalise(_source_series(rows, plan, c), lv)
               for lv in range(c.hierarchy.top + 1)] for c in qis if c.hierarchy is not None]
    persons = (rows[plan.person_key].astype("string") if plan.person_key
               else pd.Series(np.arange(len(rows)), index=rows.index).astype("string"))
    dims, floors = _dimensions(plan, options, geography)
    kept = [rows[c.column] for c in plan.kept]
    sensitive = [i for i, c in enumerate(plan.kept) if c.treatment == Treatment.SENSITIVE]
    diverse = [i for i, c in enumerate(qis) if c.treatment == Treatment.SENSITIVE]
    enc = encode(levels, dims, persons, kept, sensitive, floors, diverse)
    owner = rows[plan.row_owner] if plan.row_owner in rows.columns else None
    return Prepared(plan, qis, levels, enc, risk.attackers(plan, owner), persons)

"""One safe release of one dataset: the de-identified extract, its aggregate table and the
figures of its report. Pure: rows in, frames and numbers out (the hub reads and writes).

Steps: plan the columns from the contract's release classification (column_plan), derive
group sizes, search the lattice of generalisation levels for k-anonymity and l-diversity over
persons with the linkage gate of every attacker (lattice, risk), suppress the persons of the
classes still too small, collapse each person's identical generalised rows into one row with
the count of records it stands for, replace the resident pseudonym by the release pseudonym
(pseudonyms), shuffle, and build the aggregate table from the persons kept, suppressed so that
neither its totals nor the extract beside it give a suppressed cell away (aggregate).

The generalisation depends only on the rows and the options, never on the recipient, so two
recipients of the same dataset get identical content under unrelated pseudonyms: joining
their copies on content is the "another recipient" attacker of the gate.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from desensitize.release import hierarchy as h
from desensitize.release import risk
from desensitize.release.column_plan import (
    PERSON_KEY,
    ColumnPlan,
    ReleasePlan,
    Treatment,
    plan_release,
)
from desensitize.release.errors import (
    ReleaseColumnMissing,
    ReleaseEmpty,
    ReleaseNotPossible,
    ReleaseParameterInvalid,
    ReleaseRiskTooHigh,
)
from desensitize.release.figures import RECORDS
from desensitize.release.figures import summary as figures_of
from desensitize.release.lattice import (
    Dimension,
    Encoded,
    NodeState,
    Progress,
    SearchResult,
    encode,
    evaluate,
    follow,
    search,
)
from desensitize.release.pseudonyms import check_label, release_pseudonyms
from desensitize.release.release_table import (
    GEOGRAPHY_LEVELS,
    release_table,
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


@dataclass
class Release:
    frame: pd.DataFrame
    aggregates: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)


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


def _shuffle_key(options: ReleaseOptions) -> int:
    seed = hashlib.sha256(f"{options.recipient}/{options.release_id}".encode()).digest()
    return int.from_bytes(seed[:8], "big")


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


def _refuse(contract: ContractSpec, prep: Prepared, found: SearchResult,
            options: ReleaseOptions) -> ReleaseNotPossible:
    figures = found.refused_by_gate
    top = found.top
    if isinstance(figures, risk.GateFigures) and top is not None and top.gate is not None:
        worst = str(figures.worst)
        attacker = next((a for a in prep.attackers if a.name == worst), None)
        blame = risk.columns_to_blame(prep.plan, attacker) if attacker else []
        return ReleaseRiskTooHigh(contract.name, worst, figures.worst_share,
                                  options.risk_threshold, options.recipient_class, blame)
    return ReleaseNotPossible(contract.name, options.k, options.l_div, options.max_suppression,
                              prep.enc.n_persons, found.least_suppressed_share,
                              top.k_persons if top else None,
                              min((v for v in top.l_reached if v is not None), default=None)
                              if top else None)


def _released_frame(rows: pd.DataFrame, prep: Prepared, state: NodeState, master_key: bytes,
                    options: ReleaseOptions) -> tuple[pd.DataFrame, np.ndarray]:
    """One row per released row group of the kept persons; and the keep-mask of the rows."""
    enc = prep.enc
    keep = state.kept_persons[enc.persons]
    first = pd.Series(np.arange(enc.rows))[keep].groupby(state.group[keep]).first()
    take = first.to_numpy()
    out: dict[str, pd.Series] = {}
    chosen = {c.output: prep.levels[q][lv]
              for q, (c, lv) in enumerate(zip(prep.qis, state.qi_levels, strict=True))}
    for column in prep.plan.columns:
        if column.output is None:
            continue
        if column.treatment == Treatment.PSEUDONYM:
            out[PERSON_KEY] = release_pseudonyms(rows[column.column].iloc[take], master_key,
                                                 options.recipient, options.release_id)
        elif column.hierarchy is not None:
            out[str(column.output)] = chosen[column.output].iloc[take]
        else:
            out[str(column.output)] = rows[column.column].iloc[take]
    if enc.records_top is not None:
        counts = pd.Series(state.group_count[first.index.to_numpy()])
        out[RECORDS] = h.RECORDS.generalise(counts, state.node[-1])
    released = pd.DataFrame({k: v.reset_index(drop=True) for k, v in out.items()})
    order = np.random.default_rng(_shuffle_key(options)).permutation(len(released))
    released = released.iloc[order]
    if PERSON_KEY in released.columns:
        released = released.sort_values(PERSON_KEY, kind="stable")
    return released.reset_index(drop=True), keep


def build_release(rows: pd.DataFrame, contract: ContractSpec, master_key: bytes,
                  options: ReleaseOptions, geography: pd.Series | None = None,
                  progress: Progress | None = None) -> Release:
    """The release of `rows` (current curated rows of `contract`, grid codes standard)."""
    options.check()
    if rows.empty:
        raise ReleaseEmpty(contract.name)
    rows = rows.reset_index(drop=True)
    geography = geography.reset_index(drop=True) if geography is not None else None
    prep = prepare(rows, contract, options, geography)

    def gate(state: NodeState) -> tuple[bool, object]:
        figures = risk.gate(prep.enc, prep.plan, state, prep.attackers, options.risk_threshold)
        return figures.passed, figures

    found = search(prep.enc, options.k, options.l_div, options.max_suppression, gate, progress)
    if found.best is None:
        raise _refuse(contract, prep, found, options)
    best, state = evaluate(prep.enc, found.best.node, options.k, options.l_div,
                           options.max_suppression)
    released, keep = _released_frame(rows, prep, state, master_key, options)
    aggregates, cell_stats = release_table(
        rows[keep], contract, prep.plan, state,
        geography[keep] if geography is not None else None, options.geography_level,
        options.cell_threshold)
    gate_figures = found.best.gate
    summary = figures_of(prep, best, found, options, rows, released, cell_stats,
                         gate_figures if isinstance(gate_figures, risk.GateFigures) else None)
    return Release(released, aggregates, summary)



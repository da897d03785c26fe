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

from desensitize.release import aggregate as agg
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
from desensitize.release.lattice import (
    Dimension,
    Encoded,
    NodeResult,
    NodeState,
    Progress,
    SearchResult,
    encode,
    evaluate,
    follow,
    search,
)
from desensitize.release.pseudonyms import check_label, release_pseudonyms
from schemas.spec import ColumnType, ContractSpec

GEOGRAPHY_LEVELS = {"grid": 15, "community": 12, "street": 9, "county": 6}
RECORDS = "records"


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


def aggregate_category(contract: ContractSpec) -> str | None:
    """The column the aggregate table is broken down by: as the contract's release declares,
    else the benefit programme of a ledger dataset, else the first shared category."""
    if contract.release is not None and contract.release.category:
        return contract.release.category
    if contract.ledger is not None:
        return contract.ledger.program
    kinds = (ColumnType.CATEGORY, ColumnType.TAGS)
    for column in contract.columns:
        rel = column.release
        if (column.type in kinds and column.curated_name and rel is not None
                and rel.role.value != "removed"):
            return column.curated_name
    return None


def _amount_column(contract: ContractSpec, plan: ReleasePlan) -> str | None:
    released = {c.column for c in plan.columns if c.output is not None}
    for column in contract.columns:
        if column.type == ColumnType.MONEY and column.curated_name in released:
            return column.curated_name
    return None


def _geography_qi(plan: ReleasePlan) -> tuple[int, ColumnPlan] | None:
    for index, column in enumerate(plan.quasi_identifiers):
        if isinstance(column.hierarchy, h.PrefixHierarchy):
            return index, column
    return None


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
class _Prepared:
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
            geography: pd.Series | None) -> _Prepared:
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
    return _Prepared(plan, qis, levels, enc, risk.attackers(plan, owner), persons)


def _refuse(contract: ContractSpec, prep: _Prepared, found: SearchResult,
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


def _released_frame(rows: pd.DataFrame, prep: _Prepared, state: NodeState, master_key: bytes,
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
    aggregates, cell_stats = _aggregates(rows[keep], contract, prep, state,
                                         geography[keep] if geography is not None else None,
                                         options)
    figures = found.best.gate
    summary = _summary(prep, best, found, options, rows, released, cell_stats,
                       figures if isinstance(figures, risk.GateFigures) else None)
    return Release(released, aggregates, summary)


def _aggregates(rows: pd.DataFrame, contract: ContractSpec, prep: _Prepared, state: NodeState,
                geography: pd.Series | None, options: ReleaseOptions
                ) -> tuple[pd.DataFrame, dict[str, Any]]:
    plan = prep.plan
    digits = GEOGRAPHY_LEVELS[options.geography_level]
    if geography is None:
        geo = pd.Series("all", index=rows.index, dtype="string")
    else:
        text = geography.astype("string")
        standard = text.str.fullmatch(f"[0-9]{{{digits},}}").fillna(False).astype(bool)
        geo = text.str.slice(0, digits).where(standard, None)
    category = aggregate_category(contract)
    cat = (rows[category].astype("string") if category
           else pd.Series("all", index=rows.index, dtype="string"))
    amount = _amount_column(contract, plan)
    fen = None
    if amount:
        fen = (pd.to_numeric(rows[amount].astype("float64"), errors="coerce") * 100).round()
    persons = rows[plan.person_key] if plan.person_key else None
    if category and _is_tags(contract, category):
        # One count per (record, tag): a resident in two groups counts in both columns.
        exploded = cat.str.split(";").explode()
        geo = geo.loc[exploded.index]
        persons = persons.loc[exploded.index] if persons is not None else None
        fen = fen.loc[exploded.index] if fen is not None else None
        cat = exploded.astype("string")
    table = agg.build_table(geo, cat, persons, fen, options.cell_threshold,
                            _extract_lines(prep, state, category))
    stats = {"geography_level": options.geography_level, "category": category or "all",
             "measures": ["persons", *(["amount_yuan"] if amount else [])],
             "threshold": options.cell_threshold, **table.stats()}
    return agg.table_frame(table, options.geography_level, category or "category"), stats


def _extract_lines(prep: _Prepared, state: NodeState, category: str | None
                   ) -> agg.ExtractView:
    """How the extract beside the table sees its cells: the level its geography and its
    category are released at (a reader of the extract counts persons at those levels)."""
    geo_qi = _geography_qi(prep.plan)
    geo_level: h.Hierarchy | None = None
    geo_at = 0
    if geo_qi is not None:
        geo_level = geo_qi[1].hierarchy
        geo_at = state.qi_levels[geo_qi[0]]
    cat_level: h.Hierarchy | None = None
    cat_at = 0
    for q, column in enumerate(prep.qis):
        if column.column == category:
            cat_level, cat_at = column.hierarchy, state.qi_levels[q]
    return agg.ExtractView(geo_level, geo_at, cat_level, cat_at)


def _is_tags(contract: ContractSpec, curated: str) -> bool:
    return any(c.curated_name == curated and c.type == ColumnType.TAGS for c in contract.columns)


def _summary(prep: _Prepared, best: NodeResult, found: SearchResult, options: ReleaseOptions,
             rows: pd.DataFrame, released: pd.DataFrame, cells: dict[str, Any],
             figures: risk.GateFigures | None) -> dict[str, Any]:
    plan, qis, enc = prep.plan, prep.qis, prep.enc
    l_per = dict(zip(prep.sensitive_order, best.l_reached, strict=True))
    reached = [v for v in best.l_reached if v is not None]
    dims = [*(qis[d.members[0][0]].output for d in enc.dims),
            *([RECORDS] if enc.records_top is not None else [])]
    kept_persons = best.persons - best.suppressed_persons
    qi_rows = [
        {"column": c.output, "source": c.column, "kind": c.hierarchy.kind,
         "levels": c.hierarchy.describe(), "level": lv, "level_name": c.hierarchy.names[lv],
         "with": c.with_, "loss": enc.qi_loss[q][lv],
         "height": lv / c.hierarchy.top if c.hierarchy.top else 0.0}
        for q, (c, lv) in enumerate(zip(qis, enc.qi_levels(best.node), strict=True))
        if c.hierarchy is not None]
    if enc.records_top is not None:
        lv = best.node[-1]
        qi_rows.append({"column": RECORDS, "source": "(records per released row)",
                        "kind": "count", "levels": h.RECORDS.describe(), "level": lv,
                        "level_name": h.RECORDS.names[lv], "with": None,
                        "loss": lv / enc.records_top, "height": lv / enc.records_top})
    return {
        "k_requested": options.k, "l_requested": options.l_div,
        "k_reached": best.k_persons, "k_reached_records": best.k_records,
        "k_counts": "persons" if plan.person_key else "records",
        "k_over": "each person's set of generalised quasi-identifier rows",
        "l_reached": min(reached) if reached else None, "l_per_column": l_per,
        "records_in": len(rows),
        "records_released": int(best.records - best.suppressed_records),
        "rows_released": len(released),
        "records_suppressed": best.suppressed_records,
        "records_suppressed_share": best.suppressed_records_share,
        "max_suppression": options.max_suppression,
        "persons_in": best.persons, "persons_released": kept_persons,
        "persons_suppressed": best.suppressed_persons,
        "persons_suppressed_share": best.suppressed_share,
        "classes": best.classes,
        "dimensions": dims,
        "quasi_identifiers": qi_rows,
        "sensitive": plan.sensitive,
        "kept": [c.output for c in plan.kept],
        "columns": [{"column": c.column, "output": c.output, "treatment": c.treatment.value,
                     "reason": c.reason, "known_by": list(c.known_by)}
                    for c in plan.columns],
        "removed": [{"column": c.column, "reason": c.reason} for c in plan.removed],
        "risk": figures.as_dict() if figures is not None else None,
        "recipient_class": options.recipient_class,
        "cross_recipient_join_share": (figures.per_attacker.get(risk.OTHER_RECIPIENT, {})
                                       .get("unique_share") if figures else None),
        "information_loss": {
            "information_loss": best.information_loss,
            "generalisation_loss": best.generalisation_loss, "mean_height": best.mean_height,
            "discernibility": best.discernibility,
            "discernibility_normalised": best.discernibility / float(enc.n_persons) ** 2,
            "average_class_size": (kept_persons / best.classes) if best.classes else None,
            "c_avg": (kept_persons / best.classes / options.k) if best.classes else None,
        },
        "search": {"lattice_nodes": found.lattice_size, "evaluated": found.evaluated,
                   "node": list(best.node)},
        "aggregates": cells,
    }


"""One safe release of one dataset: the de-identified extract, its aggregate table and the
figures of its report. Pure: rows in, frames and numbers out (the hub reads and writes).

Steps: plan the columns from the contract (policy), derive group sizes, search the lattice
of generalisation levels for k-anonymity and l-diversity (lattice), suppress the records of
the classes still too small, replace the resident pseudonym by the release pseudonym
(pseudonyms), drop every column the plan removes, shuffle the rows (the order of a curated
table follows the department's extract) and build the aggregate table from the records kept.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from desensitize.release import aggregate as agg
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
)
from desensitize.release.lattice import Encoded, Progress, encode, evaluate, search
from desensitize.release.pseudonyms import check_label, release_pseudonyms
from schemas.spec import ColumnType, ContractSpec, Sensitivity
from schemas.spec import SharingClass as Sharing

GEOGRAPHY_LEVELS = {"grid": 15, "community": 12, "street": 9, "county": 6}


@dataclass(frozen=True)
class ReleaseOptions:
    recipient: str
    release_id: str
    k: int = 5
    l_div: int = 2
    cell_threshold: int = 10
    max_suppression: float = 0.01
    geography_level: str = "community"

    def check(self) -> None:
        check_label("recipient", self.recipient)
        check_label("release_id", self.release_id)
        if not 2 <= self.k <= 1000:
            raise ReleaseParameterInvalid("k", "must be between 2 and 1000")
        if not 1 <= self.l_div <= 100:
            raise ReleaseParameterInvalid("l", "must be between 1 and 100")
        if not 1 <= self.cell_threshold <= 1000:
            raise ReleaseParameterInvalid("cell_threshold", "must be between 1 and 1000")
        if not 0 <= self.max_suppression <= 0.5:
            raise ReleaseParameterInvalid("max_suppression", "must be between 0 and 0.5")
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
    """The column the aggregate table is broken down by: the benefit program of a ledger
    dataset, else the first shared sensitive category, else the first shared category."""
    if contract.ledger is not None:
        return contract.ledger.program
    shared = [c for c in contract.columns if c.sharing != Sharing.NOT_SHARED and c.curated_name
              and c.sensitivity != Sensitivity.QUASI_IDENTIFIER]
    kinds = (ColumnType.CATEGORY, ColumnType.TAGS, ColumnType.BOOLEAN)
    for column in shared:
        if column.sensitivity == Sensitivity.SENSITIVE and column.type in kinds:
            return column.curated_name
    for column in shared:
        if column.type == ColumnType.CATEGORY:
            return column.curated_name
    return None


def _amount_column(contract: ContractSpec, plan: ReleasePlan) -> str | None:
    kept = {c.column for c in plan.by(Treatment.KEEP)}
    for column in contract.columns:
        if column.type == ColumnType.MONEY and column.curated_name in kept:
            return column.curated_name
    return None


def _aggregates(rows: pd.DataFrame, contract: ContractSpec, plan: ReleasePlan,
                geography: pd.Series | None, options: ReleaseOptions
                ) -> tuple[pd.DataFrame, dict[str, Any]]:
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
    table = agg.build_table(geo, cat, persons, fen, options.cell_threshold)
    stats = {"geography_level": options.geography_level, "category": category or "all",
             "measures": ["records", *(["amount_yuan"] if amount else [])],
             "threshold": options.cell_threshold, **table.stats()}
    return agg.table_frame(table, options.geography_level, category or "category"), stats


def _is_tags(contract: ContractSpec, curated: str) -> bool:
    return any(c.curated_name == curated and c.type == ColumnType.TAGS for c in contract.columns)


def _shuffle_key(options: ReleaseOptions) -> int:
    seed = hashlib.sha256(f"{options.recipient}/{options.release_id}".encode()).digest()
    return int.from_bytes(seed[:8], "big")


def build_release(rows: pd.DataFrame, contract: ContractSpec, master_key: bytes,
                  options: ReleaseOptions, geography: pd.Series | None = None,
                  progress: Progress | None = None) -> Release:
    """The release of `rows` (current curated rows of `contract`, grid codes standard)."""
    options.check()
    if rows.empty:
        raise ReleaseEmpty(contract.name)
    rows = rows.reset_index(drop=True)
    geography = geography.reset_index(drop=True) if geography is not None else None
    plan = plan_release(contract, list(rows.columns))
    for column in plan.columns:
        if column.treatment != Treatment.REMOVE and column.column not in rows.columns:
            raise ReleaseColumnMissing(contract.name, column.column)
    qis = plan.quasi_identifiers
    sources = [_source_series(rows, plan, c) for c in qis]
    levels = [[c.hierarchy.generalise(s, lv) for lv in range(c.hierarchy.top + 1)]
              for c, s in zip(qis, sources, strict=True) if c.hierarchy is not None]
    persons = rows[plan.person_key] if plan.person_key else None
    enc: Encoded = encode(len(rows), levels, persons, [rows[s] for s in plan.sensitive])
    found = search(enc, options.k, options.l_div, options.max_suppression, progress)
    if found.best is None:
        people = int(persons.nunique()) if persons is not None else len(rows)
        raise ReleaseNotPossible(contract.name, options.k, options.l_div,
                                 options.max_suppression, people,
                                 found.least_suppressed_share)
    best, keep = evaluate(enc, found.best.node, options.k, options.l_div,
                          options.max_suppression)
    chosen = dict(zip((c.output for c in qis), (lv[n] for lv, n in zip(levels, best.node,
                                                                         strict=True)),
                      strict=True))
    out: dict[str, pd.Series] = {}
    for column in plan.columns:
        if column.output is None:
            continue
        if column.treatment == Treatment.PSEUDONYM:
            out[PERSON_KEY] = release_pseudonyms(rows[column.column], master_key,
                                                 options.recipient, options.release_id)
        elif column.hierarchy is not None:
            out[column.output] = chosen[column.output]
        else:
            out[column.output] = rows[column.column]
    released = pd.DataFrame(out)[keep]
    order = np.random.default_rng(_shuffle_key(options)).permutation(len(released))
    released = released.iloc[order]
    if PERSON_KEY in released.columns:
        released = released.sort_values(PERSON_KEY, kind="stable")
    released = released.reset_index(drop=True)
    aggregates, cell_stats = _aggregates(rows[keep], contract, plan,
                                         geography[keep] if geography is not None else None,
                                         options)
    summary = _summary(plan, qis, best, found, enc, options, rows, keep, cell_stats)
    return Release(released, aggregates, summary)


def _summary(plan: ReleasePlan, qis: list[ColumnPlan], best: Any, found: Any, enc: Encoded,
             options: ReleaseOptions, rows: pd.DataFrame, keep: np.ndarray,
             cells: dict[str, Any]) -> dict[str, Any]:
    persons_in = int(rows[plan.person_key].nunique()) if plan.person_key else len(rows)
    persons_out = (int(rows.loc[keep, plan.person_key].nunique()) if plan.person_key
                   else int(keep.sum()))
    l_per = dict(zip(plan.sensitive, best.l_reached, strict=True))
    reached = [v for v in best.l_reached if v is not None]
    return {
        "k_requested": options.k, "l_requested": options.l_div,
        "k_reached": best.k_persons, "k_reached_records": best.k_records,
        "k_counts": "persons" if plan.person_key else "records",
        "l_reached": min(reached) if reached else None, "l_per_column": l_per,
        "records_in": len(rows), "records_released": int(keep.sum()),
        "records_suppressed": best.suppressed_records,
        "records_suppressed_share": best.suppressed_share,
        "max_suppression": options.max_suppression,
        "persons_in": persons_in, "persons_released": persons_out,
        "classes": best.classes,
        "quasi_identifiers": [
            {"column": c.output, "source": c.column, "kind": c.hierarchy.kind,
             "levels": c.hierarchy.describe(), "level": lv,
             "level_name": c.hierarchy.names[lv], "height": h, "loss": loss}
            for c, lv, h, loss in zip(qis, best.node, best.heights, best.losses, strict=True)
            if c.hierarchy is not None],
        "sensitive": plan.sensitive,
        "columns": [{"column": c.column, "output": c.output, "treatment": c.treatment.value,
                     "reason": c.reason} for c in plan.columns],
        "removed": [{"column": c.column, "reason": c.reason} for c in plan.removed],
        "information_loss": {
            "information_loss": best.information_loss,
            "generalisation_loss": best.generalisation_loss, "mean_height": best.mean_height,
            "discernibility": best.discernibility,
            "discernibility_normalised": best.discernibility / float(enc.rows) ** 2,
            "average_class_size": (int(keep.sum()) / best.classes) if best.classes else None,
            "c_avg": (int(keep.sum()) / best.classes / options.k) if best.classes else None,
        },
        "search": {"lattice_nodes": found.lattice_size, "evaluated": found.evaluated,
                   "node": list(best.node)},
        "aggregates": cells,
    }

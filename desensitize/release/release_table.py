"""The aggregate table of one release, consistent with the extract beside it: the category
and amount it is built on, and the levels at which the extract lets a reader count persons
(desensitize.release.aggregate turns those counts into equations the suppression respects).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from desensitize.release import aggregate as agg
from desensitize.release import hierarchy as h
from desensitize.release.column_plan import ColumnPlan, ReleasePlan
from desensitize.release.lattice import NodeState
from schemas.spec import ColumnType, ContractSpec

GEOGRAPHY_LEVELS = {"grid": 15, "community": 12, "street": 9, "county": 6}


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


def amount_column(contract: ContractSpec, plan: ReleasePlan) -> str | None:
    released = {c.column for c in plan.columns if c.output is not None}
    for column in contract.columns:
        if column.type == ColumnType.MONEY and column.curated_name in released:
            return column.curated_name
    return None


def geography_qi(plan: ReleasePlan) -> tuple[int, ColumnPlan] | None:
    for index, column in enumerate(plan.quasi_identifiers):
        if isinstance(column.hierarchy, h.PrefixHierarchy):
            return index, column
    return None


def release_table(rows: pd.DataFrame, contract: ContractSpec, plan: ReleasePlan,
                  state: NodeState, geography: pd.Series | None, geography_level: str,
                  threshold: int) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The table of the rows kept, suppressed against its totals and the extract."""
    digits = GEOGRAPHY_LEVELS[geography_level]
    if geography is None:
        geo = pd.Series("all", index=rows.index, dtype="string")
    else:
        text = geography.astype("string")
        standard = text.str.fullmatch(f"[0-9]{{{digits},}}").fillna(False).astype(bool)
        geo = text.str.slice(0, digits).where(standard, None)
    category = aggregate_category(contract)
    cat = (rows[category].astype("string") if category
           else pd.Series("all", index=rows.index, dtype="string"))
    amount = amount_column(contract, plan)
    fen = None
    if amount:
        fen = (pd.to_numeric(rows[amount].astype("float64"), errors="coerce") * 100).round()
    persons = rows[plan.person_key] if plan.person_key else None
    if category and is_tags(contract, category):
        # One count per (record, tag): a resident in two groups counts in both columns.
        exploded = cat.str.split(";").explode()
        geo = geo.loc[exploded.index]
        persons = persons.loc[exploded.index] if persons is not None else None
        fen = fen.loc[exploded.index] if fen is not None else None
        cat = exploded.astype("string")
    table = agg.build_table(geo, cat, persons, fen, threshold,
                            extract_view(plan, state, category))
    stats = {"geography_level": geography_level, "category": category or "all",
             "measures": ["persons", *(["amount_yuan"] if amount else [])],
             "threshold": threshold, **table.stats()}
    return agg.table_frame(table, geography_level, category or "category"), stats


def extract_view(plan: ReleasePlan, state: NodeState, category: str | None
                 ) -> agg.ExtractView:
    """How the extract beside the table sees its cells: the level its geography and its
    category are released at (a reader of the extract counts persons at those levels)."""
    geo_qi = geography_qi(plan)
    geo_level: h.Hierarchy | None = None
    geo_at = 0
    if geo_qi is not None:
        geo_level = geo_qi[1].hierarchy
        geo_at = state.qi_levels[geo_qi[0]]
    cat_level: h.Hierarchy | None = None
    cat_at = 0
    for q, column in enumerate(plan.quasi_identifiers):
        if column.column == category:
            cat_level, cat_at = column.hierarchy, state.qi_levels[q]
    return agg.ExtractView(geo_level, geo_at, cat_level, cat_at)


def is_tags(contract: ContractSpec, curated: str) -> bool:
    return any(c.curated_name == curated and c.type == ColumnType.TAGS for c in contract.columns)

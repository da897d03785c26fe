"""Expectation suites: compiled from each contract, plus what a contract cannot state.

A suite here is plain data (`Check`: the Great Expectations class name and its keyword
arguments), so building one costs nothing and the slow import of Great Expectations happens
only in `hub.quality.runner`, when a batch is actually checked. Checks run on the curated,
de-identified rows of one batch with a few columns the runner derives in SQL:

- `resident_in_registry` ('yes'/'no'): the resident key is in the current grid registry;
- `grid_code_mapped` ('yes'/'no'/null): the department's grid code maps to a standard code
  through `ref.grid_crosswalk` (null when the row has no code);
- `period_age_days`: days from the period start to the extract's as-of date.

Kinds: contract (the contract's own rules, re-checked on what was loaded), completeness,
plausibility (ranges and distributions), coverage (periods within the extract's window),
referential, duplicates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from schemas.spec import ColumnSpec, ColumnType, ContractSpec, Deid, Identity

REGISTRY_DATASET = "grid"
LINEAGE = ("batch_id", "source_row")
DERIVED_REGISTRY = "resident_in_registry"
DERIVED_CROSSWALK = "grid_code_mapped"
DERIVED_PERIOD_AGE = "period_age_days"


@dataclass(frozen=True)
class Check:
    id: str
    kind: str
    type: str  # Great Expectations expectation class name
    kwargs: dict[str, Any]
    description: str
    column: str | None = None
    # Sensitive or identifying: never report observed values, only counts and shares.
    private: bool = False
    needs: tuple[str, ...] = field(default=())  # derived columns the check reads


# Plausible values a contract's hard limits are far too wide for (per dataset, yuan):
# quantile ranges of `amount` as observed across real monthly extracts, with headroom.
AMOUNT_QUANTILES: dict[str, dict[str, list[Any]]] = {
    "elderly_care": {"quantiles": [0.5, 0.95], "value_ranges": [[10, 3000], [50, 10000]]},
    "medical": {"quantiles": [0.5, 0.95], "value_ranges": [[1, 5000], [10, 50000]]},
    "employment": {"quantiles": [0.5, 0.95], "value_ranges": [[100, 5000], [500, 10000]]},
}
# How far back (days before as-of) a benefit period may start (employment sends up to two
# years of insurance history). Fact rows (employment status, medical visits: the ledger's
# exclude_programs) describe a state, not a benefit period, and are not checked.
PERIOD_WINDOW_DAYS: dict[str, int] = {"elderly_care": 400, "medical": 400, "employment": 760}
COMPLETENESS_MOSTLY = 0.95


def _private(c: ColumnSpec) -> bool:
    return c.sensitivity.value in ("direct_identifier", "sensitive")


def _timestamp(yyyymmdd: float) -> pd.Timestamp:
    return pd.Timestamp(str(int(yyyymmdd)))


def _column_checks(c: ColumnSpec, today: date) -> list[Check]:
    name = c.curated_name
    if name is None:
        return []
    private = _private(c)
    out: list[Check] = []
    if not c.nullable:
        out.append(Check(f"not_null:{name}", "contract", "ExpectColumnValuesToNotBeNull",
                         {"column": name}, f"{name} is always filled", name, private))
    if c.type == ColumnType.CATEGORY and c.allowed:
        out.append(Check(f"in_set:{name}", "contract", "ExpectColumnValuesToBeInSet",
                         {"column": name, "value_set": list(c.allowed)},
                         f"{name} uses the contract's codes", name, private))
    if c.type == ColumnType.TAGS and c.allowed:
        token = "(?:" + "|".join(c.allowed) + ")"
        out.append(Check(f"tags:{name}", "contract", "ExpectColumnValuesToMatchRegex",
                         {"column": name, "regex": f"^{token}(?:;{token})*$"},
                         f"{name} lists known tokens only", name, private))
    if c.pattern and c.type == ColumnType.STRING and c.deid == Deid.KEEP:
        out.append(Check(f"pattern:{name}", "contract", "ExpectColumnValuesToMatchRegex",
                         {"column": name, "regex": f"^(?:{c.pattern})$"},
                         f"{name} matches its pattern", name, private))
    numeric = c.type in (ColumnType.INTEGER, ColumnType.DECIMAL, ColumnType.MONEY)
    if numeric and (c.min is not None or c.max is not None):
        out.append(Check(f"range:{name}", "contract", "ExpectColumnValuesToBeBetween",
                         {"column": name, "min_value": c.min, "max_value": c.max},
                         f"{name} within the contract's range", name, private))
    if c.type == ColumnType.DATE and c.deid == Deid.BIRTH_YEAR:
        low = int(c.min // 10000) if c.min is not None else 1900
        out.append(Check(f"range:{name}", "contract", "ExpectColumnValuesToBeBetween",
                         {"column": name, "min_value": low, "max_value": today.year},
                         f"{name} between {low} and this year", name, private))
    elif c.type == ColumnType.DATE and (c.min is not None or c.not_in_future):
        kwargs: dict[str, Any] = {"column": name}
        if c.min is not None:
            kwargs["min_value"] = _timestamp(c.min)
        if c.not_in_future:
            kwargs["max_value"] = pd.Timestamp(today)
        out.append(Check(f"range:{name}", "contract", "ExpectColumnValuesToBeBetween",
                         kwargs, f"{name} within the contract's dates", name, private))
    if c.identity == Identity.GRID_CODE and c.nullable:
        out.append(Check(f"complete:{name}", "completeness", "ExpectColumnValuesToNotBeNull",
                         {"column": name, "mostly": COMPLETENESS_MOSTLY},
                         f"{name} filled in at least {COMPLETENESS_MOSTLY:.0%} of rows",
                         name, private))
    return out


def build_suite(contract: ContractSpec, today: date, *, registry: bool,
                crosswalk: bool) -> list[Check]:
    """The checks of one dataset; `registry`/`crosswalk`: whether those tables exist."""
    checks = [Check("rows", "completeness", "ExpectTableRowCountToBeBetween",
                    {"min_value": 1}, "the batch loaded at least one row")]
    for c in contract.columns:
        checks.extend(_column_checks(c, today))
    keys = [n for k in contract.unique if (n := contract.column(k).curated_name)]
    if len(keys) > 1:
        checks.append(Check("unique_key", "duplicates", "ExpectCompoundColumnsToBeUnique",
                            {"column_list": keys}, "natural key unique: " + ", ".join(keys)))
    elif keys:
        checks.append(Check("unique_key", "duplicates", "ExpectColumnValuesToBeUnique",
                            {"column": keys[0]}, f"natural key unique: {keys[0]}", keys[0]))
    content = [c.curated_name for c in contract.columns if c.curated_name]
    checks.append(Check("duplicate_rows", "duplicates", "ExpectCompoundColumnsToBeUnique",
                        {"column_list": content}, "no row repeats another in every column"))
    names = set(contract.column_names)
    if {"period_start", "period_end"} <= names:
        checks.append(Check("period_order", "plausibility",
                            "ExpectColumnPairValuesAToBeGreaterThanB",
                            {"column_A": "period_end", "column_B": "period_start",
                             "or_equal": True}, "periods end on or after they start"))
        if "as_of" in names and contract.name in PERIOD_WINDOW_DAYS:
            window = PERIOD_WINDOW_DAYS[contract.name]
            checks.append(Check(
                "period_coverage", "coverage", "ExpectColumnValuesToBeBetween",
                {"column": DERIVED_PERIOD_AGE, "min_value": 0, "max_value": window},
                f"periods start within the {window} days up to the extract's as-of date",
                DERIVED_PERIOD_AGE, needs=(DERIVED_PERIOD_AGE,)))
    if "as_of" in names:
        checks.append(Check("single_as_of", "coverage",
                            "ExpectColumnUniqueValueCountToBeBetween",
                            {"column": "as_of", "min_value": 1, "max_value": 1},
                            "one as-of date per extract", "as_of"))
    if contract.name in AMOUNT_QUANTILES and "amount" in names:
        checks.append(Check("amount_quantiles", "plausibility",
                            "ExpectColumnQuantileValuesToBeBetween",
                            {"column": "amount",
                             "quantile_ranges": AMOUNT_QUANTILES[contract.name]},
                            "amount median and 95th percentile are plausible", "amount"))
    identity = contract.identity_column
    if registry and identity is not None and contract.name != REGISTRY_DATASET:
        checks.append(Check("in_registry", "referential", "ExpectColumnValuesToBeInSet",
                            {"column": DERIVED_REGISTRY, "value_set": ["yes"]},
                            "the resident is in the current grid registry",
                            DERIVED_REGISTRY, needs=(DERIVED_REGISTRY,)))
    grid = next((c for c in contract.columns if c.identity == Identity.GRID_CODE), None)
    if crosswalk and grid is not None and contract.name != REGISTRY_DATASET:
        checks.append(Check("grid_mapped", "referential", "ExpectColumnValuesToBeInSet",
                            {"column": DERIVED_CROSSWALK, "value_set": ["yes"]},
                            "the grid code maps to a standard code through the crosswalk",
                            DERIVED_CROSSWALK, needs=(DERIVED_CROSSWALK,)))
    return checks

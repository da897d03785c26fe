"""What a party sees of a resident through its grants: exactly the granted columns.

A department reads no resident-level data by its static scope; an approved sharing request
lets it read, for the granted datasets only, the granted columns (curated names) of each
department block and of each fact. Nothing else of the view travels: no profile, location,
household, totals, overlaps or hints.
"""

from __future__ import annotations

from typing import Any

from schemas.registry import all_contracts

# Fields of a fact that say where it comes from, shown with any granted column.
FACT_ORIGIN = ("dataset", "department", "as_of", "batch_id", "fact_id")


def curated_names(dataset: str, columns: set[str]) -> set[str]:
    contract = all_contracts()[dataset]
    return {c.curated_name or c.name for c in contract.columns if c.name in columns}


def granted_view(document: dict[str, Any], grants: dict[str, set[str]]) -> dict[str, Any]:
    blocks = []
    for block in document.get("departments") or []:
        dataset = block.get("dataset")
        if dataset not in grants:
            continue
        names = curated_names(str(dataset), grants[str(dataset)])
        attributes = block.get("attributes") or {}
        facts = [{k: v for k, v in fact.items() if k in names or k in FACT_ORIGIN}
                 for fact in block.get("facts") or [] if isinstance(fact, dict)]
        blocks.append({"dataset": dataset, "department": block.get("department"),
                       "as_of": block.get("as_of"), "batch_id": block.get("batch_id"),
                       "attributes": {k: v for k, v in attributes.items() if k in names},
                       "facts": facts if names & _fact_columns(facts) else []})
    return {"resident_key": document.get("resident_key"), "today": document.get("today"),
            "departments": blocks,
            "granted": {d: sorted(c) for d, c in sorted(grants.items())}}


def _fact_columns(facts: list[dict[str, Any]]) -> set[str]:
    return {k for fact in facts for k in fact if k not in FACT_ORIGIN}

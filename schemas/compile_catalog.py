"""Compile a contract into its catalog entry: JSON-serialisable metadata, no data.

Catalog metadata is shared unconditionally (design: sharing classes), so the entry says what
each column is, how sensitive it is and what de-identification does to it, never anything
about residents.
"""

from __future__ import annotations

from typing import Any

from schemas.spec import ColumnSpec, ContractSpec


def _column_entry(column: ColumnSpec) -> dict[str, Any]:
    return {
        "name": column.name,
        "curated_name": column.curated_name,
        "type": column.type.value,
        "required": column.required,
        "nullable": column.nullable,
        "sensitivity": column.sensitivity.value,
        "sharing": column.sharing.value,
        "deid": column.deid.value,
        "description": column.description,
    }


def catalog_entry(contract: ContractSpec) -> dict[str, Any]:
    return {
        "name": contract.name,
        "title": contract.title,
        "version": contract.version,
        "owner": contract.owner,
        "description": contract.description.strip(),
        "kind": contract.kind,
        "sharing": contract.sharing.value,
        "update_frequency_days": contract.update_frequency_days,
        "legal_basis": contract.legal_basis,
        "bad_row_threshold": contract.bad_row_threshold,
        "unique": list(contract.unique),
        "changes": dict(contract.changes),
        "columns": [_column_entry(c) for c in contract.columns],
    }

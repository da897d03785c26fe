"""Who a caller is to the loops: a party (role and scope), the owner of a dataset.

A party is what every person or program of one office shares: a department's tokens and
console users with the same datasets, a street office's with the same streets. Items are
addressed to parties, so a colleague sees what a colleague started.
"""

from __future__ import annotations

from hub.casework.errors import ItemInvalid
from hub.security.roles import Principal, Role
from schemas.registry import all_contracts

ITEM_ROLES = frozenset({Role.DEPARTMENT, Role.STREET_OFFICE, Role.ADMIN, Role.AUDITOR})


def party(principal: Principal) -> str:
    return f"{principal.role.value}:{','.join(sorted(principal.scope))}"


def source_datasets() -> dict[str, str]:
    """dataset -> owning department code, for the departments' own datasets."""
    return {name: c.owner for name, c in all_contracts().items() if c.kind == "source"}


def owner_of(dataset: str) -> str:
    owner = source_datasets().get(dataset)
    if owner is None:
        raise ItemInvalid("dataset", "not a department's dataset in the catalog")
    return owner


def owns(principal: Principal, dataset: str) -> bool:
    """The department that owns `dataset` (its token or user has it in scope)."""
    return principal.role == Role.DEPARTMENT and dataset in principal.scope


def departments_of(principal: Principal) -> set[str]:
    """The department codes a department principal stands for (owners of its datasets)."""
    if principal.role != Role.DEPARTMENT:
        return set()
    owners = source_datasets()
    return {owners[d] for d in principal.scope if d in owners}


def oversees(principal: Principal) -> bool:
    """Admins and auditors see every item (auditors read, admins also decide escalations)."""
    return principal.role in (Role.ADMIN, Role.AUDITOR)

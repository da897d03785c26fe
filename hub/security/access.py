"""Who may do what: deny by default, decided on a `Principal` and nothing else.

Every function answers False unless a rule below grants access; a caller with an unknown role
or a malformed code gets nothing. A resident outside the caller's jurisdiction must look
exactly like one that does not exist: the API turns every False here into the same 404 it
gives for a missing resident, and records `refused:forbidden` only in the audit log.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from hub.security.errors import PurposeInvalid, PurposeRequired
from hub.security.purposes import PURPOSE_DESCRIPTIONS, PURPOSES
from hub.security.roles import Principal, Role
from schemas.registry import all_contracts
from schemas.spec import SharingClass

__all__ = [
    "PURPOSES", "PURPOSE_DESCRIPTIONS", "can_read_audit", "can_read_batch", "can_read_grid",
    "can_read_quality", "can_read_resident", "can_reveal", "can_upload", "check_purpose",
    "sees_published_view", "street_of_grid", "visible_view",
]

STREET_CODE_DIGITS = 9  # 6 county + 3 street
GRID_CODE_DIGITS = 15   # 12-digit community code + 3-digit grid number
MEDICAL_DATASETS = frozenset({"medical"})
# What a non-admin sees of one ledger fact: the ledger's own fields, nothing a department
# might add later (deny by default: a new field stays hidden until it is listed here).
FACT_FIELDS = frozenset({
    "dataset", "department", "program", "kind", "amount", "quantity", "unit", "period_start",
    "period_end", "as_of", "batch_id", "contract_version", "fact_id",
    "linked_by", "match_probability", "linked_on",  # how the fact reached the resident
})
RESTRICTED_KEYS = ("restricted", "not_shared")


def check_purpose(purpose: str | None) -> str:
    """The purpose if it is on the fixed list; PurposeRequired / PurposeInvalid otherwise."""
    if purpose is None or not purpose.strip():
        raise PurposeRequired(PURPOSES)
    cleaned = purpose.strip()
    if cleaned not in PURPOSE_DESCRIPTIONS:
        raise PurposeInvalid(PURPOSES)
    return cleaned


def _is_street_code(code: object) -> bool:
    return isinstance(code, str) and len(code) == STREET_CODE_DIGITS and code.isascii() \
        and code.isdigit()


def street_of_grid(grid_code: object) -> str | None:
    """Street code of a 15-digit standard grid code, or None if it is not one."""
    if not (isinstance(grid_code, str) and len(grid_code) == GRID_CODE_DIGITS
            and grid_code.isascii() and grid_code.isdigit()):
        return None
    return grid_code[:STREET_CODE_DIGITS]


def _in_street_scope(principal: Principal, street_code: str | None) -> bool:
    return (principal.role == Role.STREET_OFFICE and _is_street_code(street_code)
            and street_code in principal.scope)


def can_read_resident(principal: Principal, street_code: str | None) -> bool:
    """Street office: residents of its streets; admin: everyone; nobody else.

    A resident without a known street (unmapped grid) is visible to admins only, so that
    no street office sees a resident merely because the crosswalk failed."""
    if principal.role == Role.ADMIN:
        return True
    return _in_street_scope(principal, street_code)


def can_read_grid(principal: Principal, grid_code: str | None) -> bool:
    street = street_of_grid(grid_code)
    if street is None:
        return False
    return principal.role == Role.ADMIN or _in_street_scope(principal, street)


def can_upload(principal: Principal, dataset: str | None) -> bool:
    if principal.role == Role.ADMIN:
        return True
    return principal.role == Role.DEPARTMENT and dataset is not None \
        and dataset in principal.scope


def can_read_batch(principal: Principal, dataset: str | None) -> bool:
    """Batches and their row-level rejection reports (which name rows and rules, no values)."""
    if principal.role in (Role.ADMIN, Role.AUDITOR):
        return True
    return principal.role == Role.DEPARTMENT and dataset is not None \
        and dataset in principal.scope


def can_read_quality(principal: Principal, dataset: str | None) -> bool:
    """Quality of one dataset, or of all datasets when `dataset` is None (not for departments:
    they see their own datasets only)."""
    return can_read_batch(principal, dataset)


def can_read_audit(principal: Principal) -> bool:
    return principal.role in (Role.AUDITOR, Role.ADMIN)


def can_reveal(principal: Principal, street_code: str | None, allow_street_reveal: bool) -> bool:
    """Raw identifiers: admins; a street office for its own residents only if configured."""
    if principal.role == Role.ADMIN:
        return True
    return allow_street_reveal and _in_street_scope(principal, street_code)


@cache
def _not_shared_columns() -> frozenset[str]:
    names: set[str] = set()
    for contract in all_contracts().values():
        for column in contract.columns:
            if column.sharing == SharingClass.NOT_SHARED:
                names.add(column.name)
                if column.curated_name:
                    names.add(column.curated_name)
    return frozenset(names)


def _yes_no(value: Any) -> str:
    return "yes" if value is True or str(value).strip().lower() in ("true", "yes", "1") else "no"


def _visible_fact(fact: Any) -> Any:
    if not isinstance(fact, dict):
        return fact
    shown = {k: v for k, v in fact.items() if k in FACT_FIELDS}
    if "chronic_condition" in fact:
        shown["chronic_condition"] = _yes_no(fact["chronic_condition"])
    return shown


def _visible_department(block: Any) -> Any:
    if not isinstance(block, dict):
        return block
    shown = dict(block)
    hidden = _not_shared_columns()
    attributes = block.get("attributes")
    if block.get("dataset") in MEDICAL_DATASETS:
        # Health: whether a chronic condition is registered, nothing more specific.
        chronic = attributes.get("chronic_condition") if isinstance(attributes, dict) else None
        shown["attributes"] = {"chronic_condition": _yes_no(chronic)}
    elif isinstance(attributes, dict):
        shown["attributes"] = {k: v for k, v in attributes.items() if k not in hidden}
    if isinstance(block.get("facts"), list):
        shown["facts"] = [_visible_fact(f) for f in block["facts"]]
    return shown


def sees_published_view(principal: Principal) -> bool:
    """True if this principal sees a resident view exactly as published (admins): the API
    then sends the stored document without parsing it."""
    return principal.role == Role.ADMIN


def visible_view(principal: Principal, view: dict[str, Any]) -> dict[str, Any]:
    """The part of a published resident view this principal may see (a new dict).

    Admins see the document as published. Every other role loses the not-shared part
    (diagnosis codes), sees each fact with the ledger fields only, and sees medical data as
    "chronic condition: yes/no". Call it only after `can_read_resident` said yes."""
    if sees_published_view(principal):
        return dict(view)
    shown = {k: v for k, v in view.items() if k not in RESTRICTED_KEYS}
    if isinstance(view.get("departments"), list):
        shown["departments"] = [_visible_department(b) for b in view["departments"]]
    if isinstance(view.get("facts"), list):
        shown["facts"] = [_visible_fact(f) for f in view["facts"]]
    for key in ("overlaps",):
        if isinstance(view.get(key), list):
            shown[key] = [_visible_overlap(o) for o in view[key]]
    return shown


def _visible_overlap(overlap: Any) -> Any:
    if not isinstance(overlap, dict) or not isinstance(overlap.get("pairs"), list):
        return overlap
    pairs = [[_visible_fact(f) for f in pair] if isinstance(pair, list) else pair
             for pair in overlap["pairs"]]
    return {**overlap, "pairs": pairs}

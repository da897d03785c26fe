"""The console's navigation: the pages each role has, in one list per role.

The layout draws `entries(role)`; a role's first entry is where it lands after signing in.
Another room adds its pages with `add` (e.g. an inbox for several roles) when its router is
installed, so the layout itself never changes. Labels are English message ids, translated
by the console's catalog (hub/web/locale).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NavEntry:
    href: str
    label: str  # message id


_STREET = [NavEntry("/console/search", "Find a resident"),
           NavEntry("/console/grids", "Grid residents")]
_CLERK = [NavEntry("/console/uploads", "Upload an extract"),
          NavEntry("/console/batches", "Batch history")]
_AUDITOR = [NavEntry("/console/quality", "Quality overview"),
            NavEntry("/console/audit", "Audit log"),
            NavEntry("/console/audit/verification", "Audit verification")]
_ADMIN = [NavEntry("/console/admin/users", "Users"),
          NavEntry("/console/admin/tokens", "API tokens"),
          NavEntry("/console/admin/catalog", "Catalog"),
          NavEntry("/console/admin/keys", "Keys")]

NAV: dict[str, list[NavEntry]] = {
    "street_office": [*_STREET],
    "department": [*_CLERK],
    "auditor": [*_AUDITOR],
    "admin": [*_STREET, *_AUDITOR, *_ADMIN],
    "researcher": [],
}
FALLBACK_HOME = "/console/search"  # a role without pages: the page that says so


def add(roles: tuple[str, ...], href: str, label: str) -> None:
    """One more page for `roles` (idempotent: installing a router twice adds it once)."""
    entry = NavEntry(href, label)
    for role in roles:
        entries_of_role = NAV.setdefault(role, [])
        if entry not in entries_of_role:
            entries_of_role.append(entry)


def entries(role: str) -> list[NavEntry]:
    return NAV.get(role, [])


def home(role: str) -> str:
    found = entries(role)
    return found[0].href if found else FALLBACK_HOME

"""What each side sees of a cross-department finding (GET /v1/quality/findings).

A finding names a resident and the datasets whose values disagree. Whom the other side's
value belongs to, and that it exists at all, is a resident-level fact of the other
department: the grid registry's special groups, a recorded death, a phone. Those columns are
`conditional` (or `not_shared`) in their contracts, shared only with an authorised role for a
purpose, and a department reading its quality findings is neither. So:

- auditors and administrators see the whole finding;
- a department sees a finding only when one of its datasets is in it, and then: the resident
  key, its own dataset and column, the rule (the kind) and how many other sources disagree;
  the other dataset, department and column only where that column is `unconditional`;
  never a value (findings carry none).

For a two-valued column a department can still tell that the other source holds the
opposite value; that much is what it is asked to check at source.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from schemas.registry import all_contracts
from schemas.spec import SharingClass

# kind -> dataset -> the column compared ("*": every other dataset of that kind).
COMPARED: dict[str, dict[str, str]] = {
    "living_alone": {"elderly_care": "living_alone", "grid": "special_groups"},
    "death_before_benefit": {"grid": "date_of_death", "*": "period_start"},
    "community": {"grid": "grid_code", "*": "grid_code"},
    "phone": {"*": "phone"},
    "registry_duplicate": {"grid": "resident_id"},
}
META = ("finding_id", "kind", "status", "resident_key", "first_seen", "last_seen",
        "resolved_at")


def compared_column(kind: str, dataset: str) -> str:
    columns = COMPARED.get(kind, {})
    return columns.get(dataset) or columns.get("*") or "*"


@cache
def _sharing(dataset: str, column: str) -> SharingClass:
    contract = all_contracts().get(dataset)
    if contract is None:
        return SharingClass.NOT_SHARED
    try:
        return contract.column(column).sharing
    except KeyError:
        return contract.sharing


def department_view(finding: dict[str, Any], own: set[str]) -> dict[str, Any]:
    """The finding as a department whose datasets are `own` may see it."""
    datasets = [str(d) for d in finding.get("datasets", [])]
    mine = [d for d in datasets if d in own]
    others = [d for d in datasets if d not in own]
    if not others:
        return dict(finding)
    kind = str(finding.get("kind"))
    visible = [d for d in others
               if _sharing(d, compared_column(kind, d)) == SharingClass.UNCONDITIONAL]
    columns = [f"{d}.{compared_column(kind, d)}" for d in mine]
    view = {k: finding.get(k) for k in META}
    view.update({
        "datasets": mine, "columns": columns, "rule": kind,
        "other_sources": len(others),
        "other_columns": [f"{d}.{compared_column(kind, d)}" for d in visible],
        "detail": (f"{', '.join(columns)} for this resident disagrees with {len(others)} "
                   f"other source(s) under rule {kind}; check the value at source"),
    })
    return view

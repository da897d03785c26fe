"""One step from a hint on a resident's card to a case: a likely missed benefit or an overlap
(hub/rules/*.yaml) opens a case, accepts it, records the assessment the hint stands for and
refers it to the department that runs the program concerned."""

from __future__ import annotations

from datetime import date
from typing import Any

from hub.casework.cases import Cases
from hub.casework.errors import ItemInvalid
from hub.casework.parties import source_datasets
from hub.casework.vocabulary import codes
from hub.security.roles import Principal
from hub.views.rules import default_rules

HINT_LISTS = {"missed_benefit": "missed_benefits", "overlap": "overlaps"}
ASSESSMENT = {"missed_benefit": "benefit_not_received", "overlap": "benefit_overlap"}


def _rule_programs(kind: str, rule_id: str) -> list[str]:
    """dataset/program names the rule is about (the program missed, or the overlapping pair)."""
    missed, overlaps = default_rules()
    if kind == "overlap":
        for o in overlaps:
            if o.id == rule_id:
                return [*o.a, *o.b]
        return []
    for m in missed:
        if m.id == rule_id:
            return [p for c in m.when if c.lacks_program for p in c.lacks_program.programs]
    return []


def open_from_hint(cases: Cases, principal: Principal, document: dict[str, Any], kind: str,
                   rule_id: str, today: date) -> dict[str, Any]:
    """`document` is the resident's published view as the caller may see it."""
    if kind not in HINT_LISTS:
        raise ItemInvalid("kind", "missed_benefit or overlap")
    hints = document.get(HINT_LISTS[kind]) or []
    if not any(h.get("rule_id") == rule_id for h in hints if isinstance(h, dict)):
        raise ItemInvalid("rule", "not a hint on this resident's card")
    programs = _rule_programs(kind, rule_id)
    dataset, _, program = (programs[0] if programs else "/").partition("/")
    street = str((document.get("location") or {}).get("street_code") or "")
    case = cases.open(principal, str(document["resident_key"]), street, today, origin=kind,
                      hint_rule=rule_id, assessment=[ASSESSMENT[kind]])
    case_id = case["case_id"]
    cases.accept(principal, case_id, today)
    cases.assess(principal, case_id, [ASSESSMENT[kind]], today)
    department = source_datasets().get(dataset)
    if department is None:
        return cases.get(principal, case_id, today)
    service = program if kind == "missed_benefit" and program in codes("services") \
        else "benefit_review"
    return cases.refer(principal, case_id, "department", department, service, today)

"""The fixed list of purposes a resident-level read must state (and the audit log records).

A purpose is not free text: the list is short so that auditors can ask "who looked at whom for
what" and get a countable answer, and so that nobody types a resident's details into it.
"""

from __future__ import annotations

PURPOSE_DESCRIPTIONS: dict[str, str] = {
    # Checking what a resident or household receives: overlaps, gaps, eligibility reviews.
    "assistance_review": "review of the assistance a resident or household receives "
                         "(overlaps, likely missed benefits, eligibility)",
    # Following up an open case: a visit, an application, a complaint handled by the office.
    "case_management": "work on an open case of this resident (visit, application, complaint)",
    # Urgent need for help: a resident in danger, a disaster, a welfare check.
    "emergency": "urgent help for a resident in danger (welfare check, disaster response)",
    # An auditor or administrator checking that data and access were handled correctly.
    "audit_check": "check by an auditor or administrator that data and access were correct",
}

PURPOSES: tuple[str, ...] = tuple(PURPOSE_DESCRIPTIONS)

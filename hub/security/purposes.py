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

# Re-identification (`POST /v1/residents/{key}/reveal`) returns raw ID number, name, phone and
# address: a narrower list than for reading a view, each a reason to contact or identify the
# resident in person. A case reference is required with it (the audit names the case).
REVEAL_PURPOSE_DESCRIPTIONS: dict[str, str] = {
    "case_management": PURPOSE_DESCRIPTIONS["case_management"],
    "emergency": PURPOSE_DESCRIPTIONS["emergency"],
    # A department's record of this resident is wrong and has to be corrected at the source.
    "data_correction": "correct a department's record of this resident at its source",
    # A court, prosecutor or police request under a law that obliges the hub to answer.
    "legal_request": "a request by a court, prosecutor or police that the law obliges us to answer",
}
REVEAL_PURPOSES: tuple[str, ...] = tuple(REVEAL_PURPOSE_DESCRIPTIONS)

# The purpose recorded for an access report: a resident exercising the right to know who
# processed their data (PIPL art. 44-45), served by an administrator.
ACCESS_REPORT_PURPOSE = "access_request"

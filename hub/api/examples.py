"""OpenAPI examples (synthetic values: masked, never a real identifier)."""

from __future__ import annotations

from typing import Any

RESIDENT_KEY = "3f1c9a5e0b7d4c21a8e6f0b2d4c6e8a1"
HOUSEHOLD_KEY = "9b2e7d4c1a0f8e6d5c3b2a1908f7e6d5"

RESIDENT: dict[str, Any] = {
    "resident_key": RESIDENT_KEY, "today": "2026-11-01",
    "profile": {"id_number": "110105********123X", "name": "张*", "phone": "138****5678",
                "gender": "F", "birth_year": 1941, "age_band": "85+", "alive": True},
    "location": {"grid_code": "110105001001001", "community_code": "110105001001",
                 "street_code": "110105001", "source": "grid", "unmapped": []},
    "household": {"household_key": HOUSEHOLD_KEY, "relation_to_head": "head", "size": 1},
    "special_groups": ["elderly_living_alone"],
    "departments": [{"department": "civil_affairs", "dataset": "elderly_care",
                     "batch_id": "elderly_care-20261020T081500000000-1a2b3c4d",
                     "as_of": "2026-10-20", "stale": False, "update_frequency_days": 31,
                     "attributes": {"care_level": "2", "living_alone": True},
                     "facts": [{"program": "age_allowance", "kind": "cash", "amount": "300.00",
                                "unit": "yuan", "period_start": "2026-10-01",
                                "period_end": "2026-10-31"}]}],
    "totals": {"by_month": [{"month": "2026-10", "kind": "cash", "department": "civil_affairs",
                             "amount": "300.00", "facts": 1}],
               "by_year": [{"year": "2026", "kind": "cash", "department": "civil_affairs",
                            "amount": "3000.00", "facts": 10}],
               "by_kind": [{"kind": "cash", "amount": "3000.00", "facts": 10}]},
    "overlaps": [],
    "missed_benefits": [{"rule_id": "living_alone_without_care",
                         "description": "elderly living alone without any care service"}],
}

HOUSEHOLD: dict[str, Any] = {
    "household_key": HOUSEHOLD_KEY, "today": "2026-11-01", "street_code": "110105001",
    "community_code": "110105001001", "grid_code": "110105001001001",
    "members": [{"resident_key": RESIDENT_KEY, "name": "张*", "relation_to_head": "head",
                 "age_band": "85+"}],
    "totals": {"by_year": [], "by_month": [], "by_kind": []},
}

GRID_PAGE: dict[str, Any] = {
    "grid_code": "110105001001001", "total": 1, "offset": 0, "limit": 50,
    "items": [{"resident_key": RESIDENT_KEY, "household_key": HOUSEHOLD_KEY, "name": "张*",
               "age_band": "85+", "special_groups": ["elderly_living_alone"],
               "has_overlap": False, "has_missed_benefit": True}],
}

UPLOAD_ACCEPTED: dict[str, Any] = {
    "upload_id": "up-5d41402abc4b2a76b9719d91", "status": "queued", "dataset": "elderly_care",
    "source": "civil_affairs_elderly_care", "bytes": 1048576,
    "status_url": "/v1/uploads/up-5d41402abc4b2a76b9719d91",
}

UPLOAD_STATUS: dict[str, Any] = {
    "upload_id": "up-5d41402abc4b2a76b9719d91", "status": "done", "dataset": "elderly_care",
    "source": "civil_affairs_elderly_care",
    "batch_id": "elderly_care-20261101T090000000000-9f8e7d6c", "outcome": "loaded",
    "rows_read": 1200, "rows_loaded": 1187, "rows_quarantined": 13,
    "reason": None, "top_rules": [{"column": "resident_id", "rule": "check_character",
                                   "rows": 9}],
    "rejections_total": 13, "rejections_offset": 0,
    "rejections": [{"source_row": 17, "column": "resident_id", "rule": "check_character",
                    "severity": "error"}],
}


def json_example(example: Any, description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"example": example}}}


def problem_example(status: int, slug: str, detail: str) -> dict[str, Any]:
    body = {"type": f"https://community-data-hub.invalid/problems/{slug}",
            "title": slug.replace("-", " ").capitalize(), "status": status, "detail": detail}
    return {"description": detail,
            "content": {"application/problem+json": {"example": body}}}


NOT_FOUND = problem_example(404, "not-found",
                            "no resident with this identifier in your jurisdiction")
PURPOSE_MISSING = problem_example(400, "purpose-required",
                                  "state why you need this resident data: purpose must be "
                                  "one of assistance_review, case_management, emergency")
UNAUTHENTICATED = problem_example(401, "unauthenticated",
                                  "send a valid API token as `Authorization: Bearer <token>`")
FORBIDDEN = problem_example(403, "forbidden", "this role may not read resident-level data")
AUDIT_DOWN = problem_example(503, "audit-unavailable",
                             "the access could not be recorded in the audit log, so no data "
                             "is returned; try again later")
RESIDENT_ERRORS: dict[int | str, dict[str, Any]] = {
    400: PURPOSE_MISSING, 401: UNAUTHENTICATED, 403: FORBIDDEN, 404: NOT_FOUND,
    503: AUDIT_DOWN}

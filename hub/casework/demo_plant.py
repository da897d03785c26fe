"""`hub demo` plants a few items of each loop, so that the inbox, the pages and the counts are
not empty: correction requests from the district's findings (the first one overdue) and from
a street worker's report (acknowledged); sharing requests from the employment department to
civil affairs (one pending, one approved with fewer columns); cases in the demo street
office's street (one from a missed-benefit hint, referred to civil affairs; one application
past its acceptance date).

Planted once: a home that already holds correction requests gets nothing more.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Engine, func, select

from catalog.quality_store import QualityStore
from hub.audit.log import AuditLog
from hub.casework.hints import open_from_hint
from hub.casework.service import Casework
from hub.security.roles import Principal, Role
from hub.settings import HubSettings
from hub.state.casework_tables import correction_requests
from hub.state.tables import view_residents, view_state

PAST = timedelta(days=30)  # items dated this far back are overdue today
ELDERLY_HINTS = ("aged_80_without_age_allowance", "elderly_alone_without_care")


def _demo(name: str, role: Role, scope: list[str]) -> Principal:
    return Principal(token_id="demo", name=name, role=role, scope=tuple(scope))


def _hinted(engine: Engine, street: str) -> list[tuple[str, dict[str, Any]]]:
    with engine.connect() as conn:
        generation = conn.execute(select(view_state.c.generation)).scalar()
        rows = conn.execute(select(view_residents.c.resident_key, view_residents.c.document)
                            .where(view_residents.c.generation == generation,
                                   view_residents.c.street_code == street,
                                   view_residents.c.has_missed_benefit.is_(True))
                            .order_by(view_residents.c.resident_key).limit(200)).all()
    found = [(str(k), json.loads(d)) for k, d in rows]
    # Civil affairs' hints first: the demo department user answers their referral.
    return sorted(found, key=lambda r: not any(h["rule_id"] in ELDERLY_HINTS
                                               for h in r[1]["missed_benefits"]))[:2]


def plant_demo_loops(settings: HubSettings, engine: Engine, street: str,
                     today: date | None = None) -> dict[str, int]:
    today = today or date.today()
    with engine.connect() as conn:
        if conn.execute(select(func.count()).select_from(correction_requests)).scalar():
            return {}
    work = Casework.open(engine, AuditLog(engine, synchronous=settings.audit.synchronous),
                         settings.casework)
    auditor = _demo("demo-auditor", Role.AUDITOR, [])
    civil = _demo("demo-department", Role.DEPARTMENT, ["elderly_care"])
    labour = _demo("demo-department-employment", Role.DEPARTMENT, ["employment"])
    office = _demo("demo-street_office", Role.STREET_OFFICE, [street])
    counts = {"corrections": 0, "sharing_requests": 0, "cases": 0}

    findings = QualityStore(engine).list_findings(dataset="elderly_care")[:2]
    for n, finding in enumerate(findings):
        work.corrections.from_finding(auditor, finding["finding_id"],
                                      today - PAST if n == 0 else today)
        counts["corrections"] += 1
    # A person's report: a street worker found a care level that is out of date.
    reported = work.corrections.from_report(office, "elderly_care", "care_level",
                                            "care_level:out_of_date", None, today)
    work.corrections.acknowledge(civil, reported["request_id"], today)
    counts["corrections"] += 1

    end = today + timedelta(days=180)
    pending = work.sharing.apply(labour, "elderly_care", ["care_level", "living_alone",
                                                          "program"], "assistance_review",
                                 "regulation", "社会救助暂行办法 第十条", today, end, today)
    approved = work.sharing.apply(labour, "elderly_care", ["care_level", "living_alone"],
                                  "case_management", "official_document",
                                  "区民政局 就业困难人员帮扶通知", today, end, today)
    work.sharing.approve(civil, approved["request_id"], ["care_level"], None, today)
    counts["sharing_requests"] = len({pending["request_id"], approved["request_id"]})

    for n, (key, document) in enumerate(_hinted(engine, street)):
        if n == 0:
            hint = next((h["rule_id"] for h in document["missed_benefits"]
                         if h["rule_id"] in ELDERLY_HINTS),
                        document["missed_benefits"][0]["rule_id"])
            open_from_hint(work.cases, office, document, "missed_benefit", hint, today)
        else:
            work.cases.open(office, key, street, today - PAST)
        counts["cases"] += 1
    return counts

"""Per department, how its correction requests fare: open, overdue, and the median days from
request to verified correction. Read from the state store (hub.state.casework_tables); part of
the quality overview and the API's correction summary."""

from __future__ import annotations

from datetime import UTC, date, datetime
from statistics import median
from typing import Any

from sqlalchemy import Engine, select

from hub.state.casework_tables import correction_requests

WAITING = ("open", "acknowledged", "disputed")


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def correction_counts(engine: Engine, today: date) -> list[dict[str, Any]]:
    t = correction_requests
    with engine.connect() as conn:
        rows = conn.execute(select(t.c.department, t.c.status, t.c.due_date, t.c.created_at,
                                   t.c.verified_at)).all()
    per: dict[str, dict[str, Any]] = {}
    for r in rows:
        d = per.setdefault(r.department, {"department": r.department, "open": 0,
                                          "overdue": 0, "corrected": 0, "days": []})
        if r.status in WAITING:
            d["open"] += 1
            if r.status != "disputed" and r.due_date < today:
                d["overdue"] += 1
        if r.verified_at is not None:
            d["corrected"] += 1
            seconds = (_aware(r.verified_at) - _aware(r.created_at)).total_seconds()
            d["days"].append(seconds / 86_400)
    out = []
    for name in sorted(per):
        d = per[name]
        days = d.pop("days")
        d["median_days_to_correct"] = round(median(days), 1) if days else None
        out.append(d)
    return out

"""The due-date clock of every item: when it is due, how many working days are left, whether
it is overdue. Computed on read from the stored due date, so it is right on any day."""

from __future__ import annotations

from datetime import date
from typing import Any

from hub.casework.calendar import WorkingCalendar, default_calendar

# Statuses in which an item still waits for someone (its clock runs).
RUNNING = frozenset({"open", "acknowledged", "pending", "accepted", "assessed", "planned",
                     "referred", "sent"})


def as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def clock(item: dict[str, Any], today: date,
          calendar: WorkingCalendar | None = None) -> dict[str, Any]:
    """{due_date, running, overdue, working_days_left} of an item with `status`, `due_date`."""
    calendar = calendar or default_calendar()
    due = as_date(item["due_date"])
    running = item.get("status") in RUNNING
    # Counted from the next working day on a weekend or holiday, as due dates are.
    start = calendar.add_working_days(today, 0)
    span = (start, due) if due >= start else (today, due)  # overdue: negative
    left = calendar.working_days_between(*span) if running else None
    return {"due_date": due.isoformat(), "running": running,
            "overdue": running and due < today, "working_days_left": left}


def with_clock(item: dict[str, Any], today: date) -> dict[str, Any]:
    return {**item, "clock": clock(item, today)}

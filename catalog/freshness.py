"""Freshness: is a dataset's latest extract as recent as its owner promised?

A department promises an update frequency (days) in the contract. The data lag is the age of
the latest loaded batch's as-of date on `today`. Within the promise the dataset is `current`;
for a grace period after it the next extract is `due` (departments send a few days late as a
matter of course); past that it is `overdue`. A dataset without a loaded batch is `no_data`,
and a derived dataset (no promise) is `not_promised`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

CURRENT = "current"
DUE = "due"
OVERDUE = "overdue"
NO_DATA = "no_data"
NOT_PROMISED = "not_promised"


def grace_days(frequency_days: int) -> int:
    """Days after the promise before a late extract counts as overdue."""
    return max(3, frequency_days // 4)


def as_date(value: object) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def freshness(as_of: object, frequency_days: int | None, today: date) -> dict[str, Any]:
    """Status, lag in days and the date the next extract is due (ISO strings, JSON-ready)."""
    latest = as_date(as_of)
    if latest is None or frequency_days is None:
        return {"status": NOT_PROMISED if frequency_days is None else NO_DATA,
                "as_of": latest.isoformat() if latest else None,
                "lag_days": (today - latest).days if latest else None,
                "due_on": None, "overdue_on": None, "update_frequency_days": frequency_days}
    lag = (today - latest).days
    grace = grace_days(frequency_days)
    if lag <= frequency_days:
        status = CURRENT
    elif lag <= frequency_days + grace:
        status = DUE
    else:
        status = OVERDUE
    return {
        "status": status,
        "as_of": latest.isoformat(),
        "lag_days": lag,
        "due_on": date.fromordinal(latest.toordinal() + frequency_days).isoformat(),
        "overdue_on": date.fromordinal(latest.toordinal() + frequency_days + grace + 1)
        .isoformat(),
        "update_frequency_days": frequency_days,
    }


def latest_loaded(batches: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    """The loaded batch describing the most recent date (ties: the one loaded last)."""
    loaded = [b for b in batches if b.get("outcome") == "loaded" and b.get("as_of")]
    if not loaded:
        return None
    return max(loaded, key=lambda b: (str(b["as_of"]), str(b.get("finished_at"))))


def freshness_history(batches: Iterable[dict[str, Any]],
                      frequency_days: int | None) -> list[dict[str, Any]]:
    """Per loaded batch, oldest first: the data lag on the day it was loaded.

    This is what an auditor wants over time: did the owner deliver data within the promise,
    batch after batch (a lag above the promise on arrival means the extract came in stale)."""
    points = []
    for b in batches:
        if b.get("outcome") != "loaded" or not b.get("as_of"):
            continue
        loaded_on = as_date(b.get("finished_at")) or as_date(b["as_of"])
        assert loaded_on is not None
        state = freshness(b["as_of"], frequency_days, loaded_on)
        points.append({"batch_id": b["batch_id"], "loaded_on": loaded_on.isoformat(),
                       "as_of": state["as_of"], "lag_days": state["lag_days"],
                       "status": state["status"]})
    return sorted(points, key=lambda p: (p["loaded_on"], p["batch_id"]))

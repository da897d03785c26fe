"""Working days: weekends off unless made up, public holidays off (holidays.yaml is the data).

A due date is N working days after the day an item arrives: the day itself does not count, and
the result is always a working day. A year the data does not cover counts weekends only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import yaml

HOLIDAYS_FILE = Path(__file__).with_name("holidays.yaml")
MAX_WORKING_DAYS = 365


@dataclass(frozen=True)
class WorkingCalendar:
    holidays: frozenset[date]
    working_weekends: frozenset[date]
    years: frozenset[int]  # the years the data covers

    def is_working_day(self, day: date) -> bool:
        if day in self.working_weekends:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def add_working_days(self, start: date, days: int) -> date:
        """The working day that is `days` working days after `start` (0: `start` itself if it
        is a working day, else the next one)."""
        if not 0 <= days <= MAX_WORKING_DAYS:
            raise ValueError(f"working days must be between 0 and {MAX_WORKING_DAYS}")
        day = start
        while not self.is_working_day(day):
            day += timedelta(days=1)
        counted = 0
        while counted < days:
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end` (negative when end is earlier)."""
        if end < start:
            return -self.working_days_between(end, start)
        return sum(1 for n in range(1, (end - start).days + 1)
                   if self.is_working_day(start + timedelta(days=n)))


def _dates(value: Any) -> list[date]:
    return [d if isinstance(d, date) else date.fromisoformat(str(d)) for d in value or []]


def load_calendar(path: Path = HOLIDAYS_FILE) -> WorkingCalendar:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    holidays: set[date] = set()
    weekends: set[date] = set()
    for year in (data.get("years") or {}).values():
        for holiday in year.get("holidays") or []:
            first, last = _dates([holiday["from"], holiday["to"]])
            holidays.update(first + timedelta(days=n) for n in range((last - first).days + 1))
        weekends.update(_dates(year.get("working_weekends")))
    years = frozenset(int(y) for y in (data.get("years") or {}))
    return WorkingCalendar(frozenset(holidays), frozenset(weekends), years)


@cache
def default_calendar() -> WorkingCalendar:
    return load_calendar()

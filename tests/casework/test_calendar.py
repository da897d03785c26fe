"""Due dates count working days: weekends off unless made up, public holidays off."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from hub.casework.calendar import default_calendar, load_calendar
from hub.casework.clock import clock

CAL = default_calendar()


def test_a_due_date_skips_the_weekend() -> None:
    # Thursday 2026-12-03 + 2 working days: Friday, then Monday.
    assert CAL.add_working_days(date(2026, 12, 3), 2) == date(2026, 12, 7)
    # Arriving on a Saturday counts from Monday: Monday + 1 = Tuesday.
    assert CAL.add_working_days(date(2026, 12, 5), 1) == date(2026, 12, 8)


def test_a_due_date_skips_national_day_and_works_the_make_up_saturday() -> None:
    # Wednesday 2026-09-30 + 1: the holiday runs 1-7 October, 8 October is a Thursday.
    assert CAL.add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)
    # Friday 8 Oct... Thursday 8 + 2: Friday 9, then Saturday 10 October (调休上班).
    assert CAL.add_working_days(date(2026, 10, 8), 2) == date(2026, 10, 10)
    assert CAL.is_working_day(date(2026, 9, 20))  # a Sunday made a working day
    assert not CAL.is_working_day(date(2026, 10, 5))  # a Monday inside the holiday


def test_spring_festival_ten_working_days() -> None:
    # Friday 2026-02-13 + 10: 14 Feb (Sat, worked) is 1, holiday 15-23, then 24, 25, 26, 27,
    # 28 (Sat, worked), 2, 3, 4, 5 March.
    assert CAL.add_working_days(date(2026, 2, 13), 10) == date(2026, 3, 5)


def test_working_days_between_counts_the_days_after_the_start() -> None:
    assert CAL.working_days_between(date(2026, 12, 4), date(2026, 12, 7)) == 1
    assert CAL.working_days_between(date(2026, 12, 7), date(2026, 12, 4)) == -1
    assert CAL.working_days_between(date(2026, 12, 4), date(2026, 12, 4)) == 0


def test_the_data_covers_2026_and_2027() -> None:
    assert {2026, 2027} <= set(CAL.years)
    assert not CAL.is_working_day(date(2027, 2, 8))  # Spring Festival 2027
    assert load_calendar().holidays == CAL.holidays


@given(st.dates(min_value=date(2025, 12, 1), max_value=date(2027, 12, 31)),
       st.integers(min_value=0, max_value=40))
def test_a_due_date_is_always_a_working_day_and_counts_exactly(start: date, days: int) -> None:
    due = CAL.add_working_days(start, days)
    assert CAL.is_working_day(due)
    assert due >= start
    first = start
    while not CAL.is_working_day(first):
        first += timedelta(days=1)
    assert CAL.working_days_between(first, due) == days


def test_the_clock_counts_from_monday_on_a_weekend_and_below_zero_when_late() -> None:
    due = CAL.add_working_days(date(2026, 12, 5), 10)  # a Saturday
    assert clock({"status": "open", "due_date": due}, date(2026, 12, 5))[
        "working_days_left"] == 10
    late = clock({"status": "acknowledged", "due_date": "2026-12-03"}, date(2026, 12, 7))
    assert (late["overdue"], late["working_days_left"]) == (True, -2)
    done = clock({"status": "corrected", "due_date": "2026-12-03"}, date(2026, 12, 7))
    assert (done["overdue"], done["working_days_left"]) == (False, None)

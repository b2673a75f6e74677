"""Counting Chinese working days (工作日): weekends and public holidays off, make-up working
Saturdays/Sundays (调休) on. Which day is a working day comes in as a function (the service
passes the `chinese-calendar` package's), so this stays pure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

IsWorkday = Callable[[date], bool]


def next_workday(day: date, is_workday: IsWorkday) -> date:
    """``day`` itself when it is a working day, else the first working day after it."""
    while not is_workday(day):
        day += timedelta(days=1)
    return day


def nth_workday(start: date, n: int, is_workday: IsWorkday) -> date:
    """The n-th working day counting ``start`` as the first when it is one (n >= 1)."""
    if n < 1:
        raise ValueError("n must be at least 1")
    day = next_workday(start, is_workday)
    for _ in range(n - 1):
        day = next_workday(day + timedelta(days=1), is_workday)
    return day


@dataclass(frozen=True, slots=True)
class NoticePeriod:
    starts_on: date  # first working day of the notice
    ends_on: date  # last working day of the notice
    review_due_on: date  # the review is done by this working day


def notice_period(published_on: date, *, notice_days: int, review_days: int,
                  is_workday: IsWorkday) -> NoticePeriod:
    """A notice published on ``published_on`` runs ``notice_days`` working days from that day
    (or the next working day); the review is due ``review_days`` working days after it ends."""
    starts = next_workday(published_on, is_workday)
    ends = nth_workday(starts, notice_days, is_workday)
    due = nth_workday(ends + timedelta(days=1), review_days, is_workday)
    return NoticePeriod(starts, ends, due)


def working_days_between(first: date, last: date, is_workday: IsWorkday) -> int:
    """Working days from ``first`` to ``last``, both included (0 if last < first)."""
    n, day = 0, first
    while day <= last:
        n += is_workday(day)
        day += timedelta(days=1)
    return n

"""Scheduled audits: validation of frequency and day as AWS validates them, and when each is next due."""
from __future__ import annotations

import calendar
import re
from datetime import datetime, timedelta
from typing import Any

from .exceptions import InvalidRequestException

FREQUENCIES = ("DAILY", "WEEKLY", "BIWEEKLY", "MONTHLY")
DAYS_OF_WEEK = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")  # index = datetime.weekday()
DAY_OF_MONTH_RE = re.compile(r"^([1-9]|[12][0-9]|3[01])$|^LAST$")
NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
UNSET = "UNSET_VALUE"


def validate_name(name: Any) -> str:
    """Return ``name`` if it is a valid scheduled audit name, else raise InvalidRequestException."""
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise InvalidRequestException(
            f"scheduledAuditName must be 1 to 128 letters, digits, '_' or '-'; got {name!r}.")
    return name


def validate_schedule(frequency: Any, day_of_week: Any, day_of_month: Any) -> None:
    """Raise InvalidRequestException unless frequency and days fit together as AWS requires."""
    if frequency not in FREQUENCIES:
        raise InvalidRequestException(f"frequency must be one of {', '.join(FREQUENCIES)}; got {frequency!r}.")
    if day_of_week is not None and day_of_week not in DAYS_OF_WEEK:
        raise InvalidRequestException(f"dayOfWeek must be one of {', '.join(DAYS_OF_WEEK)}; got {day_of_week!r}.")
    if day_of_month is not None and (not isinstance(day_of_month, str) or not DAY_OF_MONTH_RE.match(day_of_month)):
        raise InvalidRequestException(f"dayOfMonth must be 1 to 31 or LAST (as a string); got {day_of_month!r}.")
    if frequency in ("WEEKLY", "BIWEEKLY"):
        if day_of_week is None:
            raise InvalidRequestException(f"A {frequency} scheduled audit needs dayOfWeek (SUN to SAT).")
        if day_of_month is not None:
            raise InvalidRequestException(f"A {frequency} scheduled audit takes dayOfWeek, not dayOfMonth.")
    elif frequency == "MONTHLY":
        if day_of_month is None:
            raise InvalidRequestException("A MONTHLY scheduled audit needs dayOfMonth (1 to 31, or LAST).")
        if day_of_week is not None:
            raise InvalidRequestException("A MONTHLY scheduled audit takes dayOfMonth, not dayOfWeek.")
    elif day_of_week is not None or day_of_month is not None:
        raise InvalidRequestException("A DAILY scheduled audit takes neither dayOfWeek nor dayOfMonth.")


def _month_day(year: int, month: int, day_of_month: str) -> int:
    last = calendar.monthrange(year, month)[1]
    return last if day_of_month == "LAST" else min(int(day_of_month), last)  # 29-31 run on a short month's last day


def next_run(frequency: str, day_of_week: str | None, day_of_month: str | None, after: datetime,
             at: datetime) -> datetime:
    """Return the first run strictly after ``after``, at the time of day of ``at``."""
    candidate = after.replace(hour=at.hour, minute=at.minute, second=at.second, microsecond=0)
    if frequency == "DAILY":
        return candidate if candidate > after else candidate + timedelta(days=1)
    if frequency in ("WEEKLY", "BIWEEKLY"):
        ahead = (DAYS_OF_WEEK.index(day_of_week or "MON") - candidate.weekday()) % 7
        candidate += timedelta(days=ahead)
        return candidate if candidate > after else candidate + timedelta(days=7)
    assert day_of_month is not None
    year, month = candidate.year, candidate.month
    for _ in range(3):
        run = candidate.replace(day=_month_day(year, month, day_of_month))
        if run > after:
            return run
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        candidate = candidate.replace(year=year, month=month, day=1)
    raise AssertionError("unreachable: a month within three always has a later run")


class ScheduledAudit:
    """A recurring audit of a set of checks."""

    def __init__(self, name: str, arn: str, frequency: str, day_of_week: str | None, day_of_month: str | None,
                 target_check_names: list[str], created: datetime, tags: list[dict[str, str]] | None = None) -> None:
        self.name = name
        self.arn = arn
        self.frequency = frequency
        self.day_of_week = day_of_week
        self.day_of_month = day_of_month
        self.target_check_names = list(target_check_names)
        self.created = created
        self.tags = list(tags or [])
        self.last_run: datetime | None = None
        self.next_run = next_run(frequency, day_of_week, day_of_month, created, created)

    def advance(self, ran_at: datetime) -> None:
        """Record a run at ``ran_at`` and compute the next one (BIWEEKLY skips a week)."""
        self.last_run = ran_at
        following = next_run(self.frequency, self.day_of_week, self.day_of_month, self.next_run, self.created)
        if self.frequency == "BIWEEKLY":
            following += timedelta(days=7)
        while following <= ran_at:  # the clock jumped past several due runs: run once, schedule the next
            following = next_run(self.frequency, self.day_of_week, self.day_of_month, following, self.created)
        self.next_run = following

    def describe(self) -> dict[str, Any]:
        """Return the DescribeScheduledAudit response."""
        return {"frequency": self.frequency, "dayOfMonth": self.day_of_month, "dayOfWeek": self.day_of_week,
                "targetCheckNames": list(self.target_check_names), "scheduledAuditName": self.name,
                "scheduledAuditArn": self.arn}

    def summary(self) -> dict[str, Any]:
        """Return the ListScheduledAudits row."""
        return {"scheduledAuditName": self.name, "scheduledAuditArn": self.arn, "frequency": self.frequency,
                "dayOfMonth": self.day_of_month, "dayOfWeek": self.day_of_week}

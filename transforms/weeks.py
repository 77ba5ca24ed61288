"""ISO week arithmetic and the validation of week parameters (pure, no I/O): the one home of both.

A report week is an ISO week: Monday 00:00 UTC up to (not including) the next Monday 00:00 UTC.
Every module that needs a week's Monday, its bounds, its label or the trend's weeks asks here.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

TREND_WEEKS = 8  # the report's trend (charts, unit costs, attribution history) covers this many weeks
WEEK = timedelta(days=7)


class WeekParameterError(ValueError):
    """A week parameter that cannot be used; the message says which and why."""


def monday_of(day: date) -> date:
    """The Monday of the ISO week holding ``day``."""
    return day - timedelta(days=day.weekday())


def require_monday(week_start: date, name: str = "week_start") -> date:
    """The week's Monday, or a ValueError naming the parameter and saying what was expected."""
    if not isinstance(week_start, date) or isinstance(week_start, datetime):
        raise ValueError(f"{name} must be a date (YYYY-MM-DD), got {week_start!r}")
    if week_start.weekday() != 0:
        raise ValueError(
            f"{name} must be a Monday: {week_start.isoformat()} is a {week_start:%A}; expected the Monday that "
            f"starts an ISO week (this week's is {monday_of(week_start).isoformat()})"
        )
    return week_start


def as_monday(value: date | datetime | str, name: str = "week_start") -> date:
    """A week's Monday from a date, a datetime (its date) or ``YYYY-MM-DD`` text; refuses any other day."""
    if isinstance(value, datetime):
        value = value.date()
    elif not isinstance(value, date):
        try:
            value = date.fromisoformat(str(value).strip())
        except ValueError:
            raise ValueError(f"{name} must be a date (YYYY-MM-DD), got {value!r}") from None
    return require_monday(value, name)


def week_bounds(week_start: date) -> tuple[datetime, datetime]:
    """Monday 00:00 UTC and the next Monday 00:00 UTC; refuses a date that is not a Monday."""
    start = datetime.combine(as_monday(week_start), time(0), tzinfo=UTC)
    return start, start + WEEK


def week_params(week_start: date) -> dict[str, datetime]:
    """The bound parameters ``$week_start`` / ``$week_end`` of a week's SQL (UTC datetimes)."""
    start, end = week_bounds(week_start)
    return {"week_start": start, "week_end": end}


def trend_weeks(week_start: date, weeks: int = TREND_WEEKS) -> list[date]:
    """The trend's week Mondays, oldest first, ending with ``week_start``."""
    return [week_start - timedelta(weeks=k) for k in range(weeks - 1, -1, -1)]


def weeks_before(week_start: date, weeks: int) -> list[date]:
    """The ``weeks`` week Mondays before ``week_start``, newest first (the previous week first)."""
    return [week_start - timedelta(weeks=k) for k in range(1, weeks + 1)]


def weeks_after(week_start: date, weeks: int) -> list[date]:
    """The ``weeks`` week Mondays after ``week_start``, nearest first (a forecast's horizon)."""
    return [week_start + timedelta(weeks=k) for k in range(1, weeks + 1)]


def weeks_from(first: date, last: date) -> list[date]:
    """Every week Monday from ``first`` to ``last``, both included (empty when ``last`` is earlier)."""
    return [first + WEEK * i for i in range((last - first).days // 7 + 1)]


def last_complete_week(today: date | None = None) -> date:
    """Monday of the last ISO week that has fully ended (UTC)."""
    today = today or datetime.now(UTC).date()
    return monday_of(today) - WEEK


def iso_week_label(week_start: date) -> str:
    """``2026-W47`` for the week starting on that Monday."""
    year, week, _ = week_start.isocalendar()
    return f"{year}-W{week:02d}"


def parse_week(value: str | date | None, name: str = "week_start", *, today: date | None = None) -> date:
    """A date (any day of the week) or ``YYYY-Www`` -> that week's Monday; None -> the last complete week.

    Refuses, with a message naming the parameter, a value that is not a date and a week that has
    not ended yet.
    """
    if value is None or value == "":
        return last_complete_week(today)
    if isinstance(value, datetime):
        day = value.date()
    elif isinstance(value, date):
        day = value
    else:
        text = str(value).strip()
        try:
            if "-W" in text.upper():
                year, week = text.upper().split("-W")
                day = date.fromisocalendar(int(year), int(week), 1)
            else:
                day = date.fromisoformat(text)
        except ValueError as exc:
            raise WeekParameterError(
                f"{name}: expected a date YYYY-MM-DD (any day of the week) or an ISO week YYYY-Www, got {value!r}"
            ) from exc
    monday = monday_of(day)
    latest = last_complete_week(today)
    if monday > latest:
        raise WeekParameterError(
            f"{name}: the week of {monday} has not ended yet; the latest complete week starts {latest}"
        )
    return monday


def week_range(start: str | date, end: str | date, *, today: date | None = None) -> list[date]:
    """Every week Monday from ``start``'s week to ``end``'s week, both included, validated."""
    first = parse_week(start, "start", today=today)
    last = parse_week(end, "end", today=today)
    if last < first:
        raise WeekParameterError(f"end ({last}) is before start ({first}): give the earlier week as start")
    return weeks_from(first, last)

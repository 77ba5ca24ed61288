"""ISO week arithmetic and the validation of week parameters (pure, no I/O)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta


class WeekParameterError(ValueError):
    """A week parameter that cannot be used; the message says which and why."""


def monday_of(day: date) -> date:
    """The Monday of the ISO week holding ``day``."""
    return day - timedelta(days=day.weekday())


def last_complete_week(today: date | None = None) -> date:
    """Monday of the last ISO week that has fully ended (UTC)."""
    today = today or datetime.now(UTC).date()
    return monday_of(today) - timedelta(days=7)


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
    return [first + timedelta(days=7 * i) for i in range((last - first).days // 7 + 1)]

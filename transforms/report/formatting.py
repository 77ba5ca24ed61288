"""Formatting of money, numbers, percentages, week ranges and changes: strings for the templates."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

CATEGORY_LABELS = {
    "training": "Training",
    "inference": "Inference",
    "storage": "Storage",
    "network": "Network",
    "data_processing": "Data processing",
    "other": "Other (shared)",
}
CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}
CONFIDENCE_MARKS = {"high": "● high", "medium": "◐ medium", "low": "○ low"}
ZERO = Decimal(0)


def week_range_label(week_start: date) -> str:
    """``Nov 16–22, 2026`` (or ``Nov 30 – Dec 6, 2026`` across months)."""
    last = week_start + timedelta(days=6)
    if last.month == week_start.month:
        return f"{week_start:%b} {week_start.day}–{last.day}, {last.year}"
    return f"{week_start:%b} {week_start.day} – {last:%b} {last.day}, {last.year}"


def _grouped(value: Decimal, places: int) -> str:
    """A Decimal with thousands separators and ``places`` decimals; a value that rounds to zero has no sign."""
    quantum = Decimal(1).scaleb(-places)
    rounded = value.quantize(quantum, rounding=ROUND_HALF_UP)
    return f"{abs(rounded) if rounded == 0 else rounded:,.{places}f}"


def format_money(amount: Decimal | None, currency: str, *, places: int | None = None) -> str:
    """``$84,210`` / ``$12.35`` / ``NOK 1,204.50``; whole units from 1,000 up unless ``places`` is given.

    An amount that rounds to zero is shown without a sign (never ``-$0.00``).
    """
    if amount is None:
        return "—"
    amount = Decimal(amount)
    if places is None:
        places = 0 if abs(amount) >= 1000 else 2
    sign = "-" if amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP) < 0 else ""
    digits = _grouped(abs(amount), places)
    symbol = CURRENCY_SYMBOLS.get(currency)
    return f"{sign}{symbol}{digits}" if symbol else f"{sign}{currency} {digits}"


def exact(value: Decimal | None) -> str | None:
    """A Decimal as plain digits without trailing zeros (``2058.85``), for JSON."""
    return None if value is None else format(Decimal(value).normalize(), "f")


def money_places(amounts) -> int:
    """Decimals for one table: whole units when its largest amount reaches 1,000, else cents."""
    largest = max((abs(Decimal(a)) for a in amounts if a is not None), default=ZERO)
    return 0 if largest >= 1000 else 2


def format_signed_money(amount: Decimal, currency: str, *, places: int | None = None) -> str:
    """``+$1,200`` or ``-$35.10``: a change in money."""
    text = format_money(amount, currency, places=places)
    return text if text.startswith("-") else f"+{text}"


def format_number(value: float | int | Decimal | None, places: int = 0) -> str:
    """``12,345`` / ``1,234.5``: a quantity with thousands separators."""
    if value is None:
        return "—"
    text = f"{value:,.{places}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.,") else text  # never "-0.00"


def format_percent(ratio: Decimal | float | None) -> str:
    """``62%`` from a 0..1 ratio (one decimal below 10%; never ``-0.0%``)."""
    if ratio is None:
        return "—"
    pct = Decimal(str(ratio)) * 100
    places = 1 if abs(pct) < 10 and pct != 0 else 0
    return f"{_grouped(pct, places)}%"


FLAT_PCT = Decimal("0.05")  # below this a change rounds to 0.0 % and reads as no change
MIN_MOVE = Decimal("1")  # a mover moved by at least one unit of the reporting currency
# A percentage is shown only on a positive base that stays on the same side of zero and is at
# least a tenth of the change (a change of at most 1,000 %). A tiny base (0.30 -> 500.00 would be
# "166,567 %"), a negative one (net credits) or a sign change (100 -> -7 would be "▼ 107 %") shows
# the amount moved instead.
MAX_PCT = Decimal("1000")


def _signed_number(value: Decimal) -> str:
    """``+39.80`` / ``-0.0005`` / ``+116,000``: a change in a quantity with no currency."""
    size = abs(value)
    places = 0 if size >= 1000 else 2 if size >= Decimal("0.01") else 4
    text = _grouped(value, places)
    return text if text.startswith("-") else f"+{text}"


def change(
    current: Decimal, previous: Decimal | None, *, lower_is_better: bool = True, currency: str | None = None
) -> dict:
    """A change with its arrow, percentage and direction (``up``/``down``/``flat``/``none``).

    ``tone`` is ``bad``/``good``/``neutral`` for colour; the arrow carries the meaning without it.
    Where a percentage would mislead (see ``MAX_PCT``) the text is the amount moved, as money in
    ``currency`` when given, else as a number; ``pct`` is then None.
    """
    if previous is None:
        return {"arrow": "", "text": "no data", "direction": "none", "tone": "neutral", "pct": None}
    delta = current - previous
    # a change that shows as 0.0 % is no change to a reader
    if delta == 0 or (previous != 0 and abs(delta / previous) * 100 < FLAT_PCT):
        return {"arrow": "■", "text": "■ no change", "direction": "flat", "tone": "neutral", "pct": "0"}
    up = delta > 0
    arrow = "▲" if up else "▼"
    tone = ("bad" if up else "good") if lower_is_better else ("good" if up else "bad")
    direction = "up" if up else "down"
    if previous == 0:
        return {"arrow": arrow, "text": f"{arrow} new", "direction": direction, "tone": tone, "pct": None}
    pct = delta / previous * 100
    if previous < 0 or current < 0 or abs(pct) > MAX_PCT:
        moved = format_signed_money(delta, currency) if currency else _signed_number(delta)
        return {"arrow": arrow, "text": f"{arrow} {moved}", "direction": direction, "tone": tone, "pct": None}
    places = 1 if abs(pct) < 10 else 0
    return {
        "arrow": arrow,
        "text": f"{arrow} {_grouped(abs(pct), places)}%",
        "direction": direction,
        "tone": tone,
        "pct": str(pct.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)),
    }

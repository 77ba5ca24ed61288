"""The weekly report's content: query results (polars frames) in, a context of formatted figures out.

Pure: no DuckDB, no files, no jinja2. Every figure the templates show is computed and formatted
here, so templates only lay out strings. Money is summed as Decimal; only statistics (means and
standard deviations used as anomaly thresholds) and chart heights are floats.

Rules (documented for the report's footer):
- Spend is effective (amortised) cost in the reporting currency; rows with no exchange rate are
  shown separately per currency, never added in.
- "vs last week" compares with the previous ISO week; "vs 4-week average" with the mean of the
  previous four weeks that have any cost rows.
- A day is anomalous when its spend exceeds mean + 3σ of the previous 28 days that have data (at
  least 7 needed) and the jump is at least the minimum amount; a service is anomalous when its week
  exceeds 1.5× its 4-week average and the minimum amount.
- Open savings are the savings plan's total: the incremental figures of the open recommendations, each
  what it adds after the plan's earlier steps on the same cost (transforms/plan.py), never more than that cost.
"""

from __future__ import annotations

import json
import statistics
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import polars as pl

from transforms.plan import STEP_WORDS
from transforms.schema import CATEGORIES
from transforms.weeks import TREND_WEEKS, WEEK, iso_week_label, require_monday, trend_weeks, weeks_before

TOP_N = 5
DAY_SIGMAS = 3.0
DAY_HISTORY_DAYS = 28
DAY_MIN_HISTORY = 7
SERVICE_RATIO = Decimal("1.5")
ANOMALY_MIN_AMOUNT = Decimal("100")
STALE_AFTER_DAYS = 3
TOP_REASONS = 5
SPEND_CHART_CID = "spend-by-category@aicost"

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


# --------------------------------------------------------------------------------------------
# Weeks (their arithmetic lives in transforms/weeks.py) and formatting
# --------------------------------------------------------------------------------------------
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


def change(current: Decimal, previous: Decimal | None, *, lower_is_better: bool = True,
           currency: str | None = None) -> dict:
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


# --------------------------------------------------------------------------------------------
# Spend
# --------------------------------------------------------------------------------------------
def _sum(frame: pl.DataFrame, column: str = "effective_cost_reporting") -> Decimal:
    """Exact sum of a money column (0 for an empty frame)."""
    if frame.height == 0:
        return ZERO
    value = frame.select(pl.col(column).sum()).item()
    return Decimal(value) if value is not None else ZERO


def _converted(cost: pl.DataFrame) -> pl.DataFrame:
    """Rows with an amount in the reporting currency."""
    return cost.filter(pl.col("converted"))


def _weeks_with_data(cost: pl.DataFrame) -> set[date]:
    """Weeks that have any cost row, converted or not."""
    return set(cost.get_column("week_start").unique().to_list())


def _week_total(cost: pl.DataFrame, week: date) -> Decimal:
    """A week's spend in the reporting currency."""
    return _sum(_converted(cost).filter(pl.col("week_start") == week))


def headline(cost: pl.DataFrame, recs: pl.DataFrame, week_start: date, currency: str) -> dict:
    """The first lines of the report: spend, its changes, open savings, unconverted amounts."""
    weeks = _weeks_with_data(cost)
    spend = _week_total(cost, week_start)
    last_week = week_start - WEEK
    previous = _week_total(cost, last_week) if last_week in weeks else None
    prior = [w for w in weeks_before(week_start, 4) if w in weeks]
    average = sum((_week_total(cost, w) for w in prior), ZERO) / len(prior) if prior else None
    open_recs = _open_counted(recs, currency)
    open_savings = _sum(open_recs, "monthly_savings")
    unconverted = (
        cost.filter(~pl.col("converted") & (pl.col("week_start") == week_start))
        .group_by("billing_currency")
        .agg(pl.col("effective_cost").sum())
        .sort("billing_currency")
    )
    places = money_places([spend, previous, average])
    return {
        "spend": format_money(spend, currency, places=places),
        "spend_exact": exact(spend),
        "vs_last_week": change(spend, previous, currency=currency),
        "vs_four_week": change(spend, average, currency=currency),
        "four_week_average": format_money(average, currency, places=places) if average is not None else "—",
        "four_week_weeks": len(prior),
        "last_week_spend": format_money(previous, currency, places=places) if previous is not None else "—",
        "last_week_note": f"({format_money(previous, currency, places=places)})" if previous is not None else "",
        "four_week_note": (f"({format_money(average, currency, places=places)} over {len(prior)} "
                           f"week{'s' if len(prior) > 1 else ''})" if average is not None else ""),
        "open_savings": format_money(open_savings, currency, places=money_places([open_savings])),
        "open_savings_exact": exact(open_savings),
        "open_count": open_recs.height,
        "unconverted": [
            {"currency": row["billing_currency"], "amount": format_money(row["effective_cost"], row["billing_currency"]),
             "amount_exact": exact(row["effective_cost"])}
            for row in unconverted.iter_rows(named=True)
        ],
    }


def categories(cost: pl.DataFrame, week_start: date, currency: str) -> dict:
    """Spend per category this week with its idle GPU part, share and change vs last week."""
    converted = _converted(cost)
    this_week = converted.filter(pl.col("week_start") == week_start)
    last = converted.filter(pl.col("week_start") == week_start - WEEK)
    had_last = (week_start - WEEK) in _weeks_with_data(cost)
    total = _sum(this_week)
    names = list(CATEGORIES) + sorted(set(this_week.get_column("category").to_list()) - set(CATEGORIES) - {None})
    places = money_places([total])
    rows = []
    for name in names:
        rows_now = this_week.filter(pl.col("category") == name)
        spend = _sum(rows_now)
        idle = _sum(rows_now.filter(pl.col("is_idle")))
        previous = _sum(last.filter(pl.col("category") == name)) if had_last else None
        rows.append({
            "name": CATEGORY_LABELS.get(name, name),
            "key": name,
            "spend": format_money(spend, currency, places=places),
            "spend_exact": exact(spend),
            "idle": format_money(idle, currency, places=places) if idle else "",
            "share": format_percent(spend / total) if total else "—",
            "change": change(spend, previous, currency=currency),
        })
    idle_total = _sum(this_week.filter(pl.col("is_idle")))
    return {
        "rows": rows,
        "total": format_money(total, currency, places=places),
        "total_exact": exact(total),
        "idle_total": format_money(idle_total, currency, places=places),
        "idle_total_exact": exact(idle_total),
        "idle_share": format_percent(idle_total / total) if total else "—",
        "empty": this_week.height == 0,
    }


def breakdown(cost: pl.DataFrame, week_start: date, currency: str, key: str, top_n: int = TOP_N) -> dict:
    """Top spenders and top movers (largest change vs last week) by ``key`` (team/project/model)."""
    converted = _converted(cost)
    now = converted.filter(pl.col("week_start") == week_start).group_by(key).agg(
        pl.col("effective_cost_reporting").sum().alias("spend"))
    before = converted.filter(pl.col("week_start") == week_start - WEEK).group_by(key).agg(
        pl.col("effective_cost_reporting").sum().alias("previous"))
    joined = now.join(before, on=key, how="full", coalesce=True).with_columns(
        pl.col("spend").fill_null(ZERO), pl.col("previous").fill_null(ZERO)
    ).with_columns((pl.col("spend") - pl.col("previous")).alias("delta"))
    had_last = (week_start - WEEK) in _weeks_with_data(cost)
    places = money_places(joined.get_column("spend").to_list() + joined.get_column("previous").to_list())

    def row(r: dict) -> dict:
        return {
            "name": r[key],
            "spend": format_money(r["spend"], currency, places=places),
            "previous": format_money(r["previous"], currency, places=places) if had_last else "—",
            "delta": format_signed_money(r["delta"], currency, places=places) if had_last else "—",
            "change": change(r["spend"], r["previous"] if had_last else None, currency=currency),
        }

    top = joined.filter(pl.col("spend") != 0).sort(["spend", key], descending=[True, False]).head(top_n)
    movers = (
        joined.filter(pl.col("delta").abs() >= MIN_MOVE).with_columns(pl.col("delta").abs().alias("size"))
        .sort(["size", key], descending=[True, False]).head(top_n)
        if had_last else joined.clear()
    )
    return {
        "key": key,
        "title": key.capitalize(),
        "top": [row(r) for r in top.iter_rows(named=True)],
        "movers": [row(r) for r in movers.iter_rows(named=True)],
        "has_last_week": had_last,
    }


def weekly_series(cost: pl.DataFrame, week_start: date, weeks: int = TREND_WEEKS) -> dict:
    """Eight weeks × category spend in the reporting currency, split busy / idle: chart data."""
    converted = _converted(cost)
    week_list = trend_weeks(week_start, weeks)
    names = list(CATEGORIES) + sorted(set(converted.get_column("category").to_list()) - set(CATEGORIES) - {None})
    grouped = converted.group_by(["week_start", "category", "is_idle"]).agg(pl.col("effective_cost_reporting").sum())
    amounts = {(r["week_start"], r["category"], r["is_idle"]): Decimal(r["effective_cost_reporting"])
               for r in grouped.iter_rows(named=True)}
    return {
        "weeks": week_list,
        "labels": [iso_week_label(w) for w in week_list],
        "categories": names,
        "category_labels": [CATEGORY_LABELS.get(n, n) for n in names],
        "busy": {n: [amounts.get((w, n, False), ZERO) for w in week_list] for n in names},
        "idle": {n: [amounts.get((w, n, True), ZERO) for w in week_list] for n in names},
        "has_data": _weeks_with_data(cost),
    }


def chart_text(series: dict, currency: str) -> dict:
    """The chart's title, alt text and a text equivalent: one line per week."""
    lines = []
    for i, (week, label) in enumerate(zip(series["weeks"], series["labels"])):
        if week not in series["has_data"]:
            lines.append({"week": label, "total": "no data", "parts": ""})
            continue
        parts = []
        total = ZERO
        idle = ZERO
        for name, name_label in zip(series["categories"], series["category_labels"]):
            amount = series["busy"][name][i] + series["idle"][name][i]
            idle += series["idle"][name][i]
            total += amount
            if amount:
                parts.append(f"{name_label} {format_money(amount, currency, places=0)}")
        if idle:
            parts.append(f"of which idle GPU {format_money(idle, currency, places=0)}")
        lines.append({"week": label, "total": format_money(total, currency, places=0), "parts": ", ".join(parts)})
    title = f"Weekly spend by category, last {len(series['weeks'])} weeks ({currency}, idle GPU hatched)"
    alt = f"Stacked bar chart: {title}. " + "; ".join(f"{ln['week']}: {ln['total']}" for ln in lines)
    return {"cid": SPEND_CHART_CID, "title": title, "alt": alt, "lines": lines}


# --------------------------------------------------------------------------------------------
# Anomalies
# --------------------------------------------------------------------------------------------
def daily_anomalies(cost: pl.DataFrame, week_start: date, currency: str,
                    sigmas: float = DAY_SIGMAS, min_amount: Decimal = ANOMALY_MIN_AMOUNT) -> list[dict]:
    """Days of the week whose spend is above mean + ``sigmas``·σ of the previous 28 days with data."""
    daily = _converted(cost).group_by("day").agg(pl.col("effective_cost_reporting").sum().alias("spend"))
    by_day = {r["day"]: Decimal(r["spend"]) for r in daily.iter_rows(named=True)}
    found = []
    for offset in range(7):
        day = week_start + timedelta(days=offset)
        if day not in by_day:
            continue
        history = [by_day[d] for d in (day - timedelta(days=k) for k in range(1, DAY_HISTORY_DAYS + 1)) if d in by_day]
        if len(history) < DAY_MIN_HISTORY:
            continue
        mean = statistics.fmean(float(v) for v in history)
        sigma = statistics.stdev(float(v) for v in history)
        threshold = mean + sigmas * sigma
        value = by_day[day]
        jump = value - Decimal(str(mean))
        if float(value) > threshold and jump >= min_amount:
            found.append({
                "kind": "day",
                "subject": f"{day:%a %b} {day.day}",
                "spend": format_money(value, currency),
                "baseline": format_money(Decimal(str(mean)), currency),
                "jump": format_signed_money(jump, currency),
                "size": f"{float(value) / mean:.1f}× the 28-day mean" if mean > 0 else "from nothing",
                "rule": f"above mean + {sigmas:g}σ ({format_money(Decimal(str(threshold)), currency)})",
                "sort": jump,
            })
    return found


def service_anomalies(cost: pl.DataFrame, week_start: date, currency: str,
                      ratio: Decimal = SERVICE_RATIO, min_amount: Decimal = ANOMALY_MIN_AMOUNT) -> list[dict]:
    """Services whose week exceeds ``ratio``× their 4-week average and ``min_amount``."""
    weeks = _weeks_with_data(cost)
    prior = [w for w in weeks_before(week_start, 4) if w in weeks]
    if not prior:
        return []
    grouped = _converted(cost).group_by(["provider", "service_name", "week_start"]).agg(
        pl.col("effective_cost_reporting").sum().alias("spend"))
    amounts: dict[tuple[str, str], dict[date, Decimal]] = {}
    for r in grouped.iter_rows(named=True):
        amounts.setdefault((r["provider"], r["service_name"]), {})[r["week_start"]] = Decimal(r["spend"])
    found = []
    for (provider, service), by_week in sorted(amounts.items()):
        spend = by_week.get(week_start, ZERO)
        average = sum((by_week.get(w, ZERO) for w in prior), ZERO) / len(prior)
        if spend <= min_amount or spend <= average * ratio:
            continue
        found.append({
            "kind": "service",
            "subject": f"{service} ({provider})",
            "spend": format_money(spend, currency),
            "baseline": format_money(average, currency),
            "jump": format_signed_money(spend - average, currency),
            "size": f"{spend / average:.1f}× the {len(prior)}-week average" if average > 0 else "new this week",
            "rule": f"above {ratio}× the average and {format_money(min_amount, currency)}",
            "sort": spend - average,
        })
    return found


def anomalies(cost: pl.DataFrame, week_start: date, currency: str) -> list[dict]:
    """Day and service anomalies, largest jump first."""
    found = daily_anomalies(cost, week_start, currency) + service_anomalies(cost, week_start, currency)
    found.sort(key=lambda a: a["sort"], reverse=True)
    return [{k: v for k, v in a.items() if k != "sort"} for a in found]


# --------------------------------------------------------------------------------------------
# Recommendations
# --------------------------------------------------------------------------------------------
def _open_counted(recs: pl.DataFrame, currency: str) -> pl.DataFrame:
    """Recommendations whose savings count in the open total."""
    if recs.height == 0:
        return recs
    return recs.filter(
        pl.col("counted").fill_null(True) & (pl.col("status").fill_null("new") != "resolved")
        & (pl.col("currency").fill_null(currency) == currency)
    )


def _scope(r: dict) -> str:
    """``team vision · project x · resource i-1``: what a recommendation is about."""
    parts = [f"{label} {r[col]}" for col, label in
             (("team", "team"), ("project", "project"), ("model", "model"), ("resource_id", "resource")) if r.get(col)]
    return " · ".join(parts)


MAX_LISTED_RECOMMENDATIONS = 25


def recommendations(recs: pl.DataFrame, currency: str) -> dict:
    """Every recommendation ranked by its incremental saving in the plan, and the top 3 open actions.

    Each shows both figures: what it adds in the plan (``savings``, what the headline sums) and what it
    would save alone (``standalone``), with the plan step and how the one follows from the other.
    """
    resolved_last = (pl.col("status") == "resolved").alias("_resolved")
    rows = (
        recs.with_columns(resolved_last)
        .sort(["_resolved", "monthly_savings", "rec_id"], descending=[False, True, False], nulls_last=True)
        .to_dicts()
    )
    places = money_places([r.get("monthly_savings") for r in rows] + [r.get("standalone_monthly_savings") for r in rows])
    items = []
    for rank, r in enumerate(rows, start=1):
        rec_currency = r.get("currency") or currency
        status = r.get("status") or "new"
        standalone = r.get("standalone_monthly_savings")
        differs = standalone is not None and standalone != r.get("monthly_savings")
        items.append({
            "rank": rank,
            "rec_id": r["rec_id"],
            "kind": r.get("kind") or "",
            "strategy": r.get("strategy") or "",
            "action": r.get("action") or "",
            "scope": _scope(r),
            "savings": f"{format_money(r.get('monthly_savings') or ZERO, rec_currency, places=places)}/mo",
            "confidence": CONFIDENCE_MARKS.get(r.get("confidence") or "", r.get("confidence") or "—"),
            "confidence_key": r.get("confidence") or "unknown",
            "confidence_reason": r.get("confidence_reason") or "",
            "evidence": r.get("evidence_text") or "",
            "formula": r.get("formula") or "",
            "status": status,
            "first_seen": iso_week_label(r["first_seen_week"]) if r.get("first_seen_week") else "",
            "realised": (f"{format_money(r['realised_savings'], rec_currency, places=places)}/mo"
                         if status == "resolved" and r.get("realised_savings") is not None else ""),
            "standalone": (f"{format_money(standalone, rec_currency, places=places)}/mo alone" if differs else ""),
            "standalone_exact": exact(standalone) if standalone is not None else None,
            "savings_exact": exact(r.get("monthly_savings") or ZERO),
            "plan": (f"plan step {r['plan_order']}: {STEP_WORDS.get(r.get('plan_step') or '', r.get('plan_step') or '')}"
                     if r.get("plan_order") is not None and status != "resolved" else ""),
            "plan_note": (r.get("plan_note") or "") if differs else "",
            "counted": r.get("counted") is not False,
        })
    top = [i for i in items if i["counted"] and i["status"] != "resolved"][:3]
    # Mail clients clip long messages (Gmail at ~102 KB): the HTML lists the largest ones; the
    # plain-text part and `aicost recommendations` carry them all.
    return {
        "all": items,
        "listed": items[:MAX_LISTED_RECOMMENDATIONS],
        "more": max(0, len(items) - MAX_LISTED_RECOMMENDATIONS),
        "top": top,
        "empty": not items,
    }


def savings_accuracy(rows: pl.DataFrame, currency: str) -> dict:
    """Resolved recommendations of the last weeks: the saving predicted against the drop realised.

    A drop that resolves several recommendations on one cost is credited once (to the one the plan
    counted first); the others show as realised together with it, and their predictions add to the
    same total, so the totals compare the plan's figure with the one drop.
    """
    rows = rows.filter(pl.col("currency").fill_null(currency) == currency) if rows.height else rows
    if rows.height == 0:
        return {"rows": [], "empty": True}
    predicted_total = _sum(rows, "predicted")
    realised_total = _sum(rows, "realised")
    places = money_places([predicted_total, realised_total])
    credited = {r["overlap_group"]: r["action"] for r in rows.iter_rows(named=True)
                if r.get("overlap_group") and r.get("realised") is not None}
    items = []
    for r in rows.iter_rows(named=True):
        predicted, realised = r.get("predicted") or ZERO, r.get("realised")
        items.append({
            "week": iso_week_label(r["week_start"]),
            "action": r["action"] or r["kind"],
            "predicted": f"{format_money(predicted, currency, places=places)}/mo",
            "realised": f"{format_money(realised, currency, places=places)}/mo" if realised is not None else "—",
            "note": ("" if realised is not None
                     else "realised together with “" + credited[r["overlap_group"]] + "”" if r.get("overlap_group") in credited
                     else "not measurable: no cost seen for its scope"),
            "ratio": format_percent(realised / predicted) if realised is not None and predicted else "—",
        })
    return {
        "rows": items,
        "empty": False,
        "predicted": f"{format_money(predicted_total, currency, places=places)}/mo",
        "realised": f"{format_money(realised_total, currency, places=places)}/mo",
        "ratio": format_percent(realised_total / predicted_total) if predicted_total else "—",
        "predicted_exact": exact(predicted_total),
        "realised_exact": exact(realised_total),
    }


# --------------------------------------------------------------------------------------------
# Commitments, energy, data quality, method
# --------------------------------------------------------------------------------------------
def commitments(rows: pl.DataFrame) -> list[dict]:
    """Per billing currency: coverage, utilisation and savings realised by commitment discounts."""
    if rows.height == 0:
        return []
    share = pl.when(pl.col("period_s") > 0).then(pl.col("overlap_s")).otherwise(1)
    period = pl.when(pl.col("period_s") > 0).then(pl.col("period_s")).otherwise(1)
    week = rows.with_columns(
        (pl.col("effective_cost").fill_null(ZERO) * share / period).alias("cost"),
        (pl.col("list_cost") * share / period).alias("list"),
        (pl.col("pricing_category") == "Committed").alias("committed"),
        (pl.col("commitment_discount_status").fill_null("") == "Unused").alias("unused"),
        (pl.col("commitment_discount_status").fill_null("") == "Used").alias("used"),
    )
    result = []
    for (cur,), part in week.group_by(["billing_currency"], maintain_order=True):
        eligible = part.filter(pl.col("is_compute") & (pl.col("charge_category") == "Usage") & ~pl.col("unused"))
        covered = _sum(eligible.filter(pl.col("committed")), "cost")
        eligible_total = _sum(eligible, "cost")
        used = _sum(part.filter(pl.col("used")), "cost")
        unused = _sum(part.filter(pl.col("unused")), "cost")
        committed_usage = part.filter(pl.col("committed") & ~pl.col("unused") & pl.col("list").is_not_null())
        realised = _sum(committed_usage, "list") - _sum(committed_usage, "cost")
        if not (covered or used or unused):
            continue
        result.append({
            "currency": cur,
            "coverage": format_percent(covered / eligible_total) if eligible_total else "—",
            "utilisation": format_percent(used / (used + unused)) if (used + unused) else "—",
            "used": format_money(used, cur),
            "unused": format_money(unused, cur),
            "realised": format_money(realised, cur),
        })
    return result


def energy(cost: pl.DataFrame, week_start: date) -> dict:
    """GPU hours, kWh and kg CO2e of the week, with the change vs last week."""
    def totals(week: date) -> tuple[float, float, float]:
        part = cost.filter(pl.col("week_start") == week)
        if part.height == 0:
            return 0.0, 0.0, 0.0
        sums = part.select(pl.col("gpu_hours").sum(), pl.col("energy_kwh").sum(), pl.col("co2e_kg").sum()).row(0)
        return tuple(float(v or 0) for v in sums)

    gpu_hours, kwh, co2e = totals(week_start)
    last = week_start - WEEK
    _, kwh_last, co2e_last = totals(last)
    had_last = last in _weeks_with_data(cost)
    return {
        "gpu_hours": format_number(gpu_hours, 0),
        "kwh": format_number(kwh, 0),
        "co2e_kg": format_number(co2e, 0),
        "kwh_change": change(Decimal(str(kwh)), Decimal(str(kwh_last)) if had_last else None),
        "co2e_change": change(Decimal(str(co2e)), Decimal(str(co2e_last)) if had_last else None),
        "empty": kwh == 0 and co2e == 0 and gpu_hours == 0,
    }


DECISION_LABELS = {"held_back": "held back", "passed_over": "passed over", "loaded": "loaded"}


def delivery_decisions(decisions: pl.DataFrame | None) -> tuple[list[dict], dict[str, str]]:
    """The billing deliveries decided in the week's runs (rows of ``report_delivery_decisions``), and counts."""
    counts = {key: "0" for key in ("loaded", "passed_over", "held_back")}
    rows = []
    if decisions is None or decisions.height == 0:
        return rows, counts
    for r in decisions.iter_rows(named=True):
        counts[r["decision"]] = format_number(r["decision_count"])
        scope = " · ".join(part for part in (
            f"{r['provider']} account {r['billing_account_id']}" if r["provider"] else "",
            f"{r['billing_period_start']:%Y-%m}" if r["billing_period_start"] else "",
        ) if part)
        rows.append({
            "decision": DECISION_LABELS.get(r["decision"], r["decision"]),
            "delivery": r["delivery_id"],
            "scope": scope or "provider and period not read",
            "reason": r["reason"],
            "files": f"{r['files']} file" + ("" if r["files"] == 1 else "s"),
            "first_file": r["first_file"] or "",
            "decided": f"{r['decided_at']:%Y-%m-%d %H:%M} UTC",
        })
    return rows, counts


def data_quality(ingest: pl.DataFrame, rejections: pl.DataFrame, dq: pl.DataFrame, freshness: pl.DataFrame,
                 week_start: date, stale_after_days: int = STALE_AFTER_DAYS,
                 decisions: pl.DataFrame | None = None) -> dict:
    """Files and rows ingested, billing delivery decisions, top rejection reasons, failed expectations, stale sources."""
    week_end = week_start + WEEK
    tables = [
        {"table": r["target_table"], "files": format_number(r["files"]), "rows": format_number(r["rows_in_file"]),
         "loaded": format_number(r["rows_loaded"]), "rejected": format_number(r["rows_rejected"])}
        for r in ingest.iter_rows(named=True)
    ]
    deliveries, delivery_counts = delivery_decisions(decisions)
    totals = ingest.select(pl.col("files", "rows_in_file", "rows_loaded", "rows_rejected").sum()).row(0) \
        if ingest.height else (0, 0, 0, 0)
    failed = dq.filter(~pl.col("success")) if dq.height else dq
    stale = []
    for r in freshness.iter_rows(named=True):
        latest = r["latest"]
        age = (datetime.combine(week_end, datetime.min.time(), tzinfo=latest.tzinfo) - latest) if latest else None
        if latest is None or age > timedelta(days=stale_after_days):
            stale.append({"table": r["target_table"], "source": r["source"],
                          "latest": f"{latest:%Y-%m-%d %H:%M} UTC" if latest else "never",
                          "age": f"{age.days} days before the week's end" if age else "no data"})
    return {
        "tables": tables,
        "files": format_number(totals[0] or 0),
        "rows": format_number(totals[1] or 0),
        "loaded": format_number(totals[2] or 0),
        "rejected": format_number(totals[3] or 0),
        "reasons": [
            {"reason": r["reason"], "rows": format_number(r["rows_rejected"]), "files": format_number(r["files"]),
             "example": f"{r['example_file']} row {r['example_row']}"}
            for r in rejections.iter_rows(named=True)
        ],
        "expectations_evaluated": format_number(dq.height),
        "expectations_failed": format_number(failed.height),
        "failures": [
            {"table": r["target_table"], "expectation": r["expectation"], "column": r["column_name"] or "",
             "scope": r["scope"], "unexpected": format_number(r["unexpected_count"]) if r["unexpected_count"] is not None else "—"}
            for r in failed.head(10).iter_rows(named=True)
        ],
        "stale": stale,
        "stale_after_days": stale_after_days,
        "deliveries": deliveries,
        "delivery_counts": delivery_counts,
    }


def method(week_start: date, currency: str, fx_rates: pl.DataFrame | None, generated_at: datetime) -> dict:
    """The footer: how the figures are computed."""
    week_end = week_start + WEEK
    rates = []
    if fx_rates is not None:
        for r in fx_rates.iter_rows(named=True):
            rates.append(f"1 {r['currency']} = {r['rate_to_reporting']} {currency}"
                         + (f" (as of {r['as_of']}" + (f", {r['source']}" if r.get("source") else "") + ")" if r.get("as_of") else ""))
    return {
        "basis": "Effective cost (amortised): commitment purchases are spread over the hours they cover; "
                 "credits, refunds and corrections are included.",
        "currency": currency,
        "rates": rates,
        "week": f"ISO week {iso_week_label(week_start)}: Monday {week_start.isoformat()} 00:00 UTC to "
                f"Monday {week_end.isoformat()} 00:00 UTC; costs belong to the week of their charge period.",
        "changes": "“vs last week” compares with the previous ISO week; “vs 4-week average” with the mean "
                   "of the previous four weeks that have data.",
        "anomalies": f"A day is flagged above the mean + {DAY_SIGMAS:g}σ of its previous {DAY_HISTORY_DAYS} days; "
                     f"a service when its week exceeds {SERVICE_RATIO}× its 4-week average and "
                     f"{format_money(ANOMALY_MIN_AMOUNT, currency)}.",
        "savings": ("Monthly savings assume a 730-hour month. All recommendations form one plan, applied in "
                    "order (remove, resize / reschedule, make the work cheaper, price what remains): each shows "
                    "what it adds after the earlier steps on the same cost (reductions of one cost compound, "
                    "never add), and what it would save alone; the open savings are the plan's total."),
        "quality": "Ingest figures and expectations cover every file loaded into the warehouse so far.",
        "generated": f"{generated_at:%Y-%m-%d %H:%M} UTC",
    }


# --------------------------------------------------------------------------------------------
# Operations: a failed data check (top of the report) and files refused by ingest
# --------------------------------------------------------------------------------------------
DATA_CHECK_SUBJECT = "[DATA CHECK FAILED] "


def _plural_rows(count: int | None) -> str:
    return "" if count is None else f"{count:,} row{'' if count == 1 else 's'}"


def data_check_line(expectation: str, column: str | None, unexpected_count: int | None, details: str | None) -> str:
    """``expect_column_values_to_be_between on effective_cost: 1 row, e.g. exports/x.csv row 7``.

    ``details`` is the JSON text the quality gate stores: ``{"examples": [{"file", "row"}], ...}``
    when the failing rows are known, else whatever the expectation reported.
    """
    subject = f"{expectation} on {column}" if column else expectation
    try:
        parsed = json.loads(details) if details else None
    except ValueError:
        parsed = None
    examples = parsed.get("examples") if isinstance(parsed, dict) else None
    rows = _plural_rows(unexpected_count)
    if examples:
        listed = ", ".join(f"{e.get('file') or 'unknown file'} row {e.get('row')}" for e in examples)
        return f"{subject}: {rows or 'rows'}, e.g. {listed}"
    if rows:
        return f"{subject}: {rows}" + (f" ({details})" if details else "")
    return f"{subject}: failed" + (f" ({details})" if details else "")


def data_check_failure(dq: pl.DataFrame, week_start: date) -> dict | None:
    """The top-of-report block when an expectation failed on this week's rows, else None."""
    if dq.height == 0:
        return None
    scope = f"week {week_start.isoformat()}"
    failed = dq.filter(~pl.col("success") & pl.col("scope").str.starts_with(scope))
    if failed.height == 0:
        return None
    lines = [
        data_check_line(r["expectation"], r["column_name"], r["unexpected_count"], r["details"])
        for r in failed.iter_rows(named=True)
    ]
    return {
        "title": "Data check failed",
        "summary": "the figures below include rows that failed a data check.",
        "lines": lines,
        "action": "Check the rows named here in the source exports before acting on these figures; "
                  "the data-quality section has the details.",
    }


def refused_files(refusals: pl.DataFrame | None) -> list[dict]:
    """Files the ingest refused whole (nothing of them stored), by name and reason."""
    if refusals is None or refusals.height == 0:
        return []
    return [
        {"file": r["source_file"], "reason": r["reason"],
         "when": f"{r['refused_at']:%Y-%m-%d %H:%M} UTC" if r["refused_at"] else ""}
        for r in refusals.sort("source_file").iter_rows(named=True)
    ]


# --------------------------------------------------------------------------------------------
# The whole context
# --------------------------------------------------------------------------------------------
def build_context(
    *,
    week_start: date,
    currency: str,
    cost: pl.DataFrame,
    recs: pl.DataFrame,
    accuracy: pl.DataFrame,
    commitment_rows: pl.DataFrame,
    ingest: pl.DataFrame,
    rejections: pl.DataFrame,
    dq: pl.DataFrame,
    freshness: pl.DataFrame,
    fx_rates: pl.DataFrame | None,
    generated_at: datetime,
    stale_after_days: int = STALE_AFTER_DAYS,
    deliveries: pl.DataFrame | None = None,
    refusals: pl.DataFrame | None = None,
    economics: dict | None = None,
) -> dict:
    """Everything the templates show, formatted, from the report's query results."""
    from transforms.economics import economics_context  # it builds on this module's formatting

    require_monday(week_start)
    series = weekly_series(cost, week_start)
    head = headline(cost, recs, week_start, currency)
    label = iso_week_label(week_start)
    change_text = head["vs_last_week"]["text"]
    subject = (f"AI spend {label}: {head['spend']} ({change_text} vs last week) · "
               f"{head['open_savings']}/mo savings open")
    check = data_check_failure(dq, week_start)
    if check:
        subject = DATA_CHECK_SUBJECT + subject
    return {
        "data_check": check,
        "refused_files": refused_files(refusals),
        "week_label": label,
        "week_start": week_start.isoformat(),
        "week_range": week_range_label(week_start),
        "currency": currency,
        "subject": subject,
        "headline": head,
        "categories": categories(cost, week_start, currency),
        "chart": chart_text(series, currency),
        "breakdowns": [breakdown(cost, week_start, currency, key) for key in ("team", "project", "model")],
        "anomalies": anomalies(cost, week_start, currency),
        "recommendations": recommendations(recs, currency),
        "accuracy": savings_accuracy(accuracy, currency),
        "commitments": commitments(commitment_rows),
        "energy": energy(cost, week_start),
        "quality": data_quality(ingest, rejections, dq, freshness, week_start, stale_after_days, deliveries),
        "method": method(week_start, currency, fx_rates, generated_at),
        "economics": economics_context(economics, week_start=week_start, currency=currency, cost=cost, fx_rates=fx_rates),
        "series": series,
    }

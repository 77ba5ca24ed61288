"""The ranked savings plan, and how past predictions compared with the drops realised."""

from __future__ import annotations

import polars as pl

from transforms.plan import STEP_WORDS
from transforms.report.formatting import ZERO, exact, format_money, format_percent, money_places
from transforms.report.spend import money_sum
from transforms.weeks import iso_week_label

CONFIDENCE_MARKS = {"high": "● high", "medium": "◐ medium", "low": "○ low"}


def _scope(r: dict) -> str:
    """``team vision · project x · resource i-1``: what a recommendation is about."""
    parts = [
        f"{label} {r[col]}"
        for col, label in (("team", "team"), ("project", "project"), ("model", "model"), ("resource_id", "resource"))
        if r.get(col)
    ]
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
    places = money_places(
        [r.get("monthly_savings") for r in rows] + [r.get("standalone_monthly_savings") for r in rows]
    )
    items = []
    for rank, r in enumerate(rows, start=1):
        rec_currency = r.get("currency") or currency
        status = r.get("status") or "new"
        standalone = r.get("standalone_monthly_savings")
        differs = standalone is not None and standalone != r.get("monthly_savings")
        items.append(
            {
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
                "realised": (
                    f"{format_money(r['realised_savings'], rec_currency, places=places)}/mo"
                    if status == "resolved" and r.get("realised_savings") is not None
                    else ""
                ),
                "standalone": (f"{format_money(standalone, rec_currency, places=places)}/mo alone" if differs else ""),
                "standalone_exact": exact(standalone) if standalone is not None else None,
                "savings_exact": exact(r.get("monthly_savings") or ZERO),
                "plan": (
                    f"plan step {r['plan_order']}: {STEP_WORDS.get(r.get('plan_step') or '', r.get('plan_step') or '')}"
                    if r.get("plan_order") is not None and status != "resolved"
                    else ""
                ),
                "plan_note": (r.get("plan_note") or "") if differs else "",
                "counted": r.get("counted") is not False,
            }
        )
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
    predicted_total = money_sum(rows, "predicted")
    realised_total = money_sum(rows, "realised")
    places = money_places([predicted_total, realised_total])
    credited = {
        r["overlap_group"]: r["action"]
        for r in rows.iter_rows(named=True)
        if r.get("overlap_group") and r.get("realised") is not None
    }
    items = []
    for r in rows.iter_rows(named=True):
        predicted, realised = r.get("predicted") or ZERO, r.get("realised")
        items.append(
            {
                "week": iso_week_label(r["week_start"]),
                "action": r["action"] or r["kind"],
                "predicted": f"{format_money(predicted, currency, places=places)}/mo",
                "realised": f"{format_money(realised, currency, places=places)}/mo" if realised is not None else "—",
                "note": (
                    ""
                    if realised is not None
                    else "realised together with “" + credited[r["overlap_group"]] + "”"
                    if r.get("overlap_group") in credited
                    else "not measurable: no cost seen for its scope"
                ),
                "ratio": format_percent(realised / predicted) if realised is not None and predicted else "—",
            }
        )
    return {
        "rows": items,
        "empty": False,
        "predicted": f"{format_money(predicted_total, currency, places=places)}/mo",
        "realised": f"{format_money(realised_total, currency, places=places)}/mo",
        "ratio": format_percent(realised_total / predicted_total) if predicted_total else "—",
        "predicted_exact": exact(predicted_total),
        "realised_exact": exact(realised_total),
    }

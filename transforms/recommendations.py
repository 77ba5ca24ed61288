"""Recommendation ids, the plan, week-over-week tracking and ranking (pure polars).

- ``rec_id``: sha256 of kind and scope (resource_id, team, project, model), 16 hex digits: the same
  opportunity has the same id every week.
- The plan (``transforms/plan.py``): every recommendation applied in one order, so that each carries
  its standalone saving and its incremental saving after the ones before it; ``monthly_savings`` is
  the incremental figure and the open savings are their sum. ``counted`` marks an open
  recommendation whose incremental saving is above zero.
- ``overlap_group`` (set by the detectors: the same machine, bucket, training workload, ...) still
  says which recommendations a single drop in cost can resolve together.
- Tracking against the previous week's stored rows: ``new`` (first seen), ``open`` (seen last week,
  still firing; first_seen_week kept), ``resolved`` (fired last week, not now: carried once with
  ``realised_savings`` = the drop in that scope's monthly cost, and ``counted=False`` so it never
  adds to the open total).
- Ranking: open and new first, by monthly_savings descending (ties by rec_id); resolved rows after.
"""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal

import polars as pl

from transforms.plan import apply_plan
from transforms.schema import MONEY, RECOMMENDATION_COLUMNS

SCOPE_COLUMNS = ("resource_id", "team", "project", "model")
WEEK_HOURS = Decimal(168)


def rec_id(kind: str, resource_id: str | None, team: str | None, project: str | None, model: str | None) -> str:
    """The stable id of an opportunity: a hash of its kind and scope."""
    key = "\x1f".join([kind, *(value or "" for value in (resource_id, team, project, model))])
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def with_ids(found: pl.DataFrame) -> pl.DataFrame:
    """Add ``rec_id``; where two rows share an id the larger saving is kept."""
    ids = [
        rec_id(r["kind"], *(r[c] for c in SCOPE_COLUMNS))
        for r in found.select("kind", *SCOPE_COLUMNS).iter_rows(named=True)
    ]
    return (
        found.with_columns(pl.Series("rec_id", ids, dtype=pl.String))
        .sort(["monthly_savings", "rec_id"], descending=[True, False])
        .unique("rec_id", keep="first", maintain_order=True)
    )


def bill_monthly_costs(attributed: pl.DataFrame | None, hours_per_month: Decimal = Decimal(730)) -> dict[str, Decimal]:
    """Per billed resource: the week's attributed cost (reporting currency) as a month, the plan's caps."""
    if attributed is None or attributed.height == 0:
        return {}
    per_resource = (
        attributed.filter(pl.col("resource_id").is_not_null() & pl.col("effective_cost_reporting").is_not_null())
        .group_by("resource_id")
        .agg(pl.col("effective_cost_reporting").sum())
    )
    return {
        r["resource_id"]: r["effective_cost_reporting"] / WEEK_HOURS * hours_per_month
        for r in per_resource.iter_rows(named=True)
    }


def plan(recs: pl.DataFrame, key_costs: dict[str, Decimal] | None = None) -> pl.DataFrame:
    """The week's recommendations as one plan; ``counted`` where the incremental saving is above zero."""
    planned = apply_plan(recs, key_costs)
    return planned.with_columns((pl.col("monthly_savings") > 0).alias("counted"))


def scope_week_cost(attributed: pl.DataFrame | None, row: dict) -> Decimal | None:
    """The week's attributed cost (reporting currency) of a recommendation's scope, None if unknown."""
    if attributed is None or attributed.height == 0:
        return None
    if row.get("resource_id"):
        resources = row["resource_id"].split(";")
        match = attributed.filter(pl.col("resource_id").is_in(resources))
    else:
        conditions = [pl.col(c) == row[c] for c in ("team", "project", "model") if row.get(c)]
        if not conditions:
            return None
        match = attributed.filter(pl.all_horizontal(conditions))
    if match.height == 0:
        return None
    return match["effective_cost_reporting"].drop_nulls().sum() or Decimal(0)


def realised_savings(
    row: dict, before: pl.DataFrame | None, now: pl.DataFrame | None, hours_per_month: Decimal
) -> Decimal | None:
    """The drop in the scope's monthly cost from last week to this week (never negative)."""
    cost_before = scope_week_cost(before, row)
    if cost_before is None:
        return None
    cost_now = scope_week_cost(now, row) or Decimal(0)
    drop = max(cost_before - cost_now, Decimal(0))
    return (drop / WEEK_HOURS * hours_per_month).quantize(Decimal("0.01"))


def track(
    current: pl.DataFrame,
    previous: pl.DataFrame | None,
    week_start: date,
    *,
    cost_before: pl.DataFrame | None = None,
    cost_now: pl.DataFrame | None = None,
    hours_per_month: Decimal = Decimal(730),
) -> pl.DataFrame:
    """This week's rows (with rec_id and counted) tracked against last week's stored rows."""
    previous = previous if previous is not None else pl.DataFrame(schema=RECOMMENDATION_COLUMNS)
    active = previous.filter(pl.col("status").is_in(["new", "open"]))
    seen = {r["rec_id"]: r["first_seen_week"] for r in active.iter_rows(named=True)}
    rows = []
    for r in current.iter_rows(named=True):
        is_open = r["rec_id"] in seen
        rows.append(
            {
                **r,
                "week_start": week_start,
                "status": "open" if is_open else "new",
                "first_seen_week": (seen[r["rec_id"]] or week_start) if is_open else week_start,
                "realised_savings": None,
            }
        )
    firing = set(current["rec_id"].to_list())
    resolved = active.filter(~pl.col("rec_id").is_in(sorted(firing)))
    # Overlapping recommendations on the same cost realise one drop: it is credited once, to the
    # one that was counted (else the largest), never to each of them.
    credited_groups: set[str] = set()
    for r in resolved.sort(["counted", "monthly_savings", "rec_id"], descending=[True, True, False]).iter_rows(
        named=True
    ):
        group = r.get("overlap_group")
        credited = group is None or group not in credited_groups
        if group is not None:
            credited_groups.add(group)
        rows.append(
            {
                **r,
                "week_start": week_start,
                "status": "resolved",
                "counted": False,
                "realised_savings": realised_savings(r, cost_before, cost_now, hours_per_month) if credited else None,
            }
        )
    if not rows:
        return pl.DataFrame(schema=RECOMMENDATION_COLUMNS)
    tracked = pl.DataFrame(
        [{c: row.get(c) for c in RECOMMENDATION_COLUMNS} for row in rows], schema=RECOMMENDATION_COLUMNS
    )
    return rank(tracked)


def rank(recs: pl.DataFrame) -> pl.DataFrame:
    """Open and new first by monthly savings (largest first), resolved after."""
    return (
        recs.with_columns((pl.col("status") == "resolved").alias("_resolved"))
        .sort(["_resolved", "monthly_savings", "rec_id"], descending=[False, True, False], nulls_last=True)
        .drop("_resolved")
    )


def finalise(
    found: pl.DataFrame,
    previous: pl.DataFrame | None,
    week_start: date,
    *,
    cost_before: pl.DataFrame | None = None,
    cost_now: pl.DataFrame | None = None,
    hours_per_month: Decimal = Decimal(730),
) -> pl.DataFrame:
    """Detector output -> ids, overlap, tracking and ranking: rows ready for ``recommendations``."""
    recs = plan(with_ids(found), bill_monthly_costs(cost_now, hours_per_month))
    return track(
        recs, previous, week_start, cost_before=cost_before, cost_now=cost_now, hours_per_month=hours_per_month
    ).with_columns(pl.col("monthly_savings").cast(MONEY), pl.col("realised_savings").cast(MONEY))


def open_savings(recs: pl.DataFrame) -> Decimal:
    """The plan's total: the incremental monthly savings of the open (not resolved) recommendations."""
    counted = recs.filter(pl.col("counted") & (pl.col("status") != "resolved"))
    return counted["monthly_savings"].sum() if counted.height else Decimal(0)

"""The savings plan: every recommendation applied in one order, so that the savings add up.

Each detector computes what its recommendation saves *alone* (the standalone figure) and names the
cost it acts on, ``cost_basis``: ``{cost key: monthly cost acted on}``, where a cost key is a
billing resource (a machine, a bucket, a commitment) or a named slice of cost (an egress stream,
a transfer route). Two recommendations that name the same key act on the same money.

The plan applies them in the order a FinOps practitioner would (``PLAN_STEPS``):

1. ``remove``: power down idle machines, delete what is not needed, retire HDFS;
2. ``resize``: right-size, share GPUs, schedule off-hours, move to spot;
3. ``cheaper``: make the work cheaper (batching, GPU to CPU, compression, distributed efficiency,
   data compression, storage tiering, CDN / co-location);
4. ``price``: price what remains (commitments sized on the hours the earlier steps leave, and
   reserved-instance fixes);

and within a step by standalone saving (largest first, ties by id). Every key keeps the share of
its cost that is still spent (``remaining``, 1 at the start). A recommendation removes the fraction
``f = standalone / basis`` of each cost it acts on (capped at 1), so on what remains it saves

    incremental = f x sum over its keys of min(basis_k, cost_k) x remaining_k

and leaves ``remaining_k x (1 - f)`` of each key. Fractional reductions of the same cost so compound
(1 - (1 - a)(1 - b)), never add; a key's incremental savings together never exceed its monthly cost
``cost_k`` (the bill's cost of that resource where known, else the largest basis any
recommendation names for it), and the plan's total never exceeds the cost it touches.
A recommendation that nothing before it touches keeps its standalone figure to the cent; the others
are rounded down to the cent, so rounding never lifts a total over a cost.
"""

from __future__ import annotations

import json
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

import polars as pl

PLAN_STEPS: tuple[str, ...] = ("remove", "resize", "cheaper", "price")
STEP_OF_KIND: dict[str, str] = {
    "idle_gpu": "remove",
    "checkpoint_sprawl": "remove",
    "hdfs_to_object": "remove",
    "underused_gpu": "resize",
    "scheduling": "resize",
    "spot": "resize",
    "batching": "cheaper",
    "gpu_to_cpu": "cheaper",
    "compression": "cheaper",
    "distributed_efficiency": "cheaper",
    "data_compression": "cheaper",
    "storage_tiering": "cheaper",
    "network": "cheaper",
    "commitments": "price",
}
STEP_WORDS = {
    "remove": "remove",
    "resize": "resize / reschedule",
    "cheaper": "make the work cheaper",
    "price": "price what remains",
}
CENT = Decimal("0.01")
ZERO = Decimal(0)
ONE = Decimal(1)
PLAN_COLUMNS = ("standalone_monthly_savings", "monthly_savings", "plan_step", "plan_order", "plan_note", "plan_effect")


def parse_basis(text: str | None) -> dict[str, Decimal]:
    """``cost_basis`` JSON text -> {key: Decimal monthly cost} (empty when missing)."""
    if not text:
        return {}
    return {str(k): Decimal(str(v)) for k, v in json.loads(text).items() if v is not None and Decimal(str(v)) > 0}


def basis_json(basis: dict[str, Decimal]) -> str:
    """{key: monthly cost} -> JSON text with the costs to the cent, keys sorted."""
    return json.dumps({k: str(v.quantize(CENT, rounding=ROUND_HALF_UP)) for k, v in sorted(basis.items())})


def step_of(kind: str) -> str:
    """The plan step a kind of recommendation belongs to."""
    if kind not in STEP_OF_KIND:
        raise ValueError(f"recommendation kind {kind!r} has no step in the plan (add it to STEP_OF_KIND)")
    return STEP_OF_KIND[kind]


def _percent(share: Decimal) -> str:
    return f"{(share * 100).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP).normalize():f} %"


def _scope(row: dict) -> str:
    return row.get("resource_id") or "/".join(str(row[c]) for c in ("team", "project", "model") if row.get(c)) or "-"


def apply_plan(recs: pl.DataFrame, key_costs: dict[str, Decimal] | None = None) -> pl.DataFrame:
    """Order ``recs`` as one plan and give each its incremental saving.

    ``recs`` has at least ``rec_id``, ``kind``, ``monthly_savings`` (the standalone figure) and
    ``cost_basis`` (JSON text). ``key_costs`` is the monthly cost of each key as the bill shows it.
    Returns the rows in plan order with ``standalone_monthly_savings``, ``monthly_savings`` (the
    incremental figure), ``plan_step``, ``plan_order`` (1-based) and ``plan_note`` (how the
    incremental figure was derived).
    """
    if recs.height == 0:
        return recs.with_columns(
            pl.lit(None, dtype=recs.schema["monthly_savings"]).alias("standalone_monthly_savings"),
            pl.lit(None, dtype=pl.String).alias("plan_step"),
            pl.lit(None, dtype=pl.Int32).alias("plan_order"),
            pl.lit(None, dtype=pl.String).alias("plan_note"),
            pl.lit(None, dtype=pl.String).alias("plan_effect"),
        )
    rows = recs.to_dicts()
    for row in rows:
        row["plan_step"] = step_of(row["kind"])
        row["_basis"] = parse_basis(row.get("cost_basis"))
    rows.sort(key=lambda r: (PLAN_STEPS.index(r["plan_step"]), -(r["monthly_savings"] or ZERO), r["rec_id"]))

    cost: dict[str, Decimal] = {}
    for row in rows:
        for key, amount in row["_basis"].items():
            cost[key] = max(cost.get(key, ZERO), amount)
    for key, amount in (key_costs or {}).items():
        if key in cost and amount is not None and amount > 0:
            cost[key] = Decimal(amount)
    remaining: dict[str, Decimal] = {key: ONE for key in cost}
    touched_by: dict[str, list[str]] = {key: [] for key in cost}

    for order, row in enumerate(rows, start=1):
        standalone = Decimal(row["monthly_savings"] or 0)
        basis = row["_basis"]
        row["standalone_monthly_savings"] = standalone
        row["plan_order"] = order
        if not basis:
            row["plan_note"] = "names no cost it acts on: not counted in the plan"
            row["monthly_savings"] = ZERO
            row["plan_effect"] = "{}"
            continue
        claimed = sum(basis.values(), ZERO)
        fraction = min(ONE, standalone / claimed) if claimed > 0 else ZERO
        # capped where the bill shows less than the detector assumed (by more than a cent: a basis and
        # the bill's figure of the same machine may differ in the last digits of their arithmetic)
        capped = {key: cost[key] if cost[key] < amount - CENT else amount for key, amount in basis.items()}
        left = sum((capped[key] * remaining[key] for key in basis), ZERO)
        parts = {
            key: (fraction * capped[key] * remaining[key]).quantize(Decimal("0.0001"), rounding=ROUND_DOWN)
            for key in basis
        }
        earlier = sorted({name for key in basis for name in touched_by[key]})
        capped_any = sum(capped.values(), ZERO) < claimed - CENT * len(basis)
        if not earlier and not capped_any and standalone <= claimed:
            incremental = standalone  # nothing before it on this cost: the same figure, to the cent
        else:
            incremental = min(standalone, sum(parts.values(), ZERO)).quantize(CENT, rounding=ROUND_DOWN)
        row["plan_effect"] = json.dumps({k: str(v) for k, v in sorted(parts.items())})
        row["monthly_savings"] = incremental
        row["plan_note"] = _note(
            standalone, fraction, claimed, left, incremental, earlier, capped=capped_any or standalone > claimed
        )
        for key in basis:
            remaining[key] *= ONE - fraction
            touched_by[key].append(f"{row['kind']} on {_scope(row)}")
    out = pl.DataFrame(
        [{k: v for k, v in row.items() if not k.startswith("_")} for row in rows],
        schema_overrides={
            "monthly_savings": recs.schema["monthly_savings"],
            "standalone_monthly_savings": recs.schema["monthly_savings"],
            "plan_order": pl.Int32,
        },
        infer_schema_length=None,
    )
    return out.select(*recs.columns, *(c for c in PLAN_COLUMNS if c not in recs.columns))


def _note(
    standalone: Decimal,
    fraction: Decimal,
    claimed: Decimal,
    left: Decimal,
    incremental: Decimal,
    earlier: list[str],
    *,
    capped: bool,
) -> str:
    """How the incremental figure follows from the standalone one, in one line."""
    money = lambda d: f"{d.quantize(CENT, rounding=ROUND_HALF_UP):,.2f}"  # noqa: E731
    if not earlier and not capped:
        return f"no earlier step of the plan touches this cost: incremental = standalone = {money(incremental)}"
    share = left / claimed if claimed > 0 else ZERO
    why = []
    if earlier:
        shown = ", ".join(earlier[:3]) + (f" and {len(earlier) - 3} more" if len(earlier) > 3 else "")
        why.append(f"after {shown}")
    if capped:
        why.append("capped at the cost it acts on (the bill's monthly cost of the resource)")
    return (
        f"{'; '.join(why)}: {_percent(share)} of the {money(claimed)} / month it acts on remains; "
        f"{_percent(fraction)} of {money(left)} = {money(incremental)} (standalone {money(standalone)})"
    )


def plan_violations(recs: pl.DataFrame, key_costs: dict[str, Decimal] | None = None) -> list[str]:
    """The plan's invariants that do not hold (empty when all hold).

    - every recommendation names the cost it acts on;
    - no incremental saving is negative or above its standalone figure;
    - the incremental savings on one cost key never exceed that key's monthly cost;
    - the plan's total never exceeds the monthly cost it touches
    (each to the cent: a basis within a cent of the bill's figure is not capped).
    """
    problems: list[str] = []
    if recs.height == 0:
        return problems
    cost: dict[str, Decimal] = {}
    per_key: dict[str, Decimal] = {}
    for row in recs.iter_rows(named=True):
        basis = parse_basis(row.get("cost_basis"))
        inc = Decimal(row["monthly_savings"] or 0)
        standalone = Decimal(row["standalone_monthly_savings"] or 0)
        if not basis:
            problems.append(f"{row['rec_id']} ({row['kind']}): names no cost it acts on")
        if inc < 0 or inc > standalone:
            problems.append(f"{row['rec_id']} ({row['kind']}): incremental {inc} outside 0..standalone {standalone}")
        for key, amount in basis.items():
            cost[key] = max(cost.get(key, ZERO), amount)
        for key, part in json.loads(row.get("plan_effect") or "{}").items():
            per_key[key] = per_key.get(key, ZERO) + Decimal(part)
    for key, amount in (key_costs or {}).items():
        if key in cost and amount is not None and amount > 0:
            cost[key] = Decimal(amount)
    for key, saved in sorted(per_key.items()):
        if saved > cost.get(key, ZERO) + CENT:
            problems.append(
                f"cost {key}: incremental savings {saved:.2f} exceed its monthly cost {cost.get(key, ZERO):.2f}"
            )
    total = sum((Decimal(v or 0) for v in recs["monthly_savings"].to_list()), ZERO)
    touched = sum(cost.values(), ZERO)
    if total > touched + CENT * len(cost):
        problems.append(f"plan total {total:.2f} exceeds the monthly cost it touches {touched:.2f}")
    return problems

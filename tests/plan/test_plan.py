"""The savings plan: incremental figures computed by hand, and its invariants as properties."""

from __future__ import annotations

import json
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.plan import apply_plan, basis_json, plan_violations
from transforms.schema import MONEY

D = Decimal


def recs(*rows: tuple[str, str, str, dict[str, str]]) -> pl.DataFrame:
    """(rec_id, kind, standalone, {key: monthly cost}) -> a frame as the detectors give it."""
    return pl.DataFrame(
        [
            {
                "rec_id": r,
                "kind": k,
                "resource_id": None,
                "team": None,
                "project": None,
                "model": None,
                "monthly_savings": D(s),
                "cost_basis": basis_json({key: D(v) for key, v in b.items()}),
            }
            for r, k, s, b in rows
        ],
        schema_overrides={"monthly_savings": MONEY},
    )


def figures(plan: pl.DataFrame) -> dict[str, Decimal]:
    return dict(zip(plan["rec_id"], plan["monthly_savings"]))


def test_two_recommendations_on_one_machine_compound_never_add():
    # batching saves 30 % of m1 (300 of 1,000), compression 40 % (400): alone 700, together
    # 1 - 0.6 x 0.7 = 58 %: compression first (larger), 400; batching on the 600 left: 180.
    plan = apply_plan(recs(("b", "batching", "300", {"m1": "1000"}), ("c", "compression", "400", {"m1": "1000"})))
    assert plan["rec_id"].to_list() == ["c", "b"]
    assert figures(plan) == {"c": D("400.00"), "b": D("180.00")}
    assert plan["standalone_monthly_savings"].to_list() == [D("400"), D("300")]
    assert "after compression on -" in plan.filter(pl.col("rec_id") == "b")["plan_note"].item()
    assert plan_violations(plan) == []


def test_batching_plus_compression_claiming_the_whole_machine_leaves_it_whole():
    # the case seen on the demo: batching 50 % and compression 50 % added to 100 % of the cost
    plan = apply_plan(recs(("b", "batching", "500", {"m1": "1000"}), ("c", "compression", "500", {"m1": "1000"})))
    assert sum(plan["monthly_savings"]) == D("750.00")


def test_four_recommendations_on_one_machine_and_a_commitment_after_a_power_down():
    # m1 costs 1,000 / month, m2 2,000. Plan order: remove (idle 600) -> cheaper (compression 400,
    # batching 300) -> price (commitment 450 on m1 + m2 = 15 % of 3,000).
    plan = apply_plan(
        recs(
            ("commit", "commitments", "450", {"m1": "1000", "m2": "2000"}),
            ("b", "batching", "300", {"m1": "1000"}),
            ("idle", "idle_gpu", "600", {"m1": "1000"}),
            ("c", "compression", "400", {"m1": "1000"}),
        )
    )
    assert plan["rec_id"].to_list() == ["idle", "c", "b", "commit"]
    assert plan["plan_step"].to_list() == ["remove", "cheaper", "cheaper", "price"]
    assert plan["plan_order"].to_list() == [1, 2, 3, 4]
    # idle: 600 (m1 left 40 %); compression 40 % of 400 = 160 (left 24 %); batching 30 % of 240 = 72
    # (left 16.8 % = 168); commitment 15 % of (168 + 2,000) = 325.20
    assert figures(plan) == {"idle": D("600.00"), "c": D("160.00"), "b": D("72.00"), "commit": D("325.20")}
    effect = json.loads(plan.filter(pl.col("rec_id") == "commit")["plan_effect"].item())
    assert effect == {"m1": "25.2000", "m2": "300.0000"}
    assert sum(plan["monthly_savings"]) == D("1157.20") <= D("3000")
    assert plan_violations(plan) == []


def test_commitment_baseline_after_a_machine_is_powered_down_entirely():
    # idle_gpu removes all of m1 (1,000 of 1,000): the commitment on m1 + m2 keeps only m2's share
    plan = apply_plan(
        recs(
            ("commit", "commitments", "300", {"m1": "1000", "m2": "1000"}),
            ("idle", "idle_gpu", "1000", {"m1": "1000"}),
        )
    )
    assert figures(plan) == {"idle": D("1000.00"), "commit": D("150.00")}


def test_a_basis_above_the_billed_cost_is_capped_at_the_bill():
    # the detector assumed 730 h (1,000) but the bill shows 600 this month
    plan = apply_plan(recs(("b", "batching", "500", {"m1": "1000"})), key_costs={"m1": D("600")})
    assert figures(plan) == {"b": D("300.00")}
    assert "capped at the cost it acts on" in plan["plan_note"].item()
    assert plan_violations(plan, {"m1": D("600")}) == []


def test_storage_bucket_delete_then_compress_then_tier():
    # bucket costs 900: checkpoint sprawl deletes 300 (1/3), data compression saves 200 (2/9 of 900),
    # tiering 450 (1/2): 300; 2/9 of 600 = 133.33; 1/2 of (600 - 133.33...) = 233.33
    plan = apply_plan(
        recs(
            ("tier", "storage_tiering", "450", {"bucket-a": "900"}),
            ("zip", "data_compression", "200", {"bucket-a": "900"}),
            ("ckpt", "checkpoint_sprawl", "300", {"bucket-a": "900"}),
        )
    )
    assert plan["rec_id"].to_list() == ["ckpt", "tier", "zip"]
    # tiering (450 > 200) comes first within "cheaper": 1/2 of 600 = 300; then compression 2/9 of 300
    assert figures(plan) == {"ckpt": D("300.00"), "tier": D("300.00"), "zip": D("66.66")}


def test_recommendation_without_a_cost_basis_is_not_counted_and_is_flagged():
    plan = apply_plan(recs(("x", "network", "100", {})))
    assert figures(plan) == {"x": D("0")}
    assert any("names no cost" in p for p in plan_violations(plan))


KINDS = [
    "idle_gpu",
    "checkpoint_sprawl",
    "underused_gpu",
    "scheduling",
    "spot",
    "batching",
    "gpu_to_cpu",
    "compression",
    "storage_tiering",
    "network",
    "commitments",
]
amounts = st.decimals(min_value=D("0.01"), max_value=D("100000"), places=2)


@st.composite
def scenarios(draw):
    keys = [f"k{i}" for i in range(draw(st.integers(1, 4)))]
    costs = {k: draw(amounts) for k in keys}
    rows = []
    for i in range(draw(st.integers(1, 8))):
        chosen = draw(st.lists(st.sampled_from(keys), min_size=1, max_size=len(keys), unique=True))
        # a detector may claim more than the bill shows, and more than the cost it names
        basis = {k: costs[k] * draw(st.decimals(min_value=D("0.5"), max_value=D("1.5"), places=2)) for k in chosen}
        standalone = sum(basis.values()) * draw(st.decimals(min_value=D("0.01"), max_value=D("1.2"), places=2))
        rows.append(
            (
                f"r{i}",
                draw(st.sampled_from(KINDS)),
                str(standalone.quantize(D("0.01"))),
                {k: str(v) for k, v in basis.items()},
            )
        )
    return rows, costs


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(scenarios())
def test_plan_invariants_hold_on_random_scenarios(scenario):
    rows, costs = scenario
    plan = apply_plan(recs(*rows), key_costs=costs)
    assert plan_violations(plan, costs) == []
    per_key: dict[str, Decimal] = {}
    for effect in plan["plan_effect"]:
        for key, part in json.loads(effect).items():
            per_key[key] = per_key.get(key, D(0)) + D(part)
    assert all(per_key[k] <= costs[k] + D("0.01") for k in per_key)  # to the cent, as documented
    assert sum(plan["monthly_savings"]) <= sum(costs.values()) + D("0.01") * len(costs)
    assert all(i <= s for i, s in zip(plan["monthly_savings"], plan["standalone_monthly_savings"]))

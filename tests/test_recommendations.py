"""Ids, overlap, week-over-week tracking (pure) and one run through flows/recommend.py."""

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import polars as pl
import pytest

from flows.recommend import RecommendationConfigError, load_prices, recommend_week, recommendations_for_week
from flows.settings import Settings
from flows.warehouse import insert_frame
from transforms.detectors.common import DETECTOR_COLUMNS
from transforms.plan import basis_json
from transforms.recommendations import finalise, open_savings, rec_id
from transforms.schema import ATTRIBUTED_COST_COLUMNS, BILLING_COLUMNS, GPU_METRICS_COLUMNS, conform

W1, W2, W3 = date(2026, 11, 9), date(2026, 11, 16), date(2026, 11, 23)


def found(*rows: dict) -> pl.DataFrame:
    """Detector output rows: kind, resource_id, monthly_savings, overlap_group, basis (a monthly cost of the
    resource it acts on; 10,000 unless given)."""
    base = {c: None for c in DETECTOR_COLUMNS}
    full = [
        {
            **base,
            "strategy": "s",
            "currency": "USD",
            "formula": "f",
            "evidence": "{}",
            "evidence_text": "e",
            "confidence": "high",
            "confidence_reason": "r",
            "action": "a",
            "cost_basis": basis_json({r.get("resource_id") or r.get("model"): Decimal(r.pop("basis", "10000"))}),
            **r,
            "monthly_savings": Decimal(r["monthly_savings"]),
        }
        for r in rows
    ]
    return pl.DataFrame(full, schema=DETECTOR_COLUMNS)


def cost(resource: str, amount: str, week: date) -> pl.DataFrame:
    return conform(
        pl.DataFrame(
            {"week_start": [week], "resource_id": [resource], "effective_cost_reporting": [Decimal(amount)]}
        ).lazy(),
        ATTRIBUTED_COST_COLUMNS,
    ).collect()


def test_rec_id_is_a_stable_hash_of_kind_and_scope():
    a = rec_id("idle_gpu", "i-1", "vision", None, None)
    assert a == rec_id("idle_gpu", "i-1", "vision", None, None)
    assert len(a) == 16
    assert a != rec_id("underused_gpu", "i-1", "vision", None, None)
    assert a != rec_id("idle_gpu", "i-2", "vision", None, None)


def test_recommendations_on_one_machine_add_up_in_the_plan():
    # i-1 costs 10,000 a month: power-down (9,000 alone) comes first and leaves 1,000; scheduling (5,000
    # alone, half the machine) saves half of that, 500; right-sizing (4,000 alone, 40 %) 40 % of the 500 left
    recs = finalise(
        found(
            {"kind": "idle_gpu", "resource_id": "i-1", "monthly_savings": "9000", "overlap_group": "machine:i-1"},
            {"kind": "underused_gpu", "resource_id": "i-1", "monthly_savings": "4000", "overlap_group": "machine:i-1"},
            {"kind": "scheduling", "resource_id": "i-1", "monthly_savings": "5000", "overlap_group": "machine:i-1"},
            {
                "kind": "storage_tiering",
                "resource_id": "b",
                "monthly_savings": "300",
                "overlap_group": "storage:b",
                "basis": "1000",
            },
            {"kind": "compression", "model": "m", "monthly_savings": "700", "overlap_group": None, "basis": "2000"},
        ),
        None,
        W1,
    )
    incremental = dict(zip(recs["kind"], recs["monthly_savings"]))
    assert incremental == {
        "idle_gpu": Decimal("9000"),
        "scheduling": Decimal("500"),
        "underused_gpu": Decimal("200"),
        "storage_tiering": Decimal("300"),
        "compression": Decimal("700"),
    }
    standalone = dict(zip(recs["kind"], recs["standalone_monthly_savings"]))
    assert standalone["scheduling"] == Decimal("5000") and standalone["underused_gpu"] == Decimal("4000")
    assert all(recs["counted"])
    assert open_savings(recs) == Decimal(9000 + 500 + 200 + 300 + 700)
    assert recs["monthly_savings"].to_list() == sorted(recs["monthly_savings"].to_list(), reverse=True)


def test_new_then_open_then_resolved_with_realised_savings():
    week1 = finalise(
        found(
            {"kind": "idle_gpu", "resource_id": "i-1", "monthly_savings": "9000", "overlap_group": "machine:i-1"},
            {"kind": "idle_gpu", "resource_id": "i-2", "monthly_savings": "8000", "overlap_group": "machine:i-2"},
        ),
        None,
        W1,
    )
    assert set(week1["status"]) == {"new"}
    week2 = finalise(
        found(
            {"kind": "idle_gpu", "resource_id": "i-1", "monthly_savings": "9100", "overlap_group": "machine:i-1"},
            {"kind": "idle_gpu", "resource_id": "i-2", "monthly_savings": "8000", "overlap_group": "machine:i-2"},
        ),
        week1,
        W2,
    )
    assert set(week2["status"]) == {"open"}
    assert set(week2["first_seen_week"]) == {W1}
    assert week2["rec_id"].sort().to_list() == week1["rec_id"].sort().to_list()
    # week 3: i-2 was powered down (its cost fell from 3,360 to 336 a week); i-1 still idle
    week3 = finalise(
        found({"kind": "idle_gpu", "resource_id": "i-1", "monthly_savings": "9100", "overlap_group": "machine:i-1"}),
        week2,
        W3,
        cost_before=pl.concat([cost("i-2", "3360", W2), cost("i-1", "3360", W2)]),
        cost_now=pl.concat([cost("i-2", "336", W3), cost("i-1", "3360", W3)]),
    )
    by_resource = {r["resource_id"]: r for r in week3.iter_rows(named=True)}
    assert by_resource["i-1"]["status"] == "open" and by_resource["i-1"]["first_seen_week"] == W1
    resolved = by_resource["i-2"]
    assert resolved["status"] == "resolved" and resolved["counted"] is False
    assert resolved["realised_savings"] == ((Decimal(3360) - Decimal(336)) / 168 * 730).quantize(Decimal("0.01"))
    assert resolved["week_start"] == W3
    assert week3["status"].to_list() == ["open", "resolved"]  # resolved ranked after
    assert open_savings(week3) == Decimal("9100")


def test_overlapping_recommendations_resolved_together_realise_the_drop_once():
    # idle and scheduling on one dev machine, both resolved when it is stopped: one drop, credited once
    week1 = finalise(
        found(
            {"kind": "idle_gpu", "resource_id": "i-dev", "monthly_savings": "900", "overlap_group": "machine:i-dev"},
            {"kind": "scheduling", "resource_id": "i-dev", "monthly_savings": "700", "overlap_group": "machine:i-dev"},
        ),
        None,
        W1,
    )
    week2 = finalise(found(), week1, W2, cost_before=cost("i-dev", "168", W1), cost_now=cost("i-dev", "0", W2))
    realised = {r["kind"]: r["realised_savings"] for r in week2.iter_rows(named=True)}
    assert set(week2["status"]) == {"resolved"}
    assert realised == {"idle_gpu": Decimal("730.00"), "scheduling": None}  # the counted one carries it


def test_a_bad_price_table_is_refused_with_its_line(tmp_path):
    bad = tmp_path / "prices.csv"
    bad.write_text(
        "provider,region,item,price_type,value,unit,currency,source_id,as_of,notes\n"
        "aws,us-east-1,p5.48xlarge,ondemand_hour,abc,USD/hour,USD,x,2026,\n"
    )
    with pytest.raises(RecommendationConfigError, match="line 2, column value: expected a decimal number, got 'abc'"):
        load_prices(bad)


def test_shipped_price_table_loads_with_sources_and_dates():
    from flows.settings import CONFIG_DIR

    table = load_prices(CONFIG_DIR / "prices.csv")
    assert table["source_id"].null_count() == 0 and table["as_of"].null_count() == 0
    p5 = table.filter(
        (pl.col("item") == "p5.48xlarge")
        & (pl.col("price_type") == "ondemand_hour")
        & (pl.col("region") == "us-east-1")
    )
    assert p5["value"].to_list() == [Decimal("55.04")]  # after the June 2025 AWS cut


def _billing(resource: str, start: datetime, hours: int, cost_per_hour: str) -> list[dict]:
    return [
        {
            "provider": "aws",
            "billing_account_id": "1",
            "billing_period_start": start.replace(day=1),
            "charge_period_start": start + timedelta(hours=h),
            "charge_period_end": start + timedelta(hours=h + 1),
            "charge_category": "Usage",
            "pricing_category": "Standard",
            "billing_currency": "USD",
            "billed_cost": Decimal(cost_per_hour),
            "effective_cost": Decimal(cost_per_hour),
            "resource_id": resource,
            "region_id": "us-east-1",
            "x_instance_type": "p4d.24xlarge",
            "x_gpu_count": 8,
            "consumed_quantity": Decimal(1),
            "consumed_unit": "Hrs",
        }
        for h in range(hours)
    ]


def _metrics(resource: str, start: datetime, util: float) -> pl.DataFrame:
    rows = [
        {
            "ts": start + timedelta(hours=h),
            "interval_s": 3600.0,
            "resource_id": resource,
            "gpu_index": g,
            "utilization_pct": util,
        }
        for h in range(168)
        for g in range(8)
    ]
    return conform(pl.DataFrame(rows).lazy(), GPU_METRICS_COLUMNS).collect()


@pytest.mark.slow
def test_recommend_week_through_the_warehouse(warehouse, tmp_path):
    settings = Settings(db=tmp_path / "w.duckdb")
    for week, idle in ((W1, True), (W2, False)):
        start = datetime(week.year, week.month, week.day, tzinfo=timezone.utc)
        insert_frame(
            warehouse,
            "billing_line_items",
            conform(
                pl.DataFrame(_billing("i-idle", start, 168, "20") + _billing("i-busy", start, 168, "20")).lazy(),
                BILLING_COLUMNS,
            ).collect(),
        )
        insert_frame(
            warehouse,
            "gpu_metrics",
            pl.concat([_metrics("i-idle", start, 1.0 if idle else 80.0), _metrics("i-busy", start, 90.0)]),
        )
    week1 = recommend_week(warehouse, W1, settings)
    idle = week1.filter(pl.col("kind") == "idle_gpu")
    assert idle["resource_id"].to_list() == ["i-idle"]
    assert (
        idle["monthly_savings"][0] == (Decimal(168) / 168 * 730 * 20).quantize(Decimal("0.01")) == Decimal("14600.00")
    )
    assert idle["status"][0] == "new"
    assert "i-busy" not in week1["resource_id"].to_list()
    # running the week again replaces its rows, never duplicates them
    recommend_week(warehouse, W1, settings)
    stored = recommendations_for_week(warehouse, W1)
    assert stored.height == week1.height
    assert stored["monthly_savings"].to_list() == sorted(stored["monthly_savings"].to_list(), reverse=True)
    # week 2: the machine went busy: its recommendations are resolved
    week2 = recommend_week(warehouse, W2, settings)
    resolved = week2.filter((pl.col("kind") == "idle_gpu") & (pl.col("resource_id") == "i-idle"))
    assert resolved["status"].to_list() == ["resolved"]
    assert resolved["rec_id"].to_list() == idle["rec_id"].to_list()
    assert recommendations_for_week(warehouse, "2026-11-16").height == week2.height


def test_recommendations_for_week_rejects_a_non_monday(warehouse):
    with pytest.raises(ValueError, match="must be a Monday"):
        recommendations_for_week(warehouse, "2026-11-17")


@pytest.mark.slow
def test_every_planted_opportunity_fires_on_the_generated_sample(warehouse, tmp_path):
    """The generated Northwind AI sample (clearly generated data) through ingest, attribution and the detectors."""
    from flows.attribute import attribute_week
    from flows.ingest import ingest_files
    from sample_data import generate_sample

    summary = generate_sample(tmp_path / "sample", weeks=5, end_week=W2)
    files = sorted(p for p in (tmp_path / "sample").rglob("*") if p.is_file() and p.name != "README.txt")
    ingest_files(warehouse, files)
    settings = Settings(db=tmp_path / "unused.duckdb")
    for week in summary["weeks"]:
        attribute_week(warehouse, date.fromisoformat(str(week)), settings)
    recs = recommend_week(warehouse, W2, settings)
    fired = {(r["kind"], r["resource_id"]) for r in recs.filter(pl.col("status") != "resolved").iter_rows(named=True)}
    kinds = {kind for kind, _ in fired}
    for planted in summary["opportunities"]:
        kind = {"hdfs": "hdfs_to_object"}.get(planted["kind"], planted["kind"])
        assert kind in kinds, f"planted {planted['kind']} ({planted['evidence']}) did not fire"
        if kind in (
            "idle_gpu",
            "underused_gpu",
            "storage_tiering",
            "data_compression",
            "checkpoint_sprawl",
            "scheduling",
            "gpu_to_cpu",
            "batching",
        ) or (kind == "commitments" and isinstance(planted["resource_id"], str)):
            wanted = planted["resource_id"] if isinstance(planted["resource_id"], list) else [planted["resource_id"]]
            for resource in wanted:
                assert (kind, resource) in fired, f"planted {kind} on {resource} did not fire"
    # the busy training cluster never gets an idle or right-size recommendation
    busy = {r for p in summary["opportunities"] if p["kind"] == "spot" for r in p["resource_id"]}
    assert not {(k, r) for k, r in fired if k in ("idle_gpu", "underused_gpu") and r in busy}

"""Attribution on the real billing samples: every week conserves its source slices, and the built-in
service rules decide real rows as documented (S3 storage, data transfer, Azure ML, GPU instances)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from flows.attribute import attribute_week, attribution_summary
from flows.ingest import ingest_files
from flows.settings import Settings
from transforms.attribution.services import apply_service_rules
from transforms.schema import MONEY

FOCUS = "focus/FOCUS-Sample-Data_FOCUS-1.0_focus_sample.csv"
SAMPLES = [
    FOCUS,
    "aws/focus_converters_sample-anonymous-aws-export-dataset.csv",
    "aws/koku_2023-06-01_savingsplan.csv",
    "aws/koku_test_cur.csv",
    "aws/wal_Oct2018-WorkshopCUR-00001.snappy.parquet",
    "azure/finops-toolkit_EA_ActualCost_Small.csv",
    "azure/finops-toolkit_EA_AmortizedCost_Small.csv",
    "azure/focus_converters_sample-anonymous-ea-export-dataset.csv",
    "gcp/koku_gcp_202011_2020-11-08_2020-11-11.csv",
]
UNITS = 10**MONEY.scale  # MONEY's smallest unit
DAY = timedelta(days=1)
S3 = "Amazon Simple Storage Service"


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def week_start_ts(week: date) -> datetime:
    return datetime.combine(week, time(0), tzinfo=UTC)


def touched_weeks(row: dict) -> set[date]:
    """The ISO weeks a row's charge period touches (a row of a day or less: the week it starts in)."""
    start, end = row["charge_period_start"], row["charge_period_end"]
    if end is None or end - start <= DAY:
        return {monday(start.date())}
    last = (end - timedelta(microseconds=1)).date()
    return {
        monday(start.date()) + timedelta(weeks=k) for k in range((monday(last) - monday(start.date())).days // 7 + 1)
    }


def week_share(row: dict, week: date) -> Decimal:
    """The row's effective cost inside ``week``, by the documented rule, in exact integers.

    A row of a day or less lands whole on its start day; a longer one is spread evenly over its
    seconds: the part up to time t is floor(units * seconds_to_t / seconds_total).
    """
    start, end = row["charge_period_start"], row["charge_period_end"]
    units = int(row["effective_cost"] * UNITS)
    if end is None or end - start <= DAY:
        return Decimal(units) / UNITS if monday(start.date()) == week else Decimal(0)
    total = (end - start) // timedelta(seconds=1)
    seconds_to = lambda t: min(max((t - start) // timedelta(seconds=1), 0), total)  # noqa: E731
    lo, hi = week_start_ts(week), week_start_ts(week) + timedelta(weeks=1)
    return Decimal(units * seconds_to(hi) // total - units * seconds_to(lo) // total) / UNITS


def ingest_and_attribute(con, path: Path) -> tuple[object, pl.DataFrame, dict[date, dict]]:
    """Ingest one sample, attribute every week its charge periods touch; the source rows and summaries."""
    (result,) = ingest_files(con, [path])
    assert result.error is None, result.error
    source = con.sql("SELECT * FROM billing_line_items").pl()
    weeks = sorted(set().union(*(touched_weeks(r) for r in source.iter_rows(named=True))))
    settings = Settings()
    summaries = {week: attribute_week(con, week, settings) for week in weeks}
    return result, source, summaries


@pytest.mark.slow
@pytest.mark.parametrize("sample", SAMPLES)
def test_each_week_and_currency_conserves_the_source_and_coverage_adds_up(warehouse, shared_data, sample):
    result, source, summaries = ingest_and_attribute(warehouse, shared_data / sample)
    assert result.rows_loaded == source.height > 0
    expected: dict[tuple[date, str], Decimal] = defaultdict(Decimal)
    for row in source.iter_rows(named=True):
        for week in touched_weeks(row):
            expected[(week, row["billing_currency"])] += week_share(row, week)
    attributed = warehouse.sql("SELECT week_start, billing_currency, effective_cost FROM attributed_cost").pl()
    got = {
        (w, c): v
        for w, c, v in attributed.group_by("week_start", "billing_currency")
        .agg(pl.col("effective_cost").sum())
        .iter_rows()
    }
    assert got == dict(expected)  # every week and currency with source slices, to MONEY's smallest unit

    source_total = dict(source.group_by("billing_currency").agg(pl.col("effective_cost").sum()).iter_rows())
    all_weeks = dict(attributed.group_by("billing_currency").agg(pl.col("effective_cost").sum()).iter_rows())
    assert all_weeks == source_total == result.effective_cost
    coverage_adds_up_and_reads_back(warehouse, summaries)


def coverage_adds_up_and_reads_back(warehouse, summaries: dict[date, dict]) -> None:
    """attribution_summary reads each stored week back as written; coverage is the |cost| share per method."""
    settings = Settings()
    for week, summary in summaries.items():
        assert attribution_summary(warehouse, week, settings) == summary
        stored = warehouse.sql(
            "SELECT attribution_method, effective_cost, effective_cost_reporting FROM attributed_cost "
            "WHERE week_start = $w",
            params={"w": week},
        ).pl()
        weight = stored.with_columns(w=pl.coalesce("effective_cost_reporting", "effective_cost").abs())
        total = weight["w"].sum()
        by_method = dict(weight.group_by("attribution_method").agg(pl.col("w").sum()).iter_rows())
        coverage = summary["coverage"]
        # no user rules and no usage logs here: everything is service knowledge or "other"
        assert coverage["rule"] == coverage["usage"] == 0.0
        if total:
            assert sum(coverage.values()) == pytest.approx(1.0, abs=1e-12)
            for method in ("service", "other"):
                assert coverage[method] == pytest.approx(float(by_method.get(method, 0) / total), abs=1e-12)
        else:  # a week whose rows are all zero (GCP free-trial credits net every row to 0)
            assert set(coverage.values()) == {0.0}


def decided(source: pl.DataFrame) -> pl.DataFrame:
    """The built-in service rules applied to the real rows (which rule, which category)."""
    return apply_service_rules(source.lazy()).collect()


@pytest.mark.slow
@pytest.mark.parametrize(
    "sample", [s for s in SAMPLES if "koku_gcp" not in s and "savingsplan" not in s and "ActualCost" not in s]
)
def test_storage_class_and_data_transfer_rows_on_every_sample(warehouse, shared_data, sample):
    ingest_files(warehouse, [shared_data / sample])
    rows = decided(warehouse.sql("SELECT * FROM billing_line_items").pl())
    transfer = rows.filter(pl.col("x_transfer_direction").is_not_null())
    stored = rows.filter(pl.col("x_storage_class").is_not_null() & pl.col("x_transfer_direction").is_null())
    assert transfer.height + stored.height > 0
    assert set(transfer["service_category_guess"]) <= {"network"}
    assert set(stored["service_category_guess"]) <= {"storage"}
    s3_classes = stored.filter(pl.col("service_name") == S3)
    assert set(s3_classes["service_rule"]) <= {"storage class"}


def test_focus_sample_service_rules_end_to_end(warehouse, shared_data):
    _, source, summaries = ingest_and_attribute(warehouse, shared_data / FOCUS)
    attributed = warehouse.sql("SELECT * FROM attributed_cost").pl()

    def by_category(frame: pl.DataFrame) -> dict[str, Decimal]:
        return dict(frame.group_by("category").agg(pl.col("effective_cost").sum()).iter_rows())

    # S3: transfer rows are network, every other S3 row (the Intelligent-Tiering storage-class row included) storage
    s3 = source.filter(pl.col("service_name") == S3)
    assert s3.filter(pl.col("x_storage_class").is_not_null()).height == 1
    xfer = pl.col("x_transfer_direction").is_not_null()
    assert by_category(attributed.filter(pl.col("service_name") == S3)) == {
        "network": s3.filter(xfer)["effective_cost"].sum(),
        "storage": s3.filter(~xfer)["effective_cost"].sum(),
    }

    # Azure Machine Learning (9 rows): its 4 data-transfer rows are network (the transfer rule comes first);
    # the workspace's VM, disk, IP and load-balancer rows name no endpoint/inference/online/deploy meter,
    # so the table's "azure machine learning" entry makes them training
    aml = source.filter(pl.col("service_name") == "Azure Machine Learning")
    assert (aml.height, aml.filter(xfer).height) == (9, 4)
    aml_attributed = attributed.filter(pl.col("service_name") == "Azure Machine Learning")
    assert by_category(aml_attributed) == {
        "network": aml.filter(xfer)["effective_cost"].sum(),
        "training": aml.filter(~xfer)["effective_cost"].sum(),
    }
    assert set(aml_attributed["attribution_method"]) == {"service"}

    # the 8 g5.4xlarge rows (1 GPU each, no usage log): training by service knowledge, not idle, GPU-hours billed
    gpu = source.filter(pl.col("x_instance_type") == "g5.4xlarge")
    assert gpu.height == 8 and gpu["resource_id"].n_unique() == 8
    on_those = source.filter(pl.col("resource_id").is_in(gpu["resource_id"].to_list()))
    assert on_those.height == 8  # those machines have no other rows
    gpu_attributed = attributed.filter(pl.col("resource_id").is_in(gpu["resource_id"].to_list()))
    assert set(gpu_attributed["category"]) == {"training"}
    assert set(gpu_attributed["attribution_method"]) == {"service"}
    assert not gpu_attributed["is_idle"].any()
    assert gpu_attributed["effective_cost"].sum() == gpu["effective_cost"].sum()
    billed_hours = sum(
        (r["charge_period_end"] - r["charge_period_start"]) / timedelta(hours=1) * r["x_gpu_count"]
        for r in gpu.iter_rows(named=True)
    )
    assert gpu_attributed["gpu_hours"].sum() == pytest.approx(billed_hours)
    assert all(s["anomalies"]["gpu_machines_with_jobs"] == 0 for s in summaries.values())
    assert sum(s["anomalies"]["gpu_machines"] for s in summaries.values()) == 8


def test_decisions_joined_by_key_or_by_inputs_are_the_same(warehouse, shared_data):
    """classify joins decisions on a hash of the inputs; the fallback on the inputs gives the same rows."""
    from transforms.attribution import DECISION_INPUTS, decide, join_decisions

    ingest_files(warehouse, [shared_data / FOCUS])
    rows = warehouse.sql("SELECT * FROM billing_line_items").pl().lazy()
    inputs = list(DECISION_INPUTS)
    keyed = rows.with_columns(_decision_key=pl.struct(inputs).hash())
    combinations = keyed.select(*inputs, "_decision_key").unique().collect()
    assert 1 < combinations.height < rows.collect().height
    by_key, by_inputs = (
        join_decisions(keyed, decide(combinations.lazy(), []), inputs, flag).collect() for flag in (True, False)
    )
    assert by_key.equals(by_inputs)
    assert by_key.equals(decide(rows, []).collect().select(by_key.columns))  # and the same as deciding every row

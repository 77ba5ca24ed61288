"""Conservation on the generated company: with usage logs splitting GPU machines into jobs and idle,
every week and currency still sums to its source slices exactly."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import polars as pl
import pytest

from flows.attribute import attribute_week
from flows.ingest import ingest_files
from flows.settings import Settings
from sample_data import generate_sample
from tests.attribution.test_shared_samples import touched_weeks, week_share

pytestmark = pytest.mark.slow


def test_generated_weeks_conserve_every_currency_with_usage_logs(warehouse, tmp_path):
    end = date(2026, 11, 16)
    generate_sample(tmp_path / "landing", weeks=2, end_week=end, seed=3)
    results = ingest_files(warehouse, [tmp_path / "landing"])
    assert [r.error for r in results if r.error] == []
    source = warehouse.sql("SELECT * FROM billing_line_items").pl()
    weeks = [end - timedelta(days=7), end]
    settings = Settings()
    summaries = {week: attribute_week(warehouse, week, settings) for week in weeks}

    expected: dict[tuple[date, str], Decimal] = defaultdict(Decimal)
    for row in source.iter_rows(named=True):
        for week in touched_weeks(row):
            if week in weeks:
                expected[(week, row["billing_currency"])] += week_share(row, week)
    attributed = warehouse.sql("SELECT * FROM attributed_cost").pl()
    got = {
        (w, c): v
        for w, c, v in attributed.group_by("week_start", "billing_currency")
        .agg(pl.col("effective_cost").sum())
        .iter_rows()
    }
    assert got == dict(expected)
    # the usage logs did their part: GPU machines split into jobs and idle time, in two currencies
    for summary in summaries.values():
        assert summary["coverage"]["usage"] > 0.3
        assert Decimal(summary["idle_gpu_cost"]) > 0
    assert set(attributed["billing_currency"]) >= {"USD", "EUR"}
    assert attributed.filter(pl.col("attribution_method") == "usage")["team"].n_unique() >= 3

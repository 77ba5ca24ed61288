"""Conservation: per week and currency, attributed effective cost = the week's source slices, exactly."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.attribution.frames import billing, jobs, metrics
from transforms.attribution import AttributionConfig, attribute_costs

WEEKS = [date(2026, 11, 2) + timedelta(weeks=k) for k in range(5)]  # covers every row drawn below
START = "2026-11-02T00:00"

line_item = st.fixed_dictionaries(
    {
        "start_h": st.integers(0, 24 * 21),
        "length_h": st.sampled_from([0, 1, 5, 24, 25, 24 * 3 + 7, 24 * 9]),
        "cents": st.integers(-(10**9), 10**9),
        "resource": st.sampled_from(["node-a", "node-b", "bucket", None]),
        "currency": st.sampled_from(["USD", "EUR", "JPY"]),
    }
)
job = st.fixed_dictionaries(
    {
        "start_h": st.integers(0, 24 * 21),
        "length_h": st.one_of(st.none(), st.integers(1, 200)),
        "gpus": st.integers(1, 12),
        "resource": st.sampled_from(["node-a", "node-b", "ghost"]),
        "kind": st.sampled_from(["training", "inference", "preprocessing", "development"]),
    }
)


def at(hours: int) -> str:
    from tests.attribution.frames import ts

    return (ts(START) + timedelta(hours=hours)).isoformat()[:16]


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=st.lists(line_item, min_size=1, max_size=12), work=st.lists(job, max_size=6))
def test_every_week_sums_to_the_source_and_all_weeks_to_the_total(items, work):
    rows = billing(
        *[
            {
                "resource_id": i["resource"],
                "x_gpu_count": 8 if (i["resource"] or "").startswith("node") else None,
                "billing_currency": i["currency"],
                "effective_cost": Decimal(i["cents"]) / Decimal(10**7),
                "charge_period_start": at(i["start_h"]),
                "charge_period_end": at(i["start_h"] + i["length_h"]),
            }
            for i in items
        ]
    )
    frame_jobs = jobs(
        *[
            {
                "job_id": f"j{n}",
                "kind": j["kind"],
                "team": f"t{n}",
                "resource_id": j["resource"],
                "gpus": j["gpus"],
                "start_ts": at(j["start_h"]),
                "end_ts": at(j["start_h"] + j["length_h"]) if j["length_h"] else None,
            }
            for n, j in enumerate(work)
        ]
    )
    attributed = pl.concat([attribute_costs(rows, frame_jobs, metrics(), w, AttributionConfig()).frame for w in WEEKS])
    got = dict(attributed.group_by("billing_currency").agg(pl.col("effective_cost").sum()).iter_rows())
    want: dict[str, Decimal] = {}
    for i in items:
        want[i["currency"]] = want.get(i["currency"], Decimal(0)) + Decimal(i["cents"]) / Decimal(10**7)
    assert {c: v for c, v in got.items()} == {c: v for c, v in want.items()}
    assert set(attributed["category"]) <= {"training", "inference", "storage", "network", "data_processing", "other"}

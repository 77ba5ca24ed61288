"""On the real shared samples, only what their data supports fires.

The samples carry billing from four clouds and usage logs that do not belong to those bills (no
job, GPU metric, inventory or flow matches a billed resource). So no detector that needs usage
evidence may fire; the commitment detector may, where the bill itself shows an on-demand baseline
or an unused reservation.
"""

from __future__ import annotations

import pytest

from flows.attribute import attribute_week
from flows.ingest import ingest_files
from flows.recommend import recommend_week
from flows.settings import get_settings

pytestmark = pytest.mark.slow


def test_nothing_fires_that_the_samples_do_not_support(warehouse, shared_data):
    results = ingest_files(
        warehouse,
        [
            shared_data / "focus" / "FOCUS-Sample-Data_FOCUS-1.0_focus_sample.csv",
            *(shared_data / d for d in ("aws", "azure", "gcp", "gpu", "slurm", "k8s", "llm")),
        ],
    )
    refused = {r.path.rsplit("/", 1)[-1] for r in results if r.error}
    assert refused == {"dcgm-exporter_default-counters.csv"}  # a list of counters to export, not metrics
    weeks = [
        r[0]
        for r in warehouse.execute(
            "SELECT DISTINCT CAST(date_trunc('week', charge_period_start) AS DATE) FROM billing_line_items ORDER BY 1"
        ).fetchall()
    ]
    settings = get_settings()
    fired = []
    for week in weeks:
        attribute_week(warehouse, week, settings)
        fired += recommend_week(warehouse, week, settings).to_dicts()

    assert {r["kind"] for r in fired} <= {"commitments"}
    for rec in fired:
        if rec["resource_id"].startswith("arn:aws:ec2"):
            # an unused reservation: the bill shows its RI fee rows with unused hours
            unused = warehouse.execute(
                "SELECT sum(effective_cost) FROM billing_line_items "
                "WHERE commitment_discount_id = ? AND x_line_item_type = 'RIFee'",
                [rec["resource_id"]],
            ).fetchone()[0]
            assert unused is not None and unused > 0
        else:
            assert rec["resource_id"] == "commitment-baseline:aws:USD"
            on_demand = warehouse.execute(
                "SELECT count(*) FROM billing_line_items WHERE provider = 'aws' AND pricing_category = 'Standard' "
                "AND service_category = 'Compute'"
            ).fetchone()[0]
            assert on_demand > 1000

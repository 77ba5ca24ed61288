"""Unit costs on small hand-made scenarios, every figure worked out by hand."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import polars as pl

from flows.unit_costs import load_unit_cost_frames
from flows.warehouse import insert_frame
from tests.report.conftest import cost_row as attributed_row
from transforms.schema import ATTRIBUTED_COST_COLUMNS, GPU_METRICS_COLUMNS, conform
from transforms.unit_costs import token_direction, token_multiplier, unit_costs

WEEK = date(2026, 11, 16)
LAST = WEEK - timedelta(weeks=1)
MONEY = pl.Decimal(38, 12)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def resources(rows: list[tuple]) -> pl.DataFrame:
    """(week, resource, team, idle, cost, gpu_hours[, instance_type])."""
    return pl.DataFrame(
        [
            {
                "week_start": r[0],
                "resource_id": r[1],
                "team": r[2],
                "project": "p",
                "model": "m",
                "category": "inference",
                "is_idle": r[3],
                "instance_type": r[6] if len(r) > 6 else "g5.xlarge",
                "cost": Decimal(r[4]),
                "gpu_hours": r[5],
            }
            for r in rows
        ],
        schema={
            "week_start": pl.Date,
            "resource_id": pl.String,
            "team": pl.String,
            "project": pl.String,
            "model": pl.String,
            "category": pl.String,
            "is_idle": pl.Boolean,
            "instance_type": pl.String,
            "cost": MONEY,
            "gpu_hours": pl.Float64,
        },
    )


def empty_frames() -> dict[str, pl.DataFrame]:
    return {
        "resources": resources([]),
        "inference": pl.DataFrame(
            schema={
                "week_start": pl.Date,
                "endpoint": pl.String,
                "model": pl.String,
                "resource_id": pl.String,
                "requests": pl.Int64,
                "tokens_in": pl.Int64,
                "tokens_out": pl.Int64,
            }
        ),
        "token_billing": pl.DataFrame(
            schema={
                "week_start": pl.Date,
                "provider": pl.String,
                "service_name": pl.String,
                "tags": pl.String,
                "sku": pl.String,
                "charge_description": pl.String,
                "unit": pl.String,
                "billing_currency": pl.String,
                "quantity": pl.Decimal(38, 16),
                "effective_cost": MONEY,
            }
        ),
        "jobs": pl.DataFrame(
            schema={
                "job_id": pl.String,
                "kind": pl.String,
                "team": pl.String,
                "project": pl.String,
                "model": pl.String,
                "user_name": pl.String,
                "resource_id": pl.String,
                "start_ts": pl.Datetime("us", "UTC"),
                "end_ts": pl.Datetime("us", "UTC"),
                "gpus": pl.Int32,
                "nodes": pl.Int32,
                "state": pl.String,
            }
        ),
        "job_days": pl.DataFrame(
            schema={
                "week_start": pl.Date,
                "day": pl.Date,
                "resource_id": pl.String,
                "team": pl.String,
                "project": pl.String,
                "model": pl.String,
                "cost": MONEY,
                "gpu_hours": pl.Float64,
            }
        ),
        "gpu_utilisation": pl.DataFrame(
            schema={
                "week_start": pl.Date,
                "resource_id": pl.String,
                "sampled_gpu_hours": pl.Float64,
                "utilisation_pct": pl.Float64,
            }
        ),
    }


def inference_scenario() -> dict[str, pl.DataFrame]:
    """Resource r1 this week: busy 300.00 over 30 GPU-h, idle 100.00 over 10 GPU-h (400.00, 40 GPU-h).

    It served chat (2,000 requests, 3M tokens in, 1M out) and embed (6,000 requests, 0 tokens):
    chat's share is 2,000 / 8,000 = 1/4 → cost 100.00, idle 2.5 of 10 GPU-h.
    Last week r1 cost 200.00 (no idle) for 20 GPU-h; chat had 1,000 of 4,000 requests and 2M tokens.
    """
    frames = empty_frames()
    frames["resources"] = resources(
        [
            (WEEK, "r1", "nlp", False, "300.00", 30.0),
            (WEEK, "r1", "nlp", True, "100.00", 10.0),
            (LAST, "r1", "nlp", False, "200.00", 20.0),
            (WEEK, "r2", "vision", False, "50.00", 10.0, "p4d.24xlarge"),
        ]
    )
    frames["inference"] = pl.DataFrame(
        {
            "week_start": [WEEK, WEEK, LAST, LAST],
            "endpoint": ["chat", "embed", "chat", "embed"],
            "model": ["llama", "e5", "llama", "e5"],
            "resource_id": ["r1"] * 4,
            "requests": [2000, 6000, 1000, 3000],
            "tokens_in": [3_000_000, 0, 1_500_000, 0],
            "tokens_out": [1_000_000, 0, 500_000, 0],
        },
        schema=frames["inference"].schema,
    )
    frames["gpu_utilisation"] = pl.DataFrame(
        {"week_start": [WEEK], "resource_id": ["r1"], "sampled_gpu_hours": [40.0], "utilisation_pct": [60.0]},
        schema=frames["gpu_utilisation"].schema,
    )
    return frames


def test_endpoint_costs_per_tokens_requests_and_idle_share():
    result = unit_costs(inference_scenario(), WEEK, "USD")
    chat = next(r for r in result["endpoints"] if r["endpoint"] == "chat")
    # 100.00 / 4,000,000 tokens × 1M = 25.00; 100.00 / 2,000 requests × 1,000 = 50.00; idle 10 / 40 = 25 %
    assert chat["cost_exact"] == "100"
    assert chat["per_million_tokens"]["value"] == "25"
    assert (chat["per_million_tokens"]["numerator"], chat["per_million_tokens"]["denominator"]) == ("100", "4000000")
    assert chat["per_thousand_requests"]["value"] == "50"
    assert chat["idle_share"]["value"] == "0.25"
    assert chat["idle_share"]["display"] == "25%"
    # last week: 50.00 / 2M × 1M = 25.00 (no change); 50.00 / 1,000 × 1,000 = 50.00
    assert chat["per_million_tokens"]["trend"][-2]["value"] == "25"
    assert chat["per_million_tokens"]["change"]["direction"] == "flat"
    assert chat["per_million_tokens"]["trend"][0]["display"] == "n/a"  # no data 7 weeks ago


def test_missing_denominators_are_na_with_the_reason():
    result = unit_costs(inference_scenario(), WEEK, "USD")
    embed = next(r for r in result["endpoints"] if r["endpoint"] == "embed")
    assert embed["cost_exact"] == "300"  # 6,000 / 8,000 of 400.00
    assert embed["per_million_tokens"]["value"] is None
    assert embed["per_million_tokens"]["display"] == "n/a"
    assert embed["per_million_tokens"]["reason"] == "the logs record no tokens for this endpoint"
    assert embed["per_thousand_requests"]["value"] == "50"  # 300.00 / 6,000 × 1,000
    vision = next(r for r in result["gpu_by_team"] if r["name"] == "vision")
    assert vision["utilisation"]["display"] == "n/a"
    assert vision["utilisation"]["reason"] == "no GPU telemetry for these machines"


def test_gpu_cost_per_billed_and_used_hour_and_weighted_utilisation():
    result = unit_costs(inference_scenario(), WEEK, "USD")
    nlp = next(r for r in result["gpu_by_team"] if r["name"] == "nlp")
    assert nlp["per_billed_hour"]["value"] == "10"  # 400.00 / 40 GPU-h
    assert nlp["per_used_hour"]["value"] == "13.333333"  # 400.00 / 30 GPU-h
    assert nlp["idle_cost_exact"] == "100"
    assert nlp["utilisation"]["value"] == "0.6"
    assert nlp["per_billed_hour"]["trend"][-2]["value"] == "10"  # 200.00 / 20 GPU-h last week
    by_type = {r["name"]: r for r in result["gpu_by_instance_type"]}
    assert by_type["p4d.24xlarge"]["per_billed_hour"]["value"] == "5"  # 50.00 / 10 GPU-h


def test_token_billed_services_split_input_and_output():
    frames = empty_frames()
    tags = '{"user:model":"claude"}'
    frames["token_billing"] = pl.DataFrame(
        {
            "week_start": [WEEK] * 3,
            "provider": ["aws", "aws", "focus"],
            "service_name": ["Amazon Bedrock", "Amazon Bedrock", "Vertex AI"],
            "tags": [tags, tags, '{"model":"gemini"}'],
            "sku": ["USE1-Claude-input-tokens", "USE1-Claude-output-tokens", "gemini-tokens"],
            "charge_description": ["generated", "generated", None],
            "unit": ["1K tokens", "1K tokens", "1000000 Tokens"],
            "billing_currency": ["USD", "USD", "EUR"],
            "quantity": [Decimal("2000"), Decimal("500"), Decimal("2")],
            "effective_cost": [Decimal("6.00"), Decimal("7.50"), Decimal("10.00")],
        },
        schema=frames["token_billing"].schema,
    )
    rates = pl.DataFrame({"currency": ["EUR"], "rate_to_reporting": ["1.10"]})
    result = unit_costs(frames, WEEK, "USD", rates)
    services = {r["model"]: r for r in result["token_services"]}
    claude = services["claude"]
    assert claude["per_million_input"]["value"] == "3"  # 6.00 / 2,000,000 × 1M
    assert claude["per_million_output"]["value"] == "15"  # 7.50 / 500,000 × 1M
    assert claude["per_million_tokens"]["value"] == "5.4"  # 13.50 / 2,500,000 × 1M
    assert claude["per_thousand_requests"]["reason"] == "the bill counts tokens, not requests"
    gemini = services["gemini"]
    assert gemini["per_million_tokens"]["value"] == "5.5"  # 10 EUR × 1.10 / 2M × 1M
    assert gemini["per_million_input"]["reason"] == "the bill does not split input tokens"


def test_token_units_and_directions():
    assert token_multiplier("1K tokens") == 1_000
    assert token_multiplier("1000000 Tokens") == 1_000_000
    assert token_multiplier("1M") == 1_000_000
    assert token_multiplier("Tokens") == 1
    assert token_direction("gpt-4o-0806-Inp-glbl Tokens", None) == "input"
    assert token_direction("gpt-4o-0806-Outp-glbl Tokens", None) == "output"
    assert token_direction("USE1-Claude-input-tokens", "(generated)") == "input"
    assert token_direction("chars", "prompt characters") == "input"


def test_training_job_spanning_two_weeks():
    """j1 runs Sun 12:00 – Mon 12:00 on 8 GPUs of r9; j2 runs Mon 00:00 – 12:00 on 8 GPUs.

    Sunday (last week): r9's busy cost 96.00, 96 GPU-h, all j1's. Monday: 96.00 and 96 GPU-h, split
    j1 12 h × 8 : j2 12 h × 8 → 48.00 and 48 GPU-h each. j1 this week 48.00, to date 144.00.
    """
    frames = empty_frames()
    sunday, monday = WEEK - timedelta(days=1), WEEK
    frames["jobs"] = pl.DataFrame(
        {
            "job_id": ["j1", "j2"],
            "kind": ["training", "training"],
            "team": ["nlp"] * 2,
            "project": ["p"] * 2,
            "model": ["llm"] * 2,
            "user_name": [None, None],
            "resource_id": ["r9", "r9"],
            "start_ts": [utc(2026, 11, 15, 12), utc(2026, 11, 16, 0)],
            "end_ts": [utc(2026, 11, 16, 12)] * 2,
            "gpus": [8, 8],
            "nodes": [1, 1],
            "state": ["COMPLETED"] * 2,
        },
        schema=frames["jobs"].schema,
    )
    frames["job_days"] = pl.DataFrame(
        {
            "week_start": [LAST, WEEK],
            "day": [sunday, monday],
            "resource_id": ["r9"] * 2,
            "team": ["nlp"] * 2,
            "project": ["p"] * 2,
            "model": ["llm"] * 2,
            "cost": [Decimal("96.00"), Decimal("96.00")],
            "gpu_hours": [96.0, 96.0],
        },
        schema=frames["job_days"].schema,
    )
    training = unit_costs(frames, WEEK, "USD")["training"]
    runs = {r["job_id"]: r for r in training["runs"]}
    assert runs["j1"]["cost_exact"] == "48"
    assert runs["j1"]["gpu_hours_exact"] == 48.0
    assert runs["j1"]["cost_to_date_exact"] == "144"
    assert runs["j1"]["spans_weeks"] is True
    assert runs["j2"]["cost_exact"] == "48" and runs["j2"]["spans_weeks"] is False
    llm = training["models"][0]
    assert (llm["runs"], llm["per_run"]["value"], llm["gpu_hours_per_run"]["value"]) == (2, "48", "48")
    # last week one run (j1's Sunday part): 96.00 per run → ▼ 50 %
    assert llm["per_run"]["trend"][-2]["value"] == "96"
    assert llm["per_run"]["change"]["text"] == "▼ 50%"
    assert [r["job_id"] for r in training["top"]] == ["j1", "j2"]


def cost_row(week, day, resource, cost, gpu_hours, *, idle=False, category="inference", team="nlp", model="llm"):
    """An attributed_cost row of ``resource`` on ``day`` (project p, EC2 in AWS account 1, USD)."""
    row = attributed_row(
        week,
        (day - week).days,
        cost,
        category=category,
        team=team,
        project="p",
        model=model,
        service="EC2",
        idle=idle,
        gpu_hours=gpu_hours,
    )
    return row | {"resource_id": resource, "billing_account_id": "1"}


UTC = timezone.utc


def insert_gpu_samples(con, rows: list[tuple]) -> None:
    """GPU samples (ts, interval_s, resource_id, gpu_index, utilization_pct) through ``insert_frame``,
    which rolls them up into gpu_hourly in the same transaction, as the ingest does."""
    frame = pl.DataFrame(
        rows,
        schema={
            "ts": GPU_METRICS_COLUMNS["ts"],
            "interval_s": pl.Float64,
            "resource_id": pl.String,
            "gpu_index": pl.Int32,
            "utilization_pct": pl.Float64,
        },
        orient="row",
    )
    insert_frame(con, "gpu_metrics", conform(frame.lazy(), GPU_METRICS_COLUMNS).collect())


def test_queries_read_the_warehouse(warehouse):
    """The SQL side: attributed rows, inference logs by UTC week, GPU telemetry weighted by sample length."""
    insert_frame(
        warehouse,
        "attributed_cost",
        pl.DataFrame(
            [
                cost_row(WEEK, WEEK, "r1", "300.00", 30.0),
                cost_row(WEEK, WEEK, "r1", "100.00", 10.0, idle=True),
            ],
            schema=ATTRIBUTED_COST_COLUMNS,
        ),
    )
    warehouse.execute(
        "INSERT INTO inference_requests (ts, endpoint, model, resource_id, requests, tokens_in, tokens_out) VALUES "
        "('2026-11-16 00:00:00+00', 'chat', 'llm', 'r1', 1500, 3000000, 0), "
        "('2026-11-22 23:00:00+00', 'chat', 'llm', 'r1', 500, 0, 1000000), "
        "('2026-11-23 00:00:00+00', 'chat', 'llm', 'r1', 999, 999, 999)"
    )  # the next week: not counted
    insert_gpu_samples(  # stored as ingest stores them: raw samples plus their hourly rollup
        warehouse,
        [
            (datetime(2026, 11, 16, 1, tzinfo=UTC), 3600.0, "r1", 0, 90.0),
            (datetime(2026, 11, 16, 1, tzinfo=UTC), 10800.0, "r1", 1, 50.0),
        ],
    )
    frames = load_unit_cost_frames(warehouse, WEEK)
    result = unit_costs(frames, WEEK, "USD")
    chat = result["endpoints"][0]
    assert chat["per_thousand_requests"]["value"] == "200"  # 400.00 / 2,000 × 1,000
    assert chat["per_million_tokens"]["value"] == "100"  # 400.00 / 4M × 1M
    # (90 × 1 h + 50 × 3 h) / 4 h = 60 %
    assert result["gpu_by_team"][0]["utilisation"]["value"] == "0.6"


def test_gpu_figures_and_freshness_come_from_the_rollup_after_the_raw_samples_are_pruned(warehouse):
    """Retention pruned the raw samples of an old file: utilisation, GPU-hours and the telemetry's
    freshness still come out, from gpu_hourly."""
    from flows.telemetry import prune_raw_samples
    from flows.warehouse import query

    at = lambda d, h, m=0: datetime(2026, 11, d, h, m, tzinfo=UTC)  # noqa: E731
    samples = pl.DataFrame(
        {
            "ts": [at(16, 1), at(16, 1), at(18, 5, 30), at(23, 0)],  # the last is the next week's
            "interval_s": [3600.0, 10800.0, 1800.0, 60.0],
            "resource_id": ["r1", "r1", "r1", "r1"],
            "gpu_index": [0, 1, 0, 0],
            "utilization_pct": [90.0, 50.0, None, 10.0],
            "source_format": ["nvidia_smi_csv"] * 4,
            "file_sha256": ["h-old"] * 4,
        }
    )
    insert_frame(warehouse, "gpu_metrics", conform(samples.lazy(), GPU_METRICS_COLUMNS).collect())
    warehouse.execute(
        "INSERT INTO ingest_manifest VALUES "
        "('h-old', 'gpu.csv', 'nvidia_smi_csv', 'gpu_metrics', NULL, 'i1', 4, 4, 0, $t)",
        {"t": datetime(2026, 11, 24, 6, tzinfo=UTC)},
    ).fetchall()
    prune_raw_samples(warehouse, weeks=4, now=datetime(2027, 1, 4, tzinfo=UTC))
    assert warehouse.execute("SELECT count(*) FROM gpu_metrics").fetchall() == [(0,)]  # pruned
    assert warehouse.execute("SELECT count(*) FROM gpu_hourly").fetchall() == [(4,)]  # the hours stay

    gpu = load_unit_cost_frames(warehouse, WEEK, weeks=1)["gpu_utilisation"]
    # 3600 + 10800 + 1800 s = 4.5 GPU-hours; utilisation over the samples with one: (90 x 1 h + 50 x 3 h) / 4 h
    assert gpu.rows() == [(WEEK, "r1", 4.5, 60.0)]
    fresh = query(warehouse, "report_source_freshness", {"week_end": at(23, 0)})
    assert fresh.filter(pl.col("target_table") == "gpu_metrics").rows() == [
        ("gpu_metrics", "nvidia_smi_csv", at(18, 5, 30))
    ]

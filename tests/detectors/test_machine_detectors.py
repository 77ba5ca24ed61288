"""underused_gpu, batching, gpu_to_cpu and scheduling on hand-built machines and endpoints."""

from decimal import Decimal

import polars as pl

from tests.detectors.helpers import (
    at,
    config,
    g5_xlarge,
    hourly_requests,
    inference,
    instances_frame,
    jobs,
    machines,
    metrics,
    prices,
)
from transforms.detectors import batching, gpu_to_cpu, scheduling, underused_gpu

C = Decimal("0.01")


def test_underused_p5_without_a_smaller_size_uses_the_unused_fraction():
    # p95 of per-GPU utilisation = 25 %: ceil(8 x 25 / 80) = 3 GPUs needed; no p5 size holds 3..7 GPUs.
    frames = {
        "gpu_metrics": metrics("i-p5", [25.0] * 168),
        "machines": machines(
            {"resource_id": "i-p5", "instance_type": "p5.48xlarge", "hours": 168, "effective_cost": "9246.72"}
        ),  # 55.04 USD/h
        "prices": prices(
            ("aws", "us-east-1", "p5.48xlarge", "ondemand_hour", "55.04"),
            ("aws", "us-east-1", "p5.4xlarge", "ondemand_hour", "6.88"),
        ),
        "instances": instances_frame(("aws", "p5.48xlarge", 8), ("aws", "p5.4xlarge", 1)),
    }
    row = underused_gpu.detect(frames, config()).row(0, named=True)
    expected = ((Decimal(1) - Decimal(3) / Decimal(8)) * Decimal(730) * Decimal("55.04")).quantize(C)
    assert row["monthly_savings"] == expected == Decimal("25112.00")
    assert '"gpus_needed": 3' in row["evidence"]


def test_underused_g5_moves_to_the_smaller_size_keeping_the_discount():
    # 4-GPU g5.12xlarge at p95 10 %: ceil(4 x 10 / 80) = 1 GPU -> g5.2xlarge (1 GPU) from the price table.
    frames = {
        "gpu_metrics": metrics("i-g5", [10.0] * 100, gpus=4),
        "machines": machines(
            {
                "resource_id": "i-g5",
                "instance_type": "g5.12xlarge",
                "gpu_count": 4,
                "hours": 100,
                "effective_cost": "453.76",
            }
        ),  # 4.5376 USD/h = 80 % of the 5.672 list price
        "prices": prices(
            ("aws", "us-east-1", "g5.12xlarge", "ondemand_hour", "5.672"),
            ("aws", "us-east-1", "g5.2xlarge", "ondemand_hour", "1.212"),
        ),
        "instances": instances_frame(("aws", "g5.12xlarge", 4), ("aws", "g5.2xlarge", 1), ("aws", "g6.2xlarge", 1)),
    }
    row = underused_gpu.detect(frames, config()).row(0, named=True)
    rate = Decimal("4.5376")
    expected = (Decimal(730) * (rate - Decimal("1.212") * rate / Decimal("5.672"))).quantize(C)
    assert row["monthly_savings"] == expected
    assert "g5.2xlarge" in row["action"]


def test_busy_gpu_and_short_observation_do_not_fire_underused():
    frames = {
        "gpu_metrics": pl.concat([metrics("i-busy", [90.0] * 168), metrics("i-short", [5.0] * 10, start_hour=0)]),
        "machines": machines(
            *[
                {"resource_id": r, "instance_type": "p5.48xlarge", "hours": 168, "effective_cost": "9246.72"}
                for r in ("i-busy", "i-short")
            ]
        ),
        "prices": prices(),
    }
    assert underused_gpu.detect(frames, config()).height == 0


def test_batching_fires_on_unbatched_idle_endpoint_only():
    frames = {
        "inference_requests": inference(
            *hourly_requests("chat-a", "seg-v3", "i-a", 5000, 1.0),
            *hourly_requests("chat-b", "seg-v3", "i-b", 5000, 8.0),
        ),
        "gpu_metrics": pl.concat([metrics("i-a", [15.0] * 168, gpus=1), metrics("i-b", [15.0] * 168, gpus=1)]),
        "machines": g5_xlarge("i-a", "i-b"),
        "prices": prices(),
    }
    out = batching.detect(frames, config())
    assert out["resource_id"].to_list() == ["i-a"]
    # 1 USD/h x 730 h x (1 - 15 / 60)
    assert out["monthly_savings"][0] == (Decimal(730) * (Decimal(1) - Decimal(15) / Decimal(60))).quantize(C)


def test_batching_busy_gpu_does_not_fire():
    frames = {
        "inference_requests": inference(*hourly_requests("chat-a", "seg-v3", "i-a", 5000, 1.0)),
        "gpu_metrics": metrics("i-a", [70.0] * 168, gpus=1),
        "machines": g5_xlarge("i-a"),
        "prices": prices(),
    }
    assert batching.detect(frames, config()).height == 0


def test_gpu_to_cpu_for_a_quiet_small_model_but_not_a_busy_endpoint():
    frames = {
        # 1,800 requests/h = 0.5 requests/s on a g5.xlarge; 7,200/h = 2 requests/s on the other
        "inference_requests": inference(
            *hourly_requests("embed", "embed-small", "i-e", 1800, 1.0),
            *hourly_requests("embed-busy", "embed-small", "i-f", 7200, 1.0),
        ),
        "gpu_metrics": None,
        "machines": g5_xlarge("i-e", "i-f", effective_cost="169.008"),  # 1.006 USD/h
        "prices": prices(("aws", "us-east-1", "c7i.2xlarge", "ondemand_hour", "0.357")),
    }
    out = gpu_to_cpu.detect(frames, config())
    assert out["resource_id"].to_list() == ["i-e"]
    expected = ((Decimal("1.006") - Decimal("0.357")) * Decimal(730)).quantize(C)
    assert out["monthly_savings"][0] == expected == Decimal("473.77")
    assert "latency" in out["action"][0]


def test_gpu_to_cpu_large_model_with_long_prompts_does_not_fire():
    frames = {
        "inference_requests": inference(*hourly_requests("chat", "nw-chat-70b", "i-c", 100, 1.0, tokens=(2000, 500))),
        "machines": g5_xlarge("i-c", effective_cost="169.008"),
        "prices": prices(("aws", "us-east-1", "c7i.2xlarge", "ondemand_hour", "0.357")),
    }
    assert gpu_to_cpu.detect(frames, config()).height == 0


def test_scheduling_counts_low_use_off_hours_of_development_machines():
    # Monday 2026-11-16 .. Sunday: 168 h running at 2 %; working hours Mon-Fri 08-20 = 60 h; off = 108 h.
    frames = {
        "gpu_metrics": pl.concat([metrics("i-dev", [2.0] * 168, gpus=1), metrics("i-train", [2.0] * 168, gpus=1)]),
        "jobs": jobs(
            {
                "job_id": "nb-1",
                "kind": "development",
                "team": "nlp",
                "resource_id": "i-dev",
                "start_ts": at(8),
                "end_ts": at(18),
                "gpus": 1,
            },
            {
                "job_id": "t-1",
                "kind": "training",
                "team": "nlp",
                "resource_id": "i-train",
                "start_ts": at(0),
                "end_ts": at(168),
                "gpus": 1,
            },
        ),
        "machines": g5_xlarge("i-dev", "i-train", effective_cost="168"),
        "prices": prices(),
    }
    out = scheduling.detect(frames, config())
    assert out["resource_id"].to_list() == ["i-dev"]
    assert out["team"][0] == "nlp"
    assert out["monthly_savings"][0] == (Decimal(108) / Decimal(168) * Decimal(730) * Decimal(1)).quantize(C)


def test_scheduling_ignores_a_dev_machine_busy_at_night():
    frames = {
        "gpu_metrics": metrics("i-dev", [80.0] * 168, gpus=1),
        "jobs": jobs(
            {
                "job_id": "nb-1",
                "kind": "development",
                "resource_id": "i-dev",
                "start_ts": at(0),
                "end_ts": at(168),
                "gpus": 1,
            }
        ),
        "machines": g5_xlarge("i-dev", effective_cost="168"),
        "prices": prices(),
    }
    assert scheduling.detect(frames, config()).height == 0


def test_scheduling_finds_notebooks_by_tag():
    frames = {
        "gpu_metrics": metrics("i-nb", [1.0] * 168, gpus=1),
        "machines": g5_xlarge("i-nb", effective_cost="168", tags='{"user:purpose": "notebook"}'),
        "prices": prices(),
    }
    assert scheduling.detect(frames, config()).height == 1

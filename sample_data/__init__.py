"""Deterministic sample data: Northwind AI's billing exports and usage logs (generated, not real).

``generate_sample(out_dir)`` writes, under ``out_dir``::

    billing/aws_cur2/         CUR 2.0 Parquet, one file per month (all but the first month)
    billing/aws_cur_legacy/   the first month as legacy CUR CSV gzip: 2 parts + <name>-Manifest.json
    billing/focus/            OCI as FOCUS 1.0 CSV (USD)
    billing/gcp/              the BigQuery billing export as gzip JSON lines (USD; ``bq extract --compression GZIP``)
    billing/azure/            MCA cost details CSV with a BOM (EUR)
    usage/gpu/                nvidia-smi query-gpu CSV per machine, gzip (15-minute samples), named as the logs
                              name the machine (AWS instance id, GCP / Azure host name); dcgm-exporter
                              Prometheus text for the DCGM-scraped machine (``Hostname`` label)
    usage/jobs/               jobs CSV (documented layout) and Slurm ``sacct --parsable2`` (``NodeList`` host names)
    usage/inference/ usage/network/   documented CSV layouts
    usage/storage/<bucket>/   S3 Inventory: manifest.json + data/*.csv.gz
    README.txt                what this is and what is planted in it

The same arguments give byte-identical files: every random draw comes from a stream seeded by
``seed`` and the component's name, and nothing depends on the clock except the default
``end_week``.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from sample_data import aws, bulk, other_clouds, storage, usage_logs
from sample_data.frames import month_segments
from sample_data.money import to_decimal
from sample_data.opportunities import planted, planted_other_clouds, story
from sample_data.workloads import Window, build_schedule
from transforms.weeks import last_complete_week, require_monday, trend_weeks, week_bounds

__all__ = ["generate_sample", "last_complete_week"]

PREFIX = "northwind-ai-generated"


def generate_sample(
    out_dir: Path, *, weeks: int = 8, end_week: date | None = None, rows: int | None = None, seed: int = 7
) -> dict:
    """Write the whole sample under ``out_dir``; returns files per format, rows, weeks, totals and the planted list."""
    if weeks < 1:
        raise ValueError(f"weeks must be at least 1, got {weeks}")
    end_week = end_week or last_complete_week()
    require_monday(end_week, "end_week")
    out = Path(out_dir)
    start, _ = week_bounds(trend_weeks(end_week, weeks)[0])
    window = Window(start=start, weeks=weeks)
    sched = build_schedule(window, seed)
    objects = storage.inventory(seed)
    flows = usage_logs.network_frame(sched, window, seed)
    items = aws.line_items(sched, window, storage.bucket_totals(objects), flows, seed)
    gcp = other_clouds.gcp_rows(sched, window, seed)
    azure = other_clouds.azure_rows(sched, window, seed)

    files: dict[str, list[str]] = {}
    counts: dict[str, int] = {}
    totals = _Totals()

    def record(fmt: str, paths, n_rows: int | None = None) -> None:
        files.setdefault(fmt, []).extend(str(Path(p).relative_to(out)) for p in paths)
        if n_rows is not None:
            counts[fmt] = counts.get(fmt, 0) + n_rows

    segments = month_segments(window)
    legacy_month = segments[0][2] if len(segments) > 1 else None
    period = pl.col("billing_period_start")
    if legacy_month is not None:
        legacy = items.filter(period == legacy_month)
        end = segments[1][2]
        paths = aws.write_legacy(
            legacy, out / "billing/aws_cur_legacy", f"{PREFIX}-cur", f"{legacy_month:%Y%m%d}-{end:%Y%m%d}"
        )
        record("aws_cur_csv", paths[:-1], legacy.height)
        record("aws_cur_manifest", paths[-1:])
        totals.add_aws(legacy)
    extra = max(0, (rows or 0) - _base_rows(items, gcp, azure, sched, window))
    cur2_segments = [s for s in segments if s[2] != legacy_month]
    cur2_hours = sum(h1 - h0 for h0, h1, _ in cur2_segments)
    n_fleet = bulk.fleet_size(extra, cur2_hours)
    remaining = extra
    for h0, h1, month in cur2_segments:
        month_items = items.filter(period == month)
        share = min(remaining, n_fleet * (h1 - h0))
        remaining -= share
        fleet = bulk.fleet_chunks(window, h0, h1, n_fleet, share, f"{month:%Y%m}") if share else iter(())
        path = out / "billing/aws_cur2" / f"{PREFIX}-cur2-{month:%Y-%m}-00001.snappy.parquet"
        written = aws.write_cur2(totals.tally([month_items], fleet), path)
        record("aws_cur2_parquet", [path], written)

    path = out / "billing/gcp" / f"{PREFIX}-gcp-billing-export.jsonl.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    usage_logs.write_gzip_text(other_clouds.gcp_export(gcp).write_ndjson(), path, path.name[:-3])
    record("gcp_billing_jsonl", [path], gcp.height)
    totals.add("USD", int(gcp["cost"].sum()), int(gcp["cost"].sum() + gcp["credit"].sum()))

    path = other_clouds.write_text(
        other_clouds.azure_csv(azure), out / "billing/azure" / f"{PREFIX}-azure-cost-details.csv"
    )
    record("azure_cost_details", [path], azure.height)
    totals.add("EUR", int(azure["cost"].sum()), int(azure["cost"].sum()))

    focus = other_clouds.focus_rows(sched, window, seed)
    path = other_clouds.write_text(other_clouds.focus_csv(focus), out / "billing/focus" / f"{PREFIX}-oci-focus-1.0.csv")
    record("focus", [path], focus.height)
    totals.add("USD", int(focus["billed"].sum()), int(focus["billed"].sum()))

    gpu_paths = usage_logs.write_gpu_metrics(sched, window, seed, out / "usage/gpu")
    record(
        "nvidia_smi_csv",
        sorted(gpu_paths.values()),
        sum(
            int(sched.on[name].sum()) * 4 * next(m.gpus for m in usage_logs.MACHINES if m.name == name)
            for name in gpu_paths
        ),
    )
    dcgm = usage_logs.write_dcgm(sched, window, seed, out / "usage/gpu")
    record("gpu_prometheus", [p for p, _ in dcgm.values()], sum(n for _, n in dcgm.values()))
    jobs = usage_logs.jobs_frame(sched, window)
    record("jobs_csv", [usage_logs.write_csv(jobs, out / "usage/jobs/jobs.csv")], jobs.height)
    slurm = [j for j in sched.jobs if j.log == "slurm"]
    record(
        "slurm_sacct",
        [other_clouds.write_text(usage_logs.slurm_sacct_text(sched, window), out / "usage/jobs/sacct-nw-gpu.txt")],
        sum(len(j.resources) for j in slurm),
    )
    if n_fleet:
        fleet_sched = type(sched)(jobs=bulk.fleet_jobs(window, n_fleet))
        fleet_jobs = usage_logs.jobs_frame(fleet_sched, window)
        record("jobs_csv", [usage_logs.write_csv(fleet_jobs, out / "usage/jobs/jobs_fleet.csv")], fleet_jobs.height)
    inference = usage_logs.inference_frame(sched, window, seed)
    record(
        "inference_hourly",
        [usage_logs.write_csv(inference, out / "usage/inference/inference_hourly.csv")],
        inference.height,
    )
    record("network_flows_csv", [usage_logs.write_csv(flows, out / "usage/network/network_flows.csv")], flows.height)
    record("s3_inventory", storage.write_inventories(objects, window, out / "usage/storage"), objects.height)

    opportunities = planted(sched, objects, flows) + planted_other_clouds(sched, window)
    summary = {
        "company": "Northwind AI (generated sample data, not a real company)",
        "seed": seed,
        "weeks": [d.isoformat() for d in window.mondays()],
        "window": {"start": window.start.isoformat(), "end": window.end.isoformat()},
        "files": files,
        "rows": counts,
        "billing_rows": sum(v for k, v in counts.items() if k in BILLING_FORMATS),
        "billed_totals": totals.billed_text(),
        "effective_totals": totals.effective_text(),
        "opportunities": opportunities,
        "story": story(sched, window, flows),
    }
    _write_readme(out, summary)
    return summary


BILLING_FORMATS = ("aws_cur_csv", "aws_cur2_parquet", "gcp_billing_jsonl", "azure_cost_details", "focus")


def _base_rows(items: pl.DataFrame, gcp: pl.DataFrame, azure: pl.DataFrame, sched, window: Window) -> int:
    """Billing rows of the sample without the fleet (AWS items plus the other clouds' rows)."""
    focus_rows = int(sched.on["oci-a10-eval-1"].sum()) + window.hours // 24 + len(month_segments(window))
    return items.height + gcp.height + azure.height + focus_rows


class _Totals:
    """Billed and effective cost per currency, in micro-units."""

    def __init__(self) -> None:
        self.billed: dict[str, int] = {}
        self.effective: dict[str, int] = {}

    def add(self, currency: str, billed: int, effective: int) -> None:
        self.billed[currency] = self.billed.get(currency, 0) + billed
        self.effective[currency] = self.effective.get(currency, 0) + effective

    def add_aws(self, items: pl.DataFrame) -> None:
        self.add("USD", int(items["unblended_cost"].sum()), int(items["effective_cost"].sum()))

    def tally(self, *groups):
        """Pass AWS line-item frames through (one at a time, for streaming writes), adding them up."""
        for group in groups:
            for items in group:
                self.add_aws(items)
                yield items

    def billed_text(self) -> dict[str, str]:
        return {c: str(to_decimal(v)) for c, v in sorted(self.billed.items())}

    def effective_text(self) -> dict[str, str]:
        return {c: str(to_decimal(v)) for c, v in sorted(self.effective.items())}


def _write_readme(out: Path, summary: dict) -> None:
    lines = [
        "GENERATED SAMPLE DATA - Northwind AI is a fictional company; nothing here is a real bill.",
        "",
        f"Written by sample_data (seed {summary['seed']}), ISO weeks starting "
        f"{summary['weeks'][0]} to {summary['weeks'][-1]} (UTC).",
        "The first month of AWS is a legacy CUR CSV delivery (the company moved to CUR 2.0 afterwards).",
        "",
        "Billed totals per currency: " + ", ".join(f"{c} {v}" for c, v in summary["billed_totals"].items()),
        "Effective (amortised) totals: " + ", ".join(f"{c} {v}" for c, v in summary["effective_totals"].items()),
        "",
        "Planted savings opportunities (approximate monthly saving, USD):",
    ]
    for o in summary["opportunities"]:
        rid = o["resource_id"] if isinstance(o["resource_id"], str) else ", ".join(o["resource_id"])
        lines.append(f"- {o['kind']}: {rid} - {o['evidence']} - ~{o['monthly_saving_usd']:,.0f}")
    st = summary["story"]
    lines += [
        "",
        "What changes over the weeks:",
        f"- inference traffic (requests, tokens, Bedrock and Azure OpenAI spend) grows "
        f"{st['growth']['per_week']:.0%} a week",
        f"- new project {st['new_project']['project']} (team {st['new_project']['team']}) starts training on a new "
        f"{st['new_project']['instance_type']} ({st['new_project']['resource_id']}) at {st['new_project']['start']}",
        "- nightly feature pipelines (AWS Glue, EMR, GCP Dataflow, Azure Databricks): the data_processing category",
        f"- anomaly on {st['anomaly']['day']}: {st['anomaly']['kind']} from {st['anomaly']['resource_id']}, "
        f"{st['anomaly']['gib']:,.0f} GiB vs ~{st['anomaly']['usual_gib_per_day']:,.0f} GiB on a usual day "
        f"(~USD {st['anomaly']['extra_usd']:,.0f} extra)",
    ]
    for r in st["resolved"]:
        lines.append(
            f"- resolved in the week of {r['week']}: {r['kind']} on {r['resource_id']} - {r['evidence']} "
            f"- ~{r['monthly_saving_usd']:,.0f} a month"
        )
    lines += ["", "Files:"] + [f"- {fmt}: {len(paths)} file(s)" for fmt, paths in summary["files"].items()]
    (out / "README.txt").write_text("\n".join(lines) + "\n")

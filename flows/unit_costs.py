"""Unit costs from the warehouse: the queries, and the ``aicost unit-costs`` command."""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl

from flows.settings import Settings
from flows.warehouse import opened, query
from transforms.unit_costs import FRAMES, unit_costs
from transforms.weeks import TREND_WEEKS, require_monday, trend_weeks


def load_unit_cost_frames(
    con: duckdb.DuckDBPyConnection, week_start: date, weeks: int = TREND_WEEKS
) -> dict[str, pl.DataFrame]:
    """Every query the unit costs need, over the trend's weeks."""
    params = {"first_week": trend_weeks(week_start, weeks)[0], "week_start": week_start}
    return {name: query(con, f"unit_costs_{name}", params) for name in FRAMES}


def unit_costs_command(week_start: date, settings: Settings) -> dict:
    """``aicost unit-costs --week W``: the week's unit costs (JSON-safe)."""
    from flows.report import load_fx_rates

    require_monday(week_start)
    with opened(settings.db, lock_timeout_s=settings.lock_timeout_s) as con:
        frames = load_unit_cost_frames(con, week_start)
    return unit_costs(frames, week_start, settings.reporting_currency, load_fx_rates(settings.fx_rates))


def unit_costs_text(result: dict) -> str:
    """The human-readable form of ``unit_costs_command``'s result."""
    lines = [
        f"Unit costs, week {result['week']} ({result['currency']}); trend over {', '.join(result['weeks'][:1])}"
        f"..{result['weeks'][-1]}"
    ]

    def fig(f: dict) -> str:
        return f["display"] + (f" ({f['reason']})" if f["reason"] else f" {f['change']['text']}")

    lines.append("Inference endpoints:")
    for r in result["endpoints"]:
        lines.append(
            f"  {r['endpoint']} ({r['model']}): cost {r['cost']}; per 1M tokens {fig(r['per_million_tokens'])}; "
            f"per 1k requests {fig(r['per_thousand_requests'])}; idle {fig(r['idle_share'])}"
        )
    lines.append("Token-billed services:")
    for r in result["token_services"]:
        lines.append(
            f"  {r['service']} / {r['model']}: cost {r['cost']}; per 1M input {fig(r['per_million_input'])}; "
            f"per 1M output {fig(r['per_million_output'])}"
        )
    lines.append("Models:")
    for r in result["models"]:
        lines.append(
            f"  {r['model']}: cost {r['cost']}; per 1M tokens {fig(r['per_million_tokens'])}; "
            f"per 1k requests {fig(r['per_thousand_requests'])}"
        )
    for key, title in (("gpu_by_team", "GPUs by team"), ("gpu_by_instance_type", "GPUs by instance type")):
        lines.append(f"{title}:")
        for r in result[key]:
            lines.append(
                f"  {r['name']}: cost {r['cost']} (idle {r['idle_cost']}); per billed GPU-h "
                f"{fig(r['per_billed_hour'])}; per used GPU-h {fig(r['per_used_hour'])}; "
                f"utilisation {fig(r['utilisation'])}"
            )
    lines.append(f"Training: {result['training']['run_count']} runs")
    for r in result["training"]["models"]:
        lines.append(
            f"  {r['model']}: {r['runs']} runs, cost {r['cost']}; per run {fig(r['per_run'])}; "
            f"GPU-h per run {fig(r['gpu_hours_per_run'])}"
        )
    lines.append("  Largest runs:")
    for r in result["training"]["top"]:
        lines.append(
            f"    {r['job_id']} ({r['model']}, {r['team']}): {r['cost']} this week, {r['gpu_hours']} GPU-h, "
            f"{r['cost_to_date']} to date"
        )
    return "\n".join(lines)

"""Unit costs: what the money bought, per endpoint, model, GPU and training run (pure polars).

Every figure is a ratio whose numerator and denominator are kept beside it (so a reader can
recompute it), with its trend over the report's weeks and its change vs last week. Where the
denominator is missing or zero the figure is "n/a" with the reason, never an estimate.

Rules:
- Inference endpoints (inference logs joined to the attributed cost of the resources that served
  them): a resource's weekly cost (busy and idle) is shared among the endpoints it served in
  proportion to their requests. Cost per 1M tokens counts input + output tokens; the idle share is
  the idle GPU-hours of the endpoint's resources over their billed GPU-hours.
- Token-billed services (Bedrock, Azure OpenAI, Vertex AI, any FOCUS row whose ConsumedUnit /
  PricingUnit or usage type is in tokens): tokens = quantity × the unit's multiplier ("1K tokens"
  = 1,000, "1000000 Tokens" = 1,000,000); input and output are told apart by the SKU / usage type
  ("input", "inp", "prompt" vs "output", "outp", "completion", "generated"), so their costs per 1M
  tokens are separate. Amounts are converted with the report's exchange rates.
- GPUs (attributed rows with GPU-hours): cost per billed GPU-hour = cost / all GPU-hours; per used
  GPU-hour = cost / the GPU-hours jobs used (the gap is the idle cost); utilisation = telemetry
  utilisation of each resource weighted by its GPU-hours.
- Training (jobs of kind training, evaluation, development): a job's cost on a machine and day is
  the busy training cost attributed to that machine, day, team, project and model, shared among
  the jobs with those keys by GPU-seconds (as attribution splits it); a run that spans weeks counts
  in each week it ran with that week's part, and its cost to date sums the weeks shown.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import polars as pl

from transforms.attribution.gpu import KIND_CATEGORIES, job_days
from transforms.attribution.rules import tag_dimension
from transforms.fx import convert
from transforms.report.formatting import (
    change,
    exact,
    format_money,
    format_number,
    format_percent,
)
from transforms.weeks import TREND_WEEKS, iso_week_label, trend_weeks

ZERO = Decimal(0)
MILLION = 1_000_000
THOUSAND = 1_000
TOP_RUNS = 5
FRAMES = ("resources", "inference", "token_billing", "jobs", "job_days", "gpu_utilisation")
INPUT_WORDS = re.compile(r"(input|inp\b|inp-|prompt|context)", re.IGNORECASE)
OUTPUT_WORDS = re.compile(r"(output|outp|completion|generated[ _-]?tokens)", re.IGNORECASE)
UNIT_MULTIPLIER = re.compile(r"^\s*([0-9][0-9,._]*)?\s*([kKmM])?\b")


# --------------------------------------------------------------------------------------------
# One figure: numerator / denominator, its trend and change
# --------------------------------------------------------------------------------------------
def _dec(value) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _display(value: Decimal | None, kind: str, currency: str) -> str:
    if value is None:
        return "n/a"
    if kind == "money":
        return format_money(value, currency, places=0 if abs(value) >= 1000 else 2 if abs(value) >= 1 else 4)
    if kind == "percent":
        return format_percent(value)
    return format_number(float(value), 1)


def figure(
    by_week: dict[date, tuple],
    weeks: list[date],
    *,
    label: str,
    numerator: str,
    denominator: str,
    scale: int = 1,
    kind: str = "money",
    currency: str = "USD",
    missing: str = "no denominator",
    lower_is_better: bool = True,
) -> dict:
    """``numerator × scale / denominator`` for the last of ``weeks``, with its trend and change.

    ``by_week`` maps a week to ``(numerator, denominator)``; a missing or zero denominator (or a
    missing numerator) gives "n/a" and ``missing`` as the reason.
    """

    def value(week: date) -> tuple[Decimal | None, Decimal | None, Decimal | None, str | None]:
        num, den = by_week.get(week, (None, None))
        num, den = _dec(num), _dec(den)
        if den is None or den == 0:
            return num, den, None, missing
        if num is None:
            return num, den, None, "no cost in the reporting currency"
        return num, den, num * scale / den, None

    points = [(w, *value(w)) for w in weeks]
    _, num, den, current, reason = points[-1]
    previous = points[-2][3] if len(points) > 1 else None
    return {
        "label": label,
        "value": exact(current.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)) if current is not None else None,
        "display": _display(current, kind, currency),
        "reason": reason,
        "numerator": exact(num) if num is not None else None,
        "numerator_label": numerator,
        "denominator": exact(den) if den is not None else None,
        "denominator_label": denominator,
        "scale": scale,
        "change": change(current, previous, lower_is_better=lower_is_better)
        if current is not None
        else change(ZERO, None),
        "trend": [
            {
                "week": iso_week_label(w),
                "value": exact(v.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)) if v is not None else None,
                "display": _display(v, kind, currency),
            }
            for w, _, _, v, _ in points
        ],
        "trend_text": " · ".join(_display(v, kind, currency) for *_, v, _ in points),
    }


def _series(frame: pl.DataFrame, key_cols: list[str], columns: list[str]) -> dict[tuple, dict[date, dict]]:
    """``{key tuple: {week: {column: value}}}`` from a frame with ``week_start``."""
    out: dict[tuple, dict[date, dict]] = {}
    for row in frame.iter_rows(named=True):
        key = tuple(row[k] for k in key_cols)
        out.setdefault(key, {})[row["week_start"]] = {c: row[c] for c in columns}
    return out


def _pairs(weeks_of: dict[date, dict], num: str, den: str, combine=None) -> dict[date, tuple]:
    return {w: (v[num], v[den]) for w, v in weeks_of.items()}


def _with_this_week(series: dict[tuple, dict[date, dict]], weeks: list[date]):
    """``(key, by_week, this week's values)`` of each series with data in the last of ``weeks``."""
    for key, by_week in series.items():
        if weeks[-1] in by_week:
            yield key, by_week, by_week[weeks[-1]]


def _cost_fields(cost, currency: str) -> dict:
    """A row's cost as shown (``cost``) and as an exact decimal (``cost_exact``)."""
    return {"cost": format_money(cost, currency), "cost_exact": exact(cost)}


def _cost_per(
    by_week: dict[date, tuple],
    weeks: list[date],
    currency: str,
    *,
    label: str,
    denominator: str,
    missing: str,
    scale: int = 1,
) -> dict:
    """A cost-per-unit figure: ``cost (currency) × scale / denominator`` (see ``figure``)."""
    return figure(
        by_week,
        weeks,
        label=label,
        currency=currency,
        numerator=f"cost ({currency})",
        denominator=denominator,
        scale=scale,
        missing=missing,
    )


def _per_thousand_requests(by_week: dict[date, tuple], weeks: list[date], currency: str, missing: str) -> dict:
    """Cost per 1,000 requests (``by_week``: week -> (cost, requests))."""
    return _cost_per(
        by_week,
        weeks,
        currency,
        label="cost per 1,000 requests",
        denominator="requests",
        scale=THOUSAND,
        missing=missing,
    )


def _most_costly_first(rows: list[dict], name: str) -> list[dict]:
    """Rows by this week's exact cost, highest first (no cost last), then by ``name``."""
    return sorted(rows, key=lambda r: (-(Decimal(r["cost_exact"]) if r["cost_exact"] else ZERO), str(r[name])))


# --------------------------------------------------------------------------------------------
# Inference
# --------------------------------------------------------------------------------------------
def endpoint_usage(inference: pl.DataFrame, resources: pl.DataFrame) -> pl.DataFrame:
    """Per week, endpoint and model: requests, tokens, the shared cost and GPU-hours of its resources."""
    per_resource = resources.group_by("week_start", "resource_id").agg(
        cost=pl.col("cost").sum(),
        gpu_hours=pl.col("gpu_hours").sum(),
        idle_gpu_hours=pl.col("gpu_hours").filter(pl.col("is_idle")).sum(),
    )
    logs = (
        inference.with_columns(
            pl.col("requests", "tokens_in", "tokens_out").cast(pl.Int64).fill_null(0),
        )
        .with_columns(
            _total=pl.col("requests").sum().over("week_start", "resource_id"),
            _n=pl.len().over("week_start", "resource_id"),
        )
        .with_columns(
            share=pl.when(pl.col("_total") > 0)
            .then(pl.col("requests") / pl.col("_total"))
            .otherwise(1.0 / pl.col("_n"))
        )
    )
    joined = logs.join(per_resource, on=["week_start", "resource_id"], how="left")
    rows = []
    for r in joined.iter_rows(named=True):
        share = Decimal(str(r["share"]))
        rows.append(
            {
                "week_start": r["week_start"],
                "endpoint": r["endpoint"],
                "model": r["model"],
                "requests": r["requests"],
                "tokens_in": r["tokens_in"],
                "tokens_out": r["tokens_out"],
                "cost": (Decimal(r["cost"]) * share) if r["cost"] is not None else None,
                "gpu_hours": (r["gpu_hours"] or 0.0) * r["share"],
                "idle_gpu_hours": (r["idle_gpu_hours"] or 0.0) * r["share"],
            }
        )
    schema = {
        "week_start": pl.Date,
        "endpoint": pl.String,
        "model": pl.String,
        "requests": pl.Int64,
        "tokens_in": pl.Int64,
        "tokens_out": pl.Int64,
        "cost": pl.Object,
        "gpu_hours": pl.Float64,
        "idle_gpu_hours": pl.Float64,
    }
    frame = pl.DataFrame(rows, schema=schema, orient="row")
    return _sum_groups(frame, ["week_start", "endpoint", "model"])


def _sum_groups(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Sum every other column per ``keys``; Decimal (object) columns exactly, a missing cost stays missing."""
    groups: dict[tuple, dict] = {}
    others = [c for c in frame.columns if c not in keys]
    for row in frame.iter_rows(named=True):
        key = tuple(row[k] for k in keys)
        acc = groups.setdefault(key, {k: row[k] for k in keys} | {c: None for c in others})
        for c in others:
            if row[c] is None:
                continue
            acc[c] = row[c] if acc[c] is None else acc[c] + row[c]
    schema = {c: (pl.Object if frame.schema[c] == pl.Object else frame.schema[c]) for c in frame.columns}
    return pl.DataFrame(list(groups.values()), schema=schema, orient="row") if groups else frame.clear()


def token_multiplier(unit: str | None) -> int | None:
    """Tokens per unit of quantity: ``1K tokens`` → 1,000, ``1000000 Tokens`` → 1,000,000, ``Tokens`` → 1."""
    if unit is None:
        return None
    match = UNIT_MULTIPLIER.match(unit)
    number = int(re.sub(r"[,._]", "", match.group(1))) if match and match.group(1) else 1
    suffix = (match.group(2) or "").lower() if match else ""
    return number * {"k": 1_000, "m": 1_000_000}.get(suffix, 1)


def token_direction(*texts: str | None) -> str:
    """``input`` / ``output`` / ``unsplit`` from the SKU or usage type, else the description (in that order)."""
    for text in texts:
        if not text:
            continue
        if OUTPUT_WORDS.search(text):
            return "output"
        if INPUT_WORDS.search(text):
            return "input"
    return "unsplit"


def billed_tokens(token_billing: pl.DataFrame, fx_rates: pl.DataFrame | None, currency: str) -> pl.DataFrame:
    """Per week, provider, service, model and direction: tokens and cost in the reporting currency."""
    if token_billing.height == 0:
        return pl.DataFrame(
            schema={
                "week_start": pl.Date,
                "provider": pl.String,
                "service_name": pl.String,
                "model": pl.String,
                "direction": pl.String,
                "tokens": pl.Int64,
                "cost": pl.Object,
            }
        )
    rates = (
        fx_rates
        if fx_rates is not None
        else pl.DataFrame(
            {"currency": [], "rate_to_reporting": []}, schema={"currency": pl.String, "rate_to_reporting": pl.String}
        )
    )
    converted = (
        convert(token_billing.lazy(), rates, currency)
        .with_columns(model=pl.coalesce(tag_dimension("model"), pl.lit("unknown")))
        .collect()
    )
    rows = []
    for r in converted.iter_rows(named=True):
        mult = token_multiplier(r["unit"])
        quantity = Decimal(r["quantity"] or 0)
        rows.append(
            {
                "week_start": r["week_start"],
                "provider": r["provider"],
                "service_name": r["service_name"],
                "model": r["model"],
                "direction": token_direction(r["sku"], r["charge_description"]),
                "tokens": int((quantity * (mult or 1)).to_integral_value(rounding=ROUND_HALF_UP)),
                "cost": Decimal(r["effective_cost_reporting"]) if r["effective_cost_reporting"] is not None else None,
            }
        )
    frame = pl.DataFrame(
        rows,
        schema={
            "week_start": pl.Date,
            "provider": pl.String,
            "service_name": pl.String,
            "model": pl.String,
            "direction": pl.String,
            "tokens": pl.Int64,
            "cost": pl.Object,
        },
        orient="row",
    )
    return _sum_groups(frame, ["week_start", "provider", "service_name", "model", "direction"])


def _endpoint_rows(usage: pl.DataFrame, weeks: list[date], currency: str) -> list[dict]:
    series = _series(
        usage, ["endpoint", "model"], ["requests", "tokens_in", "tokens_out", "cost", "gpu_hours", "idle_gpu_hours"]
    )
    rows = []
    for (endpoint, model), by_week, now in _with_this_week(series, weeks):
        tokens = {w: (v["cost"], (v["tokens_in"] or 0) + (v["tokens_out"] or 0)) for w, v in by_week.items()}
        rows.append(
            {
                "endpoint": endpoint,
                "model": model,
                "requests": format_number(now["requests"]),
                "tokens_in": format_number(now["tokens_in"]),
                "tokens_out": format_number(now["tokens_out"]),
                **_cost_fields(now["cost"], currency),
                "per_million_tokens": _cost_per(
                    tokens,
                    weeks,
                    currency,
                    label="cost per 1M tokens (in + out)",
                    denominator="tokens in + out",
                    scale=MILLION,
                    missing="the logs record no tokens for this endpoint",
                ),
                "per_thousand_requests": _per_thousand_requests(
                    _pairs(by_week, "cost", "requests"),
                    weeks,
                    currency,
                    "the logs record no requests for this endpoint",
                ),
                "idle_share": figure(
                    _pairs(by_week, "idle_gpu_hours", "gpu_hours"),
                    weeks,
                    kind="percent",
                    label="idle share of GPU time",
                    numerator="idle GPU-hours",
                    denominator="billed GPU-hours",
                    missing="no GPU-hours billed for its resources",
                ),
            }
        )
    return _most_costly_first(rows, "endpoint")


def _billed_rows(billed: pl.DataFrame, weeks: list[date], currency: str) -> list[dict]:
    rows = []
    keys = billed.select("provider", "service_name", "model").unique().sort(["provider", "service_name", "model"])
    for provider, service, model in keys.iter_rows():
        part = billed.filter(
            (pl.col("provider") == provider) & (pl.col("service_name") == service) & (pl.col("model") == model)
        )
        if part.filter(pl.col("week_start") == weeks[-1]).height == 0:
            continue

        def pairs(direction: str | None) -> dict[date, tuple]:
            out: dict[date, tuple] = {}
            for r in part.iter_rows(named=True):
                if direction is not None and r["direction"] != direction:
                    continue
                cost, tokens = out.get(r["week_start"], (ZERO, 0))
                cost = None if cost is None or r["cost"] is None else cost + r["cost"]
                out[r["week_start"]] = (cost, tokens + r["tokens"])
            return out

        split = set(part["direction"].to_list()) & {"input", "output"}
        total = pairs(None)
        rows.append(
            {
                "provider": provider,
                "service": service,
                "model": model,
                "tokens": format_number(total.get(weeks[-1], (None, 0))[1]),
                **_cost_fields(total[weeks[-1]][0], currency),
                "per_million_tokens": _cost_per(
                    total,
                    weeks,
                    currency,
                    label="cost per 1M tokens",
                    denominator="tokens",
                    scale=MILLION,
                    missing="the bill records no tokens",
                ),
                "per_million_input": figure(
                    pairs("input"),
                    weeks,
                    label="cost per 1M input tokens",
                    currency=currency,
                    numerator=f"input cost ({currency})",
                    denominator="input tokens",
                    scale=MILLION,
                    missing="the bill does not split input tokens" if not split else "no input tokens billed",
                ),
                "per_million_output": figure(
                    pairs("output"),
                    weeks,
                    label="cost per 1M output tokens",
                    currency=currency,
                    numerator=f"output cost ({currency})",
                    denominator="output tokens",
                    scale=MILLION,
                    missing="the bill does not split output tokens" if not split else "no output tokens billed",
                ),
                "per_thousand_requests": _per_thousand_requests(
                    {}, weeks, currency, "the bill counts tokens, not requests"
                ),
            }
        )
    return _most_costly_first(rows, "service")


def _model_rows(usage: pl.DataFrame, billed: pl.DataFrame, weeks: list[date], currency: str) -> list[dict]:
    """Per model: endpoints and token-billed services together."""
    parts = [
        usage.select(
            "week_start",
            "model",
            "cost",
            "requests",
            (pl.col("tokens_in").fill_null(0) + pl.col("tokens_out").fill_null(0)).alias("tokens"),
        )
    ]
    if billed.height:
        parts.append(
            billed.select("week_start", "model", "cost", pl.lit(0, dtype=pl.Int64).alias("requests"), "tokens")
        )
    combined = _sum_groups(pl.concat(parts), ["week_start", "model"])
    rows = []
    for (model,), by_week, now in _with_this_week(_series(combined, ["model"], ["cost", "requests", "tokens"]), weeks):
        rows.append(
            {
                "model": model,
                **_cost_fields(now["cost"], currency),
                "requests": format_number(now["requests"]),
                "tokens": format_number(now["tokens"]),
                "per_million_tokens": _cost_per(
                    _pairs(by_week, "cost", "tokens"),
                    weeks,
                    currency,
                    label="cost per 1M tokens",
                    denominator="tokens",
                    scale=MILLION,
                    missing="no tokens recorded for this model",
                ),
                "per_thousand_requests": _per_thousand_requests(
                    _pairs(by_week, "cost", "requests"),
                    weeks,
                    currency,
                    "no requests recorded for this model (billed by token only)",
                ),
            }
        )
    return _most_costly_first(rows, "model")


# --------------------------------------------------------------------------------------------
# GPUs
# --------------------------------------------------------------------------------------------
def gpu_usage(resources: pl.DataFrame, utilisation: pl.DataFrame, key: str) -> pl.DataFrame:
    """Per week and ``key`` (team / instance_type): cost, billed and used GPU-hours, idle cost, utilisation."""
    gpu = resources.filter(pl.col("gpu_hours") > 0).join(
        utilisation.select("week_start", "resource_id", "utilisation_pct"), on=["week_start", "resource_id"], how="left"
    )
    return (
        gpu.group_by("week_start", key)
        .agg(
            cost=pl.col("cost").sum(),
            idle_cost=pl.col("cost").filter(pl.col("is_idle")).sum(),
            billed_gpu_hours=pl.col("gpu_hours").sum(),
            used_gpu_hours=pl.col("gpu_hours").filter(~pl.col("is_idle")).sum(),
            util_weighted=(pl.col("utilisation_pct") / 100 * pl.col("gpu_hours")).sum(),
            util_hours=pl.col("gpu_hours").filter(pl.col("utilisation_pct").is_not_null()).sum(),
        )
        .sort("week_start", key)
    )


def _gpu_rows(usage: pl.DataFrame, key: str, weeks: list[date], currency: str) -> list[dict]:
    rows = []
    series = _series(
        usage, [key], ["cost", "idle_cost", "billed_gpu_hours", "used_gpu_hours", "util_weighted", "util_hours"]
    )
    for (name,), by_week, now in _with_this_week(series, weeks):
        rows.append(
            {
                "name": name,
                **_cost_fields(now["cost"], currency),
                "idle_cost": format_money(now["idle_cost"], currency),
                "idle_cost_exact": exact(now["idle_cost"]),
                "billed_gpu_hours": format_number(now["billed_gpu_hours"]),
                "used_gpu_hours": format_number(now["used_gpu_hours"]),
                "per_billed_hour": _cost_per(
                    _pairs(by_week, "cost", "billed_gpu_hours"),
                    weeks,
                    currency,
                    label="cost per billed GPU-hour",
                    denominator="billed GPU-hours",
                    missing="no GPU-hours billed",
                ),
                "per_used_hour": _cost_per(
                    _pairs(by_week, "cost", "used_gpu_hours"),
                    weeks,
                    currency,
                    label="cost per used GPU-hour",
                    denominator="GPU-hours used by jobs",
                    missing="no GPU-hours used by jobs (all idle or no job logs)",
                ),
                "utilisation": figure(
                    _pairs(by_week, "util_weighted", "util_hours"),
                    weeks,
                    kind="percent",
                    label="GPU utilisation (weighted by GPU-hours)",
                    lower_is_better=False,
                    numerator="utilisation × GPU-hours",
                    denominator="GPU-hours with telemetry",
                    missing="no GPU telemetry for these machines",
                ),
            }
        )
    return _most_costly_first(rows, "name")


# --------------------------------------------------------------------------------------------
# Training runs
# --------------------------------------------------------------------------------------------
def job_costs(jobs: pl.DataFrame, day_costs: pl.DataFrame, weeks: list[date]) -> pl.DataFrame:
    """Per week and job: its share of the busy training cost and GPU-hours of its machines' days."""
    keys = ["resource_id", "day", "team", "project", "model"]
    parts = []
    for week in weeks:
        days = (
            job_days(jobs.lazy(), week, KIND_CATEGORIES)
            .with_columns(gpu_s=pl.col("job_s") * pl.col("gpus").fill_null(1).cast(pl.Int64), week_start=pl.lit(week))
            .select("week_start", "job_id", "kind", *keys, "gpu_s")
            .collect()
        )
        parts.append(days)
    if not parts:
        return pl.DataFrame()
    days = pl.concat(parts).with_columns(_total=pl.col("gpu_s").sum().over(keys))
    joined = days.join(day_costs.drop("week_start"), on=keys, how="left")
    rows: dict[tuple, dict] = {}
    for r in joined.iter_rows(named=True):
        key = (r["week_start"], r["job_id"])
        acc = rows.setdefault(
            key,
            {
                "week_start": r["week_start"],
                "job_id": r["job_id"],
                "team": r["team"],
                "project": r["project"],
                "model": r["model"],
                "cost": None,
                "gpu_hours": 0.0,
                "machines": set(),
            },
        )
        acc["machines"].add(r["resource_id"])
        if r["cost"] is None or not r["_total"]:
            continue
        part = Decimal(r["cost"]) * r["gpu_s"] / r["_total"]
        acc["cost"] = part if acc["cost"] is None else acc["cost"] + part
        acc["gpu_hours"] += (r["gpu_hours"] or 0.0) * r["gpu_s"] / r["_total"]
    for acc in rows.values():
        acc["machines"] = len(acc["machines"])
    return pl.DataFrame(
        list(rows.values()),
        schema={
            "week_start": pl.Date,
            "job_id": pl.String,
            "team": pl.String,
            "project": pl.String,
            "model": pl.String,
            "cost": pl.Object,
            "gpu_hours": pl.Float64,
            "machines": pl.Int64,
        },
        orient="row",
    )


def _training(costs: pl.DataFrame, weeks: list[date], currency: str) -> dict:
    if costs.height == 0:
        return {"runs": [], "models": [], "top": [], "run_count": 0}
    this_week = costs.filter(pl.col("week_start") == weeks[-1])
    # each job's weeks, in one pass (a filter per job was quadratic in the jobs of the trend)
    histories: dict[str, list[tuple]] = {}
    for job_id, week_start, cost, gpu_hours in costs.select("job_id", "week_start", "cost", "gpu_hours").iter_rows():
        if job_id is not None:
            histories.setdefault(job_id, []).append((week_start, cost, gpu_hours))
    runs = []
    for r in this_week.iter_rows(named=True):
        history = histories.get(r["job_id"], [])
        to_date = [cost for _, cost, _ in history if cost is not None]
        weeks_ran = len(history)
        by_week = {week: (cost, gpu_hours) for week, cost, gpu_hours in history}
        runs.append(
            {
                "job_id": r["job_id"],
                "team": r["team"],
                "project": r["project"],
                "model": r["model"],
                "machines": r["machines"],
                **_cost_fields(r["cost"], currency),
                "gpu_hours": format_number(r["gpu_hours"], 1),
                "gpu_hours_exact": round(r["gpu_hours"], 6),
                "cost_to_date": format_money(sum(to_date, ZERO), currency) if to_date else "n/a",
                "cost_to_date_exact": exact(sum(to_date, ZERO)) if to_date else None,
                "weeks": weeks_ran,
                "spans_weeks": weeks_ran > 1,
                "per_gpu_hour": _cost_per(
                    by_week,
                    weeks,
                    currency,
                    label="cost per GPU-hour",
                    denominator="GPU-hours",
                    missing="no attributed cost or GPU-hours on its machines",
                ),
            }
        )
    runs = _most_costly_first(runs, "job_id")
    runs_per_model = costs.group_by("week_start", "model").agg(runs=pl.col("job_id").n_unique())
    per_model = _sum_groups(costs.select("week_start", "model", "cost", "gpu_hours"), ["week_start", "model"])
    per_model = per_model.join(
        runs_per_model, on=["week_start", "model"], how="left", nulls_equal=True, maintain_order="left"
    ).with_columns(pl.col("runs").cast(pl.Int64))
    models = []
    for (model,), by_week, now in _with_this_week(_series(per_model, ["model"], ["cost", "gpu_hours", "runs"]), weeks):
        models.append(
            {
                "model": model,
                "runs": now["runs"],
                **_cost_fields(now["cost"], currency),
                "gpu_hours": format_number(now["gpu_hours"], 1),
                "per_run": _cost_per(
                    _pairs(by_week, "cost", "runs"),
                    weeks,
                    currency,
                    label="cost per run",
                    denominator="runs",
                    missing="no runs",
                ),
                "gpu_hours_per_run": figure(
                    _pairs(by_week, "gpu_hours", "runs"),
                    weeks,
                    label="GPU-hours per run",
                    kind="number",
                    numerator="GPU-hours",
                    denominator="runs",
                    missing="no runs",
                ),
            }
        )
    models = _most_costly_first(models, "model")
    return {"runs": runs, "models": models, "top": runs[:TOP_RUNS], "run_count": len(runs)}


# --------------------------------------------------------------------------------------------
# The section
# --------------------------------------------------------------------------------------------
def unit_costs(
    frames: dict[str, pl.DataFrame],
    week_start: date,
    currency: str,
    fx_rates: pl.DataFrame | None = None,
    weeks: int = TREND_WEEKS,
) -> dict:
    """The unit-costs section (and the ``aicost unit-costs`` JSON) from the queries in ``FRAMES``."""
    week_range = trend_weeks(week_start, weeks)
    resources = frames["resources"]
    usage = endpoint_usage(frames["inference"], resources)
    billed = billed_tokens(frames["token_billing"], fx_rates, currency)
    training = _training(job_costs(frames["jobs"], frames["job_days"], week_range), week_range, currency)
    endpoints = _endpoint_rows(usage, week_range, currency)
    services = _billed_rows(billed, week_range, currency)
    gpu_teams = _gpu_rows(gpu_usage(resources, frames["gpu_utilisation"], "team"), "team", week_range, currency)
    gpu_types = _gpu_rows(
        gpu_usage(resources, frames["gpu_utilisation"], "instance_type"), "instance_type", week_range, currency
    )
    return {
        "week": iso_week_label(week_start),
        "currency": currency,
        "weeks": [iso_week_label(w) for w in week_range],
        "endpoints": endpoints,
        "token_services": services,
        "models": _model_rows(usage, billed, week_range, currency),
        "gpu_by_team": gpu_teams,
        "gpu_by_instance_type": gpu_types,
        "training": training,
        "empty": not (endpoints or services or gpu_teams or training["runs"]),
    }

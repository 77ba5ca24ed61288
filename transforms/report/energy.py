"""GPU hours, energy and emissions of the week."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import polars as pl

from transforms.report.formatting import change, format_number
from transforms.report.spend import weeks_with_data
from transforms.weeks import WEEK


def energy(cost: pl.DataFrame, week_start: date) -> dict:
    """GPU hours, kWh and kg CO2e of the week, with the change vs last week."""

    def totals(week: date) -> tuple[float, float, float]:
        part = cost.filter(pl.col("week_start") == week)
        if part.height == 0:
            return 0.0, 0.0, 0.0
        sums = part.select(pl.col("gpu_hours").sum(), pl.col("energy_kwh").sum(), pl.col("co2e_kg").sum()).row(0)
        return tuple(float(v or 0) for v in sums)

    gpu_hours, kwh, co2e = totals(week_start)
    last = week_start - WEEK
    _, kwh_last, co2e_last = totals(last)
    had_last = last in weeks_with_data(cost)
    return {
        "gpu_hours": format_number(gpu_hours, 0),
        "kwh": format_number(kwh, 0),
        "co2e_kg": format_number(co2e, 0),
        "kwh_change": change(Decimal(str(kwh)), Decimal(str(kwh_last)) if had_last else None),
        "co2e_change": change(Decimal(str(co2e)), Decimal(str(co2e_last)) if had_last else None),
        "empty": kwh == 0 and co2e == 0 and gpu_hours == 0,
    }

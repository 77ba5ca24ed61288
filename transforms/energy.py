"""GPU energy (kWh) and carbon (kg CO2e) per machine and day.

Energy comes from power telemetry where a machine has it that day (Σ power_w × interval_s / 3.6e6),
otherwise from the GPU model's power figure (config/gpu_power.csv) × GPU-hours; both × PUE.
Carbon is energy × the grid intensity of the machine's provider and region (config/grid_carbon.csv).
"""

from __future__ import annotations

import polars as pl

JOULES_PER_KWH = 3.6e6


def telemetry_kwh(telemetry: pl.LazyFrame) -> pl.LazyFrame:
    """``resource_id, day, telemetry_kwh`` from per machine-day ``power_joules`` (Σ power_w × interval_s).

    A machine-day whose samples carry no power reading (``power_joules`` null) has no row.
    """
    return telemetry.filter(pl.col("power_joules").is_not_null()).select(
        "resource_id", "day", telemetry_kwh=pl.col("power_joules") / JOULES_PER_KWH
    )


def gpu_power_w(model: pl.Expr, power_table: pl.DataFrame) -> pl.Expr:
    """Watts per GPU for a GPU model name: the first row of the table whose ``match`` finds it."""
    watts = pl.lit(None, dtype=pl.Float64)
    for row in reversed(power_table.rows(named=True)):
        found = model.str.to_lowercase().str.contains(f"(?i){row['match']}").fill_null(False)
        watts = pl.when(found).then(pl.lit(float(row["power_w"]))).otherwise(watts)
    return watts


def region_key(region: pl.Expr) -> pl.Expr:
    """Region names compared without case, spaces, dashes or underscores (East US 2 = eastus2)."""
    return region.str.to_lowercase().str.replace_all(r"[\s_\-]", "")


def machine_day_energy(
    machine_days: pl.LazyFrame, telemetry: pl.LazyFrame, power_table: pl.DataFrame, pue: float
) -> pl.LazyFrame:
    """Add ``energy_kwh`` and ``energy_basis`` to ``resource_id, day, gpu_hours, gpu_model`` rows."""
    return (
        machine_days.join(telemetry, on=["resource_id", "day"], how="left")
        .with_columns(_rated_kwh=gpu_power_w(pl.col("gpu_model"), power_table) * pl.col("gpu_hours") / 1000.0)
        .with_columns(
            energy_kwh=pl.coalesce(pl.col("telemetry_kwh"), pl.col("_rated_kwh")) * pue,
            energy_basis=pl.when(pl.col("telemetry_kwh").is_not_null())
            .then(pl.lit("telemetry"))
            .when(pl.col("_rated_kwh").is_not_null())
            .then(pl.lit("rated_power"))
            .otherwise(pl.lit("unknown")),
        )
        .drop("telemetry_kwh", "_rated_kwh")
    )


def add_carbon(frame: pl.LazyFrame, grid: pl.DataFrame, default_g_per_kwh: float | None = None) -> pl.LazyFrame:
    """Add ``co2e_kg`` = energy_kwh × intensity of (provider, region_id); null where unknown.

    The intensity is looked up once per distinct (provider, region_id) and joined back.
    """
    table = grid.select(
        pl.col("provider").str.to_lowercase().alias("_provider"),
        region_key(pl.col("region")).alias("_region"),
        pl.col("gco2e_per_kwh").cast(pl.Float64).alias("_g_per_kwh"),
    ).unique(["_provider", "_region"], keep="last")
    regions = (
        frame.select("provider", "region_id")
        .unique()
        .with_columns(_provider=pl.col("provider").str.to_lowercase(), _region=region_key(pl.col("region_id")))
        .join(table.lazy(), on=["_provider", "_region"], how="left")
        .drop("_provider", "_region")
    )
    joined = frame.join(regions, on=["provider", "region_id"], how="left", nulls_equal=True, maintain_order="left")
    intensity = pl.col("_g_per_kwh")
    if default_g_per_kwh is not None:
        intensity = intensity.fill_null(default_g_per_kwh)
    return joined.with_columns(co2e_kg=pl.col("energy_kwh") * intensity / 1000.0).drop("_g_per_kwh")

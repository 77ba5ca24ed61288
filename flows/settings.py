"""All configuration in one place: environment variables prefixed ``AICOST_``, or a ``.env`` file."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from flows import PROJECT_ROOT

CONFIG_DIR = PROJECT_ROOT / "config"


class Settings(BaseSettings):
    """Where the data lives, how money is reported, and where the report goes."""

    model_config = SettingsConfigDict(env_prefix="AICOST_", env_file=".env", extra="ignore")

    db: Path = Field(Path("data/warehouse.duckdb"), description="The DuckDB warehouse file.")
    landing: Path = Field(Path("data/landing"), description="Folder the weekly flow ingests from.")
    reports: Path = Field(Path("reports"), description="Folder the reports are archived in.")
    reporting_currency: str = Field("USD", description="ISO 4217 code every figure is shown in.")
    fx_rates: Path = Field(CONFIG_DIR / "fx_rates.csv", description="Exchange rates to the reporting currency.")
    attribution_rules: Path = Field(
        CONFIG_DIR / "attribution_rules.toml", description="User rules: tags, accounts, services -> category/team."
    )
    prices: Path = Field(CONFIG_DIR / "prices.csv", description="Default list prices (replaceable).")
    recommendation_thresholds: Path = Field(
        CONFIG_DIR / "recommendations.toml", description="Detector thresholds and assumed factors."
    )
    energy: Path = Field(CONFIG_DIR / "energy.toml", description="PUE, GPU power and grid carbon intensity.")
    max_row_cost: Decimal = Field(
        Decimal("1000000000000"),
        gt=0,
        le=Decimal("1e25"),
        description="A billing row whose cost exceeds this in absolute value (in its own currency) is rejected as implausible.",
    )
    lock_timeout_s: float = Field(600.0, description="How long a run waits for another run's warehouse lock.")
    dask_address: str | None = Field(None, description="Ingest files in parallel on this Dask scheduler.")
    dask_local_workers: int = Field(0, description="Ingest on a local Dask cluster of this many processes (0: off).")
    staging: Path | None = Field(None, description="Staging folder for parallel ingest (shared storage for a remote Dask).")

    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_security: str = Field("starttls", description="starttls | ssl | none")
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_secret_block: str | None = Field(None, description="Prefect Secret block holding the SMTP password.")
    smtp_timeout_s: float = 30.0
    mail_from: str = "ai-cost-report@localhost"
    mail_to: list[str] = Field(default_factory=list)
    report_stale_after_days: int = Field(3, description="A source with no new data for more than this many days is reported stale.")


def get_settings(**overrides) -> Settings:
    """Settings from the environment, with explicit overrides (CLI flags) on top."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})

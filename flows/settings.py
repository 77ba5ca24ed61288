"""All configuration in one place: environment variables prefixed ``AICOST_``, or a ``.env`` file."""

from __future__ import annotations

import json
import os
import re
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from flows import PROJECT_ROOT

CONFIG_DIR = PROJECT_ROOT / "config"
ENV_PREFIX = "AICOST_"
ADDRESS = re.compile(r"[^@\s<>,;]+@[^@\s<>,;]+")
MAIL_TO_EXAMPLE = '["cfo@example.com", "ops@example.com"]'


class SettingsInvalid(ValueError):
    """A setting has a value of the wrong shape; the message names its variable and what was expected."""


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
    budgets: Path = Field(CONFIG_DIR / "budgets.toml", description="Monthly budgets per team, project or category.")
    max_row_cost: Decimal = Field(
        Decimal("1000000000000"),
        gt=0,
        le=Decimal("1e25"),
        description="A billing row whose cost exceeds this in absolute value (in its own currency) is rejected as implausible.",
    )
    lock_timeout_s: float = Field(600.0, description="How long a run waits for another run's warehouse lock.")
    dask_address: str | None = Field(None, description="Ingest files in parallel on this Dask scheduler.")
    dask_local_workers: int = Field(0, description="Ingest on a local Dask cluster of this many processes (0: off).")
    staging: Path | None = Field(
        None, description="Staging folder for parallel ingest (shared storage for a remote Dask)."
    )
    max_decompression_ratio: float = Field(
        200.0, description="A gzip file expanding to more than this many times its compressed size is refused."
    )
    max_document_bytes: int = Field(
        64 * 2**20, description="Largest whole JSON document (e.g. an OpenCost API response) read, in bytes."
    )
    max_whole_text_bytes: int = Field(
        128 * 2**20,
        description="GPU telemetry files up to this size (expanded) are mapped whole, larger ones GPU by GPU "
        "in batches (a 190 MB DCGM file mapped whole peaks at ~1.1 GB).",
    )

    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_security: str = Field("starttls", description="starttls | ssl | none")
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_secret_block: str | None = Field(None, description="Prefect Secret block holding the SMTP password.")
    smtp_timeout_s: float = 30.0
    mail_from: str = "ai-cost-report@localhost"
    # NoDecode: read as the raw text, so a malformed value is explained here, not by a JSON error
    mail_to: Annotated[list[str], NoDecode] = Field(default_factory=list)
    send_on_failed_check: bool = Field(
        False, description="Email the report even when the week failed a data check (it is always archived)."
    )
    report_stale_after_days: int = Field(
        3, description="A source with no new data for more than this many days is reported stale."
    )
    gpu_raw_retention_weeks: int = Field(
        8,
        ge=0,
        description="Raw GPU samples are deleted this many weeks after their file was ingested; their hours stay in"
        " gpu_hourly. 0 keeps none: samples are only rolled up (a fleet's raw samples take ~14 bytes each).",
    )

    @field_validator("mail_to", mode="before")
    @classmethod
    def _mail_to(cls, value):
        expected = f"expected a JSON list of email addresses, e.g. '{MAIL_TO_EXAMPLE}'"
        if isinstance(value, str):
            try:
                value = json.loads(value) if value.strip() else []
            except json.JSONDecodeError:
                raise ValueError(f"{expected}, got {value!r}") from None
            if not isinstance(value, list):
                raise ValueError(f"{expected}, got {json.dumps(value)!r}")
        if not isinstance(value, list | tuple):
            raise ValueError(f"{expected}, got {value!r}")
        for address in value:
            if not isinstance(address, str) or not ADDRESS.fullmatch(address.strip()):
                raise ValueError(
                    f"{expected}; {address!r} is not an email address" + (" (no @)" if "@" not in str(address) else "")
                )
        return [address.strip() for address in value]

    @field_validator("mail_from", mode="before")
    @classmethod
    def _mail_from(cls, value):
        if not isinstance(value, str) or not ADDRESS.fullmatch(value.strip()):
            raise ValueError(f"expected one email address (name@domain), got {value!r}")
        return value.strip()


def _explain(error: ValidationError) -> str:
    """One line per wrong setting: its environment variable and what was expected."""
    lines = []
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else ""
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] != "value_error" and "input" in item:
            message += f", got {item['input']!r}"
        lines.append(f"{ENV_PREFIX}{field.upper()}: {message}")
    return "; ".join(lines)


def get_settings(**overrides) -> Settings:
    """Settings from the environment, with explicit overrides (CLI flags) on top.

    A malformed value raises ``SettingsInvalid`` naming the variable and what was expected.
    Read again whenever an ``AICOST_*`` variable, the working directory or its ``.env`` file
    changes, and only then (building them costs ~10 ms: ingest asks for them several times a file).
    """
    given = tuple(sorted((k, v) for k, v in overrides.items() if v is not None))
    environment = tuple(sorted((k, v) for k, v in os.environ.items() if k.upper().startswith(ENV_PREFIX)))
    dotenv = Path(".env").absolute()
    try:
        stat = dotenv.stat()
        dotenv_state = (stat.st_mtime_ns, stat.st_size)
    except OSError:
        dotenv_state = None
    return _settings_for(given, environment, str(dotenv), dotenv_state)


@lru_cache(maxsize=16)
def _settings_for(given: tuple, environment: tuple, dotenv: str, dotenv_state: tuple | None) -> Settings:
    """The settings for one state of the overrides, the environment and the ``.env`` file (cached)."""
    try:
        return Settings(**dict(given))
    except ValidationError as exc:
        raise SettingsInvalid(_explain(exc)) from None

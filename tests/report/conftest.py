"""Hand-made warehouse rows for the report tests: one reference week with figures computed by hand."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import polars as pl
import pytest

from flows.settings import Settings
from flows.warehouse import insert_frame
from transforms.schema import ATTRIBUTED_COST_COLUMNS, RECOMMENDATION_COLUMNS

WEEK = date(2026, 11, 16)  # ISO week 2026-W47
XSS_SCRIPT = "<script>alert(1)</script>"
XSS_ATTR = '"><img src=x onerror=alert(1)>'


def cost_row(
    week: date,
    day_offset: int,
    amount: str,
    *,
    category="training",
    team="vision",
    project="p-vision",
    model="resnet",
    provider="aws",
    service="Amazon EC2",
    currency="USD",
    reporting: str | None = "same",
    idle=False,
    gpu_hours=0.0,
    energy_kwh=0.0,
    co2e_kg=0.0,
) -> dict:
    """One attributed_cost row; ``reporting="same"`` converts at 1 (the currency is the reporting one)."""
    value = Decimal(amount)
    return {
        "week_start": week,
        "day": week + timedelta(days=day_offset),
        "category": category,
        "team": team,
        "project": project,
        "model": model,
        "resource_id": f"i-{team}",
        "provider": provider,
        "billing_account_id": "111",
        "service_name": service,
        "billing_currency": currency,
        "is_idle": idle,
        "is_unused_commitment": False,
        "attribution_method": "usage",
        "charge_category": "Usage",
        "effective_cost": value,
        "billed_cost": value,
        "list_cost": value,
        "reporting_currency": "USD",
        "effective_cost_reporting": value if reporting == "same" else (Decimal(reporting) if reporting else None),
        "gpu_hours": gpu_hours,
        "energy_kwh": energy_kwh,
        "co2e_kg": co2e_kg,
    }


def insert_costs(con, rows: list[dict]) -> None:
    insert_frame(con, "attributed_cost", pl.DataFrame(rows, schema=ATTRIBUTED_COST_COLUMNS))


def rec_row(
    rec_id: str,
    savings: str,
    action: str,
    *,
    counted=True,
    status="new",
    group=None,
    confidence="high",
    realised: str | None = None,
    team="vision",
    evidence="0–3 % GPU busy for 131 of 168 h",
    standalone: str | None = None,
    order: int = 1,
    step: str = "remove",
    note: str = "",
) -> dict:
    return {
        "week_start": WEEK,
        "rec_id": rec_id,
        "kind": "idle_gpu",
        "strategy": "power-down of idle hardware",
        "resource_id": "i-vision",
        "team": team,
        "project": "p-vision",
        "model": "resnet",
        "monthly_savings": Decimal(savings),
        "currency": "USD",
        "formula": f"idle hours × rate = {savings}",
        "evidence": "{}",
        "evidence_text": evidence,
        "confidence": confidence,
        "confidence_reason": "a full week of metrics",
        "action": action,
        "overlap_group": group,
        "counted": counted,
        "status": status,
        "first_seen_week": WEEK - timedelta(weeks=2),
        "realised_savings": Decimal(realised) if realised else None,
        "standalone_monthly_savings": Decimal(standalone or savings),
        "plan_order": order,
        "plan_step": step,
        "plan_note": note,
        "cost_basis": '{"i-vision": "10000.00"}',
    }


def insert_recs(con, rows: list[dict]) -> None:
    insert_frame(con, "recommendations", pl.DataFrame(rows, schema=RECOMMENDATION_COLUMNS))


def reference_costs() -> list[dict]:
    """Four earlier weeks and the report week. Converted totals (USD):

    W-4: 900.00   W-3: 1,000.00   W-2: 1,100.00   W-1: 1,500.00
    W (2026-W47): training busy 1,000.50 + training idle 200.25 + inference 450.00 + storage 300.10
                  + EUR 100 converted to 108.00 = 2,058.85; plus 1,000 NOK with no rate (unconverted).
    """
    rows = []
    for weeks_back, amount in ((4, "900.00"), (3, "1000.00"), (2, "1100.00")):
        rows.append(cost_row(WEEK - timedelta(weeks=weeks_back), 2, amount))
    last = WEEK - timedelta(weeks=1)
    rows += [
        cost_row(last, 1, "1000.00", energy_kwh=400.0, co2e_kg=160.0, gpu_hours=50.0),
        cost_row(last, 2, "500.00", category="inference", team="search", project="p-search", model="llama"),
    ]
    rows += [
        cost_row(WEEK, 0, "1000.50", energy_kwh=500.0, co2e_kg=200.0, gpu_hours=60.0),
        cost_row(WEEK, 1, "200.25", idle=True, energy_kwh=100.0, co2e_kg=40.0, gpu_hours=12.0),
        cost_row(WEEK, 2, "450.00", category="inference", team="search", project="p-search", model="llama"),
        cost_row(WEEK, 3, "300.10", category="storage", team="data", project="p-data", model=None, service="Amazon S3"),
        cost_row(
            WEEK,
            3,
            "100.00",
            category="network",
            team="data",
            project="p-data",
            model=None,
            service="Data Transfer",
            currency="EUR",
            reporting="108.00",
        ),
        cost_row(
            WEEK,
            4,
            "1000.00",
            category="other",
            team="data",
            project="p-data",
            model=None,
            service="Support",
            currency="NOK",
            reporting=None,
        ),
    ]
    return rows


def reference_recs() -> list[dict]:
    """The plan's open savings: 9,800 + 80 + 1,500 = 11,380 USD/month over 3 recommendations (right-sizing
    saves 4,000 alone, 40 % of the 200 a month that powering down leaves of the 10,000 machine)."""
    return [
        rec_row("r1", "9800", "Power down 6 idle p4d nodes in team vision", group="g1"),
        rec_row(
            "r2",
            "80",
            "Right-size p4d nodes in team vision",
            group="g1",
            status="open",
            confidence="medium",
            standalone="4000",
            order=2,
            step="resize",
            note="after idle_gpu on i-vision: 2 % of the 10,000.00 / month it acts on remains; 40 % of 200.00 = 80.00",
        ),
        rec_row("r3", "1500", "Move batch inference to spot", status="open", confidence="low", team="search"),
        rec_row("r4", "700", "Tier cold training data to Glacier", status="resolved", realised="650", team="data"),
    ]


@pytest.fixture
def report_settings(tmp_path) -> Settings:
    """Settings pointing every output at the test's own folder."""
    return Settings(
        db=tmp_path / "warehouse.duckdb",
        reports=tmp_path / "reports",
        reporting_currency="USD",
        fx_rates=tmp_path / "no_rates.csv",
        mail_from="reports@example.org",
        mail_to=["cfo@example.org", "ops@example.org"],
        smtp_host="127.0.0.1",
        smtp_security="none",
        smtp_timeout_s=2.0,
    )


@pytest.fixture
def reference_warehouse(warehouse):
    """The warehouse fixture filled with the reference week."""
    insert_costs(warehouse, reference_costs())
    insert_recs(warehouse, reference_recs())
    return warehouse


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)

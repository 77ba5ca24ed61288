"""``aicost export --format focus``: the week's attributed cost as FOCUS 1.2 and 1.3, every cent once."""

from __future__ import annotations

import csv
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from flows.attribute import attribute_week
from flows.cli import main as cli
from flows.export import export_focus
from flows.ingest import ingest_files
from flows.settings import Settings

WEEK = date(2026, 11, 16)
HEADER = [
    "BilledCost",
    "EffectiveCost",
    "ListCost",
    "BillingCurrency",
    "BillingAccountId",
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ChargeCategory",
    "ChargeDescription",
    "ChargeFrequency",
    "ProviderName",
    "PublisherName",
    "InvoiceIssuerName",
    "ServiceName",
    "ServiceCategory",
    "ResourceId",
    "RegionId",
    "InvoiceId",
    "PricingCurrency",
    "Tags",
]
LINES = [
    # a GPU machine's day: 100 billed, 80 effective; a job used 8 GPUs for half of it, the rest is idle
    [
        "100",
        "80",
        "120",
        "USD",
        "acct-1",
        "2026-11-01T00:00:00Z",
        "2026-12-01T00:00:00Z",
        "2026-11-16T00:00:00Z",
        "2026-11-17T00:00:00Z",
        "Usage",
        "p4d.24xlarge On Demand Linux",
        "Usage-Based",
        "AWS",
        "AWS",
        "AWS",
        "Amazon Elastic Compute Cloud",
        "Compute",
        "i-gpu1",
        "us-east-1",
        "INV-11",
        "USD",
        "",
    ],
    # object storage for a day
    [
        "10",
        "10",
        "10",
        "USD",
        "acct-1",
        "2026-11-01T00:00:00Z",
        "2026-12-01T00:00:00Z",
        "2026-11-17T00:00:00Z",
        "2026-11-18T00:00:00Z",
        "Usage",
        "S3 Standard storage",
        "Usage-Based",
        "AWS",
        "AWS",
        "AWS",
        "Amazon Simple Storage Service",
        "Storage",
        "bucket-a",
        "us-east-1",
        "INV-11",
        "USD",
        '{"team":"data"}',
    ],
    # a monthly fee in EUR: 300 over the 30 days of November, 70 of it in the week
    [
        "300",
        "300",
        "300",
        "EUR",
        "acct-2",
        "2026-11-01T00:00:00Z",
        "2026-12-01T00:00:00Z",
        "2026-11-01T00:00:00Z",
        "2026-12-01T00:00:00Z",
        "Purchase",
        "Support plan",
        "Recurring",
        "Microsoft",
        "Microsoft",
        "Microsoft",
        "Support",
        "Other",
        "",
        "",
        "INV-12",
        "EUR",
        "",
    ],
]
JOBS = [
    "job_id,kind,team,project,model,user,resource_ids,start,end,gpus_per_node,pricing_model",
    "j1,training,research,llm,llama-8b,ana,i-gpu1,2026-11-16T00:00:00Z,2026-11-16T12:00:00Z,8,on_demand",
]
# FOCUS columns that must be present and never null (the spec's "Allows nulls: False" columns
# among those written). The 1.2 files also pass focus-validator (test_focus_validator.py), which has
# no 1.3 rule set offline: for 1.3 this is the check.
NOT_NULL = {
    "1.2": [
        "BilledCost",
        "BillingAccountId",
        "BillingCurrency",
        "BillingPeriodEnd",
        "BillingPeriodStart",
        "ChargeCategory",
        "ChargeFrequency",
        "ChargePeriodEnd",
        "ChargePeriodStart",
        "ContractedCost",
        "EffectiveCost",
        "InvoiceIssuerName",
        "ListCost",
        "ProviderName",
        "PublisherName",
        "ServiceCategory",
        "ServiceName",
        "PricingCurrency",
    ],
}
NOT_NULL["1.3"] = [*NOT_NULL["1.2"], "ServiceProviderName", "AllocatedMethodId"]
PRESENT = {
    "1.2": [
        *NOT_NULL["1.2"],
        "InvoiceId",
        "BillingAccountType",
        "SubAccountType",
        "ResourceId",
        "SkuPriceDetails",
        "Tags",
    ],
    "1.3": [
        *NOT_NULL["1.3"],
        "HostProviderName",
        "AllocatedMethodDetails",
        "AllocatedResourceId",
        "AllocatedResourceName",
        "AllocatedTags",
        "ContractApplied",
    ],
}


@pytest.fixture
def attributed_week(warehouse, tmp_path):
    bill = tmp_path / "focus-week.csv"
    with open(bill, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        writer.writerows(LINES)
    jobs = tmp_path / "jobs.csv"
    jobs.write_text("\n".join(JOBS) + "\n")
    results = ingest_files(warehouse, [bill, jobs])
    assert all(r.error is None for r in results)
    settings = Settings()
    attribute_week(warehouse, WEEK, settings)
    return warehouse, settings


def stored_totals(con) -> dict:
    rows = con.execute(
        "SELECT billing_currency, sum(billed_cost), sum(effective_cost) FROM attributed_cost "
        "WHERE week_start = ? GROUP BY ALL",
        [WEEK],
    ).fetchall()
    return {cur: (b, e) for cur, b, e in rows}


def file_totals(frame: pl.DataFrame) -> dict:
    rows = frame.group_by("BillingCurrency").agg(pl.col("BilledCost").sum(), pl.col("EffectiveCost").sum()).iter_rows()
    return {cur: (b, e) for cur, b, e in rows}


def test_export_writes_focus_1_2_and_1_3_that_add_up_to_the_week(attributed_week, tmp_path):
    con, settings = attributed_week
    expected = stored_totals(con)
    # worked by hand: USD 80 + 10 effective, 100 + 10 billed; EUR 7 of November's 30 days of 300
    assert expected == {"USD": (Decimal("110"), Decimal("90")), "EUR": (Decimal("70"), Decimal("70"))}
    out = tmp_path / "out"
    result = export_focus(con, WEEK, settings, out)
    assert set(result["files"]) == {"1.2", "1.3"}
    for version, (parquet, csv_path) in result["files"].items():
        frame = pl.read_parquet(parquet)
        assert file_totals(frame) == expected
        from_csv = pl.read_csv(csv_path, infer_schema=False).with_columns(
            pl.col("BilledCost", "EffectiveCost").cast(pl.Decimal(38, 12))
        )
        assert file_totals(from_csv) == expected and from_csv.height == frame.height
        for column in PRESENT[version]:
            assert column in frame.columns, (version, column)
        for column in NOT_NULL[version]:
            assert frame[column].null_count() == 0, (version, column)
        assert (frame["ChargePeriodStart"] < frame["ChargePeriodEnd"]).all()
        # one row per source line, day and attribution part: the GPU day is a job part and an idle part,
        # storage one day, the monthly fee seven days
        assert frame.height == 2 + 1 + 7
        gpu = frame.filter(pl.col("ResourceId") == "i-gpu1").sort("x_idle_gpu")
        assert gpu.select(
            "x_team", "x_project", "x_model", "x_category", "x_idle_gpu", "x_attribution_method"
        ).rows() == [
            ("research", "llm", "llama-8b", "training", False, "usage"),
            ("research", "unattributed", "unattributed", "training", True, "usage"),  # idle: the machine's main user
        ]
        assert gpu["EffectiveCost"].to_list() == [Decimal("40"), Decimal("40")]
        if version == "1.3":
            assert gpu["AllocatedResourceId"].to_list() == ["research/llm/llama-8b", None]  # idle: unallocated portion
            assert json.loads(gpu["AllocatedTags"][0]) == {
                "team": "research",
                "project": "llm",
                "model": "llama-8b",
                "category": "training",
            }
            assert gpu["AllocatedMethodId"].to_list() == ["aicost-usage", "aicost-usage"]
        else:
            assert "AllocatedMethodId" not in frame.columns


def test_the_exported_focus_1_3_reads_back_as_the_same_week(attributed_week, tmp_path):
    con, settings = attributed_week
    expected = stored_totals(con)
    result = export_focus(con, WEEK, settings, tmp_path / "out")
    from flows.warehouse import connect

    other = connect(tmp_path / "other.duckdb")
    try:
        [loaded] = ingest_files(other, [Path(result["files"]["1.3"][1])])
        assert loaded.error is None and loaded.source_format == "focus" and loaded.rows_rejected == 0
        rows = other.execute(
            "SELECT billing_currency, sum(billed_cost), sum(effective_cost), min(x_focus_version) FROM billing_line_items GROUP BY ALL"
        ).fetchall()
        assert {cur: (b, e) for cur, b, e, _ in rows} == expected
        assert {v for *_, v in rows} == {"1.3"}
    finally:
        other.close()


@pytest.mark.slow
def test_cli_export_and_a_stale_week_is_refused(attributed_week, tmp_path, capsys):
    con, settings = attributed_week
    db = Path(con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()[0])
    con.execute("UPDATE billing_line_items SET effective_cost = effective_cost + 1 WHERE resource_id = 'bucket-a'")
    con.close()
    out = tmp_path / "cli-out"
    code = cli(["--db", str(db), "export", "--week", "2026-W47", "--format", "focus", "--out", str(out)])
    assert code == 2
    assert "differs from its inputs now" in capsys.readouterr().err
    from flows.warehouse import connect

    again = connect(db)  # the week attributed again from its changed inputs: now the export agrees
    attribute_week(again, WEEK, settings)
    again.close()
    assert cli(["--db", str(db), "export", "--week", "2026-W47", "--out", str(out), "--json"]) == 0
    printed = capsys.readouterr().out
    assert json.loads(printed[printed.index("{") :])["totals"]["EUR"] == {
        "billed": "70.000000000000",
        "effective": "70.000000000000",
    }
    assert sorted(p.name for p in out.iterdir()) == [
        "focus-1.2-2026-W47.csv",
        "focus-1.2-2026-W47.parquet",
        "focus-1.3-2026-W47.csv",
        "focus-1.3-2026-W47.parquet",
    ]


def test_a_commitment_fee_is_a_purchase_at_effective_cost_0_and_its_unused_part_a_usage_row():
    from transforms.export_focus import split_commitment_purchases

    money = pl.Decimal(38, 12)
    rows = pl.DataFrame(
        {
            # a Savings Plan's day of recurring fee: 326.40 billed, 9.10272 of it unused (its amortised cost);
            # a support fee (no commitment): its cost stays; covered usage: untouched
            "ChargeCategory": ["Purchase", "Purchase", "Usage"],
            "ChargeFrequency": ["Recurring", "Recurring", "Usage-Based"],
            "CommitmentDiscountId": ["sp-1", None, "sp-1"],
            "CommitmentDiscountStatus": ["Unused", None, "Used"],
            "BilledCost": ["326.40", "300", "0"],
            "ContractedCost": ["326.40", "300", "0"],
            "ListCost": ["326.40", "300", "20"],
            "EffectiveCost": ["9.10272", "300", "17.5"],
        }
    ).with_columns(pl.col("BilledCost", "ContractedCost", "ListCost", "EffectiveCost").cast(money))
    out = split_commitment_purchases(rows)
    assert out.rows() == [
        ("Purchase", "Recurring", "sp-1", None, Decimal("326.40"), Decimal("326.40"), Decimal("326.40"), Decimal(0)),
        ("Purchase", "Recurring", None, None, Decimal(300), Decimal(300), Decimal(300), Decimal(300)),
        ("Usage", "Usage-Based", "sp-1", "Used", Decimal(0), Decimal(0), Decimal(20), Decimal("17.5")),
        ("Usage", "Usage-Based", "sp-1", "Unused", Decimal(0), Decimal(0), Decimal(0), Decimal("9.10272")),
    ]
    for column in ("BilledCost", "EffectiveCost", "ListCost"):
        assert out[column].sum() == rows[column].sum()


def test_each_service_name_has_the_category_of_most_of_its_cost_and_its_subcategory():
    from transforms.export_focus import one_category_per_service

    rows = pl.DataFrame(
        {
            "ServiceName": ["Amazon Elastic Compute Cloud"] * 3 + ["Amazon Simple Storage Service"] * 2 + ["Support"],
            "ServiceCategory": ["Compute", "Networking", "Networking", "Storage", "Networking", "Other"],
            # EC2: compute 100 against 30 + |-40| of transfer (a refund counts by its size): Compute;
            # S3: storage 10 and transfer 10, a tie: the first by name
            "BilledCost": ["100", "30", "-40", "10", "10", "5"],
        }
    ).with_columns(pl.col("BilledCost").cast(pl.Decimal(38, 12)))
    out = one_category_per_service(rows)
    assert out.select("ServiceName", "ServiceCategory", "ServiceSubcategory").unique(maintain_order=True).rows() == [
        ("Amazon Elastic Compute Cloud", "Compute", "Other (Compute)"),
        ("Amazon Simple Storage Service", "Networking", "Other (Networking)"),
        ("Support", "Other", "Other (Other)"),
    ]
    assert out["BilledCost"].to_list() == rows["BilledCost"].to_list()


def test_an_invoice_the_provider_issued_itself_is_named_by_the_provider_name():
    from transforms.export_focus import invoice_issuer_name

    rows = pl.DataFrame(
        {
            "provider": ["aws", "aws", "aws", "gcp", "azure", "azure", "oracle"],
            "invoice_issuer": [
                "Amazon Web Services, Inc.",
                "Amazon Web Services EMEA SARL",
                "SoftwareOne",  # a reseller invoicing AWS services: a third party, kept
                "Google",
                None,
                "Amazon Web Services, Inc.",  # not Microsoft's own entity: kept
                "Oracle",
            ],
            "ProviderName": ["AWS", "AWS", "AWS", "Google Cloud", "Microsoft", "Microsoft", "Oracle"],
        }
    )
    assert rows.select(invoice_issuer_name(pl.col("ProviderName")).alias("issuer"))["issuer"].to_list() == [
        "AWS",
        "AWS",
        "SoftwareOne",
        "Google Cloud",
        "Microsoft",
        "Amazon Web Services, Inc.",
        "Oracle",
    ]

"""render_report on a real warehouse: queries, templates, archive, escaping, empty sections."""

from __future__ import annotations

import email
import email.policy
import re
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from html.parser import HTMLParser

import polars as pl
import pytest

from flows.report import render_report
from flows.warehouse import insert_frame
from tests.report.conftest import (
    WEEK,
    XSS_ATTR,
    XSS_SCRIPT,
    cost_row,
    insert_costs,
    insert_recs,
    rec_row,
    utc,
)
from transforms.schema import BILLING_COLUMNS, GPU_METRICS_COLUMNS, conform


@pytest.mark.slow
def test_reference_week_is_archived_by_iso_week_with_the_headline(reference_warehouse, report_settings):
    report = render_report(reference_warehouse, WEEK, report_settings)
    assert report.html_path == report_settings.reports / "2026-W47.html"
    assert report.eml_path == report_settings.reports / "2026-W47.eml"
    archived = report.html_path.read_text()
    # hand-computed: 1,000.50 + 200.25 + 450.00 + 300.10 + 108.00 = 2,058.85; last week 1,500 (+37 %)
    for figure in ("$2,059", "▲ 37%", "▲ 83%", "$11,380 / month", "across 3 recommendations", "NOK 1,000"):
        assert figure in report.text
        assert figure in archived
    assert report.subject == "AI spend 2026-W47: $2,059 (▲ 37% vs last week) · $11,380/mo savings open"
    assert report.headline["spend"] == "2058.85"
    assert report.headline["unconverted"] == {"NOK": "1000"}
    # the archive opens alone: images as data: URIs; the email's HTML references them by cid:
    assert 'src="data:image/png;base64,' in archived and "cid:" not in archived
    assert re.findall(r'src="cid:([^"]+)"', report.html) == list(report.images)
    assert all(png.startswith(b"\x89PNG\r\n\x1a\n") for png in report.images.values())
    # no scripts, no external resources, CSS inlined
    for html in (report.html, archived):
        assert "<script" not in html.lower() and "<link" not in html.lower()
        assert not re.search(r'(src|href)="https?:', html)
    assert re.search(r'<td class="num" style="[^"]*text-align: right', report.html)
    # the .eml is the whole MIME message
    message = email.message_from_bytes(report.eml_path.read_bytes(), policy=email.policy.default)
    assert message["Subject"] == report.subject
    assert message.get_content_type() == "multipart/alternative"


@pytest.mark.slow
def test_the_plain_text_part_has_the_chart_as_text_and_the_ranked_recommendations(reference_warehouse, report_settings):
    text = render_report(reference_warehouse, WEEK, report_settings).text
    assert "CHART: Weekly spend by category, last 8 weeks (USD, idle GPU hatched)" in text
    assert re.search(r"2026-W46 +\$1,500 +Training \$1,000, Inference \$500", text)
    assert re.search(r"2026-W40 +no data", text)
    ranked = re.findall(r"^  \d\. \[(\w+)\] (.+?)  ", text, flags=re.M)
    assert ranked == [
        ("new", "Power down 6 idle p4d nodes in team vision"),
        ("open", "Move batch inference to spot"),
        ("open", "Right-size p4d nodes in team vision"),
        ("resolved", "Tier cold training data to Glacier"),
    ]
    assert "Right-size p4d nodes in team vision  $80/mo ($4,000/mo alone)" in text
    assert "plan step 2: resize / reschedule: after idle_gpu on i-vision" in text
    assert "(realised $650/mo)" in text


@pytest.mark.slow
def test_an_empty_week_says_so_in_every_section(warehouse, report_settings):
    report = render_report(warehouse, WEEK, report_settings)
    for message in (
        "No cost rows for this week.",
        "No open recommendations this week.",
        "No recommendations this week.",
        "No anomalies this week",
        "No commitment discounts",
        "No energy figures for this week",
        "No rows rejected.",
        "No expectation failed.",
        "No stale sources.",
    ):
        assert message in report.html, message
    assert "No recommendations this week." in report.text
    assert report.headline["spend"] == "0"
    assert report.headline["vs_last_week"] == "no data"


class _TagCounter(HTMLParser):
    """Counts the elements a browser would build, and event-handler attributes."""

    def __init__(self):
        super().__init__()
        self.counts = Counter()

    def handle_starttag(self, tag, attrs):
        self.counts[tag] += 1
        self.counts["onerror"] += sum(1 for name, _ in attrs if name.startswith("on"))


def _tags(html: str) -> Counter:
    parser = _TagCounter()
    parser.feed(html)
    return parser.counts


@pytest.mark.slow
def test_malicious_names_render_as_inert_text(warehouse, report_settings):
    insert_costs(
        warehouse,
        [
            cost_row(WEEK, 0, "100", team=XSS_SCRIPT, project=XSS_ATTR, model=XSS_ATTR),
            cost_row(WEEK - timedelta(weeks=1), 0, "50", team=XSS_SCRIPT),
        ],
    )
    insert_recs(warehouse, [rec_row("x1", "500", f"Stop {XSS_SCRIPT}", team=XSS_ATTR, evidence=XSS_ATTR)])
    report = render_report(warehouse, WEEK, report_settings)
    archived = report.html_path.read_text()
    for html in (report.html, archived):
        assert "<script>" not in html
        assert "<img src=x" not in html
        assert "onerror=alert(1)>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "&gt;&lt;img src=x onerror=alert(1)&gt;" in html
        assert _tags(html)["script"] == 0
        assert _tags(html)["img"] == 1  # the chart only
        assert not _tags(html)["onerror"]
    # the plain-text part is text/plain: the values appear verbatim and nothing interprets them
    assert XSS_SCRIPT in report.text and XSS_ATTR in report.text
    message = email.message_from_bytes(report.eml_path.read_bytes(), policy=email.policy.default)
    assert message.get_body(("plain",)).get_content_type() == "text/plain"


def test_a_week_that_is_not_a_monday_is_refused_before_anything_is_written(warehouse, report_settings):
    with pytest.raises(ValueError, match="2026-11-19 is a Thursday"):
        render_report(warehouse, date(2026, 11, 19), report_settings)
    assert not report_settings.reports.exists()


def test_exchange_rates_and_their_date_are_in_the_footer(warehouse, report_settings, tmp_path):
    rates = tmp_path / "fx_rates.csv"
    rates.write_text("currency,rate_to_reporting,as_of,source\nEUR,1.08,2026-11-01,example\n")
    settings = report_settings.model_copy(update={"fx_rates": rates})
    report = render_report(warehouse, WEEK, settings)
    assert "1 EUR = 1.08 USD (as of 2026-11-01, example)" in report.text


def _billing(**values) -> dict:
    base = {name: None for name in BILLING_COLUMNS}
    base.update(
        provider="aws",
        billing_account_id="111",
        billing_currency="USD",
        charge_category="Usage",
        source_format="aws_cur_csv",
    )
    base.update(values)
    return base


@pytest.mark.slow
def test_commitments_quality_and_staleness_from_the_warehouse(warehouse, report_settings):
    hour = utc(2026, 11, 17, 10)
    billing = pl.DataFrame(
        [
            _billing(
                charge_period_start=hour,
                charge_period_end=hour + timedelta(hours=1),
                pricing_category="Committed",
                commitment_discount_status="Used",
                service_category="Compute",
                effective_cost=Decimal("6"),
                list_cost=Decimal("10"),
            ),
            _billing(
                charge_period_start=hour,
                charge_period_end=hour + timedelta(hours=1),
                pricing_category="Standard",
                service_category="Compute",
                effective_cost=Decimal("4"),
                list_cost=Decimal("4"),
            ),
            _billing(
                charge_period_start=utc(2026, 11, 22, 23),
                charge_period_end=utc(2026, 11, 23),
                pricing_category="Committed",
                commitment_discount_status="Unused",
                service_category="Compute",
                effective_cost=Decimal("2"),
                list_cost=Decimal("2"),
            ),
        ]
    )
    insert_frame(warehouse, "billing_line_items", conform(billing.lazy(), BILLING_COLUMNS).collect())
    metrics = pl.DataFrame([{"ts": utc(2026, 11, 17), "resource_id": "i-1", "source_format": "nvidia_smi_csv"}])
    insert_frame(warehouse, "gpu_metrics", conform(metrics.lazy(), GPU_METRICS_COLUMNS).collect())
    loaded = utc(2026, 11, 23, 6)
    warehouse.execute(
        "INSERT INTO ingest_manifest VALUES ('h1', 'cur.csv', 'aws_cur_csv', 'billing_line_items', 'd1', 'i1', 5, 3, 2, $t),"
        " ('h2', 'gpu.csv', 'nvidia_smi_csv', 'gpu_metrics', NULL, 'i2', 4, 3, 1, $t)",
        {"t": loaded},
    )
    warehouse.execute(
        "INSERT INTO rejected_rows VALUES ('h1', 'cur.csv', 4, 'column BilledCost: expected a decimal number, got ''abc''', 'i1'),"
        " ('h1', 'cur.csv', 2, 'column BilledCost: expected a decimal number, got ''x''', 'i1'),"
        " ('h2', 'gpu.csv', 3, 'column utilization.gpu: expected a percentage, got ''n/a''', 'i2')"
    )
    warehouse.execute(
        "INSERT INTO dq_results VALUES ('r1', 'cur.csv', 'billing_line_items', 'not_null', 'provider', false, 2, NULL, $old),"
        " ('r2', 'cur.csv', 'billing_line_items', 'not_null', 'provider', true, 0, NULL, $t),"
        " ('r2', 'cur.csv', 'billing_line_items', 'between', 'effective_cost', false, 1, NULL, $t)",
        {"t": loaded, "old": loaded - timedelta(days=1)},
    )
    text = render_report(warehouse, WEEK, report_settings).text
    # coverage 6 / (6 + 4) = 60 %; utilisation 6 / (6 + 2) = 75 %; saved 10 - 6 = 4
    assert "USD: coverage 60%, utilisation 75%, unused $2.00, saved vs list $4.00" in text
    assert "2 files, 9 rows read: 6 loaded, 3 rejected." in text
    assert "2 rows in 1 file(s): column BilledCost: expected a decimal number (e.g. cur.csv row 2)" in text
    assert "1 of 2 expectations failed." in text  # the not_null failure was fixed by the later run
    assert "billing_line_items · between · effective_cost: 1 unexpected (cur.csv)" in text
    # gpu metrics stopped on Nov 17, six days before the week's end; billing ran to its last hour
    assert "gpu_metrics · nvidia_smi_csv: newest data 2026-11-17 00:00 UTC (6 days before the week's end)" in text
    assert "billing_line_items · aws account 111" not in text.split("Stale sources")[1]


@pytest.mark.slow
def test_report_command_renders_archives_and_returns_json_safe_results(reference_warehouse, report_settings):
    import json

    from flows.deliver import report_command

    result = report_command(WEEK, send=False, resend=False, as_json=True, settings=report_settings)
    printed = json.loads(json.dumps(result))  # nothing in it needs a custom encoder
    assert printed == result
    assert printed["summary"][0] == "AI spend 2026-W47: $2,059 (▲ 37% vs last week) · $11,380/mo savings open"
    assert printed["week"] == "2026-W47"
    assert printed["headline"]["spend"] == "2058.85" and printed["headline"]["open_recommendations"] == 3
    assert [a["action"] for a in printed["top_actions"]] == [
        "Power down 6 idle p4d nodes in team vision",
        "Move batch inference to spot",
        "Right-size p4d nodes in team vision",
    ]
    assert printed["delivery"]["sent"] is False
    assert (report_settings.reports / "2026-W47.html").is_file()

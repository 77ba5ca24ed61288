"""Prefect: the markdown artifact (its text, its publication in a flow run) and the SMTP secret block."""

from __future__ import annotations

import re

import pytest
from prefect import flow
from prefect.artifacts import Artifact

from flows.deliver import artifact_key, artifact_markdown, deliver_report, publish_artifact
from flows.report import render_report
from tests.report.conftest import WEEK, XSS_SCRIPT, insert_recs, rec_row


@pytest.mark.slow
def test_the_markdown_has_the_headline_top_actions_and_where_the_report_is(reference_warehouse, report_settings):
    report = render_report(reference_warehouse, WEEK, report_settings)
    delivery = deliver_report(reference_warehouse, report, report_settings, send=False)
    text = artifact_markdown(report, delivery)
    assert artifact_key(report) == "ai-cost-report-2026-w47"
    assert text.startswith("# AI spend, week 2026-W47\n")
    assert "**$2,059** (USD, amortised) · ▲ 37% vs last week · ▲ 83% vs 4-week average" in text
    assert "Open savings: **$11,380 / month** across 3 recommendations" in text
    assert "Not converted (no exchange rate): 1000 NOK" in text
    assert "1. Power down 6 idle p4d nodes in team vision: **$9,800/mo** (high)" in text
    assert "2. Move batch inference to spot: **$1,500/mo** (low)" in text
    assert f"- HTML: `{report.html_path}`" in text
    assert "- Email: not sent: sending was not requested (archived only)" in text


def test_user_text_is_inert_in_the_markdown(warehouse, report_settings):
    insert_recs(warehouse, [rec_row("x", "10", f"Stop {XSS_SCRIPT} [link](http://x) *now*")])
    report = render_report(warehouse, WEEK, report_settings)
    text = artifact_markdown(report, deliver_report(warehouse, report, report_settings, send=False))
    assert "<script>" not in text
    assert not re.search(r"(?<!\\)\]\(", text), "an unescaped Markdown link survived"
    assert "&lt;script&gt;alert(1)&lt;/script&gt; \\[link\\](http://x) \\*now\\*" in text


@pytest.fixture(scope="module")
def prefect_api():
    from prefect.testing.utilities import prefect_test_harness  # imports Prefect's server: only when used

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.mark.slow
def test_the_artifact_is_published_inside_a_flow_run(prefect_api, reference_warehouse, report_settings):
    report = render_report(reference_warehouse, WEEK, report_settings)
    delivery = deliver_report(reference_warehouse, report, report_settings, send=False)

    @flow
    def publish() -> None:
        publish_artifact(report, delivery)

    publish()
    stored = Artifact.get("ai-cost-report-2026-w47")
    assert stored is not None and stored.type == "markdown"
    assert stored.data == artifact_markdown(report, delivery)
    assert stored.flow_run_id is not None


@pytest.mark.slow
def test_the_smtp_password_can_come_from_a_prefect_secret_block(prefect_api, report_settings):
    from prefect.blocks.system import Secret

    from flows.deliver import DeliveryError, smtp_password
    from flows.settings import Settings

    Secret(value="from-the-block-123").save("aicost-smtp-test", overwrite=True)
    settings = Settings(
        **{
            **report_settings.model_dump(),
            "smtp_user": "reporter",
            "smtp_password": None,
            "smtp_secret_block": "aicost-smtp-test",
        }
    )
    assert smtp_password(settings) == "from-the-block-123"
    missing = Settings(**{**settings.model_dump(), "smtp_secret_block": "no-such-block"})
    with pytest.raises(
        DeliveryError, match="could not load the SMTP password from Prefect Secret block 'no-such-block'"
    ):
        smtp_password(missing)

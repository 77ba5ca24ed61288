"""Render the weekly report: query the warehouse, build the context, draw charts, fill templates, archive."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

import css_inline
import duckdb
import polars as pl
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from flows import PROJECT_ROOT
from flows.charts import weekly_spend_chart
from flows.forecast import load_economics
from flows.settings import Settings
from flows.warehouse import query
from transforms.report import SPEND_CHART_CID, TOP_REASONS, build_context
from transforms.weeks import TREND_WEEKS, iso_week_label, require_monday, trend_weeks, week_bounds

TEMPLATES_DIR = PROJECT_ROOT / "templates"
REFUSALS_DAYS = 7  # the report lists files refused in this many days before it was generated
_INLINER = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)


@dataclass
class RenderedReport:
    """One week's report, rendered and archived."""

    week_start: date
    subject: str
    html: str  # for email: CSS inlined, images as cid: references
    text: str  # the plain-text alternative
    images: dict[str, bytes]  # Content-ID (without <>) -> PNG
    headline: dict
    html_path: Path  # archived HTML, images embedded as data: URIs
    eml_path: Path  # archived MIME message
    top_actions: list[dict] = field(default_factory=list)
    eml: bytes = b""  # the MIME message, built once at render: archived as eml_path and sent as is

    @property
    def week_label(self) -> str:
        """``2026-W47``."""
        return iso_week_label(self.week_start)


def _environment(autoescape: bool) -> Environment:
    """Jinja environment over templates/: HTML autoescaped, text not (it is sent as text/plain)."""
    return Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=autoescape,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def load_report_frames(con: duckdb.DuckDBPyConnection, week_start: date, cutoff: datetime) -> dict[str, pl.DataFrame]:
    """Every query the report needs, run with bound parameters."""
    week_begin, week_end = week_bounds(week_start)
    return {
        "cost": query(con, "report_cost", {"first_week": trend_weeks(week_start)[0], "week_start": week_start}),
        "recs": query(con, "recommendations_week", {"week_start": week_start}),
        "accuracy": query(
            con,
            "report_savings_accuracy",
            {"first_week": week_start - timedelta(weeks=TREND_WEEKS), "week_start": week_start},
        ),
        "commitment_rows": query(con, "report_commitments", {"week_begin": week_begin, "week_end": week_end}),
        "ingest": query(con, "report_ingest", {"cutoff": cutoff}),
        "rejections": query(con, "report_rejections", {"cutoff": cutoff, "limit": TOP_REASONS}),
        "dq": query(con, "report_dq_latest", {"cutoff": cutoff}),
        "freshness": query(con, "report_source_freshness", {"week_end": week_end}),
        "deliveries": query(con, "report_delivery_decisions", {"since": week_begin, "cutoff": cutoff, "limit": 20}),
        "refusals": query(con, "report_refusals", {"since": cutoff - timedelta(days=REFUSALS_DAYS), "cutoff": cutoff}),
        "economics": load_economics(con, week_start),
    }


def load_fx_rates(path: Path) -> pl.DataFrame | None:
    """The user's exchange-rate table (currency, rate_to_reporting, as_of, source), or None if absent."""
    if not Path(path).is_file():
        return None
    rates = pl.read_csv(path, infer_schema=False, comment_prefix="#")
    needed = {"currency", "rate_to_reporting"}
    if not needed <= set(rates.columns):
        raise ValueError(
            f"{path}: expected columns currency,rate_to_reporting[,as_of,source], got {','.join(rates.columns)}"
        )
    return rates


def render_html(context: dict, image_sources: dict[str, str], css: str) -> str:
    """The HTML report with CSS inlined; ``image_sources`` maps each Content-ID to its src."""
    html = _environment(True).get_template("report.html.j2").render(**context, images=image_sources, css=Markup(css))
    return _INLINER.inline(html)


def render_text(context: dict) -> str:
    """The plain-text alternative."""
    return _environment(False).get_template("report.txt.j2").render(**context)


def data_uri(png: bytes) -> str:
    """A PNG as a ``data:`` URI, so the archived HTML opens on its own."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def write_atomically(path: Path, data: bytes) -> None:
    """Write a file whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    os.replace(partial, path)


def _headline_summary(context: dict) -> dict:
    """The headline as plain values (strings), for the CLI's JSON, the artifact and the flow's result."""
    head = context["headline"]
    return {
        "week": context["week_label"],
        "currency": context["currency"],
        "spend": head["spend_exact"],
        "spend_display": head["spend"],
        "vs_last_week": head["vs_last_week"]["text"],
        "vs_last_week_pct": head["vs_last_week"]["pct"],
        "vs_four_week_average": head["vs_four_week"]["text"],
        "vs_four_week_average_pct": head["vs_four_week"]["pct"],
        "open_savings_monthly": head["open_savings_exact"],
        "open_savings_display": head["open_savings"],
        "open_recommendations": head["open_count"],
        "unconverted": {u["currency"]: u["amount_exact"] for u in head["unconverted"]},
    }


def _mail_domain(settings: Settings) -> str:
    """The sender's domain, for Message-IDs."""
    return settings.mail_from.rpartition("@")[2] or "localhost"


def build_message(report: RenderedReport, settings: Settings) -> EmailMessage:
    """multipart/alternative[text/plain, multipart/related[text/html, image/png...]] with headers."""
    message = EmailMessage()
    message["Subject"] = report.subject
    message["From"] = settings.mail_from
    if settings.mail_to:
        message["To"] = ", ".join(settings.mail_to)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=_mail_domain(settings))
    message.set_content(report.text)
    message.add_alternative(report.html, subtype="html")
    html_part = message.get_payload()[1]
    for cid, png in report.images.items():
        html_part.add_related(
            png,
            maintype="image",
            subtype="png",
            cid=f"<{cid}>",
            filename=f"{cid.partition('@')[0]}.png",
            disposition="inline",
        )
    return message


def render_report(con: duckdb.DuckDBPyConnection, week_start: date, settings: Settings) -> RenderedReport:
    """Query, build, render and archive the report of the ISO week starting ``week_start``."""
    require_monday(week_start)
    now = datetime.now(timezone.utc)
    frames = load_report_frames(con, week_start, now)
    context = build_context(
        week_start=week_start,
        currency=settings.reporting_currency,
        fx_rates=load_fx_rates(settings.fx_rates),
        generated_at=now,
        stale_after_days=settings.report_stale_after_days,
        **frames,
    )
    series = context.pop("series")
    images = {SPEND_CHART_CID: weekly_spend_chart(series, settings.reporting_currency, context["chart"]["title"])}
    css = (TEMPLATES_DIR / "report.css").read_text()
    label = context["week_label"]
    archive = Path(settings.reports)
    report = RenderedReport(
        week_start=week_start,
        subject=context["subject"],
        html=render_html(context, {cid: f"cid:{cid}" for cid in images}, css),
        text=render_text(context),
        images=images,
        headline=_headline_summary(context),
        html_path=archive / f"{label}.html",
        eml_path=archive / f"{label}.eml",
        top_actions=context["recommendations"]["top"],
    )
    archived_html = render_html(context, {cid: data_uri(png) for cid, png in images.items()}, css)
    write_atomically(report.html_path, archived_html.encode("utf-8"))
    report.eml = bytes(build_message(report, settings))
    write_atomically(report.eml_path, report.eml)  # the one write: delivery sends these bytes
    return report

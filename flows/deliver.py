"""Deliver the weekly report: SMTP with retries, the archive, the ledger, the artifact, ``aicost report``.

The MIME message is built once, by flows/report.py when it renders and archives the report: what is
sent is the archived .eml, byte for byte (this module imports flows.report, never the reverse).

Temporary SMTP failures (connection refused or reset, timeouts, 4xx replies) are retried with
exponential backoff; permanent ones (5xx replies, authentication, TLS) fail at once. The report is
archived before any attempt, so a failed send never loses it. The password comes from
``settings.smtp_password`` or a Prefect Secret block and is never logged or written.
"""

from __future__ import annotations

import ipaddress
import logging
import smtplib
import ssl
import time
from datetime import date, datetime, timezone
from email import message_from_bytes, policy
from email.message import EmailMessage

import duckdb

from flows.report import RenderedReport, build_message, render_report, write_atomically
from flows.settings import Settings
from flows.warehouse import opened, query, sql_text
from transforms.weeks import require_monday

SEND_ATTEMPTS = 4
BACKOFF_S = 2.0  # waits 2, 4, 8 s between attempts
SECURITY_MODES = ("starttls", "ssl", "none")


class DeliveryError(RuntimeError):
    """The report could not be sent; the message says why and whether it was retried."""


def _logger() -> logging.Logger | logging.LoggerAdapter:
    """Prefect's run logger inside a flow or task, the module logger elsewhere."""
    try:
        from prefect import get_run_logger

        return get_run_logger()
    except Exception:  # outside a Prefect run
        return logging.getLogger("aicost.deliver")


# --------------------------------------------------------------------------------------------
# SMTP
# --------------------------------------------------------------------------------------------
def smtp_password(settings: Settings) -> str | None:
    """The SMTP password from settings or the Prefect Secret block; None when no login is configured."""
    if not settings.smtp_user:
        return None
    if settings.smtp_password is not None:
        return settings.smtp_password.get_secret_value()
    if settings.smtp_secret_block:
        try:
            from prefect.blocks.system import Secret

            return Secret.load(settings.smtp_secret_block).get()
        except Exception as exc:
            raise DeliveryError(
                f"could not load the SMTP password from Prefect Secret block '{settings.smtp_secret_block}': "
                f"{type(exc).__name__}"
            ) from None
    raise DeliveryError(
        "AICOST_SMTP_USER is set but no password is configured: set AICOST_SMTP_PASSWORD or "
        "AICOST_SMTP_SECRET_BLOCK (the name of a Prefect Secret block)"
    )


def _is_loopback(host: str) -> bool:
    """Whether the SMTP server is this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_smtp_settings(settings: Settings) -> None:
    """Refuse a configuration that cannot send, or would send a password in clear text."""
    if not settings.smtp_host:
        raise DeliveryError("cannot send: no SMTP server configured (set AICOST_SMTP_HOST)")
    if not settings.mail_to:
        raise DeliveryError("cannot send: no recipients configured (set AICOST_MAIL_TO, a JSON list)")
    if settings.smtp_security not in SECURITY_MODES:
        raise DeliveryError(
            f"AICOST_SMTP_SECURITY must be one of {', '.join(SECURITY_MODES)}, got '{settings.smtp_security}'"
        )
    if settings.smtp_security == "none" and settings.smtp_user and not _is_loopback(settings.smtp_host):
        raise DeliveryError(
            f"refusing to send the SMTP password to {settings.smtp_host} without TLS: "
            "set AICOST_SMTP_SECURITY to starttls or ssl"
        )


def is_temporary(exc: BaseException) -> bool:
    """Whether an SMTP failure is worth retrying: connection trouble, timeouts, 4xx replies."""
    if isinstance(exc, smtplib.SMTPAuthenticationError | smtplib.SMTPNotSupportedError | ssl.SSLError):
        return False
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    return isinstance(exc, smtplib.SMTPServerDisconnected | OSError | TimeoutError)


def describe(exc: BaseException) -> str:
    """A failure in one line, from what the server said (never from our own credentials)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "recipients refused: " + "; ".join(
            f"{rcpt}: {code} {reply.decode(errors='replace')}" for rcpt, (code, reply) in exc.recipients.items()
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        reply = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"server replied {exc.smtp_code} {reply}"
    if isinstance(exc, TimeoutError):
        return f"timed out ({type(exc).__name__})"
    return f"{type(exc).__name__}: {exc}"


def _send_once(message: EmailMessage, settings: Settings, password: str | None) -> dict:
    """One SMTP session; returns the recipients the server refused (others were accepted)."""
    context = ssl.create_default_context()
    if settings.smtp_security == "ssl":
        smtp = smtplib.SMTP_SSL(
            settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_s, context=context
        )
    else:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_s)
    with smtp:
        if settings.smtp_security == "starttls":
            smtp.starttls(context=context)
        if settings.smtp_user:
            smtp.login(settings.smtp_user, password or "")
        return smtp.send_message(message, from_addr=settings.mail_from, to_addrs=list(settings.mail_to))


def send_with_retries(
    message: EmailMessage,
    settings: Settings,
    password: str | None,
    *,
    attempts: int = SEND_ATTEMPTS,
    backoff_s: float = BACKOFF_S,
    sleep=time.sleep,
) -> dict:
    """Send, retrying temporary failures with exponential backoff; DeliveryError when it cannot."""
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    log = _logger()
    for attempt in range(1, attempts + 1):
        try:
            return _send_once(message, settings, password)
        except Exception as exc:
            reason = describe(exc)
            if not is_temporary(exc):
                raise DeliveryError(f"permanent failure sending to {where}: {reason} (not retried)") from None
            if attempt == attempts:
                raise DeliveryError(
                    f"could not send to {where} after {attempts} attempts; last temporary failure: {reason}"
                ) from None
            delay = backoff_s * 2 ** (attempt - 1)
            log.warning(
                "SMTP attempt %d/%d to %s failed (%s); retrying in %.1f s", attempt, attempts, where, reason, delay
            )
            sleep(delay)
    raise AssertionError("unreachable")


# --------------------------------------------------------------------------------------------
# Archive and ledger
# --------------------------------------------------------------------------------------------
def archive(report: RenderedReport) -> None:
    """Make sure the HTML and .eml are on disk (render_report wrote both; the .eml again only if it went missing)."""
    if not report.html_path.exists():
        raise DeliveryError(f"the archived report {report.html_path} is missing: render the report again")
    if not report.eml_path.exists():
        write_atomically(report.eml_path, report.eml)


def archived_message(report: RenderedReport) -> EmailMessage:
    """The message render_report built and archived, to be sent as it is."""
    return message_from_bytes(report.eml, policy=policy.default)


def last_delivery(con: duckdb.DuckDBPyConnection, week_start) -> dict | None:
    """The latest ledger entry for the week, or None."""
    rows = query(con, "report_ledger_last", {"week_start": week_start})
    return rows.row(0, named=True) if rows.height else None


def record_delivery(
    con: duckdb.DuckDBPyConnection, report: RenderedReport, recipients: list[str], message_id: str, sent_at: datetime
) -> None:
    """Append one sent report to the ledger."""
    con.execute(
        sql_text("report_ledger_record"),
        {
            "week_start": report.week_start,
            "recipients": ", ".join(recipients),
            "message_id": message_id,
            "sent_at": sent_at,
            "html_path": str(report.html_path),
            "eml_path": str(report.eml_path),
        },
    )


def deliver_report(
    con: duckdb.DuckDBPyConnection,
    report: RenderedReport,
    settings: Settings,
    *,
    send: bool,
    resend: bool = False,
    attempts: int = SEND_ATTEMPTS,
    backoff_s: float = BACKOFF_S,
) -> dict:
    """Archive the report, then (when ``send``) email it once per week unless ``resend``."""
    archive(report)
    result = {
        "sent": False,
        "reason": "",
        "message_id": None,
        "recipients": list(settings.mail_to),
        "html_path": str(report.html_path),
        "eml_path": str(report.eml_path),
    }
    if not send:
        return {**result, "reason": "not sent: sending was not requested (archived only)"}
    previous = last_delivery(con, report.week_start)
    if previous and not resend:
        return {
            **result,
            "message_id": previous["message_id"],
            "reason": (
                f"already sent on {previous['sent_at']:%Y-%m-%d %H:%M} UTC to {previous['recipients']}; "
                "use --resend to send it again"
            ),
        }
    check_smtp_settings(settings)
    password = smtp_password(settings)
    message = archived_message(report)
    if previous and previous["message_id"] == message["Message-ID"]:
        # a resend of the very message already sent is a new message: new Message-ID and Date, archived
        report.eml = bytes(build_message(report, settings))
        write_atomically(report.eml_path, report.eml)
        message = archived_message(report)
    refused = send_with_retries(message, settings, password, attempts=attempts, backoff_s=backoff_s)
    accepted = [r for r in settings.mail_to if r not in refused]
    sent_at = datetime.now(timezone.utc)
    record_delivery(con, report, accepted, message["Message-ID"], sent_at)
    _logger().info(
        "report %s sent to %s via %s:%s", report.week_label, ", ".join(accepted), settings.smtp_host, settings.smtp_port
    )
    reason = "sent" + (f"; refused by the server: {', '.join(refused)}" if refused else "")
    return {**result, "sent": True, "reason": reason, "message_id": message["Message-ID"], "recipients": accepted}


# --------------------------------------------------------------------------------------------
# Prefect artifact
# --------------------------------------------------------------------------------------------
def artifact_key(report: RenderedReport) -> str:
    """``ai-cost-report-2026-w47``: lower-case letters, digits and dashes as Prefect requires."""
    return f"ai-cost-report-{report.week_label.lower()}"


def _md(text: str) -> str:
    """User text made inert in Markdown: HTML and Markdown syntax characters escaped."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for char in "\\`*_[]|#":
        text = text.replace(char, "\\" + char)
    return text.replace("\n", " ")


def artifact_markdown(report: RenderedReport, delivery: dict) -> str:
    """The artifact's text: headline, top 3 actions, where the report is and whether it was sent."""
    head = report.headline
    lines = [
        f"# AI spend, week {report.week_label}",
        "",
        f"**{head['spend_display']}** ({head['currency']}, amortised) · {head['vs_last_week']} vs last week · "
        f"{head['vs_four_week_average']} vs 4-week average",
        "",
        f"Open savings: **{head['open_savings_display']} / month** across {head['open_recommendations']} recommendations",
    ]
    if head["unconverted"]:
        lines += [
            "",
            "Not converted (no exchange rate): " + ", ".join(f"{v} {k}" for k, v in head["unconverted"].items()),
        ]
    lines += ["", "## Top 3 actions", ""]
    if report.top_actions:
        lines += [
            f"{i}. {_md(a['action'])}: **{a['savings']}** ({a['confidence_key']}); evidence: {_md(a['evidence'])}"
            for i, a in enumerate(report.top_actions, start=1)
        ]
    else:
        lines.append("No open recommendations this week.")
    lines += [
        "",
        "## Report",
        "",
        f"- HTML: `{delivery['html_path']}`",
        f"- Email (.eml): `{delivery['eml_path']}`",
        f"- Email: {'sent to ' + ', '.join(delivery['recipients']) if delivery['sent'] else _md(delivery['reason'])}",
    ]
    return "\n".join(lines) + "\n"


def publish_artifact(report: RenderedReport, delivery: dict) -> None:
    """Publish the report's summary as a Prefect markdown artifact (call inside a flow run)."""
    from prefect.artifacts import create_markdown_artifact

    create_markdown_artifact(
        markdown=artifact_markdown(report, delivery),
        key=artifact_key(report),
        description=f"AI cost report {report.week_label}: {report.subject}",
    )


# --------------------------------------------------------------------------------------------
# The `aicost report` command: render, archive, maybe send
# --------------------------------------------------------------------------------------------
def report_command(week_start: date, send: bool, resend: bool, as_json: bool, settings: Settings) -> dict:
    """``aicost report --week YYYY-MM-DD [--send] [--resend] [--json]``: render, archive, maybe send.

    Returns a JSON-safe summary (the CLI prints it; ``as_json`` is the CLI's choice of format, so this
    function prints nothing either way); ``summary`` holds the same as readable lines.
    """
    require_monday(week_start)
    with opened(settings.db, lock_timeout_s=settings.lock_timeout_s) as con:
        report = render_report(con, week_start, settings)
        delivery = deliver_report(con, report, settings, send=send, resend=resend)
    head = report.headline
    summary = [
        report.subject,
        f"spend {head['spend_display']} ({head['vs_last_week']} vs last week, "
        f"{head['vs_four_week_average']} vs 4-week average)",
        f"open savings {head['open_savings_display']}/month across {head['open_recommendations']} recommendations",
        f"archived: {delivery['html_path']} and {delivery['eml_path']}",
        f"email: {'sent to ' + ', '.join(delivery['recipients']) if delivery['sent'] else delivery['reason']}",
    ]
    return {
        "week": report.week_label,
        "subject": report.subject,
        "headline": head,
        "top_actions": [
            {"action": a["action"], "savings": a["savings"], "confidence": a["confidence_key"]}
            for a in report.top_actions
        ],
        "delivery": delivery,
        "summary": summary,
    }

"""Delivery over a real SMTP server (aiosmtpd on 127.0.0.1): MIME structure, retries, failures, ledger, secrets."""

from __future__ import annotations

import email
import email.policy
import logging
import re
import socket
from contextlib import contextmanager
from decimal import Decimal

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from flows.deliver import DeliveryError, deliver_report
from flows.report import render_report
from flows.settings import Settings
from tests.report.conftest import WEEK

pytestmark = pytest.mark.slow  # generates a sample company or runs SMTP servers: seconds a test

PASSWORD = "s3cr3t-Pa55!word"


class Inbox:
    """An aiosmtpd handler that answers DATA with scripted replies first, then accepts."""

    def __init__(self, replies: list[str] | None = None):
        self.replies = list(replies or [])
        self.data_calls = 0
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.data_calls += 1
        if self.replies:
            return self.replies.pop(0)
        self.envelopes.append(envelope)
        return "250 Message accepted"


class PasswordCheck:
    """An authenticator accepting one user and password; remembers what it was given."""

    def __init__(self):
        self.logins = []

    def __call__(self, server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword):
            self.logins.append((auth_data.login.decode(), auth_data.password.decode()))
            ok = auth_data.login == b"reporter" and auth_data.password == PASSWORD.encode()
            return AuthResult(success=ok, handled=False)  # unhandled failure: the server answers 535
        return AuthResult(success=False, handled=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def smtp_server(handler, **kwargs):
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def configured(settings: Settings, changes: dict) -> Settings:
    """The settings with some values changed, validated again (so a password becomes a SecretStr)."""
    return Settings(**{**settings.model_dump(), **changes})


def ledger(con) -> list[tuple]:
    return con.sql("SELECT week_start, recipients, message_id FROM report_deliveries ORDER BY sent_at").fetchall()


@pytest.fixture
def rendered(reference_warehouse, report_settings):
    return render_report(reference_warehouse, WEEK, report_settings)


# ------------------------------------------------------------------------------------------------
def test_the_server_receives_the_whole_report(reference_warehouse, report_settings, rendered):
    inbox = Inbox()
    with smtp_server(inbox) as port:
        settings = configured(report_settings, {"smtp_port": port})
        result = deliver_report(reference_warehouse, rendered, settings, send=True)
    assert result["sent"] is True and result["reason"] == "sent"
    [envelope] = inbox.envelopes
    assert envelope.mail_from == "reports@example.org"
    assert envelope.rcpt_tos == ["cfo@example.org", "ops@example.org"]
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert message["Subject"] == rendered.subject
    assert message["To"] == "cfo@example.org, ops@example.org"
    assert message["Message-ID"].strip() == result["message_id"]
    assert message["Date"]
    # multipart/alternative[text/plain, multipart/related[text/html, image/png...]]
    assert message.get_content_type() == "multipart/alternative"
    plain, related = message.get_payload()
    assert plain.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    html_part, *images = related.get_payload()
    assert html_part.get_content_type() == "text/html"
    assert images and all(part.get_content_type() == "image/png" for part in images)
    attached = {part["Content-ID"].strip("<>"): part.get_content() for part in images}
    html = html_part.get_content()
    referenced = set(re.findall(r'src="cid:([^"]+)"', html))
    assert referenced and referenced <= set(attached)
    assert all(png.startswith(b"\x89PNG") for png in attached.values())
    # headline figures, by hand from the rows inserted (conftest.reference_costs / reference_recs)
    spend = Decimal("1000.50") + Decimal("200.25") + Decimal("450.00") + Decimal("300.10") + Decimal("108.00")
    change_pct = (spend - Decimal("1500")) / Decimal("1500") * 100
    assert (spend, round(change_pct)) == (Decimal("2058.85"), 37)
    text = plain.get_content()
    for figure in ("$2,059", "▲ 37%", "$11,380 / month", "across 3 recommendations", "NOK 1,000"):
        assert figure in text
        assert figure in html
    # the archived .eml is the message that was sent
    archived = email.message_from_bytes(rendered.eml_path.read_bytes(), policy=email.policy.default)
    assert archived["Message-ID"].strip() == result["message_id"]
    assert ledger(reference_warehouse) == [(WEEK, "cfo@example.org, ops@example.org", result["message_id"])]


def test_a_temporary_refusal_is_retried_then_sent(reference_warehouse, report_settings, rendered, caplog):
    inbox = Inbox(["451 4.3.0 Mailbox busy, try again later"])
    with smtp_server(inbox) as port, caplog.at_level(logging.WARNING):
        settings = configured(report_settings, {"smtp_port": port})
        result = deliver_report(reference_warehouse, rendered, settings, send=True, backoff_s=0.01)
    assert result["sent"] is True
    assert inbox.data_calls == 2 and len(inbox.envelopes) == 1
    assert "SMTP attempt 1/4" in caplog.text and "451" in caplog.text


def test_a_permanent_refusal_fails_clearly_at_once_and_keeps_the_archive(
    reference_warehouse, report_settings, rendered
):
    inbox = Inbox(["550 5.7.1 Message rejected by policy"])
    with smtp_server(inbox) as port:
        settings = configured(report_settings, {"smtp_port": port})
        with pytest.raises(
            DeliveryError, match=r"permanent failure .*550 5\.7\.1 Message rejected by policy \(not retried\)"
        ):
            deliver_report(reference_warehouse, rendered, settings, send=True, backoff_s=0.01)
    assert inbox.data_calls == 1
    assert rendered.html_path.is_file() and rendered.eml_path.is_file()
    assert ledger(reference_warehouse) == []


def test_a_server_that_is_down_is_retried_then_fails_clearly(reference_warehouse, report_settings, rendered):
    settings = configured(report_settings, {"smtp_port": free_port()})  # nothing listens there
    with pytest.raises(DeliveryError, match=r"after 3 attempts; last temporary failure: ConnectionRefusedError"):
        deliver_report(reference_warehouse, rendered, settings, send=True, attempts=3, backoff_s=0.01)
    assert rendered.html_path.is_file() and rendered.eml_path.is_file()
    assert ledger(reference_warehouse) == []


def test_a_server_that_never_answers_times_out_is_retried_then_fails(reference_warehouse, report_settings, rendered):
    with socket.socket() as silent:  # accepts connections (backlog) but never greets
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        settings = configured(report_settings, {"smtp_port": silent.getsockname()[1], "smtp_timeout_s": 0.3})
        with pytest.raises(DeliveryError, match=r"after 2 attempts; last temporary failure: .*timed out"):
            deliver_report(reference_warehouse, rendered, settings, send=True, attempts=2, backoff_s=0.01)
    assert rendered.html_path.is_file()
    assert ledger(reference_warehouse) == []


def test_a_week_already_sent_is_not_sent_again_unless_resend(reference_warehouse, report_settings, rendered):
    inbox = Inbox()
    with smtp_server(inbox) as port:
        settings = configured(report_settings, {"smtp_port": port})
        first = deliver_report(reference_warehouse, rendered, settings, send=True)
        second = deliver_report(reference_warehouse, rendered, settings, send=True)
        assert len(inbox.envelopes) == 1
        assert second["sent"] is False
        assert second["reason"].startswith("already sent on ") and "use --resend" in second["reason"]
        assert second["message_id"] == first["message_id"]
        third = deliver_report(reference_warehouse, rendered, settings, send=True, resend=True)
    assert third["sent"] is True and len(inbox.envelopes) == 2
    assert third["message_id"] != first["message_id"]
    assert [row[2] for row in ledger(reference_warehouse)] == [first["message_id"], third["message_id"]]


def test_not_sending_only_archives(reference_warehouse, report_settings, rendered):
    result = deliver_report(reference_warehouse, rendered, report_settings, send=False)
    assert result["sent"] is False and "not requested" in result["reason"]
    assert result["html_path"] == str(rendered.html_path) and rendered.eml_path.is_file()
    assert ledger(reference_warehouse) == []


def test_the_password_is_used_but_never_logged_or_written(reference_warehouse, report_settings, rendered, caplog):
    check = PasswordCheck()
    inbox = Inbox(["451 4.3.0 try again"])
    with smtp_server(inbox, authenticator=check, auth_require_tls=False) as port, caplog.at_level(logging.DEBUG):
        settings = configured(report_settings, {"smtp_port": port, "smtp_user": "reporter", "smtp_password": PASSWORD})
        result = deliver_report(reference_warehouse, rendered, settings, send=True, backoff_s=0.01)
        wrong = configured(settings, {"smtp_password": "not-the-password"})
        with pytest.raises(DeliveryError, match=r"permanent failure .*535") as failure:
            deliver_report(reference_warehouse, rendered, wrong, send=True, resend=True, backoff_s=0.01)
    assert result["sent"] is True
    assert ("reporter", PASSWORD) in check.logins  # it was really used
    assert PASSWORD not in caplog.text and "not-the-password" not in str(failure.value)
    for path in report_settings.reports.rglob("*"):
        assert PASSWORD.encode() not in path.read_bytes(), path
    assert PASSWORD not in repr(settings)
    assert all(PASSWORD not in str(value) for row in ledger(reference_warehouse) for value in row)
    assert PASSWORD.encode() not in inbox.envelopes[0].content


def test_credentials_are_not_sent_in_clear_text_to_a_remote_server(reference_warehouse, report_settings, rendered):
    settings = configured(
        report_settings,
        {"smtp_host": "mail.example.org", "smtp_user": "reporter", "smtp_password": PASSWORD, "smtp_security": "none"},
    )
    with pytest.raises(DeliveryError, match="refusing to send the SMTP password to mail.example.org without TLS"):
        deliver_report(reference_warehouse, rendered, settings, send=True)


def test_sending_without_a_server_or_recipients_says_what_to_set(reference_warehouse, report_settings, rendered):
    with pytest.raises(DeliveryError, match="set AICOST_SMTP_HOST"):
        deliver_report(reference_warehouse, rendered, configured(report_settings, {"smtp_host": None}), send=True)
    with pytest.raises(DeliveryError, match="set AICOST_MAIL_TO"):
        deliver_report(reference_warehouse, rendered, configured(report_settings, {"mail_to": []}), send=True)


def test_the_eml_is_written_once_at_render_and_is_the_message_sent(reference_warehouse, report_settings, rendered):
    archived = rendered.eml_path.read_bytes()
    written = rendered.eml_path.stat()
    inbox = Inbox()
    with smtp_server(inbox) as port:
        settings = configured(report_settings, {"smtp_port": port})
        result = deliver_report(reference_warehouse, rendered, settings, send=True)
    assert result["sent"] is True
    after = rendered.eml_path.stat()
    # write_atomically replaces the file: a second write would give it a new inode and time
    assert (after.st_ino, after.st_mtime_ns) == (written.st_ino, written.st_mtime_ns)
    assert rendered.eml_path.read_bytes() == archived
    [envelope] = inbox.envelopes
    assert envelope.content.replace(b"\r\n", b"\n") == archived.replace(b"\r\n", b"\n")
    assert email.message_from_bytes(archived, policy=email.policy.default)["Message-ID"].strip() == result["message_id"]

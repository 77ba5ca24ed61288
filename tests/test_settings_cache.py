"""Settings are read once per state of the environment: a changed variable or ``.env`` file is seen at once."""

from __future__ import annotations

import os

from flows.settings import get_settings


def test_settings_follow_the_environment_and_the_dotenv_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AICOST_REPORT_STALE_AFTER_DAYS", raising=False)
    first = get_settings()
    assert first.report_stale_after_days == 3
    assert get_settings() is first  # the same state: not built again

    monkeypatch.setenv("AICOST_REPORT_STALE_AFTER_DAYS", "5")
    assert get_settings().report_stale_after_days == 5
    monkeypatch.delenv("AICOST_REPORT_STALE_AFTER_DAYS")

    dotenv = tmp_path / ".env"
    dotenv.write_text("AICOST_REPORT_STALE_AFTER_DAYS=9\n")
    assert get_settings().report_stale_after_days == 9
    dotenv.write_text("AICOST_REPORT_STALE_AFTER_DAYS=12\n")
    os.utime(dotenv, ns=(10**18, 10**18))  # an edit within the same clock tick still changes the size or time
    assert get_settings().report_stale_after_days == 12
    assert get_settings(db=tmp_path / "other.duckdb").db == tmp_path / "other.duckdb"

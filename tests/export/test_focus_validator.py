"""The FOCUS 1.2 export passes the FinOps Foundation's ``focus-validator`` (issue 14).

focus-validator 2.x needs Python >= 3.12 and pins numpy 1.26 / pyarrow < 19, so it lives in a tool
environment of its own (``tools/focus-validator``, locked), installed here with ``uv sync --frozen``
on a 3.12 or 3.13 interpreter and run as a command on the Parquet and the CSV the export writes.
Only the 1.2 rule set is bundled with the package (other versions are downloaded from GitHub, which
``--block-download`` forbids): the 1.3 files are checked by the spec-requirements test in
``test_focus_export.py``.
"""

from __future__ import annotations

import csv
import glob
import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from flows.attribute import attribute_week
from flows.export import export_focus
from flows.ingest import ingest_files
from flows.settings import Settings
from sample_data import generate_sample
from tests.conftest import PROJECT_ROOT
from tests.export.test_focus_export import HEADER, JOBS, LINES

pytestmark = pytest.mark.slow

TOOL = PROJECT_ROOT / "tools" / "focus-validator"
WEEK = date(2026, 11, 16)
SUPPORTED = ((3, 12), (3, 13))  # tools/focus-validator/pyproject.toml: requires-python = ">=3.12,<3.14"


def validator_python() -> str | None:
    """A real Python 3.12 / 3.13 interpreter for the tool environment, or None.

    pyenv *shims* are passed over: under uv they re-resolve to the project's own Python.
    """
    candidates = [shutil.which(name) for name in ("python3.12", "python3.13")]
    pyenv = shutil.which("pyenv")
    root = subprocess.run([pyenv, "root"], capture_output=True, text=True).stdout.strip() if pyenv else ""
    root = root or str(Path.home() / ".pyenv")
    candidates += sorted(glob.glob(f"{root}/versions/3.1[23]*/bin/python3.1[23]"))
    for path in candidates:
        if not path or "/shims/" in path:
            continue
        probe = subprocess.run(
            [path, "-c", "import sys; print(sys.version_info[0], sys.version_info[1])"], capture_output=True, text=True
        )
        if probe.returncode == 0 and tuple(map(int, probe.stdout.split())) in SUPPORTED:
            return path
    return None


@dataclass(frozen=True)
class Validator:
    command: Path
    site_packages: Path

    @property
    def rules(self) -> dict:
        """The bundled FOCUS 1.2 rule set (rule id -> rule)."""
        model = self.site_packages / "focus_validator" / "rules" / "model-1.2.0.1.json"
        return json.loads(model.read_text())["ModelRules"]


@pytest.fixture(scope="session")
def focus_validator() -> Validator:
    python = validator_python()
    if python is None:
        pytest.fail(
            "focus-validator 2.x needs Python 3.12 or 3.13 and none was found (python3.12 / python3.13 on PATH "
            "or under `pyenv root`/versions): install one, e.g. `pyenv install 3.12` or `uv python install 3.12`"
        )
    uv = shutil.which("uv")
    if uv is None:
        pytest.fail("the focus-validator tool environment is installed with uv: `python3 -m pip install uv`")
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT")}
    env["UV_PYTHON_DOWNLOADS"] = "never"
    sync = subprocess.run(
        [uv, "sync", "--frozen", "--project", str(TOOL), "--python", python],
        capture_output=True,
        text=True,
        env=env,
    )
    assert sync.returncode == 0, f"uv sync of {TOOL} with {python} failed:\n{sync.stderr}"
    [site_packages] = glob.glob(str(TOOL / ".venv" / "lib" / "python3.*" / "site-packages"))
    return Validator(TOOL / ".venv" / "bin" / "focus-validator", Path(site_packages))


def validate(validator: Validator, data_file: Path, report: Path) -> dict[str, str]:
    """Run focus-validator 1.2 on a file; {rule id: "pass" | "fail" | "skip"} from its JUnit XML report."""
    result = subprocess.run(
        [
            str(validator.command),
            "--data-file",
            str(data_file),
            "--validate-version",
            "1.2",
            "--block-download",
            "--output-type",
            "unittest",
            "--output-destination",
            str(report),
        ],
        # focus-validator 2.2.1 opens 'focus_validator/rules/currency_codes.csv' relative to the
        # current directory, so it only finds its own currency list when run from its site-packages.
        cwd=validator.site_packages,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0 and report.is_file(), f"focus-validator on {data_file.name}:\n{result.stderr[-3000:]}"
    status = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        rule = case.get("name").split(" :: ")[0]
        if case.find("failure") is not None or case.find("error") is not None:
            status[rule] = "fail"
        else:
            status[rule] = "skip" if case.find("skipped") is not None else "pass"
    return status


def failed_rules(status: dict[str, str], rules: dict) -> dict[str, str]:
    """The failed rules, {rule id: what it requires}, but for alternatives of an OR rule that passed.

    A rule like InvoiceId-C-003-C is "C-004-C (null when not invoiced) OR C-005-C (not null when
    invoiced)": the validator reports the alternative that does not hold as failed on its own.
    """
    excused = set()
    for rule_id, rule in rules.items():
        requirement = rule["ValidationCriteria"].get("Requirement") or {}
        if requirement.get("CheckFunction") == "OR" and status.get(rule_id) == "pass":
            excused |= {item.get("ModelRuleId") for item in requirement["Items"]}
    return {
        rule_id: rules.get(rule_id, {}).get("ValidationCriteria", {}).get("MustSatisfy", "")
        for rule_id, state in sorted(status.items())
        if state == "fail" and rule_id not in excused
    }


def assert_passes(validator: Validator, files: list[Path], tmp_path: Path) -> None:
    """focus-validator 1.2 fails no rule on any of the files."""
    rules = validator.rules
    for data_file in files:
        status = validate(validator, data_file, tmp_path / f"{data_file.suffix[1:]}-report.xml")
        # the validator really checked the file: the 1.2 rule set's rules were all reported on, and
        # the column rules this export exercises passed
        assert len(status) > 500
        for rule_id in ("BilledCost-C-000-M", "ServiceSubcategory-C-004-M", "InvoiceId-C-003-C", "PricingUnit-C-004-C"):
            assert status[rule_id] == "pass", (data_file.name, rule_id)
        assert failed_rules(status, rules) == {}, data_file.name


def test_the_focus_1_2_export_of_a_generated_week_passes_focus_validator(focus_validator, warehouse, tmp_path):
    # a generated week (clearly generated data, in the real formats): AWS CUR 2.0 with a Savings Plan
    # and reserved instances (recurring commitment fees, covered usage), credits and tax; GCP, Azure
    # and FOCUS (Oracle, with credits) exports; the jobs and GPU telemetry attribution splits by
    generate_sample(tmp_path / "landing", weeks=1, end_week=WEEK, seed=5)
    assert [r.error for r in ingest_files(warehouse, [tmp_path / "landing"]) if r.error] == []
    settings = Settings()
    attribute_week(warehouse, WEEK, settings)
    written = export_focus(warehouse, WEEK, settings, tmp_path / "out")
    parquet, csv_path = map(Path, written["files"]["1.2"])

    frame = pl.read_parquet(parquet)
    assert set(frame["ProviderName"]) == {"AWS", "Google Cloud", "Microsoft", "Oracle"}
    assert {"Purchase", "Credit", "Usage", "Tax"} <= set(frame["ChargeCategory"])
    stored = warehouse.execute(
        "SELECT billing_currency, sum(billed_cost), sum(effective_cost) FROM attributed_cost WHERE week_start = ? "
        "GROUP BY ALL",
        [WEEK],
    ).fetchall()
    totals = frame.group_by("BillingCurrency").agg(pl.col("BilledCost").sum(), pl.col("EffectiveCost").sum())
    assert set(totals.iter_rows()) == set(stored)
    # the month is not invoiced yet: no bill line has an invoice, so InvoiceId is null (FOCUS 1.2: null
    # when the charge is not associated with an invoice)
    assert frame["InvoiceId"].null_count() == frame.height
    assert_passes(focus_validator, [parquet, csv_path], tmp_path)


def test_an_invoiced_week_passes_focus_validator_with_its_invoice_ids(focus_validator, warehouse, tmp_path):
    # a FOCUS 1.2 bill whose lines carry their invoice (INV-11): a GPU machine's day, half of it a job's,
    # and a bucket's day
    bill, jobs = tmp_path / "focus-acct-1.csv", tmp_path / "jobs.csv"
    with open(bill, "w", newline="") as fh:
        csv.writer(fh).writerows([HEADER, *LINES[:2]])
    jobs.write_text("\n".join(JOBS) + "\n")
    assert [r.error for r in ingest_files(warehouse, [bill, jobs]) if r.error] == []
    settings = Settings()
    attribute_week(warehouse, WEEK, settings)
    written = export_focus(warehouse, WEEK, settings, tmp_path / "out")
    parquet, csv_path = map(Path, written["files"]["1.2"])
    frame = pl.read_parquet(parquet)
    # the GPU day as the job's part and the idle part, the bucket's day: each with its line's invoice
    assert frame.select("ResourceId", "InvoiceId", "BilledCost").sort("ResourceId", "BilledCost").rows() == [
        ("bucket-a", "INV-11", Decimal(10)),
        ("i-gpu1", "INV-11", Decimal(50)),
        ("i-gpu1", "INV-11", Decimal(50)),
    ]
    assert_passes(focus_validator, [parquet, csv_path], tmp_path)

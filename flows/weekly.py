"""The Prefect flows: ``weekly-cost-report`` for one ISO week, ``backfill-cost-reports`` for a range.

The weekly flow reads as the list of its steps: ingest what is new, gate data quality, attribute,
recommend, render, deliver. It always ends with a report: files that cannot be read are refused
by name and reason in the report's data-quality section (the run goes on); a failed data check is
shown at the very top of the report, which is archived but not emailed (unless
``AICOST_SEND_ON_FAILED_CHECK``), and the run then ends Failed with a one-sentence message. Each step is a task over the same DuckDB file; a whole run holds the
warehouse (``exclusive_run`` and the ``aicost-warehouse`` global concurrency limit), so two runs at
once wait for each other instead of interleaving.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.concurrency.sync import concurrency
from prefect.states import Failed

import flows  # noqa: F401  (offline Prefect defaults)
from flows.ingest_flow import configured_task_runner
from flows.settings import Settings, get_settings
from flows.warehouse import exclusive_run, opened, sql_text
from transforms.weeks import TREND_WEEKS, WEEK, iso_week_label, parse_week, trend_weeks, week_range

WAREHOUSE_LIMIT = "aicost-warehouse"


def _settings(db: str | None, landing: str | None) -> Settings:
    return get_settings(db=Path(db) if db else None, landing=Path(landing) if landing else None)


def _io_errors_only(task, task_run, state) -> bool:
    """Retry the ingest only for an I/O error (a disk or share that may come back), never for a file."""
    import duckdb

    error = state.data if isinstance(state.data, BaseException) else None
    return isinstance(error, OSError | duckdb.IOException)


@task(
    retries=2,
    retry_delay_seconds=[2, 10],
    retry_condition_fn=_io_errors_only,
    task_run_name="ingest new files",
    cache_policy=NO_CACHE,
)
def ingest_landing(settings: Settings) -> dict:
    """Load every file in the landing folder that the warehouse has not seen (by content hash).

    A file that cannot be loaded is refused (recorded in ``ingest_refusals`` with its reason, for
    the report) and the run goes on; only an I/O error fails the task, and is retried.
    """
    import duckdb

    from flows.ingest import ingest_paths, record_refusals

    logger = get_run_logger()
    if not settings.landing.exists():
        logger.warning("landing folder %s does not exist: nothing to ingest", settings.landing)
        return {"files": 0, "loaded": 0, "skipped": 0, "errors": []}
    with opened(settings.db, lock_timeout_s=settings.lock_timeout_s) as con:
        try:  # files are mapped on the flow's Dask workers when it has them (ingest_paths decides)
            results = ingest_paths(con, [settings.landing], settings)
            refusals = [(r.path, r.file_sha256, r.error) for r in results if r.error]
        except (OSError, duckdb.IOException):
            raise  # retried
        except Exception as exc:  # one file broke the ingest itself: say so in the report, go on
            results = []
            refusals = [
                (
                    str(settings.landing),
                    None,
                    f"the ingest of this folder stopped at an unexpected error ({type(exc).__name__}: {exc}); "
                    "files not loaded yet are tried again on the next run",
                )
            ]
            record_refusals(con, refusals)
    new = [r for r in results if not r.skipped and not r.error]
    for r in new:
        logger.info("%s: %s", r.path, r.message)
    errors = [reason for _, _, reason in refusals]
    for error in errors:
        logger.error("refused: %s", error)
    if new:
        create_table_artifact(
            key="ingested-files",
            table=[
                {
                    "file": Path(r.path).name,
                    "format": r.source_format,
                    "rows loaded": r.rows_loaded,
                    "rows rejected": r.rows_rejected,
                    "effective cost": ", ".join(f"{c} {v:,.2f}" for c, v in r.effective_cost.items()),
                }
                for r in new
            ],
            description="Files loaded by this run",
        )
    return {
        "files": len(results),
        "loaded": len(new),
        "skipped": sum(r.skipped for r in results),
        "rows_loaded": sum(r.rows_loaded for r in new),
        "rows_rejected": sum(r.rows_rejected for r in new),
        "errors": errors,
    }


@task(task_run_name="validate billing rows", cache_policy=NO_CACHE)
def validate_week(settings: Settings, week_start: date) -> dict:
    """Gate: great-expectations over the week's canonical billing rows (results kept in dq_results).

    A failed expectation does not raise: the flow reports it (top of the report, run Failed).
    """
    from flows.quality import validate_billing_week

    with opened(settings.db, lock_timeout_s=settings.lock_timeout_s) as con:
        outcomes = validate_billing_week(con, week_start, raise_on_failure=False)
    failed = [o.describe() for o in outcomes if not o.success]
    for line in failed:
        get_run_logger().warning("data check failed: %s", line)
    return {"passed": len(outcomes) - len(failed), "failed": failed}


@task(task_run_name="attribute earlier weeks", cache_policy=NO_CACHE)
def attribute_history(settings: Settings, week_start: date, weeks: int = TREND_WEEKS) -> list[str]:
    """Attribute the trend's earlier weeks that have billing data but were never attributed."""
    from flows.attribute import attribute_week
    from flows.recommend import recommend_week

    first = trend_weeks(week_start, weeks)[0]
    with opened(settings.db, lock_timeout_s=settings.lock_timeout_s) as con:
        missing = [
            r[0]
            for r in con.execute(sql_text("weeks_without_attribution"), {"first": first, "last": week_start}).fetchall()
        ]
        for week in missing:
            attribute_week(con, week, settings)
        previous = week_start - WEEK
        if previous in missing:  # last week's recommendations are what this week is tracked against
            recommend_week(con, previous, settings)
    if missing:
        get_run_logger().info("attributed earlier weeks for the trend: %s", ", ".join(map(str, missing)))
    return [w.isoformat() for w in missing]


@task(task_run_name="attribute cost", cache_policy=NO_CACHE)
def attribute(settings: Settings, week_start: date) -> dict:
    """Attribute the week's cost to category, team, project and model (replaces the week)."""
    from flows.attribute import attribute_week

    with opened(settings.db, lock_timeout_s=settings.lock_timeout_s) as con:
        summary = attribute_week(con, week_start, settings)
    get_run_logger().info(
        "attributed %s %s for the week of %s", summary.get("reporting_currency"), summary.get("total"), week_start
    )
    return summary


@task(task_run_name="store forecast", cache_policy=NO_CACHE)
def forecast(settings: Settings, week_start: date) -> int:
    """Store the spend forecast made from the data up to this week (its accuracy is shown later)."""
    from flows.forecast import store_forecast

    with opened(settings.db, lock_timeout_s=settings.lock_timeout_s) as con:
        return store_forecast(con, week_start)


@task(task_run_name="find savings", cache_policy=NO_CACHE)
def recommend(settings: Settings, week_start: date) -> dict:
    """Run every savings detector and track the recommendations against last week (replaces the week)."""
    import polars as pl

    from flows.recommend import recommend_week
    from transforms.recommendations import open_savings

    with opened(settings.db, lock_timeout_s=settings.lock_timeout_s) as con:
        recs = recommend_week(con, week_start, settings)
    total = open_savings(recs)
    counted = recs.filter(pl.col("counted") & (pl.col("status") != "resolved")).height
    resolved = recs.filter(pl.col("status") == "resolved").height
    get_run_logger().info(
        "%d open recommendations, %s per month of savings open (%d resolved)", counted, f"{total:,.2f}", resolved
    )
    return {"recommendations": counted, "resolved_recommendations": resolved, "open_monthly_savings": str(total)}


@task(task_run_name="render report", cache_policy=NO_CACHE)
def render(settings: Settings, week_start: date):
    """Render the HTML and plain-text report and archive it under reports/."""
    from flows.report import render_report

    with opened(settings.db, lock_timeout_s=settings.lock_timeout_s) as con:
        return render_report(con, week_start, settings)


@task(task_run_name="deliver report", cache_policy=NO_CACHE)
def deliver(settings: Settings, report, send: bool, resend: bool) -> dict:
    """Email the report (once per week unless resend), and publish it as a Prefect artifact."""
    from flows.deliver import deliver_report, publish_artifact

    with opened(settings.db, lock_timeout_s=settings.lock_timeout_s) as con:
        delivery = deliver_report(con, report, settings, send=send, resend=resend)
    publish_artifact(report, delivery)
    return delivery


def _run_name() -> str:
    from prefect.runtime import flow_run

    week = flow_run.parameters.get("week_start")
    try:
        return f"week-{iso_week_label(parse_week(week))}"
    except ValueError:
        return f"week-{week}"


def failed_check_message(week: date, failed: list[str], html_path: Path, send: bool, delivery: dict) -> str:
    """The one sentence a run that failed a data check ends with."""
    if delivery.get("sent"):
        mailed = "and was emailed marked as failing (AICOST_SEND_ON_FAILED_CHECK is set)"
    elif send:
        mailed = "and was not emailed (set AICOST_SEND_ON_FAILED_CHECK=true to email it anyway)"
    else:
        mailed = "and was not emailed (sending was not requested)"
    return (
        f"week {iso_week_label(week)} failed a data check: {'; '.join(failed)}; "
        f"the report is archived at {html_path}, marked as failing, {mailed}"
    )


# The task runner comes from the environment (AICOST_DASK_ADDRESS / AICOST_DASK_LOCAL_WORKERS), for
# the deployments as for `aicost run`: the ingest step then maps files on the Dask workers.
@flow(name="weekly-cost-report", flow_run_name=_run_name, log_prints=True, task_runner=configured_task_runner())
def weekly_cost_report(
    week_start: str | None = None,
    send: bool = True,
    resend: bool = False,
    db: str | None = None,
    landing: str | None = None,
) -> dict:
    """The weekly AI cost report for one ISO week (default: the last complete week)."""
    week = parse_week(week_start)
    settings = _settings(db, landing)
    logger = get_run_logger()
    logger.info("weekly cost report for %s (week of %s), warehouse %s", iso_week_label(week), week, settings.db)
    with concurrency(WAREHOUSE_LIMIT, occupy=1, timeout_seconds=settings.lock_timeout_s, strict=False):
        with exclusive_run(settings.db, settings.lock_timeout_s):
            ingested = ingest_landing(settings)
            checked = validate_week(settings, week)
            history = attribute_history(settings, week)
            attributed = attribute(settings, week)
            forecast(settings, week)
            recommended = recommend(settings, week)
            report = render(settings, week)
            emailed = send and (not checked["failed"] or settings.send_on_failed_check)
            delivery = deliver(settings, report, emailed, resend)
    if checked["failed"]:
        return Failed(message=failed_check_message(week, checked["failed"], report.html_path, send, delivery))
    return {
        "week_start": week.isoformat(),
        "week": iso_week_label(week),
        "ingested": ingested,
        "expectations_passed": checked["passed"],
        "earlier_weeks_attributed": history,
        "total": attributed.get("total"),
        "reporting_currency": attributed.get("reporting_currency"),
        **recommended,
        "html_path": str(report.html_path),
        "eml_path": str(report.eml_path),
        "sent": delivery.get("sent"),
        "delivery": delivery.get("reason"),
    }


@flow(name="backfill-cost-reports", log_prints=True, task_runner=configured_task_runner())
def backfill_cost_reports(
    start: str,
    end: str,
    send: bool = False,
    db: str | None = None,
    landing: str | None = None,
) -> list[dict]:
    """Run the weekly report for every week from ``start`` to ``end``, in order, one run per week."""
    weeks = week_range(start, end)
    logger = get_run_logger()
    logger.info("backfilling %d weeks: %s to %s (send=%s)", len(weeks), weeks[0], weeks[-1], send)
    results, failed = [], []
    for week in weeks:  # a week that fails a data check is reported; the next weeks still run
        state = weekly_cost_report(
            week_start=week.isoformat(), send=send, resend=False, db=db, landing=landing, return_state=True
        )
        if state.is_failed():
            failed.append(state.message)
            results.append({"week_start": week.isoformat(), "failed": state.message})
        else:
            results.append(state.result())
    if failed:
        return Failed(message=f"{len(failed)} of {len(weeks)} weeks failed: " + " | ".join(failed))
    return results

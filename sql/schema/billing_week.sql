-- billing_week(week_start, week_end): one row per billing line item charged in [week_start, week_end), with starts_in_week.
-- The one home of "the billing rows of the week", read by attribution (sql/attribution_billing*.sql), the
-- data-quality gate (sql/quality_billing_week.sql), the FOCUS export and the detectors (sql/recommend_*.sql).
-- A row is charged in the window when its charge period touches it: it starts inside, or it started
-- earlier and ends after week_start (a monthly fee spread over its days). A row without an end is a
-- moment at its start. starts_in_week is true for the rows that start inside the window: the detectors
-- price a week by those whole rows, attribution slices every row to the days it covers.
CREATE OR REPLACE MACRO billing_week(week_start, week_end) AS TABLE
SELECT *, charge_period_start >= week_start AS starts_in_week
FROM billing_line_items
WHERE charge_period_start < week_end
  AND (
      charge_period_start >= week_start
      OR coalesce(charge_period_end, charge_period_start) > week_start
  )

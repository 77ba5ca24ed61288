-- week_status: one row for the ISO week starting $week_start: whether billing rows are charged in it and whether it has attributed cost.
SELECT
    EXISTS (
        SELECT 1 FROM billing_line_items b
        WHERE b.charge_period_start < CAST($week_start AS DATE) + INTERVAL 7 DAY
          AND b.charge_period_end > CAST($week_start AS DATE)
    ) AS has_billing,
    EXISTS (SELECT 1 FROM attributed_cost a WHERE a.week_start = $week_start) AS attributed

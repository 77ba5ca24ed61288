-- recommend_on_demand_spend: the on-demand instance spend of [$lookback_start, $week_end) that a new commitment
-- would cover, added up three ways in one pass (grain 'hour': per provider, currency and hour; 'type': per
-- instance type and region; 'resource': per machine), always per `slots`.
-- A usage line (pricing_category Standard, an instance type, no commitment) that starts in the window is spread
-- evenly over its `slots` clock hours: from the hour it starts in to its end (at least the hour it starts in;
-- a line without an end is a moment). Only the hours before $week_end count. The rows carry the *undivided*
-- sums of the lines' costs per slot count: the detector divides each sum by its `slots` in exact decimals
-- (DuckDB would divide DECIMALs as DOUBLE), so nothing is rounded through a float and a 4-week lookback of a
-- large fleet (millions of lines) arrives as a few thousand rows.
-- first_charge / last_charge: the earliest and latest charge start of the lines in each row.
WITH lines AS (
    SELECT
        provider, billing_currency, x_instance_type, region_id, resource_id, effective_cost, charge_period_start,
        date_trunc('hour', charge_period_start) AS first_hour,
        greatest(
            CAST(ceil(epoch(coalesce(charge_period_end, charge_period_start) - date_trunc('hour', charge_period_start)) / 3600) AS BIGINT),
            1
        ) AS slots
    FROM billing_week($lookback_start, $week_end)
    WHERE starts_in_week
      AND charge_category = 'Usage'
      AND pricing_category = 'Standard'
      AND x_instance_type IS NOT NULL
      AND commitment_discount_id IS NULL
),
hours AS (
    SELECT provider, billing_currency, x_instance_type, region_id, resource_id, effective_cost, charge_period_start,
           slots, first_hour + to_hours(k) AS hour
    FROM (SELECT *, unnest(range(slots)) AS k FROM lines)
    WHERE first_hour + to_hours(k) < $week_end
)
SELECT
    CASE WHEN grouping(hour) = 0 THEN 'hour' WHEN grouping(x_instance_type) = 0 THEN 'type' ELSE 'resource' END AS grain,
    provider, billing_currency, slots, hour, x_instance_type, region_id, resource_id,
    sum(effective_cost) AS cost,
    min(charge_period_start) AS first_charge,
    max(charge_period_start) AS last_charge
FROM hours
GROUP BY GROUPING SETS (
    (provider, billing_currency, slots, hour),
    (provider, billing_currency, slots, x_instance_type, region_id),
    (provider, billing_currency, slots, resource_id)
)

-- recommend_machines: one row per machine (resource_id) and billing currency billed in [$week_start, $week_end): its machine-hours and their effective cost.
-- A machine is a resource with an instance type on any of its lines this week. Its cost is every usage
-- line of it billed by running time (hours or seconds, or size x time such as GCP's RAM byte-seconds):
-- GCP splits one machine-hour into vCPU, RAM and GPU SKUs, Azure adds licence meters on the VM's id.
-- Lines billed by volume (GB of data transfer, requests) are not the machine's hourly rate.
-- Hours are counted once per charge period: the longest of its time lines in machine-hours (a
-- vCPU-seconds or GPU-seconds line counts as at most the period), never more than the period.
WITH machine_ids AS (
    SELECT DISTINCT resource_id
    FROM billing_week($week_start, $week_end)
    WHERE starts_in_week
      AND resource_id IS NOT NULL
      AND x_instance_type IS NOT NULL
),
lines AS (
    SELECT
        b.resource_id,
        b.provider,
        b.region_id,
        b.x_instance_type,
        b.x_gpu_count,
        b.billing_currency,
        b.pricing_category,
        b.tags,
        b.effective_cost,
        b.charge_period_start,
        coalesce(b.charge_period_end, b.charge_period_start + INTERVAL 1 HOUR) AS charge_period_end,
        lower(trim(b.consumed_unit)) AS unit,
        b.consumed_quantity
    FROM billing_week($week_start, $week_end) AS b
    JOIN machine_ids USING (resource_id)
    WHERE b.starts_in_week
      AND b.charge_category = 'Usage'
      AND coalesce(b.x_line_item_type, '') <> 'SavingsPlanNegation'
),
timed AS (
    SELECT
        *,
        CASE
            WHEN unit IN ('s', 'sec', 'secs', 'second', 'seconds') THEN CAST(consumed_quantity / 3600 AS DECIMAL(38, 16))
            WHEN unit IN ('h', 'hr', 'hrs', 'hour', 'hours', '1 hour') THEN consumed_quantity
            WHEN unit LIKE '%hour%' AND NOT regexp_matches(unit, 'byte|gib|gb|mib|mb|tib|tb') THEN consumed_quantity
        END AS line_hours,
        unit IN ('s', 'sec', 'secs', 'second', 'seconds', 'h', 'hr', 'hrs', 'hour', 'hours')
            OR unit LIKE '%hour%' OR unit LIKE '%second%' OR unit LIKE '%.s' OR unit LIKE '%-s' AS by_time
    FROM lines
),
periods AS (
    SELECT
        resource_id,
        billing_currency,
        least(
            max(line_hours),
            CAST(date_diff('second', charge_period_start, charge_period_end) / 3600 AS DECIMAL(38, 16))
        ) AS hours
    FROM timed
    WHERE by_time AND line_hours IS NOT NULL
    GROUP BY resource_id, billing_currency, charge_period_start, charge_period_end
),
hours AS (
    SELECT resource_id, billing_currency, CAST(sum(hours) AS DECIMAL(38, 12)) AS hours
    FROM periods
    GROUP BY resource_id, billing_currency
)
SELECT
    t.resource_id,
    any_value(t.provider) AS provider,
    any_value(t.region_id) AS region_id,
    max(t.x_instance_type) AS instance_type,
    max(t.x_gpu_count) AS gpu_count,
    t.billing_currency,
    any_value(h.hours) AS hours,
    sum(t.effective_cost) AS effective_cost,
    mode(t.pricing_category) FILTER (WHERE t.line_hours IS NOT NULL) AS pricing_category,
    max(t.tags) AS tags
FROM timed AS t
JOIN hours AS h USING (resource_id, billing_currency)
WHERE t.by_time
GROUP BY t.resource_id, t.billing_currency
ORDER BY t.resource_id, effective_cost DESC

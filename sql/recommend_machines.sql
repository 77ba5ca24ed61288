-- recommend_machines: one row per resource and billing currency with instance-hours billed in [$week_start, $week_end): hours and their effective cost.
WITH hourly AS (
    SELECT
        resource_id,
        provider,
        region_id,
        x_instance_type,
        x_gpu_count,
        billing_currency,
        pricing_category,
        tags,
        effective_cost,
        CASE
            WHEN lower(consumed_unit) IN ('s', 'sec', 'second', 'seconds') THEN consumed_quantity / 3600
            ELSE consumed_quantity
        END AS hours
    FROM billing_line_items
    WHERE charge_period_start >= $week_start
      AND charge_period_start < $week_end
      AND charge_category = 'Usage'
      AND resource_id IS NOT NULL
      AND x_instance_type IS NOT NULL
      AND coalesce(x_line_item_type, '') <> 'SavingsPlanNegation'
      AND (
          lower(consumed_unit) IN ('hrs', 'hr', 'h', 's', 'sec', 'second', 'seconds')
          OR lower(consumed_unit) LIKE '%hour%'
      )
)
SELECT
    resource_id,
    any_value(provider) AS provider,
    any_value(region_id) AS region_id,
    max(x_instance_type) AS instance_type,
    max(x_gpu_count) AS gpu_count,
    billing_currency,
    sum(hours) AS hours,
    sum(effective_cost) AS effective_cost,
    mode(pricing_category) AS pricing_category,
    max(tags) AS tags
FROM hourly
GROUP BY resource_id, billing_currency
ORDER BY resource_id, effective_cost DESC

-- report_commitments: one row per currency, pricing category, commitment status, compute flag and share of the week a billing row covers.
WITH week_rows AS (
    SELECT
        billing_currency,
        coalesce(pricing_category, 'Standard') AS pricing_category,
        commitment_discount_status,
        charge_category,
        coalesce(service_category IN ('Compute', 'AI and Machine Learning'), false)
            OR x_instance_type IS NOT NULL AS is_compute,
        effective_cost,
        list_cost,
        CAST(greatest(epoch(least(coalesce(charge_period_end, charge_period_start), $week_end))
                      - epoch(greatest(charge_period_start, $week_begin)), 0) AS BIGINT) AS overlap_s,
        CAST(epoch(coalesce(charge_period_end, charge_period_start)) - epoch(charge_period_start) AS BIGINT) AS period_s
    FROM billing_week($week_begin, $week_end)
)
SELECT
    billing_currency,
    pricing_category,
    commitment_discount_status,
    charge_category,
    is_compute,
    overlap_s,
    period_s,
    sum(effective_cost) AS effective_cost,
    sum(list_cost) AS list_cost,
    count(*) AS line_items
FROM week_rows
GROUP BY ALL
ORDER BY ALL

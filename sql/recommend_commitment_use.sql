-- recommend_commitment_use: one row per commitment (commitment_discount_id, provider, billing currency) charged in
-- [$lookback_start, $week_end): its used and unused effective cost over the window (commitment_discount_status
-- Used / Unused), its type and name as its first line in charge order that has one, and the earliest and latest
-- charge start of its lines.
SELECT
    commitment_discount_id, provider, billing_currency,
    sum(effective_cost) FILTER (WHERE commitment_discount_status = 'Used') AS used,
    sum(effective_cost) FILTER (WHERE commitment_discount_status = 'Unused') AS unused,
    arg_min(commitment_discount_type, (charge_period_start, commitment_discount_type))
        FILTER (WHERE commitment_discount_type IS NOT NULL) AS type,
    arg_min(commitment_discount_name, (charge_period_start, commitment_discount_name))
        FILTER (WHERE commitment_discount_name IS NOT NULL) AS name,
    min(charge_period_start) AS first_charge,
    max(charge_period_start) AS last_charge
FROM billing_week($lookback_start, $week_end)
WHERE starts_in_week AND commitment_discount_id IS NOT NULL
GROUP BY ALL

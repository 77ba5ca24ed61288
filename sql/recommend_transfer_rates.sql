-- recommend_transfer_rates: one row per provider, source region, transfer direction and currency billed in [$week_start, $week_end), quantity in decimal GB (10^9 bytes).
-- Units as the readers store them: GB / "1 GB" / "10 GB" (AWS, Azure, FOCUS), GiB, bytes (GCP's usage.unit), TB.
WITH transfer AS (
    SELECT
        provider,
        region_id,
        x_transfer_direction AS direction,
        billing_currency,
        effective_cost,
        consumed_quantity,
        lower(trim(consumed_unit)) AS unit,
        coalesce(TRY_CAST(regexp_extract(trim(consumed_unit), '^([0-9]+)\s', 1) AS DECIMAL(18, 0)), 1) AS unit_count
    FROM billing_week($week_start, $week_end)
    WHERE starts_in_week
      AND charge_category = 'Usage'
      AND x_transfer_direction IN ('internet_out', 'inter_region')
      AND consumed_quantity IS NOT NULL
),
sized AS (
    SELECT
        *,
        CAST(CASE
            WHEN regexp_full_match(unit, '([0-9]+\s+)?(gb|gigabytes?)') THEN consumed_quantity * unit_count
            WHEN regexp_full_match(unit, '([0-9]+\s+)?(gib|gibibytes?)') THEN consumed_quantity * unit_count * 1.073741824
            WHEN regexp_full_match(unit, '([0-9]+\s+)?(tb|terabytes?)') THEN consumed_quantity * unit_count * 1000
            WHEN unit IN ('bytes', 'byte', 'b') THEN consumed_quantity / 1000000000
        END AS DECIMAL(38, 12)) AS gb
    FROM transfer
)
SELECT
    provider,
    region_id,
    direction,
    billing_currency,
    sum(effective_cost) AS effective_cost,
    sum(gb) AS gb
FROM sized
WHERE gb IS NOT NULL
GROUP BY provider, region_id, direction, billing_currency
ORDER BY provider, region_id NULLS LAST, direction, billing_currency

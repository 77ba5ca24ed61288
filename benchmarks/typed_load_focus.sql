-- typed_load_focus: the benchmark's "typed floor" (not used by the product). DuckDB loads a FOCUS CSV
-- straight into the warehouse's billing_line_items with casts only: trimmed text with '' as null,
-- TRY_CAST to the table's DECIMAL and TIMESTAMPTZ types, the file's lineage. No check, no rejection
-- reason, no derived column (instance type, transfer direction, GPUs, tags' JSON), no staging: what
-- any mapping that keeps the product's typed, indexed table pays at least, over DuckDB's raw load of
-- the same file into a table of text columns.
INSERT INTO billing_line_items BY NAME
SELECT
    lower(nullif(trim(ProviderName), '')) AS provider,
    nullif(trim(BillingAccountId), '') AS billing_account_id,
    nullif(trim(BillingAccountName), '') AS billing_account_name,
    nullif(trim(SubAccountId), '') AS sub_account_id,
    nullif(trim(SubAccountName), '') AS sub_account_name,
    nullif(trim(InvoiceIssuerName), '') AS invoice_issuer,
    TRY_CAST(nullif(trim(BillingPeriodStart), '') AS TIMESTAMPTZ) AS billing_period_start,
    TRY_CAST(nullif(trim(BillingPeriodEnd), '') AS TIMESTAMPTZ) AS billing_period_end,
    TRY_CAST(nullif(trim(ChargePeriodStart), '') AS TIMESTAMPTZ) AS charge_period_start,
    TRY_CAST(nullif(trim(ChargePeriodEnd), '') AS TIMESTAMPTZ) AS charge_period_end,
    nullif(trim(ChargeCategory), '') AS charge_category,
    nullif(trim(ChargeClass), '') AS charge_class,
    nullif(trim(ChargeDescription), '') AS charge_description,
    nullif(trim(ChargeFrequency), '') AS charge_frequency,
    nullif(trim(PricingCategory), '') AS pricing_category,
    TRY_CAST(nullif(trim(PricingQuantity), '') AS DECIMAL(38, 16)) AS pricing_quantity,
    nullif(trim(PricingUnit), '') AS pricing_unit,
    nullif(trim(ServiceName), '') AS service_name,
    nullif(trim(ServiceCategory), '') AS service_category,
    nullif(trim(PublisherName), '') AS publisher_name,
    nullif(trim(ResourceId), '') AS resource_id,
    nullif(trim(RegionId), '') AS region_id,
    nullif(trim(AvailabilityZone), '') AS availability_zone,
    TRY_CAST(nullif(trim(ConsumedQuantity), '') AS DECIMAL(38, 16)) AS consumed_quantity,
    nullif(trim(ConsumedUnit), '') AS consumed_unit,
    upper(nullif(trim(BillingCurrency), '')) AS billing_currency,
    TRY_CAST(nullif(trim(BilledCost), '') AS DECIMAL(38, 12)) AS billed_cost,
    TRY_CAST(nullif(trim(EffectiveCost), '') AS DECIMAL(38, 12)) AS effective_cost,
    TRY_CAST(nullif(trim(ListCost), '') AS DECIMAL(38, 12)) AS list_cost,
    TRY_CAST(nullif(trim(ContractedCost), '') AS DECIMAL(38, 12)) AS contracted_cost,
    TRY_CAST(nullif(trim(ListUnitPrice), '') AS DECIMAL(38, 12)) AS list_unit_price,
    nullif(trim(Tags), '') AS tags,
    '1.0' AS x_focus_version,
    'focus' AS source_format,
    $path AS source_file,
    'typed-floor' AS file_sha256,
    'typed-floor' AS delivery_id,
    'typed-floor' AS ingest_id
FROM read_csv($path, all_varchar = true)

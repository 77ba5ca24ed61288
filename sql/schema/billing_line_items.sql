-- billing_line_items: one row per source billing line item (canonical, FOCUS-aligned).
CREATE TABLE IF NOT EXISTS billing_line_items (
    provider VARCHAR,
    billing_account_id VARCHAR,
    billing_account_name VARCHAR,
    sub_account_id VARCHAR,
    sub_account_name VARCHAR,
    invoice_issuer VARCHAR,
    billing_period_start TIMESTAMPTZ,
    billing_period_end TIMESTAMPTZ,
    charge_period_start TIMESTAMPTZ,
    charge_period_end TIMESTAMPTZ,
    charge_category VARCHAR,
    charge_class VARCHAR,
    charge_description VARCHAR,
    charge_frequency VARCHAR,
    pricing_category VARCHAR,
    pricing_quantity DECIMAL(38, 16),
    pricing_unit VARCHAR,
    service_name VARCHAR,
    service_category VARCHAR,
    publisher_name VARCHAR,
    resource_id VARCHAR,
    resource_name VARCHAR,
    resource_type VARCHAR,
    region_id VARCHAR,
    availability_zone VARCHAR,
    sku_id VARCHAR,
    sku_price_id VARCHAR,
    consumed_quantity DECIMAL(38, 16),
    consumed_unit VARCHAR,
    billing_currency VARCHAR,
    billed_cost DECIMAL(38, 12),
    effective_cost DECIMAL(38, 12),
    list_cost DECIMAL(38, 12),
    contracted_cost DECIMAL(38, 12),
    list_unit_price DECIMAL(38, 12),
    contracted_unit_price DECIMAL(38, 12),
    commitment_discount_id VARCHAR,
    commitment_discount_name VARCHAR,
    commitment_discount_category VARCHAR,
    commitment_discount_type VARCHAR,
    commitment_discount_status VARCHAR,
    tags VARCHAR,
    x_instance_type VARCHAR,
    x_gpu_count DOUBLE,
    x_storage_class VARCHAR,
    x_usage_type VARCHAR,
    x_operation VARCHAR,
    x_transfer_direction VARCHAR,
    x_credit_amount DECIMAL(38, 12),
    x_line_item_type VARCHAR,
    invoice_id VARCHAR,
    invoice_detail_id VARCHAR,
    billing_account_type VARCHAR,
    sub_account_type VARCHAR,
    service_provider_name VARCHAR,
    host_provider_name VARCHAR,
    sku_price_details VARCHAR,
    pricing_currency VARCHAR,
    pricing_currency_effective_cost DECIMAL(38, 12),
    pricing_currency_list_unit_price DECIMAL(38, 12),
    pricing_currency_contracted_unit_price DECIMAL(38, 12),
    allocated_method_id VARCHAR,
    allocated_method_details VARCHAR,
    allocated_resource_id VARCHAR,
    allocated_resource_name VARCHAR,
    allocated_tags VARCHAR,
    contract_applied VARCHAR,
    commitment_program_eligibility_details VARCHAR,
    x_focus_version VARCHAR,
    x_token_count DOUBLE,
    x_extensions VARCHAR,
    source_format VARCHAR,
    source_file VARCHAR,
    source_row BIGINT,
    file_sha256 VARCHAR,
    delivery_id VARCHAR,
    ingest_id VARCHAR,
    row_key VARCHAR
);
CREATE INDEX IF NOT EXISTS billing_line_items_delivery ON billing_line_items (provider, billing_account_id, billing_period_start);
-- row_key: an append-only source's row identity (content hash : occurrence in its file); null for replaced sources.
ALTER TABLE billing_line_items ADD COLUMN IF NOT EXISTS row_key VARCHAR;
-- FOCUS 1.2-1.4 columns (invoice, provider roles, pricing currency, split cost allocation, contracts), version and extensions.
ALTER TABLE billing_line_items ADD COLUMN IF NOT EXISTS invoice_id VARCHAR;
ALTER TABLE billing_line_items ADD COLUMN IF NOT EXISTS invoice_detail_id VARCHAR;
ALTER TABLE billing_line_items ADD COLUMN IF NOT EXISTS billing_account_type VARCHAR;
ALTER TABLE billing_line_items ADD COLUMN IF NOT EXISTS sub_account_type VARCHAR;
ALTER TABLE billing_line_items ADD COLUMN IF NOT EXISTS service_provider_name VARCHAR;
ALTER TABLE billing_line_items ADD COLUMN IF NOT EXISTS host_provider_name VARCHAR;
ALTER TABLE billing_line_items ADD COLUMN IF NOT EXISTS sku_price_details VARCHAR;
ALTER TABLE billing_line_items ADD COLUMN IF NOT EXISTS pricing_currency VARCHAR;
ALTER TABLE billing_line_items ADD COLUMN IF NOT EXISTS pricing_currency_effective_cost DECIMAL(38, 12);
ALTER TABLE billing_line_items ADD COLUMN IF NOT EXISTS pricing_currency_list_unit_price DECIMAL(38, 12);
ALTER TABLE billing_line_items ADD COLUMN IF NOT EXISTS pricing_currency_contracted_unit_price DECIMAL(38, 12);
ALTER TABLE billing_line_items ADD COLUMN IF NOT EXISTS allocated_method_id VARCHAR;
ALTER TABLE billing_line_items ADD COLUMN IF NOT EXISTS allocated_method_details VARCHAR;
ALTER TABLE billing_line_items ADD COLUMN IF NOT EXISTS allocated_resource_id VARCHAR;
ALTER TABLE billing_line_items ADD COLUMN IF NOT EXISTS allocated_resource_name VARCHAR;
ALTER TABLE billing_line_items ADD COLUMN IF NOT EXISTS allocated_tags VARCHAR;
ALTER TABLE billing_line_items ADD COLUMN IF NOT EXISTS contract_applied VARCHAR;
ALTER TABLE billing_line_items ADD COLUMN IF NOT EXISTS commitment_program_eligibility_details VARCHAR;
ALTER TABLE billing_line_items ADD COLUMN IF NOT EXISTS x_focus_version VARCHAR;
ALTER TABLE billing_line_items ADD COLUMN IF NOT EXISTS x_token_count DOUBLE;
ALTER TABLE billing_line_items ADD COLUMN IF NOT EXISTS x_extensions VARCHAR;

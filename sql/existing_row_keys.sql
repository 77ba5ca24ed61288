-- existing_row_keys: one row per row key of $keys already stored in billing_line_items (append-only sources).
SELECT DISTINCT b.row_key
FROM billing_line_items AS b
SEMI JOIN (SELECT unnest($keys) AS row_key) AS k USING (row_key)

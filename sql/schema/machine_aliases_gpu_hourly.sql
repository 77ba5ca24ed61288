-- gpu_hourly_machines(range_start, range_end): one row per name (log_id) gpu_hourly gives a machine in hours [range_start, range_end), with resource_id the bill's id of that machine (machine_aliases over the same range; a name that is no alias is kept as the log gives it).
-- (This file is named to be created after machine_aliases.sql, which the macro calls: sql/schema runs in name order.)
-- The one home of the join from the GPU rollup to billed machines (attribution, recommendations, unit
-- costs). Queries aggregate gpu_hourly by log_id first, join this, then combine the names of one machine:
-- a fleet's week is 1.3M GPU-hours but ~1,000 names, and grouping the stored (dictionary-encoded) names is
-- several times faster than joining every GPU-hour to its alias.
CREATE OR REPLACE MACRO gpu_hourly_machines(range_start, range_end) AS TABLE
WITH aliases AS (SELECT * FROM machine_aliases(range_start, range_end)),
named AS (
    SELECT DISTINCT resource_id AS log_id
    FROM gpu_hourly
    WHERE hour >= range_start AND hour < range_end AND resource_id IS NOT NULL
)
SELECT n.log_id, coalesce(a.resource_id, s.resource_id, n.log_id) AS resource_id
FROM named AS n
LEFT JOIN aliases AS a ON a.alias = lower(n.log_id)
LEFT JOIN aliases AS s ON s.alias = lower(split_part(n.log_id, '.', 1))

-- machine_aliases(week_start, week_end): one row per name a usage log may give a resource billed in [week_start, week_end), with the bill's resource_id for it.
-- The one home of the rule that joins usage logs (jobs, GPU metrics, inference logs) to billed machines:
-- a log names a machine by the bill's resource id (AWS instance id, FOCUS ResourceId), by its name
-- (GCP resource.name = the instance's host name, Azure ResourceName, FOCUS ResourceName) or by the last
-- segment of a path-like id (Azure ARM id .../virtualMachines/<vm name>). Names are compared in lower case.
-- The exact id wins over a name; a name shared by a machine and another resource (GCP boot disks take
-- their VM's name) means the machine; a name left ambiguous after that is not an alias at all.
CREATE OR REPLACE MACRO machine_aliases(week_start, week_end) AS TABLE
WITH named AS (  -- each (id, name) the bill gives once: a 13-week window of a large fleet is millions of lines
    SELECT resource_id, resource_name, bool_or(x_instance_type IS NOT NULL OR x_gpu_count IS NOT NULL) AS machine_line
    FROM billing_week(week_start, week_end)
    WHERE starts_in_week
      AND resource_id IS NOT NULL
    GROUP BY resource_id, resource_name
),
billed AS (
    SELECT resource_id, resource_name, bool_or(machine_line) OVER (PARTITION BY resource_id) AS is_machine
    FROM named
),
names AS (
    SELECT DISTINCT lower(resource_id) AS alias, resource_id, 0 AS precedence FROM billed
    UNION
    SELECT lower(resource_name), resource_id, CASE WHEN is_machine THEN 1 ELSE 2 END
    FROM billed
    WHERE resource_name IS NOT NULL AND trim(resource_name) <> ''
    UNION
    SELECT lower(regexp_extract(resource_id, '[^/]+$')), resource_id, CASE WHEN is_machine THEN 1 ELSE 2 END
    FROM billed
    WHERE resource_id LIKE '%/%'
),
best AS (
    SELECT alias, min(precedence) AS precedence FROM names GROUP BY alias
)
SELECT n.alias, min(n.resource_id) AS resource_id
FROM names AS n
JOIN best AS b ON n.alias = b.alias AND n.precedence = b.precedence
WHERE n.alias <> ''
GROUP BY n.alias
HAVING count(DISTINCT n.resource_id) = 1

-- attribution_delete_week: removes every attributed_cost row of one week before it is written again.
DELETE FROM attributed_cost WHERE week_start = $week_start

-- forecast_delete_week: removes the forecast made from the data up to $made_week (before it is stored again).
DELETE FROM cost_forecasts WHERE made_week = $made_week

"""Attribute one ISO week of billing to category, team, project and model (pure polars).

One module per part of the work:

- ``core``: the week's attribution (precedence, GPU machines, energy, idle, results, summary);
- ``slices``: a billing row cut into exact day slices of the week;
- ``rules``: the user's attribution rules and tag lookups, as polars expressions;
- ``services``: built-in knowledge of provider services (category by service, SKU, usage type);
- ``gpu``: a GPU machine's daily cost split among its jobs by GPU-hours, the rest idle.

What callers use is importable from the package itself.
"""

from transforms.attribution.core import (
    DECISION_INPUTS,
    GPU_TELEMETRY_COLUMNS,
    AttributionConfig,
    AttributionResult,
    attribute_costs,
    combine_results,
    decide,
    join_decisions,
    summarise,
)

__all__ = [
    "DECISION_INPUTS",
    "GPU_TELEMETRY_COLUMNS",
    "AttributionConfig",
    "AttributionResult",
    "attribute_costs",
    "combine_results",
    "decide",
    "join_decisions",
    "summarise",
]

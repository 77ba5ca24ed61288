"""Billing tags: the one home of how tag keys are spelt and normalised.

Exports prefix the keys users give their resources (AWS CUR ``user:team`` / ``user_team``, GCP
``label:``, Azure exports' ``tag:``) and users spell the same key several ways (``team``, ``Team``,
``userTeam``). ``normalise_tag_key`` removes the prefixes; ``parse_tags`` reads a row's tags (JSON
object text) with its keys normalised (the detectors' view); ``TAG_VARIANTS`` lists, per dimension,
the key spellings attribution looks up in order of preference, built from the same prefixes.
"""

from __future__ import annotations

import json

TAG_PREFIXES = ("user:", "user_", "tag:", "label:")
DIMENSIONS = ("team", "project", "model")
# spellings beyond case and prefixes that teams use for a dimension, in order of preference
EXTRA_SPELLINGS = {
    "team": ("team_name", "owner_team", "cost_team"),
    "project": ("project_name",),
    "model": ("model_name",),
}


def normalise_tag_key(key: str) -> str:
    """The key without the first export prefix it starts with (``user:team`` -> ``team``)."""
    lowered = key.lower()
    for prefix in TAG_PREFIXES:
        if lowered.startswith(prefix):
            return key[len(prefix) :]
    return key


def _variants(dimension: str) -> tuple[str, ...]:
    return (
        dimension,
        dimension.title(),
        dimension.upper(),
        *(prefix + dimension for prefix in TAG_PREFIXES),
        "user" + dimension.title(),
        *EXTRA_SPELLINGS[dimension],
    )


# Tag keys that name a team / project / model, in order of preference.
TAG_VARIANTS: dict[str, tuple[str, ...]] = {dimension: _variants(dimension) for dimension in DIMENSIONS}


def parse_tags(text: str | None) -> dict[str, str]:
    """Billing tags (JSON object text) with their keys normalised; the first of two that normalise alike wins."""
    if not text:
        return {}
    try:
        parsed = json.loads(text)
    except ValueError:
        return {}
    if not isinstance(parsed, dict):
        return {}
    tags: dict[str, str] = {}
    for key, value in parsed.items():
        tags.setdefault(normalise_tag_key(str(key)), "" if value is None else str(value))
    return tags

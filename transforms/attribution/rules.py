"""User attribution rules (config/attribution_rules.toml) and tag lookups, as polars expressions.

A rule is ``{"name", "match": {...}, "set": {...}}``. Every condition under ``match`` must hold:
``tag_key`` (with optional ``tag_value``, a regular expression on the tag's value),
``billing_account_id``, ``sub_account_id``, ``sku_id`` (exact), ``service_name`` (regular
expression, case-insensitive) and ``resource_id_regex``. ``set`` gives any of ``category``, ``team``,
``project``, ``model``. The first rule that matches a row decides; ``rule_name`` records which.
"""

from __future__ import annotations

import polars as pl

from transforms.schema import CATEGORIES
from transforms.tags import TAG_VARIANTS

MATCH_KEYS = (
    "tag_key",
    "tag_value",
    "billing_account_id",
    "sub_account_id",
    "sku_id",
    "service_name",
    "resource_id_regex",
)
SET_KEYS = ("category", "team", "project", "model")


class RuleError(ValueError):
    """An attribution rule that cannot be used: the message names the rule and the key."""


def tag_value(key: str, tags: str = "tags") -> pl.Expr:
    """The value of one key of the JSON ``tags`` object text (null where absent)."""
    escaped = key.replace("\\", "\\\\").replace("'", "\\'")
    return pl.col(tags).str.json_path_match(f"$['{escaped}']")


def tag_dimension(dimension: str) -> pl.Expr:
    """The first non-empty tag among the known spellings of ``team`` / ``project`` / ``model``."""
    values = [tag_value(k) for k in TAG_VARIANTS[dimension]]
    found = pl.coalesce(values)
    return pl.when(found.str.strip_chars() != "").then(found.str.strip_chars())


def validate_rules(rules: list[dict]) -> list[dict]:
    """Check every rule's keys and category; raise RuleError naming the rule and the problem."""
    for position, rule in enumerate(rules, start=1):
        name = rule.get("name", f"rule #{position}")
        match, setting = rule.get("match", {}), rule.get("set", {})
        if not match:
            raise RuleError(f"attribution rule '{name}': 'match' is empty (it would match every row)")
        unknown = sorted(set(match) - set(MATCH_KEYS)) + sorted(set(setting) - set(SET_KEYS))
        if unknown:
            raise RuleError(f"attribution rule '{name}': unknown key(s) {', '.join(unknown)}")
        if "tag_value" in match and "tag_key" not in match:
            raise RuleError(f"attribution rule '{name}': tag_value needs a tag_key")
        if "category" in setting and setting["category"] not in CATEGORIES:
            raise RuleError(
                f"attribution rule '{name}': category must be one of {', '.join(CATEGORIES)}, got '{setting['category']}'"
            )
        if not setting:
            raise RuleError(f"attribution rule '{name}': 'set' is empty")
    return rules


def rule_condition(match: dict) -> pl.Expr:
    """The boolean expression for one rule's ``match`` table (all conditions must hold)."""
    conditions: list[pl.Expr] = []
    if "tag_key" in match:
        value = tag_value(match["tag_key"])
        conditions.append(value.is_not_null())
        if "tag_value" in match:
            conditions.append(value.str.contains(f"^(?:{match['tag_value']})$"))
    for column in ("billing_account_id", "sub_account_id", "sku_id"):
        if column in match:
            conditions.append(pl.col(column) == pl.lit(str(match[column])))
    if "service_name" in match:
        conditions.append(pl.col("service_name").str.contains(f"(?i){match['service_name']}"))
    if "resource_id_regex" in match:
        conditions.append(pl.col("resource_id").str.contains(match["resource_id_regex"]))
    return pl.all_horizontal(conditions).fill_null(False)


def apply_rules(frame: pl.LazyFrame, rules: list[dict]) -> pl.LazyFrame:
    """Add ``rule_name`` and ``rule_<category|team|project|model>`` from the first matching rule."""
    validate_rules(rules)
    names = pl.lit(None, dtype=pl.String)
    values = {key: pl.lit(None, dtype=pl.String) for key in SET_KEYS}
    for position, rule in reversed(list(enumerate(rules, start=1))):
        condition = rule_condition(rule["match"])
        names = pl.when(condition).then(pl.lit(rule.get("name", f"rule #{position}"))).otherwise(names)
        for key in SET_KEYS:
            chosen = pl.lit(rule["set"].get(key), dtype=pl.String)
            values[key] = pl.when(condition).then(chosen).otherwise(values[key])
    return frame.with_columns(rule_name=names, **{f"rule_{k}": v for k, v in values.items()})

"""Built-in knowledge of cloud services: which category a billing row belongs to when no user
rule and no usage log decides.

The knowledge is a table (``SERVICE_RULES``), checked top to bottom; the first entry whose every
pattern matches wins. Patterns are case-insensitive regular expressions on the row's columns
(``text`` is service name, usage type, charge description, SKU id and resource type joined).
"""

from __future__ import annotations

import polars as pl

# GPU instance families: AWS p/g/trn/inf/dl, GCP a2/a3/g2 and GPU SKUs, Azure N-series.
GPU_INSTANCE = (
    r"(?i)(\b(p2|p3|p3dn|p4d|p4de|p5|p5e|p5en|p6|g3|g4dn|g4ad|g5|g5g|g6|g6e|gr6|dl1|trn1|trn2|inf1|inf2)\.\w+)"
    r"|(\b(a2|a3|g2)-(highgpu|megagpu|ultragpu|standard|edgegpu)\b)"
    r"|(standard_n[cdv]\w*)|(\bnvidia\b)|(\bgpu\b)"
)

# (name, category, {column: pattern}). ``text`` is a derived column, see ``service_text``.
SERVICE_RULES: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("data transfer direction", "network", {"x_transfer_direction": r"."}),
    (
        "data transfer usage",
        "network",
        {
            "text": r"datatransfer|data transfer|-out-bytes|-in-bytes|regional-bytes|egress|bandwidth|inter.?region|internet"
        },
    ),
    (
        "network services",
        "network",
        {
            "service_name": r"cloudfront|cloud cdn|content delivery|virtual network|vpc|nat gateway|load balanc|networking|private link|peering|direct connect|expressroute|cloud interconnect"
        },
    ),
    ("sagemaker training", "training", {"service_name": r"sagemaker", "text": r"train|notebook|studio|processing"}),
    ("sagemaker endpoints", "inference", {"service_name": r"sagemaker"}),
    ("bedrock", "inference", {"service_name": r"bedrock"}),
    ("azure openai", "inference", {"text": r"openai|cognitive services|azure ai (services|foundry)"}),
    (
        "vertex ai training",
        "training",
        {"service_name": r"vertex ai|ai platform", "text": r"train|custom job|notebook|workbench"},
    ),
    ("vertex ai prediction", "inference", {"service_name": r"vertex ai|ai platform|generative|gemini"}),
    (
        "azure machine learning endpoints",
        "inference",
        {"service_name": r"machine learning", "text": r"endpoint|inference|online|deploy"},
    ),
    ("azure machine learning", "training", {"service_name": r"machine learning"}),
    (
        "data processing services",
        "data_processing",
        {
            "service_name": r"\bglue\b|\bemr\b|elastic mapreduce|dataflow|dataproc|databricks|data factory|synapse|hdinsight|kinesis|athena|bigquery|data fusion|composer"
        },
    ),
    ("storage class", "storage", {"x_storage_class": r"."}),
    (
        "object and block storage",
        "storage",
        {
            "text": r"simple storage|\bs3\b|glacier|cloud storage|\bstorage\b|elastic block|\bebs\b|elastic file|\befs\b|\bfsx\b|snapshot|managed disk|\bdisk\b|blob|files|persistent disk|filestore|backup|byte-?hrs|timedstorage"
        },
    ),
    ("gpu instance without a usage log", "training", {"gpu_text": GPU_INSTANCE}),
)


def service_text() -> pl.Expr:
    """Service name, usage type, charge description, SKU and resource type, lower case, joined."""
    parts = ["service_name", "x_usage_type", "charge_description", "sku_id", "resource_type", "x_operation"]
    return pl.concat_str([pl.col(p).fill_null("") for p in parts], separator=" | ").str.to_lowercase()


def gpu_text() -> pl.Expr:
    """Where a GPU instance shows: the instance type, else the charge description."""
    return pl.concat_str(
        [pl.col("x_instance_type").fill_null(""), pl.col("charge_description").fill_null("")], separator=" | "
    )


def _pattern(column: str, pattern: str) -> pl.Expr:
    source = {"text": pl.col("_service_text"), "gpu_text": pl.col("_gpu_text")}.get(column, pl.col(column))
    flags = "" if pattern.startswith("(?i)") else "(?i)"
    return source.str.contains(flags + pattern).fill_null(False)


def is_gpu_instance() -> pl.Expr:
    """True where the row is a GPU machine: a GPU count above zero or a GPU instance family."""
    return (pl.col("x_gpu_count").fill_null(0) > 0) | _pattern("gpu_text", GPU_INSTANCE)


def apply_service_rules(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Add ``service_category_guess`` and ``service_rule`` (null where nothing matched)."""
    frame = frame.with_columns(_service_text=service_text(), _gpu_text=gpu_text())
    category = pl.lit(None, dtype=pl.String)
    name = pl.lit(None, dtype=pl.String)
    for rule_name, rule_category, patterns in reversed(SERVICE_RULES):
        condition = pl.all_horizontal([_pattern(c, p) for c, p in patterns.items()])
        if rule_name.startswith("gpu instance"):
            condition = is_gpu_instance()
        category = pl.when(condition).then(pl.lit(rule_category)).otherwise(category)
        name = pl.when(condition).then(pl.lit(rule_name)).otherwise(name)
    return frame.with_columns(service_category_guess=category, service_rule=name).drop("_service_text", "_gpu_text")

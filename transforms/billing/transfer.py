"""Which way billed data transfer goes, from the words each provider writes on its bill.

One home for this knowledge: every reader that can carry a provider's rows uses the same tables
(AWS: the CUR readers and FOCUS; Azure: the cost details reader and FOCUS; GCP: the billing export
reader and FOCUS). Directions (``x_transfer_direction``):

- ``internet_out``: out of the provider's network (internet egress, carrier peering)
- ``inter_region``: from one region of the provider to another (charged at the source)
- ``intra_region``: between zones of one region, peering inside a region
- ``in``: into a region (inbound, usually free)

Each table is ordered: the first ``(regex, direction)`` the text matches decides.
"""

from __future__ import annotations

import polars as pl

from transforms.parsing import first_match

# AWS product/transferType (CUR only).
AWS_TRANSFER_TYPE = (
    (r"(?i)^IntraRegion", "intra_region"),
    (r"(?i)^InterRegion.*Outbound", "inter_region"),
    (r"(?i)Inbound", "in"),
    (r"(?i)Outbound", "internet_out"),
)
# AWS usage types (lineItem/UsageType, FOCUS x_UsageType, and quoted in FOCUS ChargeDescription as
# "USD 0.02 per GB for EUN1-AWS-Out-Bytes in EU (Stockholm)"): USE1-USE2-AWS-Out-Bytes is
# inter-region, USW2-DataTransfer-Out-Bytes internet egress.
AWS_USAGE_TYPE = (
    (r"DataTransfer-Regional-Bytes|DataTransfer-xAZ-", "intra_region"),
    (r"-AWS-Out-Bytes\b", "inter_region"),
    (r"-In-Bytes\b", "in"),
    (r"-Out-Bytes\b", "internet_out"),
)
# AWS line item descriptions: "$0.02 per GB - US West (Oregon) data transfer to EU (Ireland)" is
# inter-region out, "... data transfer from Asia Pacific (Tokyo)" its inbound side.
AWS_DESCRIPTION = (
    (r"(?i)regional data transfer|between EC2 AZs", "intra_region"),
    (r"(?i)data transfer to\s", "inter_region"),
    (r"(?i)data transfer from\s|data transfer in\b", "in"),
    (r"(?i)data transfer out\b|internet", "internet_out"),
)
# Azure meters (category, subcategory and name together): Bandwidth / Inter-Region /
# "Intra Continent Data Transfer Out", Bandwidth / "Standard Data Transfer Out", Virtual Network /
# Peering / "Intra-Region Egress".
AZURE_METER = (
    (r"(?i)\bingress\b|data transfer in\b", "in"),
    (r"(?i)inter[- ]?region|inter[- ]?continent|intra[- ]?continent|global .*peering", "inter_region"),
    (r"(?i)intra[- ]?region|peering.*egress|inter[- ]?availability zone", "intra_region"),
    (r"(?i)data transfer out|internet egress", "internet_out"),
)
# GCP SKU descriptions, old and new wording: "Network Internet Egress from Americas to Americas" /
# "Network Internet Data Transfer Out from Americas to EMEA", "Network Inter Region Egress from
# Americas to EMEA" / "Network Inter Region Data Transfer Out from Americas to EMEA",
# "Network Egress via Carrier Peering Network - Americas Based", "Network Inter Zone Data Transfer
# Out", Cloud Storage's "Download Worldwide Destinations (excluding Asia & Australia)" and
# "Inter-region GCP Storage egress within NA".
GCP_SKU = (
    (
        r"(?i)\binternet (egress|data transfer)|egress .*internet|carrier peering|download worldwide"
        r"|download (apac|china|australia)",
        "internet_out",
    ),
    (
        r"(?i)inter[- ]?region|inter[- ]?continent|egress between|(egress|data transfer out) from .* to "
        r"|download .* to ",
        "inter_region",
    ),
    (r"(?i)inter[- ]?zone|intra[- ]?region|intra[- ]?zone", "intra_region"),
    (r"(?i)\bingress\b|data transfer in\b", "in"),
)
# Any other provider (FOCUS rows of OCI and the like): plain words.
GENERIC = (
    (r"(?i)inter-region|between regions|region to region", "inter_region"),
    (r"(?i)internet|data transfer out|outbound data transfer|egress|-out-bytes", "internet_out"),
    (r"(?i)regional|inter-az|intra", "intra_region"),
    (r"(?i)data transfer in|ingress|-in-bytes|\binbound", "in"),
)
_GENERIC_NETWORK = r"(?i)data transfer|egress|bandwidth"


def aws_direction(usage_type: pl.Expr, description: pl.Expr) -> pl.Expr:
    """An AWS row's direction from its usage type, else the usage type or words of its description."""
    return pl.coalesce(
        first_match(usage_type, AWS_USAGE_TYPE),
        first_match(description, AWS_USAGE_TYPE + AWS_DESCRIPTION),
    )


def azure_direction(meter_words: pl.Expr) -> pl.Expr:
    """An Azure row's direction from its meter category, subcategory and name."""
    return first_match(meter_words, AZURE_METER)


def gcp_direction(sku_description: pl.Expr) -> pl.Expr:
    """A GCP row's direction from its SKU description."""
    return first_match(sku_description, GCP_SKU)


def generic_direction(description: pl.Expr, category: pl.Expr) -> pl.Expr:
    """Another provider's direction, only on networking rows (by category or words)."""
    networking = category.str.contains(r"(?i)network") | description.str.contains(_GENERIC_NETWORK)
    return pl.when(networking).then(first_match(description, GENERIC))


def direction(
    provider: pl.Expr, usage_type: pl.Expr, meter: pl.Expr, description: pl.Expr, category: pl.Expr
) -> pl.Expr:
    """A row of any provider (``aws`` / ``azure`` / ``gcp`` / other), as FOCUS carries them.

    ``usage_type``: AWS's x_UsageType; ``meter``: Azure's x_SkuMeterCategory / Subcategory / Name
    together; ``description``: ChargeDescription (GCP writes its SKU description there).
    """
    return (
        pl.when(provider == "aws")
        .then(aws_direction(usage_type, description))
        .when(provider == "azure")
        .then(azure_direction(pl.concat_str([meter, description], separator=" ", ignore_nulls=True)))
        .when(provider == "gcp")
        .then(gcp_direction(description))
        .otherwise(generic_direction(description, category))
    )

"""AWS billing rules as tables: line item types, amortised cost, service categories, transfer direction.

Line item types (``lineItem/LineItemType``) -> FOCUS charge columns. ``TERM`` means the pricing
category comes from the pricing term (Spot usage types or term -> Dynamic, Reserved / Savings Plan
-> Committed, otherwise Standard). ``RIUpfrontFee`` is a ``Fee`` row that carries a reservation ARN
(the upfront payment of an RI). A type not in the table is kept as an ``Adjustment`` priced at its
unblended cost, its own type still in ``x_line_item_type``: no row is dropped.

| line item type          | charge category | class      | frequency   | pricing   | commitment, status         |
|-------------------------|-----------------|------------|-------------|-----------|----------------------------|
| Usage                   | Usage           |            | Usage-Based | TERM      |                            |
| DiscountedUsage         | Usage           |            | Usage-Based | Committed | Reserved Instance, Used    |
| SavingsPlanCoveredUsage | Usage           |            | Usage-Based | Committed | Savings Plan, Used         |
| SavingsPlanNegation     | Usage           |            | Usage-Based | Committed | Savings Plan, Used         |
| SavingsPlanRecurringFee | Purchase        |            | Recurring   | Committed | Savings Plan, Unused       |
| SavingsPlanUpfrontFee   | Purchase        |            | One-Time    | Committed | Savings Plan               |
| RIFee                   | Purchase        |            | Recurring   | Committed | Reserved Instance, Unused  |
| RIUpfrontFee (Fee+ARN)  | Purchase        |            | One-Time    | Committed | Reserved Instance          |
| Fee                     | Purchase        |            | One-Time    | Standard  |                            |
| Tax                     | Tax             |            | Recurring   |           |                            |
| Credit                  | Credit          |            | One-Time    |           |                            |
| Refund                  | Credit          | Correction | One-Time    |           |                            |
| BundledDiscount, Discount, EdpDiscount, PrivateRateDiscount, DistributorDiscount, SppDiscount:  |
|   each                  | Credit          |            | Usage-Based |           |                            |
| (any other type)        | Adjustment      |            | One-Time    |           |                            |

Amortised (effective) cost, as AWS defines it for the CUR (the well-architected labs' "amortized
cost" query, and the FOCUS EffectiveCost of AWS's own FOCUS export):

| line item type          | effective_cost                                                          |
|-------------------------|-------------------------------------------------------------------------|
| DiscountedUsage         | reservation/EffectiveCost                                               |
| RIFee                   | reservation/UnusedAmortizedUpfrontFeeForBillingPeriod + reservation/UnusedRecurringFee |
| RIUpfrontFee (Fee+ARN)  | 0 (amortised into the covered usage)                                    |
| SavingsPlanCoveredUsage | savingsPlan/SavingsPlanEffectiveCost                                    |
| SavingsPlanNegation     | 0                                                                       |
| SavingsPlanRecurringFee | savingsPlan/TotalCommitmentToDate - savingsPlan/UsedCommitment          |
| SavingsPlanUpfrontFee   | 0 (amortised into the covered usage)                                    |
| anything else           | lineItem/UnblendedCost                                                  |
"""

from __future__ import annotations

import polars as pl

from transforms.billing import transfer
from transforms.parsing import first_match

TERM = "TERM"

# kind -> (charge_category, charge_class, charge_frequency, pricing_category, commitment type, status)
LINE_ITEM_TYPES: dict[str, tuple[str, str | None, str, str | None, str | None, str | None]] = {
    "Usage": ("Usage", None, "Usage-Based", TERM, None, None),
    "DiscountedUsage": ("Usage", None, "Usage-Based", "Committed", "Reserved Instance", "Used"),
    "SavingsPlanCoveredUsage": ("Usage", None, "Usage-Based", "Committed", "Savings Plan", "Used"),
    "SavingsPlanNegation": ("Usage", None, "Usage-Based", "Committed", "Savings Plan", "Used"),
    "SavingsPlanRecurringFee": ("Purchase", None, "Recurring", "Committed", "Savings Plan", "Unused"),
    "SavingsPlanUpfrontFee": ("Purchase", None, "One-Time", "Committed", "Savings Plan", None),
    "RIFee": ("Purchase", None, "Recurring", "Committed", "Reserved Instance", "Unused"),
    "RIUpfrontFee": ("Purchase", None, "One-Time", "Committed", "Reserved Instance", None),
    "Fee": ("Purchase", None, "One-Time", "Standard", None, None),
    "Tax": ("Tax", None, "Recurring", None, None, None),
    "Credit": ("Credit", None, "One-Time", None, None, None),
    "Refund": ("Credit", "Correction", "One-Time", None, None, None),
    "BundledDiscount": ("Credit", None, "Usage-Based", None, None, None),
    "Discount": ("Credit", None, "Usage-Based", None, None, None),
    "EdpDiscount": ("Credit", None, "Usage-Based", None, None, None),
    "PrivateRateDiscount": ("Credit", None, "Usage-Based", None, None, None),
    "DistributorDiscount": ("Credit", None, "Usage-Based", None, None, None),
    "SppDiscount": ("Credit", None, "Usage-Based", None, None, None),
}
UNKNOWN_TYPE = ("Adjustment", None, "One-Time", None, None, None)
COMMITMENT_ARN = {"Reserved Instance": "reservation_arn", "Savings Plan": "savings_plan_arn"}

# kind -> the logical fields whose signed sum is the amortised cost; () is zero; absent: unblended.
AMORTISED_COST: dict[str, tuple[tuple[int, str], ...]] = {
    "DiscountedUsage": ((1, "reservation_effective_cost"),),
    "RIFee": ((1, "reservation_unused_upfront"), (1, "reservation_unused_recurring")),
    "RIUpfrontFee": (),
    "SavingsPlanCoveredUsage": ((1, "savings_plan_effective_cost"),),
    "SavingsPlanNegation": (),
    "SavingsPlanRecurringFee": ((1, "savings_plan_total_commitment"), (-1, "savings_plan_used_commitment")),
    "SavingsPlanUpfrontFee": (),
}

# AWS product / service code -> FOCUS ServiceCategory ("Other" for codes not listed).
SERVICE_CATEGORIES: dict[str, str] = {
    "AmazonEC2": "Compute",
    "AWSLambda": "Compute",
    "AmazonECS": "Compute",
    "AmazonEKS": "Compute",
    "AWSBatch": "Compute",
    "AmazonLightsail": "Compute",
    "AWSOutposts": "Compute",
    "AmazonAppStream": "Compute",
    "AWSElasticBeanstalk": "Compute",
    "AmazonWorkSpaces": "Compute",
    "AmazonS3": "Storage",
    "AmazonS3GlacierDeepArchive": "Storage",
    "AmazonGlacier": "Storage",
    "AmazonEFS": "Storage",
    "AmazonFSx": "Storage",
    "AWSBackup": "Storage",
    "AWSStorageGateway": "Storage",
    "AmazonEBS": "Storage",
    "AmazonSageMaker": "AI and Machine Learning",
    "AmazonBedrock": "AI and Machine Learning",
    "AmazonRekognition": "AI and Machine Learning",
    "AmazonComprehend": "AI and Machine Learning",
    "AmazonTextract": "AI and Machine Learning",
    "AmazonTranscribe": "AI and Machine Learning",
    "AmazonPolly": "AI and Machine Learning",
    "translate": "AI and Machine Learning",
    "AmazonLex": "AI and Machine Learning",
    "AmazonKendra": "AI and Machine Learning",
    "AmazonPersonalize": "AI and Machine Learning",
    "AmazonForecast": "AI and Machine Learning",
    "AmazonQ": "AI and Machine Learning",
    "AWSGlue": "Analytics",
    "AmazonEMR": "Analytics",
    "AmazonElasticMapReduce": "Analytics",
    "AmazonAthena": "Analytics",
    "AmazonRedshift": "Analytics",
    "AmazonKinesis": "Analytics",
    "AmazonKinesisFirehose": "Analytics",
    "AmazonES": "Analytics",
    "AmazonOpenSearchService": "Analytics",
    "AmazonQuickSight": "Analytics",
    "AmazonMSK": "Analytics",
    "AWSDataPipeline": "Analytics",
    "AWSLakeFormation": "Analytics",
    "AmazonRDS": "Databases",
    "AmazonDynamoDB": "Databases",
    "AmazonElastiCache": "Databases",
    "AmazonDocDB": "Databases",
    "AmazonNeptune": "Databases",
    "AmazonMemoryDB": "Databases",
    "AmazonTimestream": "Databases",
    "AmazonKeyspaces": "Databases",
    "AWSDataTransfer": "Networking",
    "AmazonVPC": "Networking",
    "AmazonCloudFront": "Networking",
    "AmazonRoute53": "Networking",
    "AWSDirectConnect": "Networking",
    "AWSELB": "Networking",
    "AmazonApiGateway": "Networking",
    "AWSGlobalAccelerator": "Networking",
    "AWSTransitGateway": "Networking",
    "AWSQueueService": "Integration",
    "AmazonSNS": "Integration",
    "AmazonStates": "Integration",
    "AmazonEventBridge": "Integration",
    "AmazonMQ": "Integration",
    "AmazonSES": "Integration",
    "AmazonCloudWatch": "Management and Governance",
    "AWSCloudTrail": "Management and Governance",
    "AWSConfig": "Management and Governance",
    "AWSSystemsManager": "Management and Governance",
    "AWSCloudFormation": "Management and Governance",
    "AWSCostExplorer": "Management and Governance",
    "AWSSupportBusiness": "Management and Governance",
    "AWSSupportEnterprise": "Management and Governance",
    "AWSSupportDeveloper": "Management and Governance",
    "AWSCloudShell": "Developer Tools",
    "AWSCodeCommit": "Developer Tools",
    "AWSCodeBuild": "Developer Tools",
    "AWSCodePipeline": "Developer Tools",
    "AWSCodeArtifact": "Developer Tools",
    "AmazonECR": "Developer Tools",
    "AWSXRay": "Developer Tools",
    "awskms": "Security",
    "AWSSecretsManager": "Security",
    "AWSWAF": "Security",
    "AmazonGuardDuty": "Security",
    "AWSShield": "Security",
    "AWSSecurityHub": "Security",
    "AmazonInspector": "Security",
    "AmazonMacie": "Security",
    "AWSCertificateManager": "Security",
    "AmazonCognito": "Identity",
    "AWSDirectoryService": "Identity",
    "AWSIoT": "Internet of Things",
    "AWSIoTAnalytics": "Internet of Things",
    "AWSGreengrass": "Internet of Things",
    "AWSMigrationHubRefactorSpaces": "Migration",
    "AWSDatabaseMigrationSvc": "Migration",
    "AWSApplicationMigrationSvc": "Migration",
    "AWSTransfer": "Migration",
    "AWSElementalMediaConvert": "Media",
    "AmazonIVS": "Media",
    "AmazonKinesisVideo": "Media",
    "AWSAmplify": "Web",
    "AWSAppSync": "Mobile",
    "AmazonPinpoint": "Mobile",
}

# The S3 volume types of CUR -> the S3 storage class names (what S3 Inventory reports).
S3_STORAGE_CLASSES: dict[str, str] = {
    "Standard": "STANDARD",
    "Standard - Infrequent Access": "STANDARD_IA",
    "One Zone - Infrequent Access": "ONEZONE_IA",
    "Intelligent-Tiering Frequent Access": "INTELLIGENT_TIERING",
    "Intelligent-Tiering Infrequent Access": "INTELLIGENT_TIERING",
    "Intelligent-Tiering Archive Instant Access": "INTELLIGENT_TIERING",
    "Intelligent-Tiering": "INTELLIGENT_TIERING",
    "Amazon Glacier": "GLACIER",
    "Glacier Flexible Retrieval": "GLACIER",
    "Glacier Instant Retrieval": "GLACIER_IR",
    "Glacier Deep Archive": "DEEP_ARCHIVE",
    "Reduced Redundancy": "REDUCED_REDUNDANCY",
    "Express One Zone": "EXPRESS_ONEZONE",
}

# Ordered: the first rule whose field matches decides x_transfer_direction (the patterns live in
# transforms/billing/transfer.py, shared with the FOCUS reader); then the locations.
TRANSFER_RULES: tuple[tuple[str, str, str], ...] = (
    *(("transfer_type", pattern, direction) for pattern, direction in transfer.AWS_TRANSFER_TYPE),
    *(("usage_type", pattern, direction) for pattern, direction in transfer.AWS_USAGE_TYPE),
    ("to_location", r"^External$", "internet_out"),
    ("from_location", r"^External$", "in"),
)


def line_item_kind(f: dict[str, pl.Expr]) -> pl.Expr:
    """The line item type, with an RI's upfront Fee (a Fee carrying a reservation ARN) told apart."""
    return (
        pl.when((f["line_item_type"] == "Fee") & f["reservation_arn"].is_not_null())
        .then(pl.lit("RIUpfrontFee"))
        .otherwise(f["line_item_type"])
    )


def charge_attribute(kind: pl.Expr, position: int) -> pl.Expr:
    """One column of LINE_ITEM_TYPES for each row's kind (UNKNOWN_TYPE for a kind not listed)."""
    mapping = {k: v[position] for k, v in LINE_ITEM_TYPES.items()}
    return kind.replace_strict(mapping, default=UNKNOWN_TYPE[position], return_dtype=pl.String)


def pricing_category(kind: pl.Expr, f: dict[str, pl.Expr]) -> pl.Expr:
    """Pricing category from the table, or from the pricing term where the table says TERM."""
    by_term = (
        pl.when(f["usage_type"].str.contains("SpotUsage") | (f["term"] == "Spot"))
        .then(pl.lit("Dynamic"))
        .when(f["term"].is_in(["Reserved", "Savings Plan", "SavingsPlan"]))
        .then(pl.lit("Committed"))
        .otherwise(pl.lit("Standard"))
    )
    from_table = charge_attribute(kind, 3)
    return pl.when(from_table == TERM).then(by_term).otherwise(from_table)


def service_category(f: dict[str, pl.Expr]) -> pl.Expr:
    """FOCUS service category of the product (the service code first: data transfer is Networking)."""
    code = pl.coalesce(f["servicecode"], f["product_code"])
    return code.replace_strict(SERVICE_CATEGORIES, default="Other", return_dtype=pl.String)


def storage_class(f: dict[str, pl.Expr]) -> pl.Expr:
    """S3 storage class name where known, else the EBS volume API name, volume type or storage class."""
    s3_class = f["volume_type"].replace_strict(S3_STORAGE_CLASSES, default=None, return_dtype=pl.String)
    return pl.coalesce(s3_class, f["volume_api_name"], f["volume_type"], f["storage_class"])


def transfer_direction(f: dict[str, pl.Expr]) -> pl.Expr:
    """internet_out | inter_region | intra_region | in from TRANSFER_RULES, else the locations."""
    expr = pl.when(pl.lit(False)).then(pl.lit(None, dtype=pl.String))
    for field, pattern, direction in TRANSFER_RULES:
        expr = expr.when(f[field].str.contains(pattern)).then(pl.lit(direction))
    same_place = f["from_location"] == f["to_location"]
    return (
        expr.when(f["from_location"].is_not_null() & f["to_location"].is_not_null() & same_place)
        .then(pl.lit("intra_region"))
        .when(f["from_location"].is_not_null() & f["to_location"].is_not_null())
        .then(pl.lit("inter_region"))
        .otherwise(first_match(f["description"], transfer.AWS_DESCRIPTION))
    )

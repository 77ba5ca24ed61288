"""Northwind AI's GCP (BigQuery export as JSONL), Azure (MCA cost details CSV, EUR) and OCI (FOCUS 1.0) bills."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl

from sample_data import company as co
from sample_data.frames import frame, hour_times, hours_in_month
from sample_data.money import double_expr, micro, text_expr
from sample_data.storage import GIB
from sample_data.workloads import Schedule, Window, rng_for

ISO = "%Y-%m-%dT%H:%M:%SZ"


def _kv(d: dict) -> list[dict]:
    return [{"key": k, "value": v} for k, v in d.items()]


# ------------------------------------------------------------------------------------------------
# GCP: the BigQuery billing export, nested, one JSON object per line
# ------------------------------------------------------------------------------------------------
def gcp_rows(sched: Schedule, window: Window, seed: int) -> pl.DataFrame:
    """One row per SKU and hour (compute, Vertex AI) or day (storage, egress); money in micro-units."""
    rng = rng_for(seed, "gcp")
    m = co.machine("a3-train-1")
    hours = np.flatnonzero(sched.on[m.name])
    s, e = hour_times(window, hours)
    total = micro(m.hourly)
    gpu, core = micro(m.hourly * 0.85), micro(m.hourly * 0.10)
    parts = []
    for sku_id, desc, cost, amount, unit in (
        ("A3H1-GPU0-H100", "Nvidia H100 80GB GPU running in Americas", gpu, 8 * 3600.0, "seconds"),
        ("A3H1-CORE-0208", "A3 Instance Core running in Americas", core, 208 * 3600.0, "seconds"),
        (
            "A3H1-RAM0-1872",
            "A3 Instance Ram running in Americas",
            total - gpu - core,
            1872 * 3600.0 * GIB,
            "byte-seconds",
        ),
    ):
        parts.append(
            _compute_engine_frame(m, len(hours), s, e, sku_id, desc, cost, usage_amount=amount, usage_unit=unit)
        )
    parts += [
        p for x in co.MACHINES if x.provider == "gcp" and x.name != m.name for p in _gcp_vm_rows(x, sched, window)
    ]
    H = window.hours
    s, e = hour_times(window, np.arange(H))
    vertex = micro(co.VERTEX_NODE_RATE * 2)
    parts.append(
        frame(
            H,
            start=s,
            end=e,
            service="Vertex AI",
            service_id="C7E2-9256-1C43",
            sku_id="VTX-PRED-G2S8",
            sku="Vertex AI: Online/Batch Prediction G2 Instance running in Americas",
            cost=vertex,
            credit=-(vertex // 10),
            credit_type="PROMOTION",
            usage_amount=2 * 3600.0,
            usage_unit="seconds",
            region="us-central1",
            zone=None,
            resource="asr-large-online",
            global_name=co.VERTEX_ENDPOINT,
            machine_spec=None,
            label_team="research",
            label_project="speech-asr",
            label_model="asr-large",
        )
    )
    days = np.arange(H // 24)
    s, e = hour_times(window, days * 24, 24)
    month_days = np.array([hours_in_month(window.at(d * 24)) / 24 for d in days])
    for bucket, desc, sku_id, tib, price in (
        ("nw-asr-audio", "Standard Storage US Central1", "GCS-STD-USC1", 80, 0.020),
        ("nw-asr-archive", "Nearline Storage US Central1", "GCS-NL-USC1", 300, 0.010),
    ):
        gib_month = np.round(tib * 1024 / month_days, 6)
        parts.append(
            frame(
                len(days),
                start=s,
                end=e,
                service="Cloud Storage",
                service_id="95FF-2EF5-5EA1",
                sku_id=sku_id,
                sku=desc,
                cost=micro(gib_month * price),
                credit=0,
                credit_type=None,
                usage_amount=float(tib * 1024 * GIB * 86400),
                usage_unit="byte-seconds",
                region="us-central1",
                zone=None,
                resource=bucket,
                global_name=f"//storage.googleapis.com/projects/_/buckets/{bucket}",
                machine_spec=None,
                label_team="research",
                label_project="speech-asr",
                label_model=None,
            )
        )
    first, length = co.DATAFLOW_HOURS
    flow_hours = (days[:, None] * 24 + first + np.arange(length)[None, :]).ravel()
    fs, fe = hour_times(window, flow_hours)
    for sku_id, desc, qty, rate, unit in (
        ("DFL-VCPU-BATCH", "vCPU Time Batch Iowa", co.DATAFLOW_VCPU, co.DATAFLOW_VCPU_RATE, "seconds"),
        ("DFL-RAM-BATCH", "RAM Time Batch Iowa", co.DATAFLOW_GB, co.DATAFLOW_GB_RATE, "gibibyte second"),
    ):
        load = np.repeat(np.round(rng.uniform(0.8, 1.2, len(days)), 3), length)  # the day's data volume varies
        parts.append(
            frame(
                len(flow_hours),
                start=fs,
                end=fe,
                service="Dataflow",
                service_id="3DB1-E2A6-D0EC",
                sku_id=sku_id,
                sku=desc,
                cost=micro(qty * load * rate),
                credit=0,
                credit_type=None,
                usage_amount=np.round(qty * load * 3600.0, 3),
                usage_unit=unit,
                region="us-central1",
                zone=None,
                resource="nightly-feature-pipeline",
                global_name=f"//dataflow.googleapis.com/projects/{co.GCP_PROJECT}/locations/us-central1/"
                "jobs/nightly-feature-pipeline",
                machine_spec=None,
                label_team="platform",
                label_project="feature-store",
                label_model=None,
            )
        )
    egress_gib = np.round(rng.normal(500, 40, len(days)), 3)
    egress = micro(egress_gib * 0.12)
    parts.append(
        frame(
            len(days),
            start=s,
            end=e,
            service="Networking",
            service_id="E505-1604-58F8",
            sku_id="NET-EGR-AM-AM",
            sku="Network Internet Egress from Americas to Americas",
            cost=egress,
            credit=-micro(0.12),
            credit_type="FREE_TIER",
            usage_amount=egress_gib * GIB,
            usage_unit="bytes",
            region="us-central1",
            zone=None,
            resource=None,
            global_name=None,
            machine_spec=None,
            label_team="research",
            label_project="speech-asr",
            label_model=None,
        )
    )
    return pl.concat(parts, how="diagonal_relaxed").sort("start", "sku_id", "resource", nulls_last=True)


def _compute_engine_frame(
    m: co.Machine, n: int, start, end, sku_id: str, sku: str, cost, *, disk: str | None = None, **usage
) -> pl.DataFrame:
    """``n`` hourly Compute Engine rows of one SKU for machine ``m`` (or its data ``disk``), with the
    machine's labels; ``usage``: the usage (and pricing) amount and unit columns, in that order."""
    return frame(
        n,
        start=start,
        end=end,
        service="Compute Engine",
        service_id="6F81-5844-456A",
        sku_id=sku_id,
        sku=sku,
        cost=cost,
        credit=0,
        credit_type=None,
        **usage,
        region=m.region,
        zone=m.zone,
        resource=disk or m.name,
        global_name=m.resource_id.replace(f"/instances/{m.name}", f"/disks/{disk}") if disk else m.resource_id,
        machine_spec=None if disk else m.instance_type,
        **{f"label_{k}": v for k, v in m.all_tags().items()},
    )


def _gcp_vm_rows(m: co.Machine, sched: Schedule, window: Window) -> list[pl.DataFrame]:
    """A VM's hours as GCP bills them: a core, a RAM and (with GPUs) a GPU line per hour; HDFS nodes' data disks."""
    hours = np.flatnonzero(sched.on[m.name])
    s, e = hour_times(window, hours)
    core, ram, gpu = co.GCP_SKUS[m.instance_type.split("-")[0]]
    vcpu, gib = co.GCP_SHAPES[m.instance_type]
    lines = [
        (core, vcpu, vcpu * 3600.0, "seconds", "hour"),
        (ram, gib, gib * GIB * 3600.0, "byte-seconds", "gibibyte hour"),
    ]
    if gpu:
        lines.append((gpu, m.gpus, m.gpus * 3600.0, "seconds", "hour"))
    parts = [
        _compute_engine_frame(
            m,
            len(hours),
            s,
            e,
            sku_id,
            desc,
            micro(qty * price),
            usage_amount=amount,
            usage_unit=unit,
            pricing_amount=float(qty),
            pricing_unit=punit,
        )
        for (sku_id, desc, price), qty, amount, unit, punit in lines
    ]
    if m.workload == "hdfs_vm":
        sku_id, desc, price = co.GCP_PD_STANDARD
        disk = f"{m.name}-data"
        month_h = np.array([hours_in_month(window.at(h)) for h in hours], dtype=np.float64)
        gib_months = np.round(co.HDFS_GCP_DISK_GIB / month_h, 9)
        parts.append(
            _compute_engine_frame(
                m,
                len(hours),
                s,
                e,
                sku_id,
                desc,
                micro(gib_months * price),
                disk=disk,
                usage_amount=co.HDFS_GCP_DISK_GIB * GIB * 3600.0,
                usage_unit="byte-seconds",
                pricing_amount=gib_months,
                pricing_unit="gibibyte month",
            )
        )
    return parts


def gcp_export(rows: pl.DataFrame) -> pl.DataFrame:
    """Rows in the nested BigQuery export layout (GCP_EXPORT_SCHEMA field names)."""
    label_cols = sorted(c for c in rows.columns if c.startswith("label_"))
    labels = pl.concat_list(
        [pl.when(pl.col(c).is_not_null()).then(pl.struct(key=pl.lit(c[6:]), value=pl.col(c))) for c in label_cols]
    ).list.drop_nulls()
    month = pl.col("start").dt.strftime("%Y%m")
    credits = (
        pl.when(pl.col("credit") != 0)
        .then(
            pl.concat_list(
                pl.struct(
                    name=pl.concat_str([pl.col("credit_type"), pl.lit(":northwind-generated")]),
                    amount=double_expr("credit"),
                    full_name=pl.lit(None, pl.String),
                    id=pl.concat_str([pl.col("credit_type"), pl.lit("-0001")]),
                    type=pl.col("credit_type"),
                )
            )
        )
        .otherwise(
            pl.lit(
                [],
                dtype=pl.List(
                    pl.Struct(
                        {
                            "name": pl.String,
                            "amount": pl.Float64,
                            "full_name": pl.String,
                            "id": pl.String,
                            "type": pl.String,
                        }
                    )
                ),
            )
        )
    )
    return rows.select(
        billing_account_id=pl.lit(co.GCP_BILLING_ACCOUNT),
        service=pl.struct(id=pl.col("service_id"), description=pl.col("service")),
        sku=pl.struct(id=pl.col("sku_id"), description=pl.col("sku")),
        usage_start_time=pl.col("start").dt.strftime(ISO),
        usage_end_time=pl.col("end").dt.strftime(ISO),
        project=pl.struct(
            id=pl.lit(co.GCP_PROJECT),
            number=pl.lit("864209753124"),
            name=pl.lit("nw-research"),
            labels=pl.lit([], dtype=pl.List(pl.Struct({"key": pl.String, "value": pl.String}))),
            ancestry_numbers=pl.lit("/9182736450/864209753124/"),
        ),
        labels=labels,
        system_labels=pl.when(pl.col("machine_spec").is_not_null())
        .then(
            pl.concat_list(pl.struct(key=pl.lit("compute.googleapis.com/machine_spec"), value=pl.col("machine_spec")))
        )
        .otherwise(pl.lit([], dtype=pl.List(pl.Struct({"key": pl.String, "value": pl.String})))),
        location=pl.struct(
            location=pl.col("region"), country=pl.lit("US"), region=pl.col("region"), zone=pl.col("zone")
        ),
        resource=pl.struct(name=pl.col("resource"), global_name=pl.col("global_name")),
        export_time=(pl.col("end") + pl.duration(hours=4)).dt.strftime(ISO),
        cost=double_expr("cost"),
        currency=pl.lit("USD"),
        currency_conversion_rate=pl.lit(1.0),
        usage=pl.struct(
            amount=pl.col("usage_amount"),
            unit=pl.col("usage_unit"),
            amount_in_pricing_units=pl.col("pricing_amount"),
            pricing_unit=pl.col("pricing_unit"),
        ),
        credits=credits,
        invoice=pl.struct(month=month),
        cost_type=pl.lit("regular"),
    )


# ------------------------------------------------------------------------------------------------
# Azure: MCA cost details CSV (actual cost), EUR, with a byte-order mark
# ------------------------------------------------------------------------------------------------
AZURE_HEADER = (
    "InvoiceSectionName,AccountName,AccountOwnerId,SubscriptionId,SubscriptionName,ResourceGroup,ResourceLocation,Date,"
    "ProductName,MeterCategory,MeterSubCategory,MeterId,MeterName,MeterRegion,UnitOfMeasure,Quantity,EffectivePrice,"
    "CostInBillingCurrency,CostCenter,ConsumedService,ResourceId,Tags,OfferId,AdditionalInfo,ServiceInfo1,ServiceInfo2,"
    "ResourceName,ReservationId,ReservationName,UnitPrice,ProductOrderId,ProductOrderName,Term,PublisherType,"
    "PublisherName,ChargeType,Frequency,PricingModel,AvailabilityZone,BillingAccountId,BillingAccountName,"
    "BillingCurrencyCode,BillingPeriodStartDate,BillingPeriodEndDate,BillingProfileId,BillingProfileName,"
    "InvoiceSectionId,IsAzureCreditEligible,PartNumber,PayGPrice,PlanName,ServiceFamily,CostAllocationRuleName,"
    "benefitId,benefitName"
).split(",")


def _azure_tags(d: dict) -> str:
    return ",".join(f'"{k}": "{v}"' for k, v in d.items())


def azure_rows(sched: Schedule, window: Window, seed: int) -> pl.DataFrame:
    """Daily cost details rows per meter and resource; money in micro-units of EUR."""
    rng = rng_for(seed, "azure")
    days = np.arange(window.hours // 24)
    starts, _ = hour_times(window, days * 24)
    month_days = np.array([hours_in_month(window.at(d * 24)) / 24 for d in days])
    rg = "/subscriptions/" + co.AZURE_SUBSCRIPTION + "/resourceGroups/"
    parts = []
    for m in (x for x in co.MACHINES if x.provider == "azure"):  # one meter line per VM and day, in VM hours
        sub, meter, product, vcpus = co.AZURE_VM_METERS[m.instance_type]
        parts.append(
            dict(
                qty=sched.on[m.name].reshape(-1, 24).sum(axis=1).astype(np.float64),
                price=m.hourly,
                rg=m.resource_id.split("/resourceGroups/")[1].split("/")[0],
                resource=m.resource_id,
                name=m.name,
                product=product,
                category="Virtual Machines",
                sub=sub,
                meter=meter,
                unit="1 Hour",
                service="Microsoft.Compute",
                family="Compute",
                tags=m.all_tags(),
                info=json.dumps({"ServiceType": m.instance_type, "VCPUs": vcpus, "ImageType": "Canonical"}),
            )
        )
    openai = rg + "rg-nlp-ai/providers/Microsoft.CognitiveServices/accounts/nw-openai-weu"
    growth = window.growth()[days * 24]
    for meter, price, mean in (
        ("gpt-4o-0806-Inp-glbl Tokens", 0.0024, 12_000.0),
        ("gpt-4o-0806-Outp-glbl Tokens", 0.0096, 3_000.0),
    ):
        parts.append(
            dict(
                qty=np.round(rng.normal(mean, mean * 0.1, len(days)) * growth, 3),
                price=price,
                rg="rg-nlp-ai",
                resource=openai,
                name="nw-openai-weu",
                product=f"Azure OpenAI - {meter}",
                category="Cognitive Services",
                sub="Azure OpenAI",
                meter=meter,
                unit="1K",
                service="Microsoft.CognitiveServices",
                family="AI + Machine Learning",
                tags={"team": "nlp", "project": "llm-chat", "model": "gpt-4o"},
                info="",
            )
        )
    parts.append(
        dict(
            qty=np.round(co.DATABRICKS_DBU * rng.uniform(0.8, 1.2, len(days)), 3),
            price=co.DATABRICKS_DBU_RATE,
            rg="rg-platform-data",
            resource=rg + "rg-platform-data/providers/Microsoft.Databricks/workspaces/nw-dbx-features",
            name="nw-dbx-features",
            product="Azure Databricks - Premium - Jobs Compute - DBU",
            category="Azure Databricks",
            sub="Premium Jobs Compute",
            meter="Premium Jobs Compute DBU",
            unit="1 Hour",
            service="Microsoft.Databricks",
            family="Analytics",
            tags={"team": "platform", "project": "feature-store"},
            info="",
        )
    )
    storage = rg + "rg-vision-data/providers/Microsoft.Storage/storageAccounts/nwvisiondatagen"
    for tier, price, gb in (("Hot", 0.0196, 60_000), ("Cool", 0.0107, 250_000)):
        parts.append(
            dict(
                qty=np.round(gb / month_days, 6),
                price=price,
                rg="rg-vision-data",
                resource=storage,
                name="nwvisiondatagen",
                product=f"Blob Storage - {tier} LRS",
                category="Storage",
                sub="Tiered Block Blob",
                meter=f"{tier} LRS Data Stored",
                unit="1 GB/Month",
                service="Microsoft.Storage",
                family="Storage",
                tags={"team": "vision", "project": "vision-seg"},
                info="",
            )
        )
    parts.append(
        dict(
            qty=np.round(rng.normal(300, 30, len(days)), 3),
            price=0.08,
            rg="rg-vision-data",
            resource=storage,
            name="nwvisiondatagen",
            product="Bandwidth - Standard Data Transfer Out",
            category="Bandwidth",
            sub="",
            meter="Standard Data Transfer Out",
            unit="1 GB",
            service="Microsoft.Storage",
            family="Networking",
            tags={"team": "vision", "project": "vision-seg"},
            info="",
        )
    )
    frames = []
    for p in parts:
        qty = np.asarray(p["qty"], dtype=np.float64)
        frames.append(
            frame(
                len(days),
                day=starts,
                Quantity=qty,
                cost=micro(qty * p["price"]),
                price=f"{p['price']:.6f}",
                ResourceGroup=p["rg"],
                ResourceId=p["resource"],
                ResourceName=p["name"],
                ProductName=p["product"],
                MeterCategory=p["category"],
                MeterSubCategory=p["sub"],
                MeterName=p["meter"],
                UnitOfMeasure=p["unit"],
                ConsumedService=p["service"],
                ServiceFamily=p["family"],
                Tags=_azure_tags(p["tags"]),
                AdditionalInfo=p["info"],
            )
        )
    return pl.concat(frames).sort("day", "ResourceId", "MeterName")


def azure_csv(rows: pl.DataFrame) -> str:
    """The rows as MCA cost details CSV text (with a BOM), every header of a real export."""
    period = pl.col("day").dt.truncate("1mo")
    table = rows.with_columns(
        Date=pl.col("day").dt.strftime("%m/%d/%Y"),
        CostInBillingCurrency=text_expr("cost"),
        EffectivePrice=pl.col("price"),
        UnitPrice=pl.col("price"),
        PayGPrice=pl.col("price"),
        Quantity=pl.col("Quantity").round(6).cast(pl.String),
        BillingPeriodStartDate=period.dt.strftime("%m/%d/%Y"),
        BillingPeriodEndDate=(period.dt.offset_by("1mo") - pl.duration(days=1)).dt.strftime("%m/%d/%Y"),
        SubscriptionId=pl.lit(co.AZURE_SUBSCRIPTION),
        SubscriptionName=pl.lit("northwind-ml-generated"),
        ResourceLocation=pl.lit("westeurope"),
        MeterRegion=pl.lit("EU West"),
        ChargeType=pl.lit("Usage"),
        Frequency=pl.lit("UsageBased"),
        PricingModel=pl.lit("OnDemand"),
        BillingCurrencyCode=pl.lit("EUR"),
        BillingAccountId=pl.lit(co.AZURE_BILLING_ACCOUNT),
        BillingAccountName=pl.lit(co.COMPANY),
        BillingProfileId=pl.lit("NW-BP-0001"),
        BillingProfileName=pl.lit("Northwind AI EU (generated)"),
        InvoiceSectionName=pl.lit("ML platform"),
        InvoiceSectionId=pl.lit("NW-IS-0001"),
        PublisherType=pl.lit("Azure"),
        PublisherName=pl.lit("Microsoft"),
        IsAzureCreditEligible=pl.lit("TRUE"),
        OfferId=pl.lit("MS-AZR-0017G"),
        AccountName=pl.lit("northwind"),
        AccountOwnerId=pl.lit("finops@northwind.example"),
        MeterId=pl.col("MeterName").map_elements(
            lambda s: co.hex_id(s, 8) + "-0000-4000-8000-" + co.hex_id(s, 12), return_dtype=pl.String
        ),
    )
    table = table.select([pl.col(c) if c in table.columns else pl.lit("").alias(c) for c in AZURE_HEADER])
    return "\ufeff" + table.write_csv()


# ------------------------------------------------------------------------------------------------
# OCI as FOCUS 1.0 CSV
# ------------------------------------------------------------------------------------------------
FOCUS_HEADER = (
    "AvailabilityZone,BilledCost,BillingAccountId,BillingAccountName,BillingCurrency,BillingPeriodEnd,"
    "BillingPeriodStart,ChargeCategory,ChargeClass,ChargeDescription,ChargeFrequency,ChargePeriodEnd,"
    "ChargePeriodStart,CommitmentDiscountCategory,CommitmentDiscountId,CommitmentDiscountName,"
    "CommitmentDiscountStatus,CommitmentDiscountType,ConsumedQuantity,ConsumedUnit,ContractedCost,"
    "ContractedUnitPrice,EffectiveCost,InvoiceIssuerName,ListCost,ListUnitPrice,PricingCategory,PricingQuantity,"
    "PricingUnit,ProviderName,PublisherName,RegionId,RegionName,ResourceId,ResourceName,ResourceType,"
    "ServiceCategory,ServiceName,SkuId,SkuPriceId,SubAccountId,SubAccountName,Tags"
).split(",")


def focus_rows(sched: Schedule, window: Window, seed: int) -> pl.DataFrame:
    """OCI line items in FOCUS terms: GPU VM hours, object storage per day, a monthly credit."""
    rng = rng_for(seed, "oci")
    m = co.machine("oci-a10-eval-1")
    hours = np.flatnonzero(sched.on[m.name])
    s, e = hour_times(window, hours)
    vm = micro(m.hourly)
    tags = json.dumps(m.all_tags(), sort_keys=True)
    parts = [
        frame(
            len(hours),
            start=s,
            end=e,
            billed=vm,
            category="Usage",
            description="GPU.A10 - VM hours",
            qty=1.0,
            unit="Hours",
            service="Compute",
            service_category="Compute",
            resource=m.resource_id,
            resource_name=m.name,
            resource_type="Instance",
            sku="B95909",
            price=f"{m.hourly:.6f}",
            tags=tags,
        )
    ]
    days = np.arange(window.hours // 24)
    s, e = hour_times(window, days * 24, 24)
    month_days = np.array([hours_in_month(window.at(d * 24)) / 24 for d in days])
    gb_month = np.round(rng.normal(40_000, 400, len(days)) / month_days, 6)
    parts.append(
        frame(
            len(days),
            start=s,
            end=e,
            billed=micro(gb_month * 0.0255),
            category="Usage",
            description="Object Storage - Storage",
            qty=gb_month,
            unit="GB Months",
            service="Object Storage",
            service_category="Storage",
            resource="ocid1.bucket.oc1.iad.northwindgeneratedevaldata",
            resource_name="nw-eval-data",
            resource_type="Bucket",
            sku="B91628",
            price="0.025500",
            tags=json.dumps({"project": "search-embed", "team": "platform"}, sort_keys=True),
        )
    )
    rows = pl.concat(parts, how="diagonal_relaxed")
    seg_rows = (
        rows.group_by(pl.col("start").dt.truncate("1mo").alias("month"))
        .agg(pl.col("start").min(), pl.col("end").max())
        .sort("month")
    )
    credits = [
        frame(
            1,
            start=r["start"],
            end=r["end"],
            billed=-micro(250.0),
            category="Credit",
            description="Oracle Universal Credits promotion (generated)",
            qty=None,
            unit=None,
            service="Compute",
            service_category="Compute",
            resource=None,
            resource_name=None,
            resource_type=None,
            sku=None,
            price=None,
            tags=None,
        )
        for r in seg_rows.iter_rows(named=True)
    ]
    return pl.concat([rows, *credits], how="diagonal_relaxed").sort("start", "category", "resource", nulls_last=True)


def focus_csv(rows: pl.DataFrame) -> str:
    """FOCUS 1.0 CSV text with the specification's column names."""
    period = pl.col("start").dt.truncate("1mo")
    table = rows.select(
        BilledCost=text_expr("billed"),
        EffectiveCost=text_expr("billed"),
        ListCost=text_expr("billed"),
        ContractedCost=text_expr("billed"),
        BillingAccountId=pl.lit(co.OCI_TENANCY),
        BillingAccountName=pl.lit("northwind-generated"),
        BillingCurrency=pl.lit("USD"),
        BillingPeriodStart=period.dt.strftime(ISO),
        BillingPeriodEnd=period.dt.offset_by("1mo").dt.strftime(ISO),
        ChargeCategory=pl.col("category"),
        ChargeDescription=pl.col("description"),
        ChargeFrequency=pl.when(pl.col("category") == "Credit")
        .then(pl.lit("One-Time"))
        .otherwise(pl.lit("Usage-Based")),
        ChargePeriodStart=pl.col("start").dt.strftime(ISO),
        ChargePeriodEnd=pl.col("end").dt.strftime(ISO),
        ConsumedQuantity=pl.col("qty").cast(pl.String),
        ConsumedUnit=pl.col("unit"),
        PricingQuantity=pl.col("qty").cast(pl.String),
        PricingUnit=pl.col("unit"),
        ListUnitPrice=pl.col("price"),
        ContractedUnitPrice=pl.col("price"),
        InvoiceIssuerName=pl.lit("Oracle"),
        ProviderName=pl.lit("Oracle"),
        PublisherName=pl.lit("Oracle"),
        PricingCategory=pl.when(pl.col("category") == "Usage").then(pl.lit("Standard")),
        RegionId=pl.lit("us-ashburn-1"),
        RegionName=pl.lit("US East (Ashburn)"),
        ResourceId=pl.col("resource"),
        ResourceName=pl.col("resource_name"),
        ResourceType=pl.col("resource_type"),
        ServiceCategory=pl.col("service_category"),
        ServiceName=pl.col("service"),
        SkuId=pl.col("sku"),
        SkuPriceId=pl.col("sku"),
        SubAccountId=pl.lit("ocid1.compartment.oc1..northwindgeneratedml"),
        SubAccountName=pl.lit("ml-eval"),
        Tags=pl.col("tags"),
    )
    table = table.select([pl.col(c) if c in table.columns else pl.lit(None, pl.String).alias(c) for c in FOCUS_HEADER])
    return table.write_csv()


def write_text(text: str, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    return path

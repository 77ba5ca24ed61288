"""Configuration files are read once, into validated models: a typo or a wrong type is an error
naming the file, the key and what was expected, never a silent fall-back to a default."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from flows.config import (
    ConfigError,
    load_attribution_rules,
    load_detector_config,
    load_energy,
    load_fx_rates,
    load_instances,
    load_prices,
    load_recommendation_settings,
)
from flows.settings import CONFIG_DIR, Settings
from transforms.config import AttributionRules, EnergySettings, RecommendationSettings
from transforms.schema import MONEY

SHIPPED = (CONFIG_DIR / "recommendations.toml").read_text()


def _toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "recommendations.toml"
    path.write_text(text)
    return path


def _error(path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_recommendation_settings(path)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_unknown_key_names_file_key_and_the_known_keys(tmp_path):
    path = _toml(tmp_path, SHIPPED.replace("idle_util_pct = 5.0", "idle_utl_pct = 5.0"))
    assert _error(path) == (
        f"detector configuration {path}: [idle_gpu] idle_utl_pct: unknown key, "
        "expected one of: idle_util_pct, min_idle_share"
    )


def test_wrong_type_names_file_key_and_expected_type(tmp_path):
    path = _toml(
        tmp_path,
        SHIPPED.replace("top_n = 3", 'top_n = "3"').replace("count_unknown_access = false", "count_unknown_access = 0"),
    )
    assert _error(path) == (
        f"detector configuration {path}: [compression] top_n: expected an integer, got '3'; "
        "[storage_tiering] count_unknown_access: expected true or false, got 0"
    )


def test_wrong_type_inside_a_provider_table_and_a_choice(tmp_path):
    path = _toml(
        tmp_path,
        SHIPPED.replace('cpu_instance = { aws = "c7i.2xlarge"', "cpu_instance = { aws = 7").replace(
            'term = "1yr"', 'term = "2yr"'
        ),
    )
    assert _error(path) == (
        f"detector configuration {path}: [gpu_to_cpu] cpu_instance.aws: expected text, got 7; "
        "[commitments] term: expected '1yr' or '3yr', got '2yr'"
    )


def test_misspelt_section_is_an_error(tmp_path):
    path = _toml(tmp_path, SHIPPED.replace("[idle_gpu]", "[idle_gpus]"))
    assert _error(path) == (
        f"detector configuration {path}: [idle_gpus]: unknown section, expected one of: batching, checkpoint_sprawl, "
        "commitments, compression, data_compression, distributed_efficiency, general, gpu_to_cpu, hdfs_to_object, "
        "idle_gpu, network, scheduling, spot, storage_tiering, underused_gpu"
    )


def test_unreadable_and_missing_files_name_the_file(tmp_path):
    path = _toml(tmp_path, "[idle_gpu\n")
    assert _error(path).startswith(f"detector configuration {path}: ")
    missing = tmp_path / "absent.toml"
    assert _error(missing) == f"detector configuration {missing} not found"


def test_shipped_files_load_and_hold_the_model_defaults():
    settings = load_recommendation_settings(CONFIG_DIR / "recommendations.toml")
    assert settings == RecommendationSettings()  # the file documents the defaults, value for value
    assert settings.commitments.default_discount == Decimal("0.28")  # exact, not the float 0.28
    assert settings.general.hours_per_month == Decimal(730)
    assert settings.scheduling.working_hours == [8, 20]
    assert load_energy(CONFIG_DIR / "energy.toml") == EnergySettings()
    rules = load_attribution_rules(CONFIG_DIR / "attribution_rules.toml")
    assert rules == AttributionRules(
        job_kinds={
            "training": "training",
            "evaluation": "training",
            "development": "training",
            "preprocessing": "data_processing",
            "inference": "inference",
        }
    )
    config = load_detector_config(Settings(), date(2026, 11, 16))
    assert config.week_start == date(2026, 11, 16)
    assert config.reporting_currency == "USD"
    assert config.fx["EUR"] == Decimal("1.08") and config.fx["USD"] == Decimal(1)
    assert load_prices(CONFIG_DIR / "prices.csv")["value"].dtype == MONEY


def test_energy_and_rules_are_validated(tmp_path):
    energy = tmp_path / "energy.toml"
    energy.write_text("pue = 0.9\npue_typo = 1\n")
    with pytest.raises(ConfigError) as caught:
        load_energy(energy)
    assert str(caught.value) == (
        f"energy configuration {energy}: [pue]: input should be greater than or equal to 1, got 0.9; "
        "[pue_typo]: unknown section, expected one of: default_gco2e_per_kwh, gpu_power_csv, grid_carbon_csv, pue"
    )
    rules = tmp_path / "rules.toml"
    rules.write_text("[job_kind]\ntraining = 'training'\n")
    with pytest.raises(ConfigError, match=r"\[job_kind\]: unknown section, expected one of: job_kinds, rules"):
        load_attribution_rules(rules)


def test_instances_are_read_once_with_one_gpu_count_type():
    """Ingest, attribution and the detectors get the same table from the one loader: GPUs as Float64,
    so a shared A10 partition keeps its 1/6 GPU (it used to be 0.1667 in ingest, null in attribution)."""
    from flows.attribute import load_config as attribution_config
    from flows.ingest import _load_instances

    table = load_instances()
    for instances in (table, _load_instances(), attribution_config(Settings()).instances):
        assert instances.schema["gpu_count"] == pl.Float64
        by_type = dict(zip(instances["instance_type"], instances["gpu_count"], strict=True))
        assert by_type["Standard_NV6ads_A10_v5"] == 0.1667
        assert by_type["c6i.2xlarge"] == 0.0
    assert table.filter(pl.col("gpu_count") >= 1).height == 87  # 41 x 1, 8 x 2, 16 x 4, 1 x 6, 18 x 8, 1 x 12, 2 x 16
    assert table.filter((pl.col("gpu_count") > 0) & (pl.col("gpu_count") < 1)).height == 3  # A10 partitions


def test_bad_instance_gpu_count_names_line_and_column(tmp_path):
    path = tmp_path / "instances.csv"
    path.write_text(
        "provider,instance_type,vcpu,memory_gib,gpu_count,gpu_model\n"
        "aws,p5.48xlarge,192,2048,8,H100\naws,g5.xlarge,4,16,one,A10G\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_instances(path)
    assert str(caught.value) == f"instance table {path}, line 3, column gpu_count: expected a number, got 'one'"


@pytest.mark.parametrize("rate", ["abc", "0", "-1.08", ""])
def test_bad_exchange_rate_names_line_and_column(tmp_path, rate):
    path = tmp_path / "fx_rates.csv"
    path.write_text(f"currency,rate_to_reporting,as_of,source\nEUR,1.08,2026-01-01,x\nGBP,{rate},2026-01-01,x\n")
    with pytest.raises(ConfigError) as caught:
        load_fx_rates(path)
    got = repr(rate) if rate else "None"
    assert str(caught.value) == (
        f"exchange-rate table {path}, line 3, column rate_to_reporting: expected a decimal number above zero, got {got}"
    )


def test_fx_table_without_its_columns_and_absent_table(tmp_path):
    path = tmp_path / "fx_rates.csv"
    path.write_text("currency,rate\nEUR,1.08\n")
    with pytest.raises(ConfigError, match=r"missing column\(s\) rate_to_reporting"):
        load_fx_rates(path)
    assert load_fx_rates(tmp_path / "absent.csv") is None


@pytest.mark.parametrize("value", ["NaN", "1,5", "Infinity"])
def test_bad_price_names_line_and_column(tmp_path, value):
    path = tmp_path / "prices.csv"
    path.write_text(
        "provider,region,item,price_type,value,unit,currency,source_id,as_of,notes\n"
        f'aws,us-east-1,g5.xlarge,ondemand_hour,"{value}",USD/hour,USD,t,2026-01-01,\n'
    )
    with pytest.raises(ConfigError) as caught:
        load_prices(path)
    assert str(caught.value) == (f"price table {path}, line 2, column value: expected a decimal number, got {value!r}")


def test_detector_helper_validates_overrides():
    from tests.detectors.helpers import config

    assert config(compression={"top_n": 5}).compression.top_n == 5
    with pytest.raises(Exception, match="top_n"):
        config(compression={"top_n": "five"})

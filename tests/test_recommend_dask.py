"""The per-machine and per-endpoint detectors on partitions give the one-pass findings.

``flows.recommend`` cuts the inputs of idle_gpu, underused_gpu and scheduling into partitions of
whole machines, and those of batching and gpu_to_cpu into partitions of whole endpoints (with their
machines), so they can run on Dask workers. Here, on a week of the sample company (which plants
idle, underused, batching, CPU-serving and scheduling findings), every cut gives each detector's
one-pass rows in the same order. The run on a real cluster is in tests/test_dask_cluster.py.
"""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from flows.attribute import attribute_week
from flows.config import load_instances, load_prices
from flows.ingest import ingest_files
from flows.recommend import (
    PER_ENDPOINT,
    PER_MACHINE,
    detect_all,
    detect_part,
    endpoint_partitions,
    load_config,
    machine_partitions,
    read_inputs,
)
from flows.settings import get_settings
from flows.warehouse import connect
from sample_data import generate_sample

pytestmark = pytest.mark.slow

WEEK = date(2026, 11, 16)


@pytest.fixture(scope="module")
def week_inputs(tmp_path_factory):
    """The detector inputs of one sample week (ingested and attributed), and the detector config."""
    root = tmp_path_factory.mktemp("recommend-parts")
    generate_sample(root / "landing", weeks=1, end_week=WEEK, seed=5)
    con = connect(root / "w.duckdb")
    try:
        assert [r.error for r in ingest_files(con, [root / "landing"]) if r.error] == []
        settings = get_settings(db=root / "w.duckdb")
        attribute_week(con, WEEK, settings)
        config = load_config(settings, WEEK)
        frames = read_inputs(con, WEEK, config)
    finally:
        con.close()
    frames["prices"] = load_prices(settings.prices)
    frames["instances"] = load_instances()
    return frames, config


def one_pass(frames, config, modules) -> dict[str, pl.DataFrame]:
    return {module.KIND: module.detect(frames, config) for module in modules}


def in_parts(frames, config, modules, cut, parts: int) -> dict[str, pl.DataFrame]:
    kinds = tuple(module.KIND for module in modules)
    found = [detect_part.fn(kinds, i, part, config) for i, part in enumerate(cut(frames, parts))]
    return {kind: pl.concat([f[kind] for f in found], how="vertical") for kind in kinds}


def same(a: dict[str, pl.DataFrame], b: dict[str, pl.DataFrame]) -> bool:
    """The same detectors with the same rows, in the same order."""
    return a.keys() == b.keys() and all(a[k].equals(b[k]) for k in a)


def test_the_sample_week_has_findings_of_every_partitioned_detector(week_inputs):
    frames, config = week_inputs
    found = one_pass(frames, config, (*PER_MACHINE, *PER_ENDPOINT))
    assert {kind: rows.height > 0 for kind, rows in found.items()} == {kind: True for kind in found}
    assert frames["gpu_metrics"]["resource_id"].n_unique() >= 4
    assert frames["inference_requests"]["endpoint"].n_unique() >= 2


@pytest.mark.parametrize("parts", [1, 2, 3, 7, 1000])
def test_machine_partitions_give_the_one_pass_findings(week_inputs, parts):
    frames, config = week_inputs
    cut = machine_partitions(frames, parts)
    machines = frames["gpu_metrics"]["resource_id"].n_unique()
    assert len(cut) >= min(parts, machines)  # really cut (1000 parts: one per machine)
    # every machine row is in exactly one partition
    for name in ("gpu_metrics", "machines", "jobs", "attributed_cost"):
        assert sum(p[name].height for p in cut) == frames[name].height
    assert same(in_parts(frames, config, PER_MACHINE, machine_partitions, parts), one_pass(frames, config, PER_MACHINE))


@pytest.mark.parametrize("parts", [1, 2, 3, 1000])
def test_endpoint_partitions_give_the_one_pass_findings(week_inputs, parts):
    frames, config = week_inputs
    endpoints = frames["inference_requests"]["endpoint"].drop_nulls().n_unique()
    assert len(endpoint_partitions(frames, parts)) == min(parts, endpoints)
    assert same(
        in_parts(frames, config, PER_ENDPOINT, endpoint_partitions, parts), one_pass(frames, config, PER_ENDPOINT)
    )


def test_detect_all_outside_a_flow_is_the_one_pass_of_every_detector(week_inputs):
    from transforms.detectors import DETECTORS

    frames, config = week_inputs
    expected = pl.concat([f for f in (m.detect(frames, config) for m in DETECTORS) if f.height], how="vertical")
    assert detect_all(frames, config, rows_per_part=1).equals(expected)

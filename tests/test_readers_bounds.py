"""Readers at the landing-folder boundary: one bad file stops nothing, memory and expansion are
bounded, links out of the folder are not followed, and no error quotes a file's content."""

from __future__ import annotations

import gzip
import json
import logging
import os
import shutil
from pathlib import Path

import polars as pl
import pytest

from flows.ingest import ingest_files
from flows.readers import read_raw
from transforms.formats import load_all

FOCUS_SAMPLE = "focus/FOCUS-Sample-Data_FOCUS-1.0_focus_sample.csv"
JOB = {"job_id": "j1", "kind": "training", "resource_ids": "gpu-1", "start": "2026-11-16T00:00:00Z"}
SECRET = "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def landing_with_focus(tmp_path: Path, shared_data: Path) -> Path:
    landing = tmp_path / "landing"
    landing.mkdir()
    shutil.copy(shared_data / FOCUS_SAMPLE, landing / "focus.csv")
    return landing


def by_name(results) -> dict:
    return {Path(r.path).name: r for r in results}


# ------------------------------------------------------------------ 1. one bad file stops nothing

DEEP = "[" * 200_000 + "]" * 200_000
LONG_NUMBER = "9" * 5000
BAD_FILES = {
    "deep first line": ("jobs.jsonl", '{"job_id": ' + DEEP + "}\n" + json.dumps(JOB) + "\n", "nested too deeply"),
    "long number, first line": ("jobs.jsonl", '{"job_id": ' + LONG_NUMBER + "}\n", "longer than 4300 digits"),
    "deep second line": ("jobs.jsonl", json.dumps(JOB) + "\n" + DEEP + "\n", "nested too deeply"),
    "deep OpenCost document": (
        "allocation.json",
        '{\n"code": 200, "data": [{"a": {"gpuHours": 1, "x": ' + DEEP + "}}]}",
        "nested too deeply",
    ),
    "long number in an OpenCost document": (
        "allocation.json",
        '{\n"code": 200, "data": [{"a": {"gpuHours": ' + LONG_NUMBER + "}}]}",
        "longer than 4300 digits",
    ),
    "deep S3 Inventory manifest": (
        "manifest.json",
        '{\n"fileSchema": "Bucket", "x": ' + DEEP + "}",
        "nested too deeply",
    ),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_file_that_cannot_be_parsed_is_refused_by_name_and_the_others_load(warehouse, tmp_path, shared_data, case):
    name, content, reason = BAD_FILES[case]
    landing = landing_with_focus(tmp_path, shared_data)
    (landing / name).write_text(content)

    results = by_name(ingest_files(warehouse, [landing]))

    assert results["focus.csv"].error is None and results["focus.csv"].rows_loaded == 1000
    assert warehouse.sql("SELECT count(*) FROM billing_line_items").fetchall() == [(1000,)]
    error = results[name].error
    assert error is not None and str(landing / name) in error and reason in error
    assert "Traceback" not in error and len(error) < 400


# ----------------------------------------------------------------------- 2. bounded text readers


def mapped(path: Path, fmt_name: str, batch_rows: int) -> pl.DataFrame:
    """Every batch mapped on its own, rows in a stable order."""
    fmt = load_all()[fmt_name]
    frames = [fmt.to_table(raw.lazy()).collect() for raw in read_raw(path, fmt, batch_rows=batch_rows)]
    out = pl.concat(frames)
    return out.sort(out.columns, nulls_last=True)


def dcgm_exposition(path: Path) -> Path:
    """Two machines x two GPUs x two scrapes, grouped by metric as exporters write them."""
    lines = []
    metrics = {
        "DCGM_FI_DEV_GPU_UTIL": [10, 20, 30, 40],
        "DCGM_FI_DEV_FB_USED": [100, 200, 300, 400],
        "DCGM_FI_DEV_FB_FREE": [900, 800, 700, 600],
        "DCGM_FI_DEV_POWER_USAGE": [50.5, 60.5, 70.5, 80.5],
    }
    for metric, values in metrics.items():
        lines += [f"# HELP {metric} a help text", f"# TYPE {metric} gauge"]
        for scrape, ts in enumerate((1763283600000, 1763283660000)):
            for i, (host, gpu) in enumerate((("n1", 0), ("n1", 1), ("n2", 0), ("n2", 1))):
                labels = f'gpu="{gpu}",UUID="GPU-{host}-{gpu}",modelName="NVIDIA H100",Hostname="{host}"'
                lines.append(f"{metric}{{{labels}}} {values[i] + scrape} {ts}")
    lines += [
        'DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-n1-0",Hostname="n1"} lots 1763283720000',
        "DCGM_FI_DEV_GPU_UTIL 5",
        'DCGM_FI_DEV_SM_CLOCK{gpu="0"} 1410',
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def exporter_exposition(path: Path) -> Path:
    """nvidia_gpu_exporter: the GPU's index and model on series far from its measures."""
    uuids = [f"GPU-{i}" for i in range(5)]
    lines = [f'nvidia_smi_gpu_info{{uuid="{u}",index="{i}",name="NVIDIA L4"}} 1' for i, u in enumerate(uuids)]
    lines += [f'nvidia_smi_utilization_gpu_ratio{{uuid="{u}"}} 0.{i}9' for i, u in enumerate(uuids)]
    lines += [f'nvidia_smi_memory_used_bytes{{uuid="{u}"}} {i * 1048576}' for i, u in enumerate(uuids)]
    lines += [f'nvidia_smi_power_draw_watts{{uuid="{u}"}} {70 + i}' for i, u in enumerate(uuids)]
    path.write_text("\n".join(lines) + "\n")
    return path


def nvidia_smi_two_blocks(path: Path) -> Path:
    header = "timestamp, index, uuid, name, utilization.gpu [%], memory.used [MiB], memory.total [MiB], power.draw [W]"
    rows = [
        f"2026/11/16 00:{m:02d}:00.000, {g}, GPU-{g}, NVIDIA H100, {m + g} %, 40212 MiB, 81559 MiB, 5{g}0.00 W"
        for m in (0, 1, 3)
        for g in (0, 1, 2)
    ]
    later = [
        f"2026/11/16 01:{m:02d}:00.000, {g}, GPU-{g}, NVIDIA H100, 9{g} %, 1 MiB, 81559 MiB, 100.00 W"
        for m in (0, 5)
        for g in (0, 1)
    ]
    text = [
        header,
        *rows,
        "2026/11/16 00:04:00.000, 0, GPU-0, too few",
        "",
        "# capture 2",
        "not in a block, 1, 2",
        header,
        *later,
    ]
    path.write_text("\n".join(text) + "\n")
    return path


def sacct_with_header(path: Path) -> Path:
    header = "JobID|Account|User|Partition|Start|End|State|NNodes|AllocTRES|NodeList|JobName"
    rows = [
        f"{100 + i}|team{i % 3}|u{i}|gpu|2026-11-16T0{i % 10}:00:00|2026-11-16T1{i % 10}:00:00|COMPLETED|2|"
        f"cpu=8,gres/gpu=3|node[0{i % 5}-0{i % 5 + 1}]|infer-{i}"
        for i in range(12)
    ]
    rows.insert(5, "bad|line")
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


GENERATED = {
    "dcgm": ("node.metrics", dcgm_exposition, "prometheus_gpu"),
    "nvidia_gpu_exporter": ("l4.metrics", exporter_exposition, "prometheus_gpu"),
    "nvidia-smi blocks": ("i-0abc.csv", nvidia_smi_two_blocks, "nvidia_smi_csv"),
    "sacct": ("jobs.log", sacct_with_header, "slurm_sacct"),
}


@pytest.mark.parametrize("case", list(GENERATED))
@pytest.mark.parametrize("batch_rows", [1, 2, 5])
def test_text_formats_map_the_same_in_tiny_batches(tmp_path, monkeypatch, case, batch_rows):
    name, write, fmt = GENERATED[case]
    path = write(tmp_path / name)
    whole = mapped(path, fmt, 10**9)
    assert whole.height > 4
    # GPU telemetry is mapped whole up to AICOST_MAX_WHOLE_TEXT_BYTES; above it, in batches of whole GPUs
    monkeypatch.setenv("AICOST_MAX_WHOLE_TEXT_BYTES", "0")
    assert mapped(path, fmt, batch_rows).equals(whole)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("sample", "fmt"),
    [
        ("gpu/nvidia_gpu_exporter/capture_linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01.txt", "nvidia_smi_csv"),
        ("gpu/nvidia_gpu_exporter/linux-x86_64__nvidia-l40s__595.80__load.metrics", "prometheus_gpu"),
        ("slurm/xdmod_sacct_accounting-logs-with-gpu-gres_old-format.log", "slurm_sacct"),
    ],
)
def test_shared_samples_map_the_same_in_small_batches(shared_data, monkeypatch, sample, fmt):
    whole = mapped(shared_data / sample, fmt, 10**9)
    assert whole.height >= 1 and whole["_reject_reason"].null_count() == whole.height
    monkeypatch.setenv("AICOST_MAX_WHOLE_TEXT_BYTES", "0")  # telemetry too large to map whole: batches
    assert mapped(shared_data / sample, fmt, 37).equals(whole)


def test_text_batches_number_lines_across_batches(tmp_path):
    path = tmp_path / "jobs.log"
    path.write_bytes(b"\xef\xbb\xbfa\r\nb\n\nc\nd")
    batches = list(read_raw(path, load_all()["slurm_sacct"], batch_rows=2))
    assert [b.height for b in batches] == [2, 2, 1]
    lines = pl.concat(batches)
    assert lines["line"].to_list() == ["a", "b", "", "c", "d"]
    assert lines["source_row"].to_list() == [1, 2, 3, 4, 5]


def test_a_document_larger_than_the_limit_is_refused_by_name(warehouse, tmp_path, shared_data, monkeypatch):
    path = tmp_path / "allocation.json"
    shutil.copy(shared_data / "k8s" / "opencost_allocation-example-output.json", path)
    assert ingest_files(warehouse, [path])[0].error is None  # 5,679 bytes: under the default limit
    path.write_text(path.read_text() + " ")  # a new file (new hash), one byte larger
    monkeypatch.setenv("AICOST_MAX_DOCUMENT_BYTES", "5000")
    (result,) = ingest_files(warehouse, [path])
    assert result.error == (
        f"{path}: refused: the document is larger than 5000 bytes (limit AICOST_MAX_DOCUMENT_BYTES); "
        "nothing of this file was stored: the warehouse is unchanged"
    )


# --------------------------------------------------------------------------- 3. gzip expansion

ZEROS = b"0" * (5 * 2**20)  # 5 MiB that gzip packs into a few KiB


def gzip_bomb(path: Path, head: bytes, tail: bytes = b"") -> Path:
    path.write_bytes(gzip.compress(head + ZEROS + tail))
    return path


BOMBS = {  # a file each reader kind takes, with a few MiB of zeros inside
    "csv": ("jobs.csv.gz", b"job_id,kind,resource_ids,start\nj1,training,gpu-1,2026-11-16T00:00:00Z\nj", b"\n"),
    "jsonl": ("jobs.jsonl.gz", json.dumps(JOB).encode() + b"\n" + b'{"job_id": "', b'"}\n'),
    "text": ("node.metrics.gz", b'DCGM_FI_DEV_GPU_UTIL{gpu="0"} 1\n# ', b"\n"),
    "document": ("allocation.json", b'{"code": 200, "data": [{"a": {"gpuHours": 1, "name": "', b'"}}]}'),
}


@pytest.mark.parametrize("kind", list(BOMBS))
def test_a_gzip_bomb_is_refused_naming_the_file_and_the_limit(warehouse, tmp_path, shared_data, kind):
    landing = landing_with_focus(tmp_path, shared_data)
    name, head, tail = BOMBS[kind]
    path = gzip_bomb(landing / name, head, tail)
    assert path.stat().st_size < 30_000

    results = by_name(ingest_files(warehouse, [landing]))

    assert results["focus.csv"].error is None and results["focus.csv"].rows_loaded == 1000
    error = results[name].error
    assert error is not None and error.startswith(f"{path}: refused: the gzip file expands to more than 200 times")
    assert "AICOST_MAX_DECOMPRESSION_RATIO=200" in error
    assert results[name].rows_loaded == 0


def test_a_gzip_bomb_among_s3_inventory_data_files_is_refused(warehouse, tmp_path):
    bucket = tmp_path / "bucket"
    (bucket / "data").mkdir(parents=True)
    gzip_bomb(bucket / "data" / "part.csv.gz", b'"b","k","1","2026-11-01T00:00:00.000Z","STANDARD"\n"b","', b'","2"\n')
    (bucket / "manifest.json").write_text(
        json.dumps(
            {
                "sourceBucket": "b",
                "fileFormat": "CSV",
                "fileSchema": "Bucket, Key, Size, LastModifiedDate, StorageClass",
                "files": [{"key": "inv/data/part.csv.gz"}],
                "creationTimestamp": "1763251200000",
            }
        )
    )
    (result,) = ingest_files(warehouse, [bucket])
    assert result.source_format == "s3_inventory"
    assert "expands to more than 200 times" in result.error and str(bucket / "data" / "part.csv.gz") in result.error


def test_the_ratio_limit_is_configurable(warehouse, tmp_path, monkeypatch):
    path = gzip_bomb(tmp_path / "node.metrics.gz", b'DCGM_FI_DEV_GPU_UTIL{gpu="0"} 1\n# ', b"\n")
    monkeypatch.setenv("AICOST_MAX_DECOMPRESSION_RATIO", "100000")
    (result,) = ingest_files(warehouse, [path])
    assert result.error is None and result.rows_loaded == 1


# ------------------------------------------------------------------------ 4. the folder boundary


@pytest.mark.slow
def test_links_out_of_the_landing_folder_are_refused_by_name(warehouse, tmp_path, shared_data):
    landing = landing_with_focus(tmp_path, shared_data)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    shutil.copy(shared_data / FOCUS_SAMPLE, outside / "other.csv")
    (outside / "other.csv").write_text((outside / "other.csv").read_text().replace("\n", "\r\n"))  # another hash
    (landing / "other.csv").symlink_to(outside / "other.csv")
    (landing / "linked-folder").symlink_to(outside, target_is_directory=True)
    (landing / "passwd.csv").symlink_to("/etc/passwd")
    (landing / "sub").mkdir()
    (landing / "sub" / "jobs.csv").write_text(
        "job_id,kind,resource_ids,start\nj1,training,gpu-1,2026-11-16T00:00:00Z\n"
    )
    (landing / "latest-jobs.csv").symlink_to(Path("sub") / "jobs.csv")

    results = {Path(r.path).relative_to(landing).as_posix(): r for r in ingest_files(warehouse, [landing])}

    assert set(results) == {"focus.csv", "other.csv", "linked-folder", "passwd.csv", "sub/jobs.csv", "latest-jobs.csv"}
    for name in ("other.csv", "linked-folder", "passwd.csv"):
        assert results[name].error == (
            f"{landing / name}: refused: a symbolic link that points outside {landing}; not followed"
        )
    assert results["focus.csv"].rows_loaded == 1000
    assert results["latest-jobs.csv"].error is None and results["latest-jobs.csv"].rows_loaded == 1
    assert results["sub/jobs.csv"].error is None and results["sub/jobs.csv"].skipped  # the same file, once
    assert warehouse.sql("SELECT count(*) FROM billing_line_items").fetchall() == [(1000,)]
    assert warehouse.sql("SELECT count(*) FROM jobs").fetchall() == [(1,)]


def test_an_s3_inventory_data_file_linked_from_outside_is_refused(warehouse, tmp_path):
    bucket = tmp_path / "bucket"
    bucket.mkdir()
    (tmp_path / "part.csv").write_text('"b","k","1"\n')
    (bucket / "part.csv").symlink_to(tmp_path / "part.csv")
    (bucket / "manifest.json").write_text(
        json.dumps(
            {
                "sourceBucket": "b",
                "fileFormat": "CSV",
                "fileSchema": "Bucket, Key, Size",
                "files": [{"key": "inv/part.csv"}],
                "creationTimestamp": "1763251200000",
            }
        )
    )
    results = by_name(ingest_files(warehouse, [bucket]))
    assert "points outside" in results["part.csv"].error
    assert f"data file {bucket / 'part.csv'} is a link to a file outside {bucket}" in results["manifest.json"].error
    assert warehouse.sql("SELECT count(*) FROM storage_inventory").fetchall() == [(0,)]


# ----------------------------------------------------------------- 5. errors never quote content


@pytest.mark.slow
def test_no_error_or_log_record_quotes_a_files_content(warehouse, tmp_path, shared_data, caplog):
    landing = landing_with_focus(tmp_path, shared_data)
    (landing / "credentials.csv").write_text(SECRET + "\naws_region=us-east-1\n")
    (landing / "key.jsonl").write_text('{"' + SECRET + '": 1}\n')
    # a jobs CSV whose bad line comes after DuckDB's sniffing sample: DuckDB quotes it in its error
    rows = "".join(f"j{i},training,gpu-1,2026-11-16T00:00:00Z\n" for i in range(30_000))
    (landing / "jobs.csv").write_text("job_id,kind,resource_ids,start\n" + rows + SECRET + ",x,y,z,w\n")
    (landing / "jobs.jsonl").write_text(json.dumps(JOB) + "\n" + '{"job_id": ' + SECRET + "}\n")

    with caplog.at_level(logging.DEBUG):
        results = by_name(ingest_files(warehouse, [landing]))

    assert results["focus.csv"].rows_loaded == 1000
    for name in ("credentials.csv", "key.jsonl", "jobs.csv", "jobs.jsonl"):
        assert results[name].error and str(landing / name) in results[name].error, name
    assert results["credentials.csv"].error.startswith(
        f"{landing / 'credentials.csv'}: not a recognised billing export or usage log "
        "(its first line has 1 fields, none of them a known format's)"
    )
    assert "line 30002" in results["jobs.csv"].error and "expected 4 columns, found 5" in results["jobs.csv"].error
    assert "byte 12" in results["jobs.jsonl"].error
    secret_parts = ("wJalrXUtnFEMI", "AWS_SECRET_ACCESS_KEY")
    for result in results.values():
        text = json.dumps(result.as_json())
        assert not any(part in text for part in secret_parts), text
    for record in caplog.records:
        assert not any(part in record.getMessage() for part in secret_parts), record.getMessage()


def test_a_link_out_of_the_folder_is_refused_before_it_is_read(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "fifo.csv").symlink_to(os.devnull)
    from flows.ingest import IngestError, expand_paths, resolve_format

    (link,) = expand_paths([landing])
    with pytest.raises(IngestError, match="points outside"):
        resolve_format(link, "auto")

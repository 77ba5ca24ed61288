"""The 14 savings detectors, one module each; every module has ``KIND``, ``STRATEGY``, ``INPUTS`` and
``detect(frames, config) -> pl.DataFrame`` (``common.DETECTOR_COLUMNS``)."""

from transforms.detectors import (
    batching,
    checkpoint_sprawl,
    commitments,
    compression,
    data_compression,
    distributed_efficiency,
    gpu_to_cpu,
    hdfs_to_object,
    idle_gpu,
    network,
    scheduling,
    spot,
    storage_tiering,
    underused_gpu,
)

DETECTORS = (
    idle_gpu,
    underused_gpu,
    batching,
    gpu_to_cpu,
    compression,
    commitments,
    spot,
    storage_tiering,
    data_compression,
    checkpoint_sprawl,
    network,
    hdfs_to_object,
    distributed_efficiency,
    scheduling,
)

"""What each machine does hour by hour: whether it is billed, how busy its GPUs are, which jobs ran.

One truth drives every file: billing hours, GPU samples, jobs and inference logs all derive from
the ``Schedule`` built here, so they agree with each other.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from sample_data.company import (
    AWS_ACCOUNTS,
    INFERENCE_GROWTH_PER_WEEK,
    MACHINES,
    NEW_PROJECT_START,
    SCHEDULED_DEV,
    Machine,
)


def rng_for(seed: int, name: str) -> np.random.Generator:
    """An independent random stream per component, so that one part never shifts another."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


@dataclass(frozen=True)
class Window:
    """The covered ISO weeks: ``start`` (a Monday 00:00 UTC) for ``hours`` hours."""

    start: datetime
    weeks: int

    @property
    def hours(self) -> int:
        return self.weeks * 168

    @property
    def end(self) -> datetime:
        return self.start + timedelta(hours=self.hours)

    def at(self, hour: int) -> datetime:
        return self.start + timedelta(hours=int(hour))

    def mondays(self) -> list:
        return [(self.start + timedelta(weeks=w)).date() for w in range(self.weeks)]

    def hour_of_day(self) -> np.ndarray:
        return np.arange(self.hours) % 24

    def day_of_week(self) -> np.ndarray:
        return (np.arange(self.hours) // 24) % 7  # 0 = Monday

    def growth(self) -> np.ndarray:
        """Inference traffic relative to the window's first hour: a few percent more every week."""
        return (1 + INFERENCE_GROWTH_PER_WEEK) ** (np.arange(self.hours) / 168)

    def new_project_start(self) -> int:
        """The hour vision-seg-v4 starts on its new machine (Thursday of the second-to-last week)."""
        day, hour = NEW_PROJECT_START
        return max(0, self.hours - 2 * 168 + day * 24 + hour)

    def last_week(self) -> int:
        """The first hour of the window's last week."""
        return self.hours - 168


@dataclass
class Job:
    job_id: str
    kind: str
    team: str
    project: str
    model: str
    user: str
    resources: tuple[str, ...]  # machine names
    start_h: int
    end_h: int | None  # None: still running at the end of the window
    gpus_per_node: int
    pricing_model: str
    log: str = "jobs"  # the log it is written to: jobs (jobs.csv) | slurm (sacct --parsable2)


def machine_job(
    nodes: list[Machine],
    job_id: str,
    kind: str,
    user: str,
    start_h: int,
    end_h: int | None,
    pricing: str,
    *,
    model: str | None = None,
    gpus: int | None = None,
    log: str = "jobs",
) -> Job:
    """A job on these machines, owned as the first one is (its team, project and model, unless ``model``
    says otherwise) and using as many GPUs per node as it has (unless ``gpus`` says otherwise)."""
    first = nodes[0]
    return Job(
        job_id,
        kind,
        first.team,
        first.project,
        first.model if model is None else model,
        user,
        tuple(n.name for n in nodes),
        start_h,
        end_h,
        first.gpus if gpus is None else gpus,
        pricing,
        log=log,
    )


@dataclass
class Schedule:
    """Per machine: billed hours, mean GPU utilisation per hour (0-100), and the jobs."""

    on: dict[str, np.ndarray] = field(default_factory=dict)
    util: dict[str, np.ndarray] = field(default_factory=dict)
    jobs: list[Job] = field(default_factory=list)


def _fill(
    h0: int, h1: int, rng: np.random.Generator, dur: tuple[int, int], gap: tuple[int, int]
) -> list[tuple[int, int]]:
    """Back-to-back job slots in [h0, h1) with random durations and gaps."""
    slots, t = [], h0 + int(rng.integers(0, gap[1] + 1))
    while t < h1:
        length = int(rng.integers(dur[0], dur[1] + 1))
        end = min(t + length, h1)
        if end - t >= 2:
            slots.append((t, end))
        t = end + int(rng.integers(gap[0], gap[1] + 1))
    return slots


def _jobs_on(
    sched: Schedule,
    m: Machine,
    slots,
    rng,
    *,
    kind: str,
    level: tuple[float, float],
    user: str,
    prefix: str,
    pricing: str,
) -> None:
    util = sched.util[m.name]
    for start, end in slots:
        util[start:end] = np.clip(rng.normal(level[0], level[1], end - start), 0, 100)
        sched.jobs.append(
            machine_job(
                [m],
                f"{prefix}-{len(sched.jobs) + 1:05d}",
                kind,
                user,
                start,
                end,
                pricing,
            )
        )


# Workloads that run back-to-back jobs all window: (job hours (min, max), gap hours (min, max), the
# jobs' settings for ``_jobs_on`` given the machine).
BACK_TO_BACK = {
    "underused": (
        (10, 14),
        (0, 1),
        lambda m: dict(kind="evaluation", level=(21, 2.5), user="carol", prefix="eval", pricing="on_demand"),
    ),
    "reserved_training": (
        (20, 40),
        (1, 4),
        lambda m: dict(kind="training", level=(90, 1.5), user="dave", prefix="seg", pricing="reserved"),
    ),
    "training": (
        (16, 22),
        (1, 3),
        lambda m: dict(
            kind="training",
            level=(89, 1.5),
            user="erin" if m.team == "research" else "dave",
            prefix=f"{m.provider}-train",
            pricing="on_demand",
        ),
    ),
    "evaluation": (
        (16, 20),
        (3, 6),
        lambda m: dict(kind="evaluation", level=(70, 4), user="frank", prefix="oci-eval", pricing="on_demand"),
    ),
}


def build_schedule(window: Window, seed: int) -> Schedule:
    """The whole company's hour-by-hour truth for the window."""
    sched = Schedule()
    H = window.hours
    for m in MACHINES:
        sched.on[m.name] = np.ones(H, dtype=bool)
        sched.util[m.name] = np.zeros(H)
    hod, dow = window.hour_of_day(), window.day_of_week()
    for m in MACHINES:
        rng = rng_for(seed, m.name)
        util = sched.util[m.name]
        if m.workload == "idle":
            blips = rng.random(H) < 0.06
            util[:] = np.where(blips, rng.uniform(5, 12, H), rng.uniform(0, 2.5, H))
        elif m.workload in BACK_TO_BACK:
            duration, gap, job = BACK_TO_BACK[m.workload]
            _jobs_on(sched, m, _fill(0, H, rng, duration, gap), rng, **job(m))
        elif m.workload == "new_training":
            start = window.new_project_start()
            sched.on[m.name][:start] = False
            _jobs_on(
                sched,
                m,
                _fill(start, H, rng, (10, 20), (1, 2)),
                rng,
                kind="training",
                level=(88, 1.5),
                user="heidi",
                prefix="segv4",
                pricing="on_demand",
            )
        elif m.workload == "inference":
            diurnal = np.sin((hod - 9) / 24 * 2 * np.pi)
            base = {"nw-chat-70b": (58, 10), "seg-v3": (15, 2), "embed-small": (10, 1.5)}[m.model]
            load = window.growth() if m.model == "nw-chat-70b" else 1.0  # the busy endpoint follows the traffic
            util[:] = np.clip((base[0] + base[1] * diurnal) * load + rng.normal(0, base[1] / 4, H), 0, 100)
            sched.jobs.append(
                machine_job(
                    [m],
                    f"serve-{m.name}",
                    "inference",
                    "svc-serving",
                    -24 * 21,
                    None,
                    "on_demand",
                )
            )
        elif m.workload == "dev":
            working = (dow < 5) & (hod >= 8) & (hod < 18)
            util[:] = np.where(working, rng.normal(45, 12, H), rng.uniform(0, 2, H)).clip(0, 100)
            user = "alice" if m.name.endswith("alice") else "bob"
            scheduled = (
                m.name == SCHEDULED_DEV and window.weeks >= 2
            )  # switched off outside work hours in the last week
            for w in range(window.weeks - 1 if scheduled else window.weeks):
                sched.jobs.append(
                    machine_job(
                        [m],
                        f"nb-{user}-w{w + 1}",
                        "development",
                        user,
                        w * 168,
                        (w + 1) * 168 if w + 1 < window.weeks else None,
                        "on_demand",
                    )
                )
            if scheduled:
                last = window.last_week()
                on = sched.on[m.name]
                on[last:] = (dow[last:] < 5) & (hod[last:] >= 8) & (hod[last:] < 20)
                util[~on] = 0.0
                for d in range(5):
                    start = last + d * 24 + 8
                    sched.jobs.append(
                        machine_job(
                            [m],
                            f"nb-{user}-w{window.weeks}-d{d + 1}",
                            "development",
                            user,
                            start,
                            start + 12,
                            "on_demand",
                        )
                    )
        elif m.workload == "spot_eval":
            on = (hod >= 1) & (hod < 7)
            sched.on[m.name] = on
            util[:] = np.where(on, rng.normal(82, 4, H), 0).clip(0, 100)
            for d in range(H // 24):
                sched.jobs.append(
                    machine_job(
                        [m],
                        f"spot-eval-{m.name}-d{d + 1:03d}",
                        "evaluation",
                        "dave",
                        d * 24 + 1,
                        d * 24 + 7,
                        "spot",
                    )
                )
        elif m.workload == "hdfs":
            for d in range(H // 24):
                sched.jobs.append(
                    machine_job(
                        [m],
                        f"etl-{m.name}-d{d + 1:03d}",
                        "preprocessing",
                        "svc-etl",
                        d * 24 + 2,
                        d * 24 + 8,
                        "on_demand",
                        model="",
                        gpus=0,
                    )
                )
    _cluster(sched, [m for m in MACHINES if m.workload == "cluster"], window, seed)
    sched.jobs.extend(sagemaker_training_jobs(window))
    _other_clouds(sched, window, seed)
    return sched


def _other_clouds(sched: Schedule, window: Window, seed: int) -> None:
    """The GCP and Azure machines the detectors judge (after the rest, so the other jobs keep their ids)."""
    H = window.hours
    hod = window.hour_of_day()
    diurnal = np.sin((hod - 9) / 24 * 2 * np.pi)
    for m in MACHINES:
        rng = rng_for(seed, m.name)
        util = sched.util[m.name]
        if m.workload == "idle_vm":  # on all week, nothing running but the odd health check
            blips = rng.random(H) < 0.05
            util[:] = np.where(blips, rng.uniform(15, 25, H), rng.uniform(0, 2, H))
        elif m.workload == "underused_vm":
            _jobs_on(
                sched,
                m,
                _fill(0, H, rng, (10, 14), (0, 1)),
                rng,
                kind="evaluation",
                level=(21, 2.5),
                user="carol",
                prefix="azeval",
                pricing="on_demand",
            )
        elif m.workload == "inference_vm":
            base = {"ocr-v2": (14, 2), "rerank-small": (9, 1)}[m.model]
            util[:] = np.clip(base[0] + base[1] * diurnal + rng.normal(0, base[1] / 4, H), 0, 100)
            sched.jobs.append(
                machine_job(
                    [m],
                    f"serve-{m.name}",
                    "inference",
                    "svc-serving",
                    -24 * 30,
                    None,
                    "on_demand",
                )
            )
        elif m.workload == "hdfs_vm":
            util[:] = 0.0
    _slurm(sched, [m for m in MACHINES if m.workload == "slurm_training"], window, seed)


def _slurm(sched: Schedule, nodes: list[Machine], window: Window, seed: int) -> None:
    """Pre-training on a two-node Slurm cluster: back-to-back 30-60 h jobs on both nodes, on demand."""
    if not nodes:
        return
    rng = rng_for(seed, "slurm-cluster")
    for n, (start, end) in enumerate(_fill(0, window.hours, rng, (30, 60), (1, 3))):
        for node in nodes:
            sched.util[node.name][start:end] = np.clip(rng.normal(88, 1.5, end - start), 0, 100)
        sched.jobs.append(
            machine_job(
                nodes,
                f"{81000 + n}",
                "training",
                "grace",
                start,
                end,
                "on_demand",
                log="slurm",
            )
        )


def sagemaker_training_jobs(window: Window) -> list[Job]:
    """Managed asr-large training: Tuesdays 10:00-20:00 and Thursdays 10:00-22:00 (one ARN each)."""
    jobs = []
    for w in range(window.weeks):
        for day, length in ((1, 10), (3, 12)):
            start = w * 168 + day * 24 + 10
            name = f"asr-large-ft-w{w + 1:02d}-d{day}"
            arn = f"arn:aws:sagemaker:us-east-1:{AWS_ACCOUNTS['research']}:training-job/{name}"
            jobs.append(
                Job(
                    name,
                    "training",
                    "research",
                    "speech-asr",
                    "asr-large",
                    "erin",
                    (arn,),
                    start,
                    start + length,
                    8,
                    "on_demand",
                )
            )
    return jobs


def _cluster(sched: Schedule, nodes: list[Machine], window: Window, seed: int) -> None:
    """The nlp p5 cluster: long 1-node jobs at ~90 %, and each week one 4-node job at ~42 % per GPU."""
    H = window.hours
    multi = [(w * 168 + 96, w * 168 + 132) for w in range(window.weeks)]  # Friday 00:00 to Saturday 12:00
    free = []
    edges = [0] + [x for s in multi for x in s] + [H]
    for a, b in zip(edges[0::2], edges[1::2]):
        free.append((a, b))
    rng = rng_for(seed, "nlp-cluster")
    for node in nodes:
        for a, b in free:
            slots = _fill(a, b - 1, rng, (30, 60), (1, 2))
            _jobs_on(
                sched,
                node,
                slots,
                rng,
                kind="training",
                level=(90, 1.5),
                user="grace",
                prefix="llm",
                pricing="on_demand",
            )
    for start, end in multi:
        for node in nodes:
            sched.util[node.name][start:end] = np.clip(rng.normal(42, 2.5, end - start), 0, 100)
        sched.jobs.append(
            machine_job(
                nodes,
                f"llm-dist-{start // 168 + 1:02d}",
                "training",
                "grace",
                start,
                end,
                "on_demand",
            )
        )

"""The clean stage's steps on datatrove's executors: local processes, a Ray cluster or Slurm jobs.

Every executor gets the same pipelines, task counts and logging folders, and datatrove's
per-task completion marks (LOGS/<stage>/completions/<rank>) let a killed run skip the tasks it
finished. `run_stages` returns only when the last stage is done and every task of every stage
completed; otherwise it raises ExecutorError naming the stage and the tasks.
"""

from __future__ import annotations

import logging
import os
import random
import subprocess
import time
from dataclasses import dataclass

from datatrove.executor.ray import RankWorker  # importable without ray (it imports ray lazily)

from data_prep.config import CleanConfig
from data_prep.storage import folder, join

log = logging.getLogger("ko.clean")


class ExecutorError(RuntimeError):
    """A stage's tasks did not all complete, or the engine could not be reached."""


@dataclass
class Stage:
    """One datatrove pipeline run as `tasks` tasks."""

    name: str
    pipeline: list
    tasks: int


def run_stages(stages: list[Stage], config: CleanConfig, logs: str) -> dict[str, int]:
    """Run `stages` in order on `config.executor`, with datatrove logs under `logs`/<stage name>.

    Returns, per stage, how many of its tasks a killed earlier run had already finished (skipped).
    """
    resumed = {stage.name: finished_tasks(stage, logs) for stage in stages}
    run = {"local": _run_local, "ray": _run_ray, "slurm": _run_slurm}[config.executor]
    run(stages, config, logs)
    return resumed


def finished_tasks(stage: Stage, logs: str) -> int:
    """Tasks of `stage` with datatrove's completion mark (the ones every executor skips)."""
    where = folder(join(logs, stage.name))
    if not where.exists("completions"):
        return 0
    marks = set(where.list_files("completions"))
    return sum(f"completions/{rank:05d}" in marks for rank in range(stage.tasks))


def _check_complete(executor, stage: Stage, logs: str) -> None:
    missing = executor.get_incomplete_ranks(range(stage.tasks), skip_completed=True)
    if missing:
        raise ExecutorError(
            f"stage {stage.name}: {len(missing)} of {stage.tasks} tasks did not complete "
            f"(tasks {missing[:10]}{' ...' if len(missing) > 10 else ''}); their logs are under "
            f"{join(logs, stage.name, 'logs')}; run again to redo only those"
        )


def _run_local(stages: list[Stage], config: CleanConfig, logs: str) -> None:
    from datatrove.executor import LocalPipelineExecutor

    for stage in stages:
        executor = LocalPipelineExecutor(
            pipeline=stage.pipeline,
            tasks=stage.tasks,
            workers=min(config.workers or os.cpu_count() or 1, stage.tasks),  # 0: one per core
            logging_dir=join(logs, stage.name),
            start_method="spawn",
        )
        executor.run()
        _check_complete(executor, stage, logs)


def _run_ray(stages: list[Stage], config: CleanConfig, logs: str) -> None:
    from pipeline.deps import require_module

    require_module("ray", extra="cluster")
    import ray
    from datatrove.executor import RayPipelineExecutor

    started_here = not ray.is_initialized()
    if started_here:
        address = None if config.ray.address == "local" else config.ray.address
        try:
            if address is None:  # a private cluster for this run, sized by clean.workers
                ray.init(num_cpus=config.workers or None, include_dashboard=False)
            else:
                ray.init(address=address)
        except ConnectionError as exc:
            raise ExecutorError(
                f"clean.ray.address = {config.ray.address!r}: no Ray cluster there ({exc}); start one "
                "with `ray start --head`, or set clean.ray.address: local"
            ) from exc
    import datatrove.executor.ray as datatrove_ray

    stock_worker, datatrove_ray.RankWorker = datatrove_ray.RankWorker, InProcessRankWorker
    try:
        for stage in stages:
            executor = RayPipelineExecutor(
                pipeline=stage.pipeline,
                tasks=stage.tasks,
                workers=config.workers or stage.tasks,
                logging_dir=join(logs, stage.name),
                # Dealt over the tasks still to run: a resumed stage keeps every worker busy.
                tasks_per_job=ray_tasks_per_job(stage.tasks - finished_tasks(stage, logs), config),
                cpus_per_task=config.ray.cpus_per_task,
                mem_per_cpu_gb=config.ray.mem_per_cpu_gb,
            )
            executor.run()
            _check_complete(executor, stage, logs)
    finally:
        datatrove_ray.RankWorker = stock_worker
        if started_here:
            ray.shutdown()


class InProcessRankWorker(RankWorker):
    """datatrove's Ray actor, running its ranks one after another in the actor's own process.

    datatrove's RankWorker forks a `multiprocess` pool inside the Ray worker for every job, one
    process per rank. The children inherit the Ray worker's threads' locks and its SIGTERM
    handler, and the pool's terminate can then wait forever on a child that never exits (seen
    here: the MinHash bucket stage stuck for 15 minutes, the parent in Pool._terminate_pool and
    a child in SemLock.__enter__). A pool of len(ranks) also runs every rank of a job at once on
    the CPUs reserved for one. The actor (one per job, gone when the job is done) runs them in
    turn, each on a fresh copy of the pipeline (as datatrove's local executor does, so a step's
    stats count its own rank only), every rank even after one fails; then the first error is
    raised. (datatrove's randomize_start_duration, unused here, then delays each rank in turn.)
    """

    def run_for_rank(self, executor_ref, ranks: list[int], node_ips: list[str], node_idx: int):
        import copy

        from datatrove.utils.stats import PipelineStats

        os.environ["RAY_NODELIST"] = ",".join(node_ips)
        os.environ["RAY_NODEID"] = str(node_idx)
        node_rank = -1 if executor_ref.nodes_per_task == 1 else node_idx
        first, pipeline, error = 0 if executor_ref.log_first else 1, executor_ref.pipeline, None
        for rank_id, rank in enumerate(ranks, first):
            time.sleep(random.randint(0, executor_ref.randomize_start_duration))
            executor_ref.pipeline = copy.deepcopy(pipeline)
            try:
                executor_ref._run_for_rank(rank, rank_id, node_rank=node_rank)
            except Exception as exc:  # noqa: BLE001  (the others still run; raised below)
                error = error or exc
        executor_ref.pipeline = pipeline
        if error is not None:
            raise error
        return PipelineStats()  # as datatrove's: the driver reads each rank's stats file


def ray_tasks_per_job(tasks: int, config: CleanConfig) -> int:
    """clean.ray.tasks_per_job, or with 0 the stage's tasks split evenly over clean.workers actors
    (clean.workers 0: every task at once, one actor each); at least 1, even with no task left."""
    if config.ray.tasks_per_job:
        return config.ray.tasks_per_job
    return max(1, -(-tasks // config.workers)) if config.workers else 1


def _run_slurm(stages: list[Stage], config: CleanConfig, logs: str) -> None:
    """Submit every stage as a job array that depends on the previous one, then wait for them."""
    from datatrove.executor import SlurmPipelineExecutor

    s = config.slurm
    executors, previous = [], None
    for stage in stages:
        previous = SlurmPipelineExecutor(
            pipeline=stage.pipeline,
            tasks=stage.tasks,
            workers=config.workers or -1,
            time=s.time,
            partition=s.partition,
            cpus_per_task=s.cpus_per_task,
            mem_per_cpu_gb=s.mem_per_cpu_gb,
            sbatch_args={k: str(v) for k, v in s.sbatch_args.items()},
            venv_path=s.venv_path or None,
            condaenv=s.condaenv or None,
            job_name=f"ko-clean-{stage.name}",
            logging_dir=join(logs, stage.name),
            depends=previous,
        )
        executors.append(previous)
    try:
        previous.run()  # submits the whole chain: each array starts after the one before succeeds
    except (FileNotFoundError, subprocess.CalledProcessError) as exc:
        raise ExecutorError(f"clean.executor = slurm: sbatch failed ({exc})") from exc
    jobs = [str(e.job_id) for e in executors if e.job_id not in (None, -1)]
    log.info("submitted Slurm jobs %s; waiting for them to finish", ", ".join(jobs))
    wait_for_slurm(jobs, s.poll_seconds)
    for executor, stage in zip(executors, stages, strict=True):
        _check_complete(executor, stage, logs)


def wait_for_slurm(jobs: list[str], poll_seconds: float) -> None:
    """Return once squeue lists none of `jobs` (pending, running or completing)."""
    from tqdm import tqdm

    with tqdm(desc="Slurm jobs left", total=len(jobs), unit="job") as bar:
        while jobs:
            listed = subprocess.run(
                ["squeue", "--noheader", "--format=%i", "--jobs", ",".join(jobs)],
                capture_output=True,
                text=True,
            )
            if listed.returncode != 0 and "Invalid job id" not in listed.stderr:
                raise ExecutorError(f"squeue failed: {listed.stderr.strip()}")
            queued = {line.split("_")[0].strip() for line in listed.stdout.splitlines() if line.strip()}
            done = [j for j in jobs if j not in queued]
            bar.update(len(done))
            jobs = [j for j in jobs if j in queued]
            if jobs:
                time.sleep(poll_seconds)

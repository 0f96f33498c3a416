"""ko-clean off one machine: Ray, Slurm (stand-in commands), S3 (moto's real server), and resume
after SIGKILL. Each compares its outputs with the local executor's on the same input."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from data_prep.config import RayConfig, SlurmConfig
from tests.conftest import REPO
from tests.test_clean import mixed_input, run  # noqa: F401  (a fixture used below)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TIMING = {"seconds", "docs_per_s", "mb_per_s", "executor", "resumed_tasks"}


def outputs(out: Path) -> dict[str, bytes]:
    """Every output file (kept, dropped with reasons, quarantine) by relative path, as bytes."""
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for sub in ("clean", "dropped", "quarantine")
        for p in sorted((out / sub).glob("*"))
    }


def figures(report) -> dict:
    return {k: v for k, v in dataclasses.asdict(report).items() if k not in TIMING}


@pytest.fixture(scope="module")
def engine_input(mixed_input, tmp_path_factory):  # noqa: F811
    """test_clean's mixed input plus exact copies of its news in a file another task reads."""
    root = tmp_path_factory.mktemp("engines") / "raw"
    shutil.copytree(mixed_input, root)
    news = (root / "news.jsonl").read_text(encoding="utf-8").splitlines()[:12]
    copies = [json.dumps({"text": json.loads(line)["text"]}, ensure_ascii=False) for line in news]
    (root / "repeats.jsonl").write_text("\n".join(copies) + "\n", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def local_run(engine_input, tmp_path_factory):
    out = tmp_path_factory.mktemp("local") / "out"
    report = run(engine_input, out, tasks=4, workers=2)
    reasons = report.dropped_by_reason
    assert report.kept > 100 and report.quarantined > 0
    assert reasons["exact_duplicate"] >= 10 and reasons["near_duplicate"] >= 1
    return report, outputs(out)


def test_ray_gives_the_local_outputs(engine_input, local_run, tmp_path):
    report = run(
        engine_input,
        tmp_path / "out",
        tasks=4,
        workers=2,
        executor="ray",
        ray=RayConfig(address="local", mem_per_cpu_gb=0.5),
    )
    assert report.executor == "ray"
    import datatrove.executor.ray as datatrove_ray

    assert datatrove_ray.RankWorker.__module__ == "datatrove.executor.ray"  # ours swapped back out
    assert figures(report) == figures(local_run[0])
    assert outputs(tmp_path / "out") == local_run[1]


def test_slurm_submits_a_dependent_chain_and_waits_for_it(engine_input, local_run, tmp_path, monkeypatch):
    standin = REPO / "tests" / "slurm_standin"
    monkeypatch.setenv(
        "PATH", f"{standin}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    )
    monkeypatch.setenv("SLURM_STANDIN_DIR", str(tmp_path / "slurm"))
    activate = Path(sys.prefix) / "bin" / "activate"
    slurm = SlurmConfig(
        partition="cpu",
        time="01:00:00",
        cpus_per_task=1,
        sbatch_args={"account": "kolab"},
        venv_path=str(activate) if activate.is_file() else "",
        poll_seconds=0.5,
    )
    out = tmp_path / "out"
    report = run(engine_input, out, tasks=4, workers=2, executor="slurm", slurm=slurm)
    # ko-clean returned only after the last job: the outputs are complete and equal local's.
    assert figures(report) == figures(local_run[0])
    assert outputs(out) == local_run[1]
    jobs = [json.loads(p.read_text()) for p in sorted((tmp_path / "slurm" / "jobs").glob("*.json"))]
    stages = [
        j for j in jobs if j["directives"]["job-name"].startswith("ko-clean-") and "array" in j["directives"]
    ]
    stages = [
        j for j in stages if j["directives"].get("mem-per-cpu") != "1G"
    ]  # not datatrove's merge_stats jobs
    names = [j["directives"]["job-name"] for j in stages]
    assert names == [
        f"ko-clean-{s}" for s in ("1-filter", "2-exact", "3-signatures", "4-buckets", "5-clusters", "6-write")
    ]
    assert all(j["state"] == "COMPLETED" for j in jobs)
    for before, after in zip(stages, stages[1:], strict=False):
        dependency = [o for o in after["options"] if o.startswith("--dependency=")]
        assert dependency == [f"--dependency=afterok:{before['id']}"]
    first = stages[0]["directives"]
    assert (first["partition"], first["time"], first["account"], first["array"]) == (
        "cpu",
        "01:00:00",
        "kolab",
        "0-3%2",
    )
    assert stages[3]["directives"]["array"] == "0-19%2"  # one task per LSH band
    script = (tmp_path / "slurm" / "jobs" / f"{stages[0]['id']}.sh").read_text()
    assert "launch_pickled_pipeline" in script and (not slurm.venv_path or f"source {activate}" in script)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def s3_server(monkeypatch):
    """moto's S3-compatible server on 127.0.0.1, seen by this process and the spawned tasks."""
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    for key, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "FSSPEC_S3_ENDPOINT_URL": endpoint,
    }.items():
        monkeypatch.setenv(key, value)
    import fsspec.config

    monkeypatch.setitem(fsspec.config.conf, "s3", {"endpoint_url": endpoint})
    yield endpoint
    server.stop()


def test_s3_inputs_and_outputs_equal_a_local_run(engine_input, local_run, s3_server):
    import s3fs

    fs = s3fs.S3FileSystem(endpoint_url=s3_server, skip_instance_cache=True)
    fs.mkdir("corpus")
    fs.put(str(engine_input) + "/", "corpus/raw/", recursive=True)
    report = run("s3://corpus/raw", "s3://corpus/out", tasks=4, workers=2)
    got = {}
    for sub in ("clean", "dropped", "quarantine"):
        for name in sorted(fs.ls(f"corpus/out/{sub}")):
            got[f"{sub}/{name.rsplit('/', 1)[1]}"] = fs.cat(name)
    # Ids and quarantine entries name their source: s3://corpus/raw/x instead of the local path.
    local_prefix = json.dumps(str(engine_input))[1:-1].encode()
    expected = {k: v for k, v in local_run[1].items()}
    assert got.keys() == expected.keys()
    import gzip

    for name, data in got.items():
        plain = gzip.decompress(data) if name.endswith(".gz") else data
        want = gzip.decompress(expected[name]) if name.endswith(".gz") else expected[name]
        assert plain.replace(b"s3://corpus/raw", local_prefix) == want, name
    assert figures(report) == figures(local_run[0])
    assert not fs.exists("corpus/out/.work")  # the work folder went with the run


def _run_until(out: Path, inputs: Path, marker, timeout: float = 300):
    """Start ko-clean in its own process group; SIGKILL the group once `marker(work)` is true."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    args = [sys.executable, "-m", "data_prep.clean", "--input", str(inputs), "--output", str(out)]
    args += ["--set", "clean.workers=1", "--set", "clean.tasks=4", "--quiet"]
    # Run where no params.yaml is, so the built-in defaults apply (as in `run` below).
    proc = subprocess.Popen(args, env=env, cwd=out.parent, start_new_session=True)
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        if marker(out / ".work" / "logs"):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return
        time.sleep(0.05)
    raise AssertionError(f"the stage ended (rc {proc.poll()}) before it could be killed")


def _completed(logs: Path, stage: str) -> int:
    return len(list((logs / stage / "completions").glob("*")))


@pytest.mark.parametrize(
    ("stage", "total"),
    [("1-filter", 4), ("4-buckets", 20)],
    ids=["during-filtering", "during-minhash"],
)
def test_killed_run_resumes_without_redoing_finished_tasks(engine_input, local_run, tmp_path, stage, total):
    out = tmp_path / "out"
    _run_until(out, engine_input, lambda logs: 0 < _completed(logs, stage) < total)
    finished = _completed(out / ".work" / "logs", stage)
    assert 0 < finished < total
    report = run(engine_input, out, tasks=4, workers=1)
    assert report.resumed_tasks[stage] == finished  # skipped, not redone
    assert figures(report) == figures(local_run[0])
    assert outputs(out) == local_run[1]

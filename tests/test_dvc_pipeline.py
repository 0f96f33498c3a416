"""`dvc repro` of the wired stages in a fresh copy of the repo: runs, then has nothing to do."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _run(args, cwd, env):
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"{' '.join(args)}\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def fresh_repo(tmp_path_factory) -> tuple[Path, dict]:
    """The project's files (as git sees them) in a new git repo, with the venv's tools on PATH."""
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    root = tmp_path_factory.mktemp("fresh") / "repo"
    for name in filter(None, files):
        if (REPO / name).is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, root / name)
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    _run(["git", "init", "-q"], root, env)
    _run(["git", "add", "-A"], root, env)
    _run(["git", "commit", "-qm", "fresh clone"], root, env)
    return root, env


def test_repro_runs_then_is_up_to_date(fresh_repo):
    root, env = fresh_repo
    _run(["dvc", "repro"], root, env)
    assert (root / "data" / "raw" / "konlpy_demo.jsonl").is_file()
    assert (root / "models" / "base" / "model.safetensors").is_file()
    assert (root / "models" / "tokenizer" / "tokenizer.json").is_file()
    again = _run(["dvc", "repro"], root, env)
    assert "Data and pipelines are up to date" in again
    assert "Running stage" not in again

    metrics = json.loads(_run(["dvc", "metrics", "show", "--json"], root, env))
    workspace = metrics[""]["data"]
    assert workspace["metrics/base.json"]["data"]["vocab_size"] == 8000
    assert workspace["metrics/corpus.json"]["data"]["documents"] == 21
    vocab = workspace["metrics/vocab.json"]["data"]
    # The clean stage drops list-like bills, so the demo corpus may support fewer pieces than asked.
    assert 8000 < vocab["vocab_size"] <= 11000 and vocab["parity_mismatched_lines"] == 0
    clean = workspace["metrics/clean.json"]["data"]
    assert clean["read"] == clean["kept"] + clean["dropped"] + clean["quarantined"] == 21
    assert clean["kept"] > 0 and clean["pii_replaced"]
    pretrain = workspace["metrics/pretrain.json"]["data"]
    assert pretrain["eval_loss"] < pretrain["initial_eval_loss"]
    assert (root / "models" / "pretrain" / "model" / "model.safetensors").is_file()
    sft = workspace["metrics/sft.json"]["data"]
    assert sft["eval_loss"] < sft["initial_eval_loss"] and sft["rows_used"] == sft["rows_read"]
    assert sft["new_token_rows"] > 0 and sft["merge_max_abs_logit_diff"] < 1e-4
    assert (root / "models" / "sft" / "merged" / "model.safetensors").is_file()
    board = workspace["metrics/eval.json"]["data"]
    assert set(board) == {"base", "pretrain", "sft"}
    assert board["pretrain"]["bits_per_char"] < board["base"]["bits_per_char"]
    assert (root / "reports" / "eval" / "leaderboard.md").read_text().count("\n| ") == 3
    plots = json.dumps(json.loads(_run(["dvc", "plots", "show", "--json"], root, env)))
    assert "metrics/pretrain_loss.csv" in plots and "metrics/sft_loss.csv" in plots


def test_params_change_is_seen_by_dvc(fresh_repo):
    root, env = fresh_repo
    params = root / "params.yaml"
    original = params.read_text()
    try:
        params.write_text(original.replace("  seed: 0", "  seed: 1"))
        diff = json.loads(_run(["dvc", "params", "diff", "--json"], root, env))
        assert diff["params.yaml"]["base.seed"] == {"old": 0, "new": 1, "diff": 1}
        status = _run(["dvc", "status"], root, env)
        assert "base:" in status and "corpus:" not in status
    finally:
        params.write_text(original)

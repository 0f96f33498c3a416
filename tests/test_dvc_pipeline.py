"""`dvc repro` of the wired stages in a fresh copy of the repo: runs, then has nothing to do."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_checked

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_repro_runs_then_is_up_to_date(demo_pipeline):
    root, env, _ = demo_pipeline
    assert (root / "data" / "raw" / "konlpy-demo" / "part-00000.jsonl.gz").is_file()
    assert (root / "data" / "replay" / "python-docs" / "part-00000.jsonl.gz").is_file()
    assert (root / "models" / "base" / "model.safetensors").is_file()
    assert (root / "models" / "tokenizer" / "tokenizer.json").is_file()
    again = run_checked(["dvc", "repro"], root, env)
    # The corpus stage (always_changed) re-pins its inputs; finding them unchanged, nothing else runs.
    assert again.count("Running stage") == 1 and "Running stage 'corpus'" in again
    assert "Stage 'clean' didn't change, skipping" in again and "Stage 'publish' didn't change" in again

    metrics = json.loads(run_checked(["dvc", "metrics", "show", "--json"], root, env))
    workspace = metrics[""]["data"]
    assert workspace["metrics/base.json"]["data"]["vocab_size"] == 8000
    assert workspace["metrics/corpus.json"]["data"]["documents"] == 21
    assert workspace["metrics/corpus.json"]["data"]["replay_documents"] > 50
    vocab = workspace["metrics/vocab.json"]["data"]
    # The clean stage drops list-like bills, so the demo corpus may support fewer pieces than asked.
    assert 8000 < vocab["vocab_size"] <= 11000 and vocab["parity_mismatched_lines"] == 0
    clean = workspace["metrics/clean.json"]["data"]
    assert clean["read"] == clean["kept"] + clean["dropped"] + clean["quarantined"] == 21
    assert clean["kept"] > 0 and clean["pii_replaced"]
    pretrain = workspace["metrics/pretrain.json"]["data"]
    assert pretrain["eval_loss"] < pretrain["initial_eval_loss"]
    assert set(pretrain["bits_per_char_by_stage"]) == {"ko", "en"}
    assert (root / "models" / "pretrain" / "model" / "model.safetensors").is_file()
    sft = workspace["metrics/sft.json"]["data"]
    assert sft["eval_loss"] < sft["initial_eval_loss"] and sft["rows_used"] == sft["rows_read"]
    assert sft["new_token_rows"] > 0 and sft["merge_max_abs_logit_diff"] < 1e-4
    assert (root / "models" / "sft" / "merged" / "model.safetensors").is_file()
    board = workspace["metrics/eval.json"]["data"]
    assert set(board) == {"base", "pretrain", "sft"}
    assert board["pretrain"]["bits_per_char"] < board["base"]["bits_per_char"]
    assert all("bits_per_char_en" in row for row in board.values())
    assert (root / "reports" / "eval" / "leaderboard.md").read_text().count("\n| ") == 3
    publish = workspace["metrics/publish.json"]["data"]
    assert publish["pushed"] is False and publish["shards"] > 1 and publish["eval_model"] == "sft"
    assert (root / "dist" / "hub" / "README.md").is_file()
    plots = json.dumps(json.loads(run_checked(["dvc", "plots", "show", "--json"], root, env)))
    assert "metrics/pretrain_loss.csv" in plots and "metrics/sft_loss.csv" in plots


def test_params_change_is_seen_by_dvc(demo_pipeline):
    root, env, _ = demo_pipeline
    params = root / "params.yaml"
    original = params.read_text()
    try:
        base_seed = "  # Seed of the demo model's random weights.\n  seed: 0"
        assert base_seed in original
        params.write_text(original.replace(base_seed, base_seed[:-1] + "1"))
        diff = json.loads(run_checked(["dvc", "params", "diff", "--json"], root, env))
        assert diff["params.yaml"]["base.seed"] == {"old": 0, "new": 1, "diff": 1}
        status = run_checked(["dvc", "status"], root, env)
        # corpus is always_changed (it re-pins its inputs on every repro); clean is not touched.
        assert "base:" in status and "clean:" not in status
    finally:
        params.write_text(original)

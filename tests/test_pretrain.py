"""ko-pretrain on CPU through DeepSpeed ZeRO (gloo): both stages, ZeRO-2/3, 1 and 2 processes, and resume."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from tests.conftest import run_module

pytestmark = [pytest.mark.integration, pytest.mark.slow]
STEPS = [
    "--set",
    "pretrain.stage1_steps=6",
    "--set",
    "pretrain.stage2_steps=10",
    "--set",
    "pretrain.save_steps=2",
    "--set",
    "pretrain.logging_steps=2",
    "--set",
    "pretrain.block_size=64",
]


@pytest.fixture(scope="module")
def stage_inputs(demo_base, korean_extension):
    """A demo base, a small extension of its vocabulary, and a Korean corpus."""
    corpus, tokenizer = korean_extension
    return demo_base, tokenizer, corpus


def run_pretrain(inputs, output: Path, *extra: str, processes: int = 1, wait: bool = True):
    """Run ko-pretrain in its own process group (torchrun --standalone for several processes)."""
    base, tokenizer, corpus = inputs
    args = [
        "--input",
        str(corpus),
        "--model",
        str(base),
        "--tokenizer",
        str(tokenizer),
        "--output",
        str(output),
    ]
    process = run_module("pipeline.pretrain", ["-q", *args, *STEPS, *extra], processes=processes, wait=wait)
    if not wait:
        return process
    return json.loads((output / "metrics.json").read_text())


@pytest.mark.parametrize(("zero", "processes"), [("zero2", 1), ("zero3", 1), ("zero2", 2), ("zero3", 2)])
def test_both_stages_train_and_loss_falls(stage_inputs, tmp_path, zero, processes, monkeypatch):
    out = tmp_path / "out"
    if processes > 1:  # from a cold cache: one rank packs while the other waits (it used to crash)
        monkeypatch.setenv("KO_CACHE_DIR", str(tmp_path / "cold"))
    metrics = run_pretrain(
        stage_inputs, out, "--set", f"pretrain.deepspeed=configs/deepspeed/{zero}.json", processes=processes
    )
    assert metrics["world_size"] == processes
    assert metrics["stage1_eval_loss"] < metrics["initial_eval_loss"]
    assert metrics["stage2_eval_loss"] < metrics["stage1_eval_loss"]
    assert metrics["bits_per_char"] < metrics["initial_bits_per_char"]
    assert metrics["embedding_rows"] == 8640  # 8,600 pieces padded to a multiple of 64
    rows = (out / "loss.csv").read_text().splitlines()
    assert rows[0] == "step,stage,loss" and {r.split(",")[1] for r in rows[1:]} == {"stage1", "stage2"}

    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(out / "model")
    tok = AutoTokenizer.from_pretrained(out / "model")
    assert model.config.vocab_size == 8640 and len(tok) == 8600


def test_stage1_moves_only_embeddings(stage_inputs, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM

    out = tmp_path / "out"
    metrics = run_pretrain(
        stage_inputs, out, "--set", "pretrain.stage2_steps=0", "--set", "pretrain.peak_tflops=0.5"
    )
    # Throughput per device and MFU against the peak given in params (CPU has no known peak).
    assert metrics["train_tokens_per_s_per_device"] > 0 and 0 < metrics["mfu"] < 1
    assert metrics["peak"] == "0.5 TFLOP/s from params"
    before = AutoModelForCausalLM.from_pretrained(stage_inputs[0]).state_dict()
    after = AutoModelForCausalLM.from_pretrained(out / "model").state_dict()
    for name, tensor in after.items():
        if "embed_tokens" in name or "lm_head" in name:
            assert not torch.equal(tensor[: before[name].shape[0]], before[name]), name
        else:
            assert torch.equal(tensor, before[name]), name


def test_killed_run_resumes_to_the_same_result(stage_inputs, tmp_path):
    """Also the bits-per-character curve (pretrain.eval_steps 4): the points before the kill come
    back from the checkpoint, the ones after from the resumed run."""
    curve = ("--set", "pretrain.eval_steps=4")
    reference = run_pretrain(stage_inputs, tmp_path / "ref", *curve)
    points = reference["bits_per_char_curve"]
    # stage 1 (6 steps): its start, step 4 and its end; stage 2 (10): steps 4, 8, 10, counted on from 6
    assert [(p["stage"], p["step"]) for p in points] == [
        ("stage1", 0),
        ("stage1", 4),
        ("stage1", 6),
        ("stage2", 10),
        ("stage2", 14),
        ("stage2", 16),
    ]
    assert (
        points[0]["ko"] == reference["initial_bits_per_char"]
        and points[-1]["ko"] == reference["bits_per_char"]
    )
    assert points[2]["ko"] == reference["bits_per_char_by_stage"]["ko"]["stage1"]
    assert points[-1]["tokens"] == 16 * 4 * 64  # steps x batch 4 x block 64
    out = tmp_path / "killed"
    process = run_pretrain(stage_inputs, out, *curve, wait=False)
    from pipeline.training import checkpoint_root

    checkpoint = checkpoint_root(out) / "stage2" / "checkpoint-4"
    deadline = time.time() + 300
    while not checkpoint.is_dir() and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert checkpoint.is_dir(), "the run ended before stage 2 checkpointed"
    time.sleep(0.5)  # let the checkpoint finish writing, then kill mid-stage
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert not (checkpoint_root(out) / "stage2" / "done.json").exists()
    live = (out / "loss.csv").read_text().splitlines()  # written while training, before the stage ended
    assert live[0].startswith("step,stage,loss,tokens_per_s_per_device") and any(
        ",stage2," in r for r in live
    )
    resumed = run_pretrain(stage_inputs, out, *curve)
    kept = sorted(p.name for p in (checkpoint_root(out) / "stage2").glob("checkpoint-*"))
    assert kept == ["checkpoint-10", "checkpoint-8"]  # save_total_limit 2 (of 2, 4, ..., 10)
    for key in ("stage1_eval_loss", "stage2_eval_loss", "bits_per_char"):
        assert resumed[key] == pytest.approx(reference[key], rel=1e-5), key
    again = resumed["bits_per_char_curve"]
    assert [(p["stage"], p["step"]) for p in again] == [(p["stage"], p["step"]) for p in points]
    assert [p["ko"] for p in again] == pytest.approx([p["ko"] for p in points], rel=1e-4)


def test_changed_params_start_over_instead_of_resuming(stage_inputs, tmp_path):
    out = tmp_path / "out"
    from pipeline.training import checkpoint_root

    first = run_pretrain(stage_inputs, out, "--set", "pretrain.stage2_steps=0")
    assert (checkpoint_root(out) / "stage1" / "done.json").is_file()
    assert not (out / "stage1").exists()  # checkpoints stay out of the DVC output
    again = run_pretrain(stage_inputs, out, "--set", "pretrain.stage2_steps=0")
    assert again["stage1_eval_loss"] == first["stage1_eval_loss"]  # same run: taken from stage1/done.json
    assert again["train_tokens_per_s"] == first["train_tokens_per_s"] > 0  # as measured, not 0
    changed = run_pretrain(
        stage_inputs, out, "--set", "pretrain.stage2_steps=0", "--set", "pretrain.stage1_learning_rate=0.01"
    )
    assert changed["stage1_eval_loss"] != first["stage1_eval_loss"]


def test_a_run_killed_after_its_last_checkpoint_finishes_without_another_step(stage_inputs, tmp_path):
    """Killed between stage 2's last checkpoint and its record: the relaunch evaluates and saves that
    checkpoint (resumed, the Trainer would train an 11th step of 10)."""
    import shutil

    from pipeline.training import checkpoint_root

    out = tmp_path / "out"
    first = run_pretrain(stage_inputs, out)
    stage2 = checkpoint_root(out) / "stage2"
    (stage2 / "done.json").unlink()  # what a kill during the final evaluation or save leaves
    shutil.rmtree(stage2 / "final")
    again = run_pretrain(stage_inputs, out)
    assert sorted(p.name for p in stage2.glob("checkpoint-*")) == ["checkpoint-10", "checkpoint-8"]
    for key in ("stage1_eval_loss", "stage2_eval_loss", "bits_per_char"):
        assert again[key] == pytest.approx(first[key], rel=1e-5), key

"""ko-sft end to end on CPU through DeepSpeed ZeRO-2: a tiny extended Llama tuned on the shared KoAlpaca."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, run_module, shared_path

pytestmark = [pytest.mark.integration, pytest.mark.slow]
STEPS = [
    "--set",
    "sft.max_steps=16",
    "--set",
    "sft.save_steps=4",
    "--set",
    "sft.logging_steps=2",
    "--set",
    "sft.max_length=192",
    "--set",
    "sft.learning_rate=0.002",
    "--set",
    "sft.weights=[0.03]",
    "--set",
    "sft.sample_count=2",
    "--set",
    "sft.sample_max_new_tokens=8",
]


@pytest.fixture(scope="module")
def extended_model(tmp_path_factory, demo_base, korean_extension):
    """The demo base with a Korean vocabulary extension, resized as the pretrain stage leaves it."""
    from transformers import AutoModelForCausalLM

    from pipeline.embeddings import init_new_embeddings
    from tokenizer.hf_export import HF_FILES

    _, tokenizer = korean_extension
    model = AutoModelForCausalLM.from_pretrained(demo_base)
    init_new_embeddings(model, demo_base / "tokenizer.model", tokenizer / "tokenizer.model")
    model_dir = tmp_path_factory.mktemp("sft") / "model"
    model.save_pretrained(model_dir)
    for name in HF_FILES:
        if (tokenizer / name).is_file():
            shutil.copyfile(tokenizer / name, model_dir / name)
    return model_dir


def run_sft(model_dir: Path, base: Path, output: Path, *extra: str, wait: bool = True, processes: int = 1):
    """ko-sft in its own process group on the shared KoAlpaca file (torchrun for several processes)."""
    data = shared_path("instructions", "koalpaca", "ko_alpaca_data.fork_subset_12761.json")
    args = ["--model", str(model_dir), "--base-tokenizer", str(base), "--input", str(data)]
    args += ["--output", str(output), *STEPS, *extra]
    process = run_module("pipeline.sft", args, processes=processes, wait=wait, timeout=400)
    if not wait:
        return process
    return json.loads((output / "metrics.json").read_text()), process


def test_tuning_learns_and_saves_a_usable_adapter_and_merge(extended_model, demo_base, tmp_path):
    import torch
    from peft import PeftModel
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from pipeline.instructions import load_conversations
    from pipeline.templates import TEMPLATES, render

    out = tmp_path / "out"
    prompts = shared_path("instructions", "kullm", "user_oriented_instructions_eval.ko.jsonl")
    metrics, _ = run_sft(extended_model, demo_base, out, "--prompts", str(prompts))
    assert metrics["eval_loss"] < metrics["initial_eval_loss"]
    assert metrics["steps"] == 16
    # The one KoAlpaca row with an empty output is skipped, and listed with its line.
    assert metrics["rows_skipped"]["empty_output"] == 1
    skipped = [json.loads(line) for line in (out / "skipped.jsonl").read_text().splitlines()]
    assert any(s["reason"] == "empty_output" and s["source"].endswith(".json:51122") for s in skipped)
    base_rows = len(AutoTokenizer.from_pretrained(demo_base))
    base = AutoModelForCausalLM.from_pretrained(extended_model)
    rows = base.get_input_embeddings().weight.shape[0]
    assert metrics["new_token_rows"] == rows - base_rows > 0

    # The adapter carries the new rows of both embedding matrices, and only them.
    adapter = load_file(out / "adapter" / "adapter_model.safetensors")
    deltas = [k for k in adapter if "trainable_tokens_delta" in k]
    assert len(deltas) == 2 and all(adapter[k].shape[0] == rows - base_rows for k in deltas)

    # Adapter on the base == merged model; old rows untouched, new rows trained.
    merged = AutoModelForCausalLM.from_pretrained(out / "merged")
    tuned = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(extended_model), out / "adapter")
    tuned.eval()
    merged.eval()
    tokenizer = AutoTokenizer.from_pretrained(out / "merged")
    conversations, _, _ = load_conversations(
        [str(shared_path("instructions", "koalpaca", "ko_alpaca_data.fork_subset_12761.json"))],
        (),
        dedup=True,
        seed=0,
    )
    text = render(tokenizer, list(conversations[5].messages))
    ids = tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        torch.testing.assert_close(
            merged(input_ids=ids).logits, tuned(input_ids=ids).logits, atol=1e-4, rtol=1e-4
        )
    for name in ("model.embed_tokens.weight", "lm_head.weight"):
        before, after = base.state_dict()[name], merged.state_dict()[name]
        assert torch.equal(before[:base_rows], after[:base_rows]), name
        assert not torch.equal(before[base_rows:], after[base_rows:]), name

    # The saved tokenizers carry the training template; the samples say how they were decoded.
    assert tokenizer.chat_template == TEMPLATES["kullm"]
    assert AutoTokenizer.from_pretrained(out / "adapter").chat_template == TEMPLATES["kullm"]
    assert (out / "merged" / "tokenizer.model").is_file()
    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert len(samples) == metrics["samples"] == 2
    assert samples[0]["decoding"]["do_sample"] is False and samples[0]["new_tokens"] > 0
    first = json.loads(prompts.read_text(encoding="utf-8").splitlines()[0])
    assert samples[0]["source"] == f"{prompts}:1"
    assert samples[0]["messages"][0]["content"] == first["instruction"].strip()
    history = (out / "loss.csv").read_text().splitlines()
    assert history[0] == "step,loss" and len(history) == 1 + 16 // 2


def test_killed_packed_run_resumes_from_its_checkpoint(extended_model, demo_base, tmp_path):
    out = tmp_path / "out"
    packed = ["--set", "sft.packing=true", "--set", "sft.max_length=512"]
    process = run_sft(extended_model, demo_base, out, *packed, wait=False)
    from pipeline.training import checkpoint_root

    checkpoint = checkpoint_root(out) / "train" / "checkpoint-8"
    deadline = time.time() + 300
    while not checkpoint.is_dir() and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert checkpoint.is_dir(), "the run ended before its second checkpoint"
    time.sleep(0.5)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert not (out / "metrics.json").exists()
    # The initial loss was recorded at step 0, before any checkpoint: the resumed run keeps it.
    initial = json.loads((checkpoint_root(out) / "train" / "initial.json").read_text())["answers"]
    metrics, log = run_sft(extended_model, demo_base, out, *packed)
    assert "resuming from" in log and "checkpoint-" in log
    assert metrics["steps"] == 16 and metrics["train_rows"] < metrics["train_examples"]  # packed
    assert metrics["eval_loss"] < metrics["initial_eval_loss"] == round(initial, 5)
    again, _ = run_sft(extended_model, demo_base, out, *packed)  # finished: trains nothing
    assert again["steps"] == 16 and again["eval_loss"] == metrics["eval_loss"]
    assert again["train_tokens_per_s"] == metrics["train_tokens_per_s"] > 0  # as measured, not 0


def test_two_processes_train_alike_under_zero2_and_zero3(extended_model, demo_base, tmp_path):
    short = ["--set", "sft.max_steps=6", "--set", "sft.sample_count=0"]
    results = {}
    for zero in ("zero2", "zero3"):
        config = ["--set", f"sft.deepspeed=configs/deepspeed/{zero}.json"]
        results[zero], _ = run_sft(extended_model, demo_base, tmp_path / zero, *short, *config, processes=2)
        assert (tmp_path / zero / "merged" / "model.safetensors").is_file()
    assert results["zero2"]["eval_loss"] < results["zero2"]["initial_eval_loss"]
    assert results["zero3"]["eval_loss"] == pytest.approx(results["zero2"]["eval_loss"], rel=1e-4)


def test_bad_inputs_fail_with_one_line(extended_model, demo_base, tmp_path):
    import torch

    out = tmp_path / "out"
    missing = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline.sft",
            "--model",
            str(extended_model),
            "--input",
            str(tmp_path / "x.json"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 1 and "x.json: no such file or directory" in missing.stderr
    if torch.cuda.is_available():  # the QLoRA refusal is a CPU-only path
        return
    qlora = subprocess.run(
        [sys.executable, "-m", "pipeline.sft", "--model", str(extended_model), "--output", str(out)]
        + ["--input", str(shared_path("instructions", "kullm", "user_oriented_instructions_eval.ko.jsonl"))]
        + ["--set", "sft.load_in_4bit=true"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert qlora.returncode == 1 and "needs a CUDA GPU" in qlora.stderr

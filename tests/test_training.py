"""The training runtime (pipeline/training.py, flops.py, packing's collator): evaluation through the
Trainer, attention within documents, packing once across processes, resume rules, FLOPs, bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, tiny_llama


def reference_block_loss(model, dataset, batch_size: int) -> float:
    """The eval loop pretrain had before the runtime (hand-written, outside the Trainer), kept as the
    reference the Trainer's evaluation must reproduce."""
    import torch

    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(dataset), batch_size):
            ids = torch.tensor(dataset[start : start + batch_size]["input_ids"])
            logits = model(input_ids=ids).logits[:, :-1].float()
            loss = torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1), reduction="sum"
            )
            total += loss.item()
            count += ids[:, 1:].numel()
    return total / count


def reference_answer_loss(model, rows, batch_size: int) -> float:
    """sft's eval loop before the runtime: labelled tokens only, token-weighted, padded batches."""
    import torch

    from pipeline.sft_data import IGNORE, PadCollator

    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(rows), batch_size):
            batch = PadCollator(0)(rows[start : start + batch_size])
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
            logits, labels = logits[:, :-1].float(), batch["labels"][:, 1:]
            total += torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=IGNORE, reduction="sum"
            ).item()
            count += int((labels != IGNORE).sum())
    return total / count


def trainer_eval(model, datasets: dict, collator, tmp_path: Path, batch_size: int) -> dict:
    """The runtime's evaluation: RuntimeTrainer.evaluate over named sets, no DeepSpeed."""
    from transformers import TrainingArguments

    from pipeline.training import eval_losses, runtime_trainer_class

    # One process, no torch.distributed: setup_distributed() here would leave RANK and a bound
    # MASTER_PORT in this pytest process for every stage a later test launches.
    args = TrainingArguments(
        output_dir=str(tmp_path / "eval"),
        per_device_eval_batch_size=batch_size,
        use_cpu=True,
        report_to=[],
        remove_unused_columns=False,
        label_names=["labels"],
        disable_tqdm=True,
    )
    trainer = runtime_trainer_class()(model=model, args=args, eval_dataset=datasets, data_collator=collator)
    return eval_losses(trainer.evaluate(), datasets)


@pytest.fixture(scope="module")
def packed(demo_base, korean_extension, tmp_path_factory):
    from pipeline.packing import pack_corpus

    corpus, tokenizer = korean_extension
    splits, report = pack_corpus([corpus], tokenizer, tmp_path_factory.mktemp("packed"), block_size=48)
    return splits, tokenizer


def test_trainer_evaluation_equals_the_hand_written_loops(packed, tmp_path):
    """Pretrain blocks and sft's answer-only rows: the Trainer's token-weighted loss is the old loop's."""
    import random

    from transformers import AutoTokenizer

    from pipeline.packing import BlockCollator
    from pipeline.sft_data import IGNORE, PadCollator

    splits, tokenizer_dir = packed
    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    model = tiny_llama(len(tok), seed=3)
    blocks = splits["validation"]
    assert len(blocks) % 5 != 0  # the last batch is short: its blocks must not weigh more
    expected = reference_block_loss(model, blocks, 5)
    got = trainer_eval(model, {"ko": blocks}, BlockCollator(tok.bos_token_id, False), tmp_path, 5)
    assert got["ko"] == pytest.approx(expected, abs=1e-6)

    # sft rows: different lengths and different numbers of labelled tokens per row.
    rng = random.Random(0)
    rows = []
    for block in splits["train"].select(range(11))["input_ids"]:
        length = rng.randrange(12, len(block))
        start = rng.randrange(1, length - 2)
        rows.append({"input_ids": block[:length], "labels": [IGNORE] * start + block[start:length]})
    expected = reference_answer_loss(model, rows, 4)
    got = trainer_eval(model, {"answers": rows}, PadCollator(0), tmp_path, 4)
    assert got["answers"] == pytest.approx(expected, abs=1e-6)
    per_row_mean = sum(reference_answer_loss(model, rows[i : i + 4], 4) for i in (0, 4, 8)) / 3
    assert abs(per_row_mean - expected) > 1e-4  # a batch-averaged loss would differ: the test can fail


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
def test_within_document_attention_equals_documents_one_by_one(packed, attention):
    """A packed block under document_attention=within gives each document the logits it gets alone."""
    import torch
    from transformers import AutoTokenizer, LlamaForCausalLM

    from pipeline.packing import BlockCollator

    splits, tokenizer_dir = packed
    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    model = tiny_llama(len(tok), seed=1)
    model = LlamaForCausalLM.from_pretrained(
        _saved(model, tokenizer_dir.parent / f"tiny-{attention}"), attn_implementation=attention
    )
    model.config.use_cache = False
    model.eval()
    texts = ["대한민국의 수도는 서울이다.", "오늘은 날씨가 맑고 바람이 분다.", "법원은 청구를 기각하였다."]
    block = [i for t in texts for i in tok(t)["input_ids"] + [tok.eos_token_id]]  # as packing joins them
    batch = BlockCollator(tok.bos_token_id, within=True)([{"input_ids": block}])
    starts = [i for i, t in enumerate(block) if t == tok.bos_token_id or i == 0]
    assert batch["position_ids"][0].tolist()[starts[1]] == 0 and len(starts) >= 3
    with torch.no_grad():
        packed_logits = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"]).logits[0]
        crossed = model(input_ids=batch["input_ids"]).logits[0]
        for a, b in zip(starts, [*starts[1:], len(block)], strict=True):
            alone = model(input_ids=torch.tensor([block[a:b]])).logits[0]
            torch.testing.assert_close(packed_logits[a:b], alone, atol=2e-5, rtol=1e-4)
    later = starts[1]  # under cross attention a later document sees the one before: not the same
    assert not torch.allclose(crossed[later:], packed_logits[later:], atol=1e-3)


def _saved(model, path: Path) -> Path:
    model.save_pretrained(path)
    return path


def test_two_processes_on_a_cold_cache_pack_once_and_read_the_same_blocks(korean_extension, tmp_path):
    corpus, tokenizer = korean_extension
    script = (
        "import hashlib, json, sys\n"
        "import pipeline.packing as packing\n"
        "real = packing._pack\n"
        "def counted(*a, **k):\n"
        "    print('PACKING', flush=True)\n"
        "    return real(*a, **k)\n"
        "packing._pack = counted\n"
        f"splits, _ = packing.pack_corpus([{str(corpus)!r}], {str(tokenizer)!r}, "
        "sys.argv[1], block_size=40)\n"
        "blocks = [[list(b) for b in splits[s]['input_ids']] for s in ('train', 'validation')]\n"
        "digest = hashlib.sha256(json.dumps(blocks).encode())\n"
        "print('DIGEST', digest.hexdigest(), splits['train'].features['input_ids'].feature.dtype)\n"
    )
    cache = tmp_path / "cold"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(cache)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err[-3000:] for _, err in results]
    outs = [out for out, _ in results]
    assert sum(o.count("PACKING") for o in outs) == 1  # one packed, the other waited and read
    digests = {line for o in outs for line in o.splitlines() if line.startswith("DIGEST")}
    assert len(digests) == 1 and digests.pop().endswith("uint16")  # 8,600 pieces fit in 16 bits


def test_a_cache_hit_reads_no_corpus(korean_extension, tmp_path, monkeypatch):
    from pipeline import packing

    corpus, tokenizer = korean_extension
    _, first = packing.pack_corpus([corpus], tokenizer, tmp_path, block_size=40)

    def refuse(*args, **kwargs):
        raise AssertionError("the corpus was read again")

    monkeypatch.setattr(packing, "cache_key", refuse)
    monkeypatch.setattr(packing, "_pack", refuse)
    _, again = packing.pack_corpus([corpus], tokenizer, tmp_path, block_size=40)
    assert again == first
    monkeypatch.undo()
    # Touched (new modification time, same bytes): the content is hashed again, and found packed.
    stat = os.stat(corpus)
    os.utime(corpus, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    monkeypatch.setattr(packing, "_pack", refuse)
    _, touched = packing.pack_corpus([corpus], tokenizer, tmp_path, block_size=40)
    assert touched == first


def test_resume_rules_fingerprint_and_world_size(tmp_path, monkeypatch):
    from pipeline.cli import StageError
    from pipeline.config import PretrainConfig
    from pipeline.training import checkpoint_root, open_run, run_fingerprint

    monkeypatch.setenv("KO_CACHE_DIR", str(tmp_path / "cache"))
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "config.json").write_text("{}")
    ds = tmp_path / "zero.json"
    ds.write_text(json.dumps({"zero_optimization": {"stage": 2}}))
    config = PretrainConfig(deepspeed=str(ds))
    fingerprint = run_fingerprint(config, model_dir, "data")
    ds.write_text(json.dumps({"zero_optimization": {"stage": 3}}))
    assert run_fingerprint(config, model_dir, "data") != fingerprint  # the DeepSpeed config's contents count

    output = tmp_path / "out"
    monkeypatch.setenv("WORLD_SIZE", "8")
    root = open_run(output, fingerprint)
    assert root == checkpoint_root(output) and not str(root).startswith(str(output))
    (root / "stage1" / "checkpoint-4").mkdir(parents=True)
    monkeypatch.setenv("WORLD_SIZE", "4")
    with pytest.raises(StageError, match=r"written by 8 processes and this run has 4: relaunch with 8"):
        open_run(output, fingerprint)
    (root / "stage1" / "done.json").write_text("{}")  # a finished stage's weights are plain: any size
    assert open_run(output, fingerprint) == root
    open_run(output, "another")  # changed params: start over
    assert not (root / "stage1").exists()


def test_flops_count_every_parameter_and_peaks_by_device_name():
    from pipeline.flops import model_flops_per_token, parameter_count, peak_flops

    for tied in (False, True):
        model = tiny_llama(1000, tied=tied)
        assert parameter_count(model.config) == sum(p.numel() for p in model.parameters())
    config = tiny_llama(1000).config
    n = parameter_count(config)
    assert model_flops_per_token(config, 4096) == 6 * n + 12 * 1 * 16 * 4096
    assert peak_flops("NVIDIA H100 80GB HBM3")[0] == 989e12
    assert peak_flops("NVIDIA H100 PCIe")[0] == 756e12
    assert peak_flops("NVIDIA H200")[0] == 989e12
    assert peak_flops("NVIDIA A100-SXM4-80GB")[0] == 312e12
    assert peak_flops("cpu")[0] is None and "peak_tflops" in peak_flops("cpu")[1]
    assert peak_flops("cpu", 100.0)[0] == 100e12


def _cli(module: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", module, *args], cwd=REPO, capture_output=True, text=True, timeout=300
    )


@pytest.mark.slow
def test_bad_paths_and_tokenizers_fail_with_one_line(demo_base, korean_extension, llama2_sp_model, tmp_path):
    import shutil

    corpus, tokenizer = korean_extension
    common = ["--input", str(corpus), "--output", str(tmp_path / "out")]
    cases = [
        (["--model", "/nonexistent", "--tokenizer", str(tokenizer)], "--model /nonexistent: no such file"),
        (
            ["--model", str(demo_base), "--tokenizer", "/nonexistent"],
            "--tokenizer /nonexistent: no such file",
        ),
        (
            [
                "--model",
                str(demo_base),
                "--tokenizer",
                str(tokenizer),
                "--set",
                "pretrain.deepspeed=/no/ds.json",
            ],
            "pretrain.deepspeed /no/ds.json: no such file",
        ),
    ]
    other = tmp_path / "llama2-tokenizer"  # a tokenizer of another base: its ids are not the demo's
    other.mkdir()
    shutil.copyfile(llama2_sp_model, other / "tokenizer.model")
    cases.append((["--model", str(demo_base), "--tokenizer", str(other)], "is not an extension of"))
    for args, message in cases:
        result = _cli("pipeline.pretrain", *common, *args)
        assert result.returncode == 1, result.stderr[-2000:]
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and message in lines[0], result.stderr[-2000:]
    sft = _cli(
        "pipeline.sft", "--model", "/nonexistent", "--input", str(corpus), "--output", str(tmp_path / "s")
    )
    assert sft.returncode == 1 and "--model /nonexistent" in sft.stderr and "Traceback" not in sft.stderr


@pytest.mark.slow
@pytest.mark.integration
def test_zero3_loads_partitioned_and_initialises_the_gathered_rows(demo_base, korean_extension, tmp_path):
    """2 ranks, ZeRO-3 on CPU: each holds half of embed_tokens after loading; the new rows, gathered
    after the resize, are the subword means a plain single-process resize gives."""
    from tests.conftest import run_module

    _, tokenizer = korean_extension
    out = tmp_path / "rows.pt"
    run_module("tests.zero3_rows", [str(demo_base), str(tokenizer), str(out)], processes=2)
    import torch
    from transformers import AutoModelForCausalLM

    from pipeline.embeddings import base_piece_ids, init_new_embeddings
    from tokenizer.spm import read_model

    result = torch.load(out)
    assert result["local_numel"] == [result["numel"] // 2] * 2  # half of embed_tokens on each rank
    model = AutoModelForCausalLM.from_pretrained(demo_base)
    init_new_embeddings(model, demo_base / "tokenizer.model", tokenizer / "tokenizer.model")
    base_rows = result["base_rows"]
    pieces = [p.piece for p in read_model(tokenizer / "tokenizer.model").pieces[base_rows:]]
    meaned = [
        base_rows + i for i, ids in enumerate(base_piece_ids(demo_base / "tokenizer.model", pieces)) if ids
    ]
    assert len(meaned) > 100
    for name in ("embed_tokens", "lm_head"):
        plain = (
            model.get_input_embeddings() if name == "embed_tokens" else model.get_output_embeddings()
        ).weight
        assert result[name].shape == plain.shape
        torch.testing.assert_close(result[name][meaned], plain[meaned].detach(), atol=1e-6, rtol=0)
        assert torch.equal(result[name][:base_rows], plain[:base_rows].detach())

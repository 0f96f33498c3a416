"""Bench: training throughput (tokens/s per device) and MFU of the pretrain runtime, per shape and ZeRO stage.

Ours: pipeline/training.py as ko-pretrain runs it (TrainingArguments from a PretrainConfig, the
DeepSpeed config, RuntimeTrainer with its FLOPs counter, BlockCollator), on a randomly initialised
Llama of the named shape with the 46,336-piece vocabulary of a Korean-extended Llama-2, random
token blocks, bf16 on a GPU.

Anchor, measured in the same run on the same model shape, data and batch: a plain PyTorch loop
(torch.optim.AdamW, bf16 autocast over fp32 weights, no Trainer and no DeepSpeed). The ratio says
what the runtime costs or gains over it. What differs: the runtime adds DeepSpeed's ZeRO
partitioning, its bf16 master-weight handling and the Trainer's bookkeeping; the anchor keeps
everything on one device (so it is skipped where fp32 weights and AdamW states do not fit: 7B).

MFU is model FLOPs per token (6N + 12·L·d·T, pipeline/flops.py) times tokens/s over the
vendor's dense bf16 peak, looked up by device name (989 TFLOP/s for H100 SXM and H200).

    python bench/pretrain.py                          # GPU: 1B-class and 7B-shaped, the whole grid
    python bench/pretrain.py --shape 1b --zero 2       # one cell
    python bench/pretrain.py --smoke                   # tiny shape on CPU (the CI test runs this)

Writes one JSON line per cell to --out (default bench/pretrain_results.jsonl) and prints a table.
On a lent GPU machine without DeepSpeed, bench/gpu_session.sh installs the carried wheels first.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

VOCAB = 46_336  # Llama-2's 32,000 + 14,336 Korean pieces (the cpu-shared run), padded to 64
SHAPES = {
    # name: hidden, layers, heads, kv heads, intermediate
    "smoke": (64, 2, 4, 4, 128),
    "1b": (2048, 22, 32, 4, 5632),  # TinyLlama-1.1B's shape
    "7b": (4096, 32, 32, 32, 11008),  # Llama-2-7B's shape
}
ZERO = {"none": "", "2": "zero2.json", "3": "zero3.json", "3-offload": "zero3_offload.json"}
# The grid run when nothing is chosen: what fits a single 141 GB H200 in about five minutes.
GRID = [("1b", "none"), ("1b", "2"), ("1b", "3"), ("7b", "3"), ("7b", "3-offload")]


def llama_config(shape: str, sequence: int, vocab: int):
    from transformers import LlamaConfig

    hidden, layers, heads, kv_heads, intermediate = SHAPES[shape]
    return LlamaConfig(
        vocab_size=vocab,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
        intermediate_size=intermediate,
        max_position_embeddings=sequence,
        tie_word_embeddings=False,
    )


def random_blocks(count: int, sequence: int, vocab: int, seed: int = 0) -> list[dict]:
    """Random token blocks as rows (a list: the GPU machine has no `datasets`)."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(3, vocab, (count, sequence), generator=generator)
    return [{"input_ids": row} for row in ids.tolist()]


def run_runtime(shape: str, zero: str, args, workdir: Path) -> dict:
    """Steps of the pretrain runtime; tokens/s per device over the steps after the warm-up ones."""
    import torch
    from transformers import AutoModelForCausalLM

    from pipeline.config import PretrainConfig
    from pipeline.flops import Throughput, device_name, model_flops_per_token, peak_flops
    from pipeline.packing import BlockCollator
    from pipeline.training import runtime_trainer_class, setup_distributed, training_arguments

    setup_distributed()
    deepspeed = str(REPO / "configs" / "deepspeed" / ZERO[zero]) if ZERO[zero] else ""
    config = PretrainConfig(
        block_size=args.sequence,
        deepspeed=deepspeed,
        per_device_batch_size=args.batch,
        stage1_steps=0,
        stage2_steps=args.steps,
        warmup=0.0,
        save_steps=10**9,
        logging_steps=max(args.steps // 2, 1),
        bf16="auto",
        attention=args.attention,
        save_total_limit=0,
    )
    import dataclasses

    config = dataclasses.replace(
        config, gradient_checkpointing=args.checkpointing or shape == "7b"
    )  # 7B at 4k
    training = training_arguments(
        config, workdir / f"{shape}-{zero}", max_steps=args.warmup + args.steps, learning_rate=1e-4
    )
    model_config = llama_config(shape, args.sequence, args.vocab)
    dtype = torch.bfloat16 if training.bf16 and deepspeed else torch.float32
    torch.manual_seed(0)
    # Random init, under ZeRO-3 partitioned as it is built (the arguments above registered it).
    model = AutoModelForCausalLM.from_config(model_config, dtype=dtype, attn_implementation=args.attention)
    model.config.use_cache = False
    flops = model_flops_per_token(model_config, args.sequence)
    peak, peak_source = peak_flops(device_name(), args.peak_tflops)
    throughput = Throughput(flops, peak)
    timer = StepTimer(args.warmup)
    trainer = runtime_trainer_class()(
        model=model,
        args=training,
        train_dataset=random_blocks((args.warmup + args.steps) * args.batch * 2, args.sequence, args.vocab),
        data_collator=BlockCollator(1, False),
        callbacks=[timer.callback()],
        throughput=throughput,
    )
    trainer.train()
    tokens = args.steps * args.batch * args.sequence * training.gradient_accumulation_steps
    rate = tokens / timer.seconds
    memory = torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else None
    del trainer, model
    from transformers.integrations.deepspeed import unset_hf_deepspeed_config

    unset_hf_deepspeed_config()
    release()
    return {
        "tokens_per_s_per_device": round(rate, 1),
        "mfu": round(rate * flops / peak, 4) if peak else None,
        "peak": peak_source,
        "max_memory_gib": round(memory, 1) if memory is not None else None,
    }


class StepTimer:
    """Wall time of the optimizer steps after `skip` warm-up steps (synchronised on GPUs)."""

    def __init__(self, skip: int):
        self.skip, self.start, self.seconds = skip, None, 0.0

    def callback(self):
        from transformers import TrainerCallback

        timer = self

        class _Timer(TrainerCallback):
            def on_step_end(self, args, state, control, **kwargs):
                synchronize()
                if state.global_step == timer.skip:
                    timer.start = time.perf_counter()
                elif state.global_step > timer.skip:
                    timer.seconds = time.perf_counter() - timer.start

        return _Timer()


def run_anchor(shape: str, args) -> dict:
    """The plain PyTorch loop on the same shape, batch and data: AdamW, bf16 autocast on a GPU."""
    import torch
    from transformers import AutoModelForCausalLM

    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(0)
    model_config = llama_config(shape, args.sequence, args.vocab)
    model = AutoModelForCausalLM.from_config(model_config, attn_implementation=args.attention).to(device)
    model.config.use_cache = False
    if args.checkpointing or shape == "7b":
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=device == "cuda")
    data = [
        r["input_ids"]
        for r in random_blocks((args.warmup + args.steps) * args.batch, args.sequence, args.vocab)
    ]
    autocast = torch.autocast(device, dtype=torch.bfloat16, enabled=device == "cuda")
    start = None
    for step in range(args.warmup + args.steps):
        if step == args.warmup:
            synchronize()
            start = time.perf_counter()
        ids = torch.tensor(data[step * args.batch : (step + 1) * args.batch], device=device)
        with autocast:
            loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    synchronize()
    rate = args.steps * args.batch * args.sequence / (time.perf_counter() - start)
    del model, optimizer
    release()
    return {"tokens_per_s_per_device": round(rate, 1)}


def synchronize() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def release() -> None:
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shape", choices=sorted(SHAPES), help="one shape (default: the grid)")
    parser.add_argument("--zero", choices=sorted(ZERO), help="one ZeRO setting (default: the grid)")
    parser.add_argument("--sequence", type=int, default=4096)
    parser.add_argument("--batch", type=int, default=1, help="sequences per device per step")
    parser.add_argument("--steps", type=int, default=8, help="timed steps after the warm-up")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--vocab", type=int, default=VOCAB)
    parser.add_argument("--attention", default="sdpa", choices=["sdpa", "flash_attention_2", "eager"])
    parser.add_argument(
        "--checkpointing", action="store_true", help="gradient checkpointing (7B at 4k needs it)"
    )
    parser.add_argument("--peak-tflops", type=float, default=0.0, help="override the peak looked up by name")
    parser.add_argument("--no-anchor", action="store_true", help="skip the plain PyTorch loop")
    parser.add_argument("--smoke", action="store_true", help="tiny shape on CPU: checks the bench runs")
    parser.add_argument("--out", default=str(REPO / "bench" / "pretrain_results.jsonl"))
    args = parser.parse_args()
    import tempfile

    import torch

    if args.smoke:
        args.sequence, args.steps, args.warmup, args.vocab = 64, 2, 1, 512
        cells = [("smoke", args.zero or "2")]
    elif args.shape or args.zero:
        cells = [(args.shape or "1b", args.zero or "2")]
    else:
        cells = GRID
    if not torch.cuda.is_available() and not args.smoke:
        print("no CUDA GPU: the GPU figures need one (--smoke checks the bench on CPU)", file=sys.stderr)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
    results = []
    anchors: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for shape, zero in cells:
            row = {
                "shape": shape,
                "zero": zero,
                "sequence": args.sequence,
                "batch": args.batch,
                "device": device,
            }
            row["attention"], row["checkpointing"] = args.attention, args.checkpointing or shape == "7b"
            try:
                row.update(run_runtime(shape, zero, args, Path(tmp)))
            except torch.OutOfMemoryError:
                row["error"] = "out of memory"
                release()
            if not args.no_anchor and shape != "7b" and shape not in anchors:
                try:
                    anchors[shape] = run_anchor(shape, args)
                except torch.OutOfMemoryError:
                    anchors[shape] = {"error": "out of memory"}
                    release()
            anchor = anchors.get(shape, {}).get("tokens_per_s_per_device")
            row["anchor_tokens_per_s"] = anchor
            if anchor and row.get("tokens_per_s_per_device"):
                row["ratio_to_anchor"] = round(row["tokens_per_s_per_device"] / anchor, 3)
            results.append(row)
            print(json.dumps(row), flush=True)
    with open(args.out, "a") as f:
        for row in results:
            f.write(json.dumps(row) + "\n")
    print(f"\n{'shape':6} {'zero':10} {'tokens/s/dev':>13} {'MFU':>7} {'anchor':>10} {'ratio':>6} {'GiB':>6}")
    for r in results:
        mfu = f"{r['mfu']:.1%}" if r.get("mfu") is not None else "n/a"
        print(
            f"{r['shape']:6} {r['zero']:10} {r.get('tokens_per_s_per_device', r.get('error', '')):>13} "
            f"{mfu:>7} "
            f"{r.get('anchor_tokens_per_s') or '-':>10} {r.get('ratio_to_anchor', '-'):>6} "
            f"{r.get('max_memory_gib') or '-':>6}"
        )
    print(
        f"peak: {results[0].get('peak', '?')}; anchor: plain PyTorch AdamW loop, same shape, data and batch"
    )


if __name__ == "__main__":
    main()

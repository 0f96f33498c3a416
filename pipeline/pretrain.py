"""`ko-pretrain`: continued pretraining of the base model on Korean text through its new vocabulary.

The model is resized to the extended tokenizer with EEVE's initialisation (pipeline/embeddings.py).
The corpus is packed into blocks (pipeline/packing.py). Training runs through the Hugging Face
Trainer with DeepSpeed ZeRO (configs/deepspeed/*.json), in two stages: stage 1 trains only the
embeddings and lm_head, stage 2 trains everything. Each stage checkpoints under OUTPUT/stageN. A
killed run, re-run with the same command, resumes from the last checkpoint. Outside a launcher
(deepspeed, torchrun) it runs as a single process, on CPU with gloo when there is no GPU.
"""

from __future__ import annotations

import csv
import gc
import hashlib
import json
import logging
import math
import os
import shutil
import socket
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from pipeline.cli import StageError
from pipeline.config import PretrainConfig
from pipeline.deps import require_module
from tokenizer.hf_export import HF_FILES

log = logging.getLogger("ko.pretrain")
STAGES = ("stage1", "stage2")
# Measured tokens and seconds of training, kept out of OUTPUT: DVC hashes every byte of OUTPUT into
# dvc.lock, and a timing there would change that hash on every run and machine. Machine-local, like
# the packed-block cache beside it.
THROUGHPUT_DIR = Path(".cache/throughput")


@dataclass(frozen=True)
class PretrainReport:
    """The pretrain stage's metrics."""

    stage1_eval_loss: float | None
    stage2_eval_loss: float | None
    eval_loss: float  # after the last stage that ran
    bits_per_char: float  # tokenizer-independent: eval loss over the validation characters
    initial_eval_loss: float
    initial_bits_per_char: float
    # Bits per character on held-out text per language (ko; en when there are replay sources),
    # at "initial" (after the resize, before training) and after each stage that ran.
    bits_per_char_by_stage: dict
    replay: dict  # how English replay was mixed into training (blocks, share reached)
    english_validation_characters: int
    train_tokens_per_s: float
    embedding_rows: int
    validation_characters: int
    seconds: float


def is_main_process() -> bool:
    """Rank 0, or the only process: the one that writes shared outputs."""
    return int(os.environ.get("RANK", "0")) == 0


def setup_distributed() -> None:
    """Single-process defaults for torch.distributed (DeepSpeed needs them), CPU accelerator without CUDA."""
    import torch

    if not torch.cuda.is_available():
        os.environ.setdefault("DS_ACCELERATOR", "cpu")
    if "RANK" not in os.environ:  # not under torchrun/deepspeed: one process
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        os.environ.update(
            RANK="0", WORLD_SIZE="1", LOCAL_RANK="0", MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port)
        )


def use_bf16(setting: str) -> bool:
    """A `bf16` params value (auto, always, never) on this machine: auto is bf16 on GPUs that support it."""
    import torch

    cuda = torch.cuda.is_available()
    return setting == "always" or (setting == "auto" and cuda and torch.cuda.is_bf16_supported())


def training_arguments(config: PretrainConfig, output: Path, steps: int, learning_rate: float):
    """TrainingArguments for one stage; precision and device follow the hardware."""
    import torch
    from transformers import TrainingArguments

    cuda = torch.cuda.is_available()
    return TrainingArguments(
        output_dir=str(output),
        max_steps=steps,
        per_device_train_batch_size=config.per_device_batch_size,
        per_device_eval_batch_size=config.per_device_batch_size,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        gradient_checkpointing=config.gradient_checkpointing,
        learning_rate=learning_rate,
        weight_decay=config.weight_decay,
        lr_scheduler_type="cosine",
        warmup_steps=config.warmup,  # a float in [0, 1) is a share of max_steps in transformers 5
        bf16=use_bf16(config.bf16),
        use_cpu=not cuda,
        ddp_backend=None if cuda else "gloo",  # DeepSpeed's CPU accelerator would ask for oneCCL
        deepspeed=config.deepspeed or None,
        save_strategy="steps",
        save_steps=config.save_steps,
        logging_steps=config.logging_steps,
        eval_strategy="no",
        report_to=[],
        seed=config.seed,
        data_seed=config.seed,
        dataloader_num_workers=0,
        disable_tqdm=False,
    )


def evaluate_loss(model, dataset, batch_size: int) -> float:
    """Mean next-token loss (nats) over every predicted token of `dataset`, without DeepSpeed.

    Token-weighted, on the saved weights, so it means the same under ZeRO-2, ZeRO-3 or none.
    """
    import torch

    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(dataset), batch_size):
            ids = torch.tensor(dataset[start : start + batch_size]["input_ids"], device=model.device)
            logits = model(input_ids=ids).logits[:, :-1].float()
            loss = torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1), reduction="sum"
            )
            total += loss.item()
            count += ids[:, 1:].numel()
    model.train()
    return total / count


def bits_per_char(eval_loss: float, pack, block_size: int) -> float:
    """Eval loss (nats per predicted token) as bits per character of the validation text it covered."""
    blocks = pack.validation_tokens // block_size
    predicted = blocks * (block_size - 1)
    covered = pack.validation_tokens / max(pack.validation_tokens + pack.validation_dropped_tokens, 1)
    chars = pack.validation_characters * covered
    return eval_loss * predicted / max(chars, 1) / math.log(2)


def continue_pretraining(
    config: PretrainConfig,
    model_dir: Path,
    tokenizer_dir: Path,
    inputs: list[str],
    output: Path,
    cache_dir: Path = Path(".cache/packed"),
    replay_inputs: list[str] | None = None,
    throughput_dir: Path = THROUGHPUT_DIR,
) -> PretrainReport:
    """Run both stages (resuming where a previous run stopped) and save the model to OUTPUT/model.

    `replay_inputs` (the corpus stage's data/replay) are packed apart: their train blocks are
    mixed in at `replay_fraction`, their held-out blocks give English bits per character.
    OUTPUT holds no timing, so the same inputs give the same bytes on any machine; each stage's
    tokens and seconds go to `throughput_dir` (see throughput_file).
    """
    require_module("torch", extra="model")
    require_module("transformers", extra="model")
    if config.deepspeed:
        require_module("deepspeed", extra="deepspeed")
        if not Path(config.deepspeed).is_file():
            raise StageError(f"pretrain.deepspeed = {config.deepspeed!r}: no such DeepSpeed config file")
    setup_distributed()
    import torch
    from transformers import AutoModelForCausalLM, Trainer, default_data_collator
    from transformers.integrations.deepspeed import unset_hf_deepspeed_config

    from pipeline.embeddings import init_new_embeddings
    from pipeline.packing import mix_replay, pack_corpus

    start = time.perf_counter()
    pack_settings = dict(
        block_size=config.block_size, validation_fraction=config.validation_fraction, num_proc=config.num_proc
    )
    splits, pack = pack_corpus(inputs, tokenizer_dir, cache_dir, **pack_settings)
    if len(splits["train"]) == 0 or len(splits["validation"]) == 0:
        raise StageError(
            f"the corpus packs into {len(splits['train'])} train and {len(splits['validation'])} "
            f"validation blocks of {config.block_size} tokens: too little text"
        )
    en_splits, en_pack = None, None
    if replay_inputs:
        en_splits, en_pack = pack_corpus(replay_inputs, tokenizer_dir, cache_dir, **pack_settings)
        if len(en_splits["validation"]) == 0:
            raise StageError(
                f"the replay text packs into no validation block of {config.block_size} tokens: "
                "too little held-out English to measure forgetting on (raise pretrain.validation_fraction "
                "or add replay text)"
            )
    mixed, mix = mix_replay(
        splits["train"], en_splits["train"] if en_splits else None, config.replay_fraction, config.seed
    )
    train = mixed.map(lambda b: {"labels": b["input_ids"]}, batched=True)
    validation = splits["validation"].map(lambda b: {"labels": b["input_ids"]}, batched=True)
    en_validation = (
        en_splits["validation"].map(lambda b: {"labels": b["input_ids"]}, batched=True) if en_splits else None
    )

    output.mkdir(parents=True, exist_ok=True)
    data_key = pack.cache_key + (f"+{en_pack.cache_key}" if en_pack else "")
    fingerprint = run_fingerprint(config, model_dir, data_key)
    start_over_if_changed(output, fingerprint)
    throughput_path = throughput_file(output, throughput_dir)
    measured = read_throughput(throughput_path, fingerprint)
    torch.manual_seed(config.seed)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    resize = init_new_embeddings(
        model,
        model_dir / "tokenizer.model",
        tokenizer_dir / "tokenizer.model",
        output_init=config.output_init,
        pad_to_multiple_of=config.pad_to_multiple_of,
    )
    log.info("resized to %d rows (%d new tokens initialised)", resize.rows, resize.initialised)

    history: list[dict] = []
    results: dict[str, float | None] = {"initial": None, "stage1": None, "stage2": None}
    en_results: dict[str, float | None] = {"initial": None, "stage1": None, "stage2": None}

    def english_loss(model) -> float | None:
        return evaluate_loss(model, en_validation, config.per_device_batch_size) if en_validation else None

    stage_plan = [
        ("stage1", config.stage1_steps, config.stage1_learning_rate),
        ("stage2", config.stage2_steps, config.learning_rate),
    ]
    trained_tokens, train_seconds = 0, 0.0
    for stage, steps, lr in stage_plan:
        stage_dir = output / stage
        done = stage_dir / "done.json"
        if steps == 0:
            continue
        if done.is_file():  # finished earlier: take its weights and numbers, do not train again
            state = json.loads(done.read_text())
            if "seconds" in state:  # written before timings left OUTPUT (persist keeps it): move them
                timing = {"tokens": state.pop("tokens", 0), "seconds": state.pop("seconds")}
                measured.setdefault(stage, timing)
                if is_main_process():
                    done.write_text(json.dumps(state))
                    write_throughput(throughput_path, fingerprint, measured)
            model = AutoModelForCausalLM.from_pretrained(stage_dir / "final", dtype=torch.float32)
            results[stage], results["initial"] = (
                state["eval_loss"],
                state.get("initial") or results["initial"],
            )
            en_results[stage] = state.get("english_eval_loss")
            en_results["initial"] = state.get("english_initial") or en_results["initial"]
            history += state["history"]
            # Its own run's throughput, so a resumed run still reports what training measured
            # (nothing when this machine has no record of it, e.g. OUTPUT came from `dvc pull`).
            trained_tokens += measured.get(stage, {}).get("tokens", 0)
            train_seconds += measured.get(stage, {}).get("seconds", 0.0)
            continue
        trainable = ("embed_tokens", "lm_head") if stage == "stage1" else None
        for name, param in model.named_parameters():
            param.requires_grad = trainable is None or any(t in name for t in trainable)
        args = training_arguments(config, stage_dir, steps, lr)
        trainer = Trainer(
            model=model,
            args=args,
            train_dataset=train,
            eval_dataset=validation,
            data_collator=default_data_collator,
        )
        if results["initial"] is None:
            results["initial"] = evaluate_loss(model, validation, config.per_device_batch_size)
            en_results["initial"] = english_loss(model)
        last = last_complete_checkpoint(stage_dir)
        resumed_at = int(last.rsplit("-", 1)[1]) if last else 0
        t = time.perf_counter()
        trainer.train(resume_from_checkpoint=last)
        stage_seconds = time.perf_counter() - t
        world = int(os.environ.get("WORLD_SIZE", "1"))
        per_step = (
            config.per_device_batch_size * config.gradient_accumulation_steps * world * config.block_size
        )
        stage_tokens = (steps - resumed_at) * per_step
        trained_tokens += stage_tokens
        train_seconds += stage_seconds
        stage_history = [
            {"stage": stage, "step": h["step"], "loss": h["loss"]}
            for h in trainer.state.log_history
            if "loss" in h
        ]
        history += stage_history
        trainer.save_model(str(stage_dir / "final"))
        is_main = trainer.is_world_process_zero()
        # ZeRO-3 leaves the trained model partitioned, and after a ZeRO-3 TrainingArguments HF loads
        # every model partitioned too (a global): clear it, then reload the saved weights plainly.
        del trainer, args, model
        gc.collect()
        unset_hf_deepspeed_config()
        model = AutoModelForCausalLM.from_pretrained(stage_dir / "final", dtype=torch.float32)
        results[stage] = evaluate_loss(model, validation, config.per_device_batch_size)
        en_results[stage] = english_loss(model)
        if is_main:
            done.write_text(
                json.dumps(
                    {
                        "eval_loss": results[stage],
                        "initial": results["initial"],
                        "english_eval_loss": en_results[stage],
                        "english_initial": en_results["initial"],
                        "history": stage_history,
                    }
                )
            )
            measured[stage] = {"tokens": stage_tokens, "seconds": stage_seconds}
            write_throughput(throughput_path, fingerprint, measured)

    final_loss = results["stage2"] if results["stage2"] is not None else results["stage1"]
    by_stage = {"ko": stage_bits(results, pack, config.block_size)}
    if en_pack is not None:
        by_stage["en"] = stage_bits(en_results, en_pack, config.block_size)
    if is_main_process():  # one process assembles the outputs
        final_dir = output / "model"
        last_stage = "stage2" if config.stage2_steps else "stage1"
        if final_dir.exists():
            shutil.rmtree(final_dir)
        shutil.copytree(output / last_stage / "final", final_dir)
        for name in HF_FILES:
            if (tokenizer_dir / name).is_file():
                shutil.copyfile(tokenizer_dir / name, final_dir / name)
        write_history(output / "loss.csv", history)
    return PretrainReport(
        stage1_eval_loss=results["stage1"],
        stage2_eval_loss=results["stage2"],
        eval_loss=final_loss,
        bits_per_char=round(bits_per_char(final_loss, pack, config.block_size), 4),
        initial_eval_loss=results["initial"],
        initial_bits_per_char=round(bits_per_char(results["initial"], pack, config.block_size), 4),
        bits_per_char_by_stage=by_stage,
        replay=asdict(mix),
        english_validation_characters=en_pack.validation_characters if en_pack else 0,
        train_tokens_per_s=round(trained_tokens / train_seconds, 1) if train_seconds else 0.0,
        embedding_rows=resize.rows,
        validation_characters=pack.validation_characters,
        seconds=round(time.perf_counter() - start, 1),
    )


def stage_bits(losses: dict[str, float | None], pack, block_size: int) -> dict[str, float]:
    """Bits per character at each point that was measured (initial, stage1, stage2)."""
    return {k: round(bits_per_char(v, pack, block_size), 4) for k, v in losses.items() if v is not None}


def last_complete_checkpoint(stage_dir: Path) -> str | None:
    """The newest checkpoint that finished writing (the Trainer writes trainer_state.json last).

    A run killed while saving leaves a partial checkpoint-N; resuming from it would fail, so it
    is skipped in favour of the one before.
    """
    if not stage_dir.is_dir():
        return None
    checkpoints = sorted(
        (p for p in stage_dir.glob("checkpoint-*") if p.name.split("-")[-1].isdigit()),
        key=lambda p: int(p.name.split("-")[-1]),
        reverse=True,
    )
    for path in checkpoints:
        if (path / "trainer_state.json").is_file():
            return str(path)
        log.warning("skipping incomplete checkpoint %s", path)
    return None


def run_fingerprint(config, model_dir: Path, data_key: str) -> str:
    """What a resumable run depends on: its params section, its data (a key), the model it starts from."""
    digest = hashlib.sha256(json.dumps(asdict(config), sort_keys=True).encode())
    digest.update(data_key.encode())
    digest.update((model_dir / "config.json").read_bytes())
    for path in sorted(model_dir.glob("*.safetensors")):
        digest.update(f"{path.name}:{path.stat().st_size}".encode())
    return digest.hexdigest()[:24]


def start_over_if_changed(output: Path, fingerprint: str, checkpoint_dirs: tuple[str, ...] = STAGES) -> None:
    """Resume only a run of the same fingerprint; otherwise drop the checkpoint dirs (DVC keeps OUTPUT)."""
    marker = output / "run_fingerprint.txt"
    if marker.is_file() and marker.read_text().strip() != fingerprint:
        log.warning("params, data or base model changed since the checkpoints in %s: starting over", output)
        for name in checkpoint_dirs:
            shutil.rmtree(output / name, ignore_errors=True)
    if is_main_process():
        marker.write_text(fingerprint + "\n")


def throughput_file(output: Path, throughput_dir: Path = THROUGHPUT_DIR) -> Path:
    """The record of the tokens and seconds that training into OUTPUT measured (kept out of OUTPUT).

    Named by OUTPUT's absolute path: runs into different folders keep apart.
    """
    key = hashlib.sha256(str(output.resolve()).encode()).hexdigest()[:16]
    return throughput_dir / f"{key}.json"


def read_throughput(path: Path, fingerprint: str) -> dict:
    """What write_throughput recorded for a run of this fingerprint, or {} (none, or another run's)."""
    if not path.is_file():
        return {}
    record = json.loads(path.read_text())
    return record["measured"] if record.get("fingerprint") == fingerprint else {}


def write_throughput(path: Path, fingerprint: str, measured: dict) -> None:
    """Record measured tokens and seconds for the run of `fingerprint` (see throughput_file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"fingerprint": fingerprint, "measured": measured}))


def write_history(path: Path, history: list[dict]) -> Path:
    """Loss per logged step as CSV, numbered across stages (what dvc plots reads)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["step", "stage", "loss"])
        writer.writeheader()
        offset = 0
        for stage in STAGES:
            rows = [h for h in history if h["stage"] == stage]
            for row in rows:
                writer.writerow({"step": offset + row["step"], "stage": stage, "loss": round(row["loss"], 5)})
            offset += max((r["step"] for r in rows), default=0)
    return path


def main(argv: list[str] | None = None) -> int:
    """Console entry point of `ko-pretrain`."""
    from pipeline.cli import run_stage, stage_parser, write_metrics, write_resolved

    parser = stage_parser(
        "pretrain",
        __doc__,
        PretrainConfig,
        output_default="models/pretrain",
        inputs=True,
        model="base model directory from the base stage (default: models/base)",
    )
    parser.add_argument(
        "--tokenizer",
        metavar="DIR",
        default="models/tokenizer",
        help="extended tokenizer directory from the vocab stage (default: models/tokenizer)",
    )
    parser.add_argument(
        "--replay",
        nargs="+",
        metavar="PATH",
        default=[],
        help="English replay text from the corpus stage (data/replay): mixed in at pretrain.replay_fraction, "
        "and held out for English bits per character",
    )
    parser.add_argument("--plots", metavar="FILE", help="loss curve CSV to write (default: OUTPUT/loss.csv)")

    def body(args, params):
        output = Path(args.output)
        report = continue_pretraining(
            params.pretrain,
            Path(args.model or "models/base"),
            Path(args.tokenizer),
            list(args.input),
            output,
            replay_inputs=list(args.replay),
        )
        if not is_main_process():
            return
        if args.plots:
            shutil.copyfile(output / "loss.csv", args.plots)
        write_resolved(
            output,
            "pretrain",
            params,
            "pretrain",
            {
                "input": list(args.input),
                "model": args.model or "models/base",
                "tokenizer": args.tokenizer,
                "replay": list(args.replay),
                "output": str(output),
            },
        )
        write_metrics(Path(args.metrics or output / "metrics.json"), asdict(report))
        english = report.bits_per_char_by_stage.get("en")
        print(
            f"eval loss {report.initial_eval_loss:.3f} -> {report.eval_loss:.3f}; bits/char "
            f"{report.initial_bits_per_char} -> {report.bits_per_char}"
            + (f"; English bits/char {english}" if english else "")
        )

    return run_stage(parser, argv, body)


if __name__ == "__main__":
    raise SystemExit(main())

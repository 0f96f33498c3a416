"""The training runtime that `ko-pretrain` and `ko-sft` share.

Distributed setup, TrainingArguments, model loading (the DeepSpeed config is in place first, so
ZeRO-3 loads partitioned), token-weighted evaluation through `Trainer.evaluate` on the training
devices, checkpoints kept out of the DVC outputs with a resume fingerprint, and throughput:
tokens/s per device and model FLOPs utilisation at every logging step (pipeline/flops.py).

Machine-local state lives under $KO_CACHE_DIR (default `.cache`): packed blocks, checkpoints and
measured timings. None of it is a DVC output, so DVC never hashes or copies a 100 GB ZeRO-3
checkpoint, and no timing changes an output's hash. Point KO_CACHE_DIR at fast shared storage
on a cluster (every rank must see the same checkpoints).
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import logging
import os
import shutil
import socket
from dataclasses import asdict
from pathlib import Path

from pipeline.cli import StageError

log = logging.getLogger("ko.training")
# Params that change how a run is watched or kept, not what it computes: changing them resumes.
NOT_IN_FINGERPRINT = frozenset(
    {
        "report_to",
        "peak_tflops",
        "logging_steps",
        "save_steps",
        "save_total_limit",
        "num_proc",
        "sample_count",
    }
)


def cache_root() -> Path:
    """Where machine-local state goes: $KO_CACHE_DIR, default .cache (relative to the working directory)."""
    return Path(os.environ.get("KO_CACHE_DIR") or ".cache")


def is_main_process() -> bool:
    """Rank 0, or the only process: the one that writes shared outputs."""
    return int(os.environ.get("RANK", "0")) == 0


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))


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


def check_paths(section: str, **paths: Path | str | None) -> None:
    """One-line errors for missing inputs, before any model or GPU memory is touched."""
    for flag, path in paths.items():
        if path is None or path == "":
            continue
        name = flag.replace("_", "-")
        if not Path(path).exists():
            where = f"{section}.deepspeed" if flag == "deepspeed" else f"--{name}"
            raise StageError(f"{where} {path}: no such file or directory")


def check_model_dir(path: Path, flag: str = "--model") -> None:
    if not (path / "config.json").is_file():
        raise StageError(f"{flag} {path}: not a Hugging Face model directory (no config.json)")


def check_attention(attention: str, section: str) -> None:
    """flash_attention_2 needs the flash-attn package (no PyPI wheel) and a CUDA GPU."""
    if attention != "flash_attention_2":
        return
    import importlib.util

    import torch

    if not torch.cuda.is_available():
        raise StageError(f"{section}.attention = flash_attention_2 needs a CUDA GPU; use sdpa on CPU")
    if importlib.util.find_spec("flash_attn") is None:
        raise StageError(
            f"{section}.attention = flash_attention_2 needs the flash-attn package "
            "(pip install flash-attn --no-build-isolation), or use sdpa (its flash backend on GPUs)"
        )


def check_reporter(config) -> None:
    """report_to's package, checked before any work (pip install -e '.[monitor]')."""
    from pipeline.deps import require_module

    if config.report_to in ("tensorboard", "dvclive"):
        require_module(config.report_to, extra="monitor")


def training_arguments(
    config,
    output_dir: Path,
    *,
    max_steps: int,
    learning_rate: float,
    epochs: float = 1.0,
    eval_on_start: bool = False,
    eval_steps: int = 0,
    **extra,
):
    """TrainingArguments from a pretrain or sft params section; precision and device follow the hardware.

    Creating it with a DeepSpeed config registers that config with transformers, so a model
    loaded afterwards under ZeRO-3 is partitioned as it loads (load_model).
    """
    import torch
    from transformers import TrainingArguments

    cuda = torch.cuda.is_available()
    report_to = [] if config.report_to == "none" else [config.report_to]
    check_reporter(config)
    return TrainingArguments(
        output_dir=str(output_dir),
        num_train_epochs=epochs,
        max_steps=max_steps,
        per_device_train_batch_size=config.per_device_batch_size,
        per_device_eval_batch_size=config.per_device_batch_size,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        gradient_checkpointing=config.gradient_checkpointing,
        gradient_checkpointing_kwargs={"use_reentrant": False} if config.gradient_checkpointing else None,
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
        save_total_limit=config.save_total_limit or None,
        logging_steps=config.logging_steps,
        eval_strategy="steps" if eval_steps else "no",
        eval_steps=eval_steps or None,
        eval_on_start=eval_on_start,
        report_to=report_to,
        seed=config.seed,
        data_seed=config.seed,
        dataloader_num_workers=0,
        disable_tqdm=False,
        **extra,
    )


def model_dtype(config):
    """bf16 weights where training is bf16 and something keeps fp32 master weights (DeepSpeed, or
    PEFT's fp32 adapters); fp32 otherwise, with bf16 autocast where enabled."""
    import torch

    if use_bf16(config.bf16) and (config.deepspeed or config.SECTION == "sft"):
        return torch.bfloat16
    return torch.float32


def load_model(path: Path, config, **kwargs):
    """from_pretrained with the section's attention kernel and dtype.

    Call after training_arguments(): under ZeRO-3 the weights then load partitioned (zero.Init),
    never whole on every rank.
    """
    from transformers import AutoModelForCausalLM

    kwargs.setdefault("dtype", model_dtype(config))
    return AutoModelForCausalLM.from_pretrained(path, attn_implementation=config.attention, **kwargs)


def embedding_rows(model) -> int:
    """Rows of the input embedding, also when ZeRO-3 has partitioned it (its shape is then empty)."""
    from pipeline.embeddings import full_rows

    return full_rows(model.get_input_embeddings().weight)


# ---- evaluation ----


def token_loss_metrics(prediction) -> dict:
    """compute_metrics for RuntimeTrainer: per-example loss sums and label counts -> one mean."""
    import numpy as np

    total = float(np.asarray(prediction.predictions, dtype=np.float64).sum())
    count = float(np.asarray(prediction.label_ids, dtype=np.float64).sum())
    return {"token_loss": total / max(count, 1.0), "tokens": count}


def runtime_trainer_class():
    """The Trainer subclass both stages train with (built lazily: transformers imports torch)."""
    import torch
    from transformers import Trainer

    from pipeline.flops import Throughput

    class RuntimeTrainer(Trainer):
        """Trainer with token-weighted evaluation and throughput in its logs.

        Trainer.evaluate averages per-batch mean losses; with answer-only labels (sft) batches
        hold different numbers of labelled tokens, so the mean is taken here over tokens: each
        example's summed loss and label count travel as its "prediction" and "label", are gathered across
        ranks (duplicates of an uneven split dropped) and divided once (token_loss_metrics).
        """

        def __init__(self, *args, throughput: Throughput | None = None, **kwargs):
            kwargs.setdefault("compute_metrics", token_loss_metrics)
            super().__init__(*args, **kwargs)
            self.throughput = throughput

        def prediction_step(self, model, inputs, prediction_loss_only, ignore_keys=None):
            inputs = self._prepare_inputs(inputs)
            labels = inputs.pop("labels")
            with torch.no_grad():
                logits = model(**inputs).logits
            shifted, target = logits[:, :-1].float(), labels[:, 1:]
            losses = torch.nn.functional.cross_entropy(
                shifted.transpose(1, 2), target, ignore_index=-100, reduction="none"
            )
            sums = losses.double().sum(dim=1)
            counts = (target != -100).sum(dim=1).double()
            # (loss, "logits", "labels"): the Trainer gathers both and only then calls compute_metrics.
            return (sums.sum() / counts.sum().clamp(min=1)).float().detach(), sums, counts

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            if self.throughput is not None and model.training:
                mask = inputs.get("attention_mask")
                self.throughput.add_tokens(
                    int(mask.sum()) if mask is not None else inputs["input_ids"].numel()
                )
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)

        def log(self, logs, *args, **kwargs):
            if self.throughput is not None and "loss" in logs:
                logs.update(self.throughput.interval(self.state.global_step))
            super().log(logs, *args, **kwargs)

    return RuntimeTrainer


def eval_recorder(names, initial_file: Path | None = None, throughput=None):
    """A TrainerCallback that keeps the metrics of every evaluation. The one at step 0 (eval_on_start)
    is the initial loss: written to `initial_file` at once (rank 0), before any checkpoint, so a
    run killed later and resumed never measures "initial" on a checkpoint. The throughput clock
    restarts after it, so the start-up evaluation is not counted as training time."""
    from transformers import TrainerCallback

    class Recorder(TrainerCallback):
        def __init__(self):
            self.metrics: dict[str, float] = {}

        def on_train_begin(self, args, state, control, **kwargs):
            if throughput is not None:
                throughput.restart()

        def on_evaluate(self, args, state, control, metrics=None, **kwargs):
            self.metrics.update(metrics or {})
            if state.global_step == 0 and throughput is not None:
                throughput.restart()
            if state.global_step == 0 and initial_file is not None and state.is_world_process_zero:
                losses = eval_losses(self.metrics, names)
                if len(losses) == len(names):  # every named set evaluated (one evaluate call each)
                    initial_file.parent.mkdir(parents=True, exist_ok=True)
                    initial_file.write_text(json.dumps(losses))

    return Recorder()


def barrier() -> None:
    """Wait for every rank (rank 0 writes a stage's record and weights; the others then read them)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def eval_losses(metrics: dict, names) -> dict[str, float]:
    """{name: token-weighted loss} from Trainer.evaluate metrics over an eval_dataset dict."""
    return {
        name: metrics[f"eval_{name}_token_loss"] for name in names if f"eval_{name}_token_loss" in metrics
    }


# ---- checkpoints and resume ----


def checkpoint_root(output: Path) -> Path:
    """Checkpoints of the run that writes OUTPUT: under $KO_CACHE_DIR/checkpoints, keyed by OUTPUT's path."""
    key = hashlib.sha256(str(output.resolve()).encode()).hexdigest()[:12]
    return cache_root() / "checkpoints" / f"{output.name}-{key}"


def run_fingerprint(config, model_dir: Path, data_key: str) -> str:
    """What a resumable run depends on: its params section, the DeepSpeed config's contents, its
    data (a key) and the model it starts from. The world size is checked apart (open_run)."""
    settings = {k: v for k, v in asdict(config).items() if k not in NOT_IN_FINGERPRINT}
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    digest.update(data_key.encode())
    if config.deepspeed:
        digest.update(Path(config.deepspeed).read_bytes())
    digest.update((model_dir / "config.json").read_bytes())
    for path in sorted(model_dir.glob("*.safetensors")):
        digest.update(f"{path.name}:{path.stat().st_size}".encode())
    return digest.hexdigest()[:24]


@contextlib.contextmanager
def file_lock(path: Path):
    """An exclusive lock across the processes of a node (fcntl; released if the holder dies)."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def open_run(output: Path, fingerprint: str) -> Path:
    """The checkpoint folder of this run: emptied when the fingerprint changed (params, data, base
    model or DeepSpeed config), refused when it holds checkpoints of another world size.

    Ranks take turns (a lock), so only the first removes a stale run and the others see the new record.
    """
    root = checkpoint_root(output)
    record = root / "run.json"
    with file_lock(root.parent / f".{root.name}.lock"):
        if record.is_file():
            old = json.loads(record.read_text())
            if old.get("fingerprint") != fingerprint:
                log.warning(
                    "params, data or base model changed since the checkpoints in %s: starting over", root
                )
                shutil.rmtree(root)
            elif old.get("world_size") != world_size() and unfinished_checkpoints(root):
                raise StageError(
                    f"the checkpoints in {root} were written by {old.get('world_size')} processes and "
                    f"this run has {world_size()}: relaunch with {old.get('world_size')}, or delete {root} "
                    "to start over (or convert them with DeepSpeed's ds_to_universal.py and set "
                    "checkpoint.load_universal in the DeepSpeed config: not automated here)"
                )
        root.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps({"fingerprint": fingerprint, "world_size": world_size()}))
    return root


def unfinished_checkpoints(root: Path) -> list[Path]:
    """checkpoint-N folders of stages that have not finished (done.json absent)."""
    return [p for p in root.glob("*/checkpoint-*") if not (p.parent / "done.json").is_file()]


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


# ---- measured throughput, kept out of OUTPUT ----


def throughput_file(output: Path, throughput_dir: Path | None = None) -> Path:
    """The record of the tokens and seconds that training into OUTPUT measured (kept out of OUTPUT:
    DVC hashes every byte of OUTPUT, and a timing would change that hash on every run).

    Named by OUTPUT's absolute path: runs into different folders keep apart.
    """
    key = hashlib.sha256(str(output.resolve()).encode()).hexdigest()[:16]
    return (throughput_dir or cache_root() / "throughput") / f"{key}.json"


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


class LiveLossLog:
    """A TrainerCallback appending each logged loss (and throughput) to a CSV as training goes, so the
    curve can be watched (`tail -f`, `dvc plots show`) before the stage ends; the stage rewrites
    the file whole at its end. `offset` numbers the steps of a later stage after an earlier one's."""

    FIELDS = ("step", "stage", "loss", "tokens_per_s_per_device", "mfu")

    def __new__(cls, path: Path, stage: str, offset: int = 0):
        from transformers import TrainerCallback

        class _Live(TrainerCallback):
            def on_log(self, args, state, control, logs=None, **kwargs):
                if not state.is_world_process_zero or not logs or "loss" not in logs:
                    return
                new = not path.is_file()
                path.parent.mkdir(parents=True, exist_ok=True)
                with open(path, "a", newline="") as f:
                    writer = csv.DictWriter(f, fieldnames=cls.FIELDS, extrasaction="ignore")
                    if new:
                        writer.writeheader()
                    writer.writerow(
                        {
                            "step": offset + state.global_step,
                            "stage": stage,
                            "loss": round(logs["loss"], 5),
                            "tokens_per_s_per_device": logs.get("tokens_per_s_per_device", ""),
                            "mfu": logs.get("mfu", ""),
                        }
                    )

        return _Live()

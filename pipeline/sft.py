"""`ko-sft`: LoRA instruction tuning of the pretrained model on KoAlpaca / KULLM-format data.

Rows are read and checked (pipeline/instructions.py), rendered through the chosen prompt template
(pipeline/templates.py, saved as the tokenizer's chat_template) and labelled so that only answers
are trained on unless sft.train_on_inputs (pipeline/sft_data.py). PEFT LoRA wraps the linear
layers; the embedding and lm_head rows added by the vocab stage are trained with it and saved in
the adapter (sft.embeddings). Training runs through the Hugging Face Trainer with the same
DeepSpeed configs, launchers and runtime as pretraining (pipeline/training.py): the held-out
answer loss is measured by the Trainer on the training devices, token-weighted, and checkpoints
go to $KO_CACHE_DIR/checkpoints (default .cache), from which a killed run resumes.

Outputs: OUTPUT/adapter (the adapter and tokenizer), OUTPUT/merged (base + adapter merged, as
safetensors, with the tokenizer), OUTPUT/samples.jsonl (answers to held-out instructions with the
decoding settings), OUTPUT/skipped.jsonl (every unused row, file:line and rule), OUTPUT/loss.csv.
OUTPUT holds no timing (DVC hashes it): the measured tokens and seconds are kept under
.cache/throughput, for tokens/s in the metrics.
"""

from __future__ import annotations

import csv
import gc
import hashlib
import json
import logging
import math
import random
import shutil
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from pipeline.cli import StageError
from pipeline.config import SFTConfig
from pipeline.deps import require_module
from pipeline.instructions import Conversation, Skipped, dedup_key, load_conversations
from pipeline.training import (
    is_main_process,
    open_run,
    read_throughput,
    run_fingerprint,
    throughput_file,
    world_size,
    write_throughput,
)
from tokenizer.hf_export import HF_FILES

log = logging.getLogger("ko.sft")
ADAPTER_CONFIG = "adapter_config.json"


@dataclass(frozen=True)
class SFTReport:
    """The sft stage's metrics."""

    template: str
    rows_read: int
    rows_used: int
    rows_skipped: dict[str, int]
    sources: list[dict]
    train_examples: int
    validation_examples: int
    train_rows: int  # after packing
    train_tokens: int
    answer_token_share: float  # labelled tokens over all training tokens
    trainable_parameters: int
    total_parameters: int
    new_token_rows: int
    initial_eval_loss: float
    # Base + adapter on answer tokens of the held-out rows, token-weighted, evaluated by the
    # Trainer on the training devices (the base as trained: 4-bit under QLoRA, whose merged model
    # has the unquantized base). merge_max_abs_logit_diff compares the merge with fp32 base + adapter.
    eval_loss: float
    merge_max_abs_logit_diff: float  # merged model vs base + adapter, on a held-out batch
    steps: int
    train_tokens_per_s: float  # all devices together
    train_tokens_per_s_per_device: float  # as trained by this run (0 when it trained nothing now)
    mfu: float | None  # None where no peak FLOP/s is known (CPU)
    peak: str
    samples: int
    seconds: float


def finetune_lora(
    config: SFTConfig,
    model_dir: Path,
    inputs: list[str],
    output: Path,
    *,
    base_tokenizer: Path | None = None,
    prompts: Path | None = None,
    throughput_dir: Path | None = None,
) -> SFTReport | None:
    """Tune a LoRA adapter on `inputs`, merge it, answer held-out instructions; resumable.

    Under a multi-process launcher every process trains; only the main one merges, samples and
    returns the report (the others return None). Tokens and seconds trained are recorded under
    `throughput_dir` (default .cache/throughput), not in OUTPUT.
    """
    for module in ("torch", "transformers", "peft"):
        require_module(module, extra="model")
    if config.deepspeed:
        require_module("deepspeed", extra="deepspeed")
    from pipeline.training import (
        check_attention,
        check_model_dir,
        check_paths,
        check_reporter,
        setup_distributed,
    )

    # Every path before any model or GPU memory is touched (the inputs: load_conversations).
    check_paths(
        "sft", model=model_dir, base_tokenizer=base_tokenizer, prompts=prompts, deepspeed=config.deepspeed
    )
    check_model_dir(model_dir)
    check_attention(config.attention, "sft")
    check_reporter(config)
    setup_distributed()
    import torch
    from transformers import AutoTokenizer

    from pipeline.sft_data import pack_examples, unpacked_rows
    from pipeline.templates import apply_template

    if config.load_in_4bit:
        if not torch.cuda.is_available():
            raise StageError("sft.load_in_4bit needs a CUDA GPU (bitsandbytes 4-bit); set it false on CPU")
        require_module("bitsandbytes", extra="qlora")
    start = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    try:
        apply_template(tokenizer, config.template)
    except ValueError as exc:
        raise StageError(str(exc)) from exc

    conversations, sources, skipped = load_conversations(
        inputs, config.weights, dedup=config.dedup, seed=config.seed
    )
    train_rows_text, validation = split_validation(conversations, config.validation_fraction, config.seed)
    train_examples = encode_all(tokenizer, train_rows_text, config, skipped)
    validation_examples = encode_all(tokenizer, validation, config, skipped)
    if not train_examples or not validation_examples:
        raise StageError(
            f"{len(train_examples)} training and {len(validation_examples)} held-out examples remain "
            "after the row rules (see skipped.jsonl): too little data"
        )
    random.Random(config.seed).shuffle(train_examples)
    if config.packing:
        rows = pack_examples(train_examples, config.max_length)
    else:
        rows = unpacked_rows(train_examples)
    train_tokens = sum(len(e.input_ids) for e in train_examples)
    answer_tokens = sum(e.trained_tokens for e in train_examples)

    output.mkdir(parents=True, exist_ok=True)
    if is_main_process():
        write_jsonl(output / "skipped.jsonl", [asdict(s) for s in skipped])
    fingerprint = run_fingerprint(config, model_dir, rows_key(rows))
    train_dir = open_run(output, fingerprint) / "train"
    if is_main_process():  # checkpoints lived in OUTPUT/train before they moved to $KO_CACHE_DIR
        shutil.rmtree(output / "train", ignore_errors=True)
        (output / "loss.csv").unlink(missing_ok=True)  # grows again from this run's log lines

    pad_id = next(i for i in (tokenizer.pad_token_id, tokenizer.unk_token_id, 0) if i is not None)
    trained = train_adapter(
        config, model_dir, tokenizer, base_tokenizer, rows, validation_examples, output, train_dir, pad_id
    )
    if not is_main_process():  # one process merges, samples and reports
        return None
    steps, steps_run, train_seconds, history = (
        trained.steps,
        trained.steps_run,
        trained.seconds,
        trained.history,
    )

    adapter_dir, merged_dir = output / "adapter", output / "merged"
    diff = merge_adapter(model_dir, adapter_dir, merged_dir, tokenizer, validation_examples)
    write_history(output / "loss.csv", history)
    sample_rows = []
    if config.sample_count:
        targets = load_prompts(prompts, config) if prompts else validation[: config.sample_count]
        sample_rows = generate_samples(merged_dir, targets, config)
    write_jsonl(output / "samples.jsonl", sample_rows)
    rows_per_step = config.per_device_batch_size * config.gradient_accumulation_steps * world_size()
    tokens_per_step = train_tokens / max(len(rows), 1) * rows_per_step
    record = throughput_file(output, throughput_dir)
    trained_tokens, trained_seconds = add_throughput(
        record,
        fingerprint,
        tokens_per_step * steps_run,
        train_seconds if steps_run else 0.0,
        fresh=steps_run == steps,
    )
    reasons = Counter(entry.reason for entry in skipped)
    return SFTReport(
        template=config.template,
        rows_read=sum(s.read for s in sources),
        rows_used=len(train_examples) + len(validation_examples),
        rows_skipped=dict(sorted(reasons.items())),
        sources=[
            {"input": s.path, "read": s.read, "kept": s.kept, "used": s.used, "skipped": dict(s.skipped)}
            for s in sources
        ],
        train_examples=len(train_examples),
        validation_examples=len(validation_examples),
        train_rows=len(rows),
        train_tokens=train_tokens,
        answer_token_share=round(answer_tokens / train_tokens, 4),
        trainable_parameters=trained.trainable,
        total_parameters=trained.total,
        new_token_rows=trained.new_rows,
        initial_eval_loss=round(trained.initial_loss, 5),
        eval_loss=round(trained.eval_loss, 5),
        merge_max_abs_logit_diff=diff,
        steps=steps,
        train_tokens_per_s=round(trained_tokens / trained_seconds, 1) if trained_seconds else 0.0,
        train_tokens_per_s_per_device=trained.throughput.get("tokens_per_s_per_device", 0.0),
        mfu=trained.throughput.get("mfu"),
        peak=trained.peak,
        samples=len(sample_rows),
        seconds=round(time.perf_counter() - start, 1),
    )


def split_validation(
    conversations: list[Conversation], fraction: float, seed: int
) -> tuple[list[Conversation], list[Conversation]]:
    """Hold out a seeded share of distinct rows; copies of a row (weights > 1) stay on one side."""
    row_keys = [dedup_key(c) for c in conversations]
    keys = sorted(set(row_keys))
    random.Random(seed).shuffle(keys)
    held = set(keys[: max(1, math.ceil(len(keys) * fraction))]) if len(keys) > 1 else set()
    validation, seen = [], set()
    train = []
    for c, key in zip(conversations, row_keys, strict=True):
        if key not in held:
            train.append(c)
        elif key not in seen:
            seen.add(key)
            validation.append(c)
    return train, validation


def encode_all(tokenizer, conversations: list[Conversation], config: SFTConfig, skipped: list[Skipped]):
    """Encode each conversation; the over-length ones join `skipped`."""
    from tqdm.auto import tqdm

    from pipeline.sft_data import Example, encode_conversation

    examples: list[Example] = []
    quiet = not log.isEnabledFor(logging.INFO)
    for conversation in tqdm(conversations, desc="tokenizing", unit="row", disable=quiet):
        result = encode_conversation(
            tokenizer,
            conversation,
            train_on_inputs=config.train_on_inputs,
            max_length=config.max_length,
            overlength=config.overlength,
        )
        if isinstance(result, Skipped):
            skipped.append(result)
        else:
            examples.append(result)
    return examples


def load_for_training(config: SFTConfig, model_dir: Path, tokenizer, base_tokenizer: Path | None):
    """The model to tune (4-bit for QLoRA, on this rank's GPU) and the ids of the rows the vocab stage added.

    Called after the TrainingArguments exist, so ZeRO-3 loads it partitioned.
    """
    import torch
    from transformers import AutoTokenizer

    from pipeline.training import embedding_rows, load_model, local_rank

    kwargs = {}
    if config.load_in_4bit:
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16,
        )
        kwargs["device_map"] = {"": local_rank()}  # each rank's copy on its own GPU, not all on cuda:0
    torch.manual_seed(config.seed)
    model = load_model(model_dir, config, **kwargs)
    model.config.use_cache = False  # a cache would also switch off the packed-sequence attention mask
    rows = embedding_rows(model)
    if len(tokenizer) > rows:
        raise StageError(
            f"{model_dir}: the tokenizer has {len(tokenizer)} tokens but the model only {rows} embedding "
            "rows; tune the pretrain stage's output (models/pretrain/model), which is resized"
        )
    new_rows: list[int] = []
    if base_tokenizer is not None:
        base_size = len(AutoTokenizer.from_pretrained(base_tokenizer))
        new_rows = list(range(base_size, rows))
    if config.embeddings == "new_rows":
        from pipeline.templates import template_token_ids

        # Llama-3's header and <|eot_id|> rows, Qwen2's ChatML ones: a base model barely trained
        # them, and the turn's end is the EOS the tuned model must learn to write, so they train too.
        new_rows = sorted(set(new_rows) | set(template_token_ids(tokenizer, config.template)))
    if config.embeddings == "new_rows" and not new_rows:
        log.info("no rows beyond the base vocabulary (--base-tokenizer): embeddings stay frozen")
    if config.load_in_4bit:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=config.gradient_checkpointing
        )
    elif config.gradient_checkpointing:
        model.enable_input_require_grads()
    return model, new_rows


def wrap_lora(config: SFTConfig, model, new_rows: list[int]):
    """PEFT LoRA on config.target_modules, with the embedding rows trained as config.embeddings says."""
    from peft import LoraConfig, get_peft_model

    extra: dict = {}
    if config.embeddings == "full":
        extra["modules_to_save"] = ["embed_tokens", "lm_head"]
    elif config.embeddings == "new_rows" and new_rows:
        tied = model.config.tie_word_embeddings
        # Tied weights share one matrix; PEFT then trains those rows of both through the input side.
        indices = new_rows if tied else {"embed_tokens": new_rows, "lm_head": new_rows}
        extra["trainable_token_indices"] = indices
    lora = LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=list(config.target_modules),
        task_type="CAUSAL_LM",
        **extra,
    )
    try:
        model = get_peft_model(model, lora)
    except ValueError as exc:  # e.g. no target module found in this architecture
        raise StageError(f"sft.target_modules = {list(config.target_modules)}: {exc}") from None
    # PEFT keeps target_modules as a set and saves it as list(set): its order follows the string
    # hash seed, which differs per process, so adapter_config.json (a DVC output) would differ per
    # run. Sorted, it is the same everywhere; PEFT matches modules against it the same way.
    for peft_config in model.peft_config.values():
        for field, value in list(vars(peft_config).items()):
            if isinstance(value, set):
                setattr(peft_config, field, sorted(value))
    return model


@dataclass(frozen=True)
class Trained:
    """What train_adapter reports: steps, losses (token-weighted, on the training devices), timings."""

    steps: int  # step reached
    steps_run: int  # steps this run took
    seconds: float
    history: list
    initial_loss: float
    eval_loss: float
    trainable: int
    total: int
    new_rows: int
    throughput: dict  # tokens/s per device and MFU of this run's training ({} when it trained nothing)
    peak: str


def train_adapter(
    config: SFTConfig,
    model_dir: Path,
    tokenizer,
    base_tokenizer,
    rows,
    validation,
    output: Path,
    train_dir: Path,
    pad_id: int,
) -> Trained:
    """Train (resuming from the last complete checkpoint) and save the adapter, unless done earlier.

    The held-out answer loss is measured by the Trainer before training (eval_on_start) and
    after it, on every rank's share of the held-out rows.
    """
    from pipeline.flops import Throughput, device_name, model_flops_per_token, peak_flops
    from pipeline.sft_data import PadCollator
    from pipeline.training import (
        LiveLossLog,
        eval_losses,
        eval_recorder,
        last_complete_checkpoint,
        runtime_trainer_class,
        training_arguments,
    )

    done = train_dir / "done.json"
    peak, peak_source = peak_flops(device_name(), config.peak_tflops)
    if done.is_file() and (output / "adapter" / ADAPTER_CONFIG).is_file():
        # Finished earlier. Not resumed: the Trainer, resumed at the last step of a max_steps run
        # that ends mid-epoch, trains one step more.
        state = json.loads(done.read_text())
        log.info("training finished earlier at step %d: using %s", state["steps"], output / "adapter")
        return Trained(**{**state, "steps_run": 0, "seconds": 0.0, "throughput": {}, "peak": peak_source})
    import torch

    initial_file = train_dir / "initial.json"
    last = last_complete_checkpoint(train_dir)

    def arguments():
        return training_arguments(
            config,
            train_dir,
            max_steps=config.max_steps or -1,
            learning_rate=config.learning_rate,
            epochs=config.epochs,
            eval_on_start=not initial_file.is_file(),
            remove_unused_columns=False,
            label_names=["labels"],
        )

    # On GPUs the arguments come first, so ZeRO-3 loads the model partitioned. Without CUDA it is
    # loaded and wrapped whole, and partitioned when DeepSpeed starts: under ZeRO-3 PEFT gathers
    # the trainable token rows onto a CUDA device (peft/tuners/trainable_tokens/layer.py).
    args = arguments() if torch.cuda.is_available() else None
    model, new_rows = load_for_training(config, model_dir, tokenizer, base_tokenizer)
    model = wrap_lora(config, model, new_rows)
    args = args or arguments()
    # ds_numel: under ZeRO-3 (GPUs) the parameters are partitioned and their local numel is 0.
    trainable = sum(getattr(p, "ds_numel", p.numel()) for p in model.parameters() if p.requires_grad)
    total = sum(getattr(p, "ds_numel", p.numel()) for p in model.parameters())
    log.info(
        "LoRA: %d trainable of %d parameters (%.3f%%)", trainable, total, 100 * trainable / max(total, 1)
    )
    base_config = model.get_base_model().config
    throughput = Throughput(model_flops_per_token(base_config, config.max_length), peak)
    held_out = {"answers": [{"input_ids": e.input_ids, "labels": e.labels} for e in validation]}
    recorder = eval_recorder(list(held_out), None if initial_file.is_file() else initial_file, throughput)
    trainer = runtime_trainer_class()(
        model=model,
        args=args,
        train_dataset=rows,
        eval_dataset=held_out,
        data_collator=PadCollator(pad_id),
        callbacks=[recorder, LiveLossLog(output / "loss.csv", "sft")],
        throughput=throughput,
    )
    resumed_at = int(last.rsplit("-", 1)[1]) if last else 0
    if last:
        log.info("resuming from %s", last)
    trainer.train(resume_from_checkpoint=last)
    trained = throughput.summary()  # training only: the clock restarted after the start-up eval
    seconds = trained.pop("seconds")
    main = trainer.is_world_process_zero()
    final = eval_losses(trainer.evaluate(), held_out)["answers"]
    steps = trainer.state.global_step
    history = [{"step": h["step"], "loss": h["loss"]} for h in trainer.state.log_history if "loss" in h]
    trainer.save_model(str(output / "adapter"))
    if main:  # the Trainer's pickled arguments name this machine's checkpoint folder: not an output
        (output / "adapter" / "training_args.bin").unlink(missing_ok=True)
    state = {
        "steps": steps,
        "history": history,
        "initial_loss": json.loads(initial_file.read_text())["answers"]
        if initial_file.is_file()
        else float("nan"),
        "eval_loss": final,
        "trainable": trainable,
        "total": total,
        "new_rows": len(new_rows),
    }
    if main:
        done.write_text(json.dumps(state))
    del trainer, model
    gc.collect()
    from transformers.integrations.deepspeed import unset_hf_deepspeed_config

    unset_hf_deepspeed_config()
    return Trained(
        **state,
        steps_run=steps - resumed_at,
        seconds=seconds,
        throughput=trained,
        peak=peak_source,
    )


def merge_adapter(model_dir: Path, adapter_dir: Path, merged_dir: Path, tokenizer, validation) -> float:
    """Merge the adapter into an unquantized fp32 base, check the merge on held-out rows, save both.

    Returns the largest logit difference of the merged model from base + adapter on a held-out
    batch (the merge is only a reparametrisation, so this is rounding): both sides are the same
    fp32 weights, also after QLoRA, whose 4-bit base is not what is merged. The merged weights are
    saved in the dtype the base model was saved in.
    """
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from pipeline.sft_data import PadCollator

    device = "cuda" if torch.cuda.is_available() else "cpu"
    base = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).to(device)
    model = PeftModel.from_pretrained(base, adapter_dir)
    model.eval()
    batch = PadCollator(0)([{"input_ids": e.input_ids, "labels": e.labels} for e in validation[:4]])
    batch = {k: v.to(device) for k, v in batch.items()}
    with torch.no_grad():
        before = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    merged = model.merge_and_unload()
    merged.eval()
    with torch.no_grad():
        after = merged(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    mask = batch["attention_mask"].bool()
    diff = float((before - after).abs()[mask].max())
    saved = json.loads((model_dir / "config.json").read_text())
    dtype = saved.get("dtype") or saved.get("torch_dtype") or "float32"
    merged.config.use_cache = True
    merged.to(getattr(torch, dtype)).save_pretrained(merged_dir)
    for directory in (merged_dir, adapter_dir):
        tokenizer.save_pretrained(directory)
        for name in HF_FILES:  # the SentencePiece model too, which the fast tokenizer does not write
            if (model_dir / name).is_file() and not (directory / name).is_file():
                shutil.copyfile(model_dir / name, directory / name)
    return round(diff, 8)


def load_prompts(path: Path, config: SFTConfig) -> list[Conversation]:
    """The first sample_count usable rows of an instruction file (any format the loaders read)."""
    conversations, _, _ = load_conversations([str(path)], (), dedup=True, seed=config.seed)
    return conversations[: config.sample_count]


def generate_samples(model_dir: Path, conversations: list[Conversation], config: SFTConfig) -> list[dict]:
    """Answers of the saved merged model, prompted through its saved chat template."""
    import torch
    from tqdm.auto import tqdm
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from pipeline.training import use_bf16

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = torch.bfloat16 if use_bf16(config.bf16) else torch.float32
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype).to(device)
    model.eval()
    decoding = decoding_settings(config)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    torch.manual_seed(config.seed)
    samples = []
    quiet = not log.isEnabledFor(logging.INFO)
    for conversation in tqdm(conversations, desc="samples", unit="prompt", disable=quiet):
        messages = conversation.prompt_messages()
        encoded = tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_dict=True, return_tensors="pt"
        ).to(device)
        with torch.no_grad():
            out = model.generate(**encoded, **decoding, pad_token_id=pad, eos_token_id=tokenizer.eos_token_id)
        new = out[0, encoded["input_ids"].shape[1] :].tolist()
        samples.append(
            {
                "source": conversation.source,
                "id": conversation.id,
                "messages": messages,
                "reference": conversation.reference,
                "generation": tokenizer.decode(new, skip_special_tokens=True),
                "finished": bool(new) and new[-1] == tokenizer.eos_token_id,
                "new_tokens": len(new),
                "decoding": {**decoding, "template": config.template},
            }
        )
    return samples


def add_throughput(
    path: Path, fingerprint: str, tokens: float, seconds: float, *, fresh: bool
) -> tuple[float, float]:
    """Tokens and seconds trained over every run of this training (a resumed run adds its share).

    A re-run that resumes at the last step trains nothing, and still reports what training measured.
    `fresh`: this run trained from step 0, so earlier records are another training's. The record
    is kept at `path`, outside OUTPUT (pipeline.training.throughput_file), keyed by `fingerprint`.
    """
    zero = {"tokens": 0.0, "seconds": 0.0}
    so_far = zero if fresh else read_throughput(path, fingerprint) or zero
    total = {"tokens": so_far["tokens"] + tokens, "seconds": so_far["seconds"] + seconds}
    write_throughput(path, fingerprint, total)
    return total["tokens"], total["seconds"]


def decoding_settings(config: SFTConfig) -> dict:
    """`generate` keywords of the samples; ko-publish writes the same into generation_config.json."""
    greedy = config.sample_temperature == 0
    decoding = {
        "max_new_tokens": config.sample_max_new_tokens,
        "do_sample": not greedy,
        "repetition_penalty": config.sample_repetition_penalty,
    }
    if not greedy:
        decoding.update(temperature=config.sample_temperature, top_p=config.sample_top_p)
    return decoding


def rows_key(rows: list[dict]) -> str:
    """The training rows' tokens and labels, hashed: the data part of the run's fingerprint."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(json.dumps(row["input_ids"]).encode())
        digest.update(json.dumps(row["labels"]).encode())
    return digest.hexdigest()


def write_jsonl(path: Path, rows: list[dict]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def write_history(path: Path, history: list[dict]) -> None:
    """Training loss per logged step as CSV (what dvc plots reads)."""
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["step", "loss"])
        writer.writeheader()
        for row in history:
            writer.writerow({"step": row["step"], "loss": round(row["loss"], 5)})


def input_licence(name: str, licences: dict[str, str]) -> str:
    """The licence given for an sft input: the entry naming this file or Hub id, or a folder above it."""
    if name in licences:
        return licences[name]
    path = Path(name).resolve()
    for key, licence in licences.items():
        if Path(key).resolve() in path.parents:
            return licence
    return ""


def main(argv: list[str] | None = None) -> int:
    """Console entry point of `ko-sft`."""
    from pipeline.cli import run_stage, stage_parser, write_metrics, write_resolved

    parser = stage_parser(
        "sft",
        __doc__,
        SFTConfig,
        output_default="models/sft",
        inputs=True,
        inputs_help="instruction files, directories or Hub dataset ids (default: sft.inputs in params)",
        model="model to tune, with its tokenizer (default: models/pretrain/model)",
    )
    parser.add_argument(
        "--base-tokenizer",
        metavar="DIR",
        help="the base model's directory before vocabulary extension (models/base): rows past its "
        "vocabulary are the new ones that sft.embeddings=new_rows trains; without it none are",
    )
    parser.add_argument(
        "--prompts",
        metavar="FILE",
        help="instructions to answer after training (e.g. KULLM's user_oriented_instructions_eval.ko."
        "jsonl); default: sft.prompts, else the held-out rows",
    )
    parser.add_argument("--plots", metavar="FILE", help="loss curve CSV to write (default: OUTPUT/loss.csv)")

    def body(args, params):
        output = Path(args.output)
        inputs = list(args.input) if args.input else [i.name for i in params.sft.inputs]
        prompts = args.prompts or params.sft.prompts
        if not inputs:
            raise StageError("no instruction data: set sft.inputs in params or give --input")
        report = finetune_lora(
            params.sft,
            Path(args.model or "models/pretrain/model"),
            inputs,
            output,
            base_tokenizer=Path(args.base_tokenizer) if args.base_tokenizer else None,
            prompts=Path(prompts) if prompts else None,
        )
        if report is None:  # not the main process
            return
        licences = {i.name: i.license for i in params.sft.inputs if i.license}
        for source in report.sources:  # per file: the licence of the entry that named it
            source["license"] = input_licence(source["input"], licences)
        if args.plots:
            shutil.copyfile(output / "loss.csv", args.plots)
        write_resolved(
            output,
            "sft",
            params,
            "sft",
            {
                "input": inputs,
                "model": args.model or "models/pretrain/model",
                "base_tokenizer": args.base_tokenizer,
                "prompts": prompts,
                "output": str(output),
            },
        )
        write_metrics(Path(args.metrics or output / "metrics.json"), asdict(report))
        print(
            f"answer loss {report.initial_eval_loss:.3f} -> {report.eval_loss:.3f} on "
            f"{report.validation_examples} held-out rows; {report.rows_used} of {report.rows_read} rows used"
        )

    return run_stage(parser, argv, body)


if __name__ == "__main__":
    raise SystemExit(main())

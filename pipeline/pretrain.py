"""`ko-pretrain`: continued pretraining of the base model on Korean text through its new vocabulary.

The model is resized to the extended tokenizer with EEVE's initialisation (pipeline/embeddings.py).
The corpus is packed into blocks (pipeline/packing.py). Training runs through the Hugging Face
Trainer with DeepSpeed ZeRO (configs/deepspeed/*.json), in two stages: stage 1 trains only the
embeddings and lm_head, stage 2 trains everything. The runtime (loading, evaluation on the training
devices, checkpoints, throughput and MFU) is pipeline/training.py, shared with ko-sft. Each stage
checkpoints under $KO_CACHE_DIR/checkpoints (default .cache), outside OUTPUT; a killed run, re-run
with the same command, resumes from the last checkpoint. OUTPUT holds the model, loss.csv (which
grows while training) and the metrics. Outside a launcher (deepspeed, torchrun) it runs as one
process, on CPU with gloo when there is no GPU.
"""

from __future__ import annotations

import csv
import gc
import json
import logging
import math
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pipeline.cli import StageError
from pipeline.config import PretrainConfig
from pipeline.deps import require_module
from pipeline.training import (
    cache_root,
    check_attention,
    check_model_dir,
    check_paths,
    check_reporter,
    is_main_process,
    open_run,
    read_throughput,
    run_fingerprint,
    throughput_file,
    world_size,
    write_throughput,
)
from tokenizer.hf_export import HF_FILES

log = logging.getLogger("ko.pretrain")
STAGES = ("stage1", "stage2")


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
    # Every held-out evaluation in order (each stage's start and end, and every pretrain.eval_steps):
    # {stage, step (counted across stages), tokens (trained so far, all devices), ko, en bits/char}.
    bits_per_char_curve: list
    replay: dict  # how English replay was mixed into training (blocks, share reached)
    english_validation_characters: int
    train_tokens_per_s: float  # all devices together
    train_tokens_per_s_per_device: float
    mfu: float | None  # model FLOPs utilisation of the last stage trained; None where no peak is known
    peak: str  # the peak FLOP/s MFU is taken against, and where it came from
    model_flops_per_token: float
    world_size: int
    embedding_rows: int
    validation_characters: int
    seconds: float


@dataclass
class PackedData:
    """What training reads: mixed train blocks, held-out sets by language, and their pack reports."""

    train: object
    eval_sets: dict  # {"ko": Dataset, "en": Dataset}
    pack: object
    en_pack: object | None
    mix: object
    key: str
    bos_id: int | None


@dataclass
class RunState:
    """Losses, history and timings gathered stage by stage (from a finished stage's record or training)."""

    losses: dict = field(default_factory=lambda: {"ko": {}, "en": {}})  # language -> point -> loss
    history: list = field(default_factory=list)
    evals: list = field(default_factory=list)  # {stage, step, ko, en}: losses, steps within the stage
    tokens: float = 0.0
    seconds: float = 0.0
    last_throughput: dict = field(default_factory=dict)


def continue_pretraining(
    config: PretrainConfig,
    model_dir: Path,
    tokenizer_dir: Path,
    inputs: list[str],
    output: Path,
    cache_dir: Path | None = None,
    replay_inputs: list[str] | None = None,
    throughput_dir: Path | None = None,
) -> PretrainReport:
    """Run both stages (resuming where a previous run stopped) and save the model to OUTPUT/model.

    `replay_inputs` (the corpus stage's data/replay) are packed apart: their train blocks are
    mixed in at `replay_fraction`, their held-out blocks give English bits per character.
    OUTPUT holds no timing, so the same inputs give the same bytes on any machine; each stage's
    tokens and seconds go to `throughput_dir` (see pipeline.training.throughput_file).
    """
    check_inputs(config, model_dir, tokenizer_dir, inputs, replay_inputs or [])
    from pipeline.training import setup_distributed

    setup_distributed()
    start = time.perf_counter()
    data = prepare_data(config, tokenizer_dir, inputs, replay_inputs, cache_dir or cache_root() / "packed")
    output.mkdir(parents=True, exist_ok=True)
    drop_legacy_checkpoints(output)
    if is_main_process():
        (output / "loss.csv").unlink(missing_ok=True)  # grows again from this run's log lines
    fingerprint = run_fingerprint(config, model_dir, data.key)
    checkpoints = open_run(output, fingerprint)
    record = throughput_file(output, throughput_dir)
    measured = read_throughput(record, fingerprint)
    run = RunState()
    start_from: Path | None = None  # None: the base model, resized to the new vocabulary
    plan = [
        ("stage1", config.stage1_steps, config.stage1_learning_rate),
        ("stage2", config.stage2_steps, config.learning_rate),
    ]
    for stage, steps, lr in plan:
        if steps == 0:
            continue
        stage_dir = checkpoints / stage
        if not (stage_dir / "done.json").is_file():
            train_stage(
                config, stage, steps, lr, start_from, model_dir, tokenizer_dir, data, stage_dir, output
            )
            if is_main_process():  # this run's throughput, recorded beside the record of the stage
                measured[stage] = json.loads((stage_dir / "throughput.json").read_text())
                write_throughput(record, fingerprint, measured)
        take_finished_stage(run, stage, stage_dir, measured)
        start_from = stage_dir / "final"
    if is_main_process():
        assemble_outputs(output, start_from, tokenizer_dir, run.history)
    return build_report(config, run, data, start_from, time.perf_counter() - start)


def check_inputs(config: PretrainConfig, model_dir: Path, tokenizer_dir: Path, inputs, replay) -> None:
    """Every path and the tokenizer's fit to the model, before any model or GPU memory is touched."""
    require_module("torch", extra="model")
    require_module("transformers", extra="model")
    if config.deepspeed:
        require_module("deepspeed", extra="deepspeed")
    check_paths("pretrain", model=model_dir, tokenizer=tokenizer_dir, deepspeed=config.deepspeed)
    for path in [*inputs, *replay]:
        check_paths("pretrain", input=path)
    check_model_dir(model_dir)
    if (model_dir / "tokenizer.model").is_file() or not (model_dir / "tokenizer.json").is_file():
        for sp in (model_dir / "tokenizer.model", tokenizer_dir / "tokenizer.model"):
            if not sp.is_file():
                raise StageError(
                    f"{sp}: no SentencePiece model (the base stage and the vocab stage write one)"
                )
        check_extension(model_dir, tokenizer_dir)
    else:
        check_byte_level_extension(model_dir, tokenizer_dir)
    check_attention(config.attention, "pretrain")
    check_reporter(config)


def check_extension(model_dir: Path, tokenizer_dir: Path) -> None:
    """The tokenizer must extend the base's: every base piece at its id, and no fewer pieces than the
    model has rows."""
    from tokenizer.spm import read_model

    base = [p.piece for p in read_model(model_dir / "tokenizer.model").pieces]
    extended = [p.piece for p in read_model(tokenizer_dir / "tokenizer.model").pieces]
    moved = next((i for i, (a, b) in enumerate(zip(base, extended, strict=False)) if a != b), None)
    if moved is not None or len(extended) < len(base):
        where = (
            f"id {moved} is {extended[moved]!r}, the base has {base[moved]!r}"
            if moved is not None
            else (f"{len(extended)} pieces, the base has {len(base)}")
        )
        raise StageError(
            f"--tokenizer {tokenizer_dir} is not an extension of {model_dir}'s tokenizer ({where}): "
            "build it with the vocab stage from this base"
        )
    rows = json.loads((model_dir / "config.json").read_text()).get("vocab_size", 0)
    if len(extended) < rows:
        raise StageError(
            f"--tokenizer {tokenizer_dir} has {len(extended)} pieces, fewer than the model's {rows} "
            "embedding rows: use the tokenizer the vocab stage built for this model"
        )


def check_byte_level_extension(model_dir: Path, tokenizer_dir: Path) -> None:
    """A byte-level base's tokenizer.json must be extended by --tokenizer's: every base id kept."""
    from pipeline.embeddings import byte_level_sources

    if not (tokenizer_dir / "tokenizer.json").is_file():
        raise StageError(f"{tokenizer_dir}: no tokenizer.json (the vocab stage writes one)")
    try:
        byte_level_sources(model_dir, tokenizer_dir)
    except ValueError as exc:
        raise StageError(
            f"--tokenizer {tokenizer_dir} is not an extension of {model_dir}'s tokenizer ({exc}): "
            "build it with the vocab stage from this base"
        ) from exc


def prepare_data(
    config: PretrainConfig, tokenizer_dir: Path, inputs, replay_inputs, cache_dir: Path
) -> PackedData:
    """Pack the corpus (and replay text) once per node, and mix the replay blocks in."""
    from transformers import AutoTokenizer

    from pipeline.packing import mix_replay, pack_corpus

    settings = dict(
        block_size=config.block_size, validation_fraction=config.validation_fraction, num_proc=config.num_proc
    )
    splits, pack = pack_corpus(inputs, tokenizer_dir, cache_dir, **settings)
    if len(splits["train"]) == 0 or len(splits["validation"]) == 0:
        raise StageError(
            f"the corpus packs into {len(splits['train'])} train and {len(splits['validation'])} "
            f"validation blocks of {config.block_size} tokens: too little text"
        )
    en_splits, en_pack = None, None
    if replay_inputs:
        en_splits, en_pack = pack_corpus(replay_inputs, tokenizer_dir, cache_dir, **settings)
        if len(en_splits["validation"]) == 0:
            raise StageError(
                f"the replay text packs into no validation block of {config.block_size} tokens: "
                "too little held-out English to measure forgetting on (raise pretrain.validation_fraction "
                "or add replay text)"
            )
    mixed, mix = mix_replay(
        splits["train"], en_splits["train"] if en_splits else None, config.replay_fraction, config.seed
    )
    eval_sets = {"ko": splits["validation"]}
    if en_splits:
        eval_sets["en"] = en_splits["validation"]
    key = pack.cache_key + (f"+{en_pack.cache_key}" if en_pack else "")
    bos = AutoTokenizer.from_pretrained(tokenizer_dir).bos_token_id
    return PackedData(mixed, eval_sets, pack, en_pack, mix, key, bos)


def train_stage(
    config, stage, steps, lr, start_from, model_dir, tokenizer_dir, data, stage_dir, output
) -> None:
    """Train one stage to its done.json (every rank): load, resize if starting from the base, train
    (resuming), evaluate on the training devices, save the weights to stage_dir/final."""
    from pipeline.flops import Throughput, device_name, model_flops_per_token, peak_flops
    from pipeline.packing import BlockCollator
    from pipeline.training import (
        LiveLossLog,
        barrier,
        eval_losses,
        eval_recorder,
        last_complete_checkpoint,
        load_model,
        runtime_trainer_class,
        training_arguments,
    )

    initial_file = stage_dir / "initial.json"
    last = last_complete_checkpoint(stage_dir)
    if last and int(last.rsplit("-", 1)[1]) >= steps:
        # Killed after its last step, before its record: resumed, the Trainer would train a step
        # more (a max_steps run that ends mid-epoch), so evaluate and save that checkpoint instead.
        return finish_from_checkpoint(config, stage, Path(last), data, stage_dir)
    measure_initial = stage == first_stage(config) and not initial_file.is_file()
    if last and measure_initial:
        log.warning("%s: no initial loss was recorded before %s; measuring it there", stage, last)
    args = training_arguments(
        config,
        stage_dir,
        max_steps=steps,
        learning_rate=lr,
        eval_on_start=measure_initial,
        eval_steps=config.eval_steps,
    )
    model = load_model(start_from or model_dir, config)  # after args: ZeRO-3 loads partitioned
    if start_from is None:
        resize_to_tokenizer(config, model, model_dir, tokenizer_dir)
    model.config.use_cache = False  # a cache would switch off the per-document mask
    trainable = ("embed_tokens", "lm_head") if stage == "stage1" else None
    for name, param in model.named_parameters():
        param.requires_grad = trainable is None or any(t in name for t in trainable)
    flops = model_flops_per_token(model.config, config.block_size)
    peak, peak_source = peak_flops(device_name(), config.peak_tflops)
    log.info("%s: %.3g model FLOPs per token; MFU against %s", stage, flops, peak_source)
    throughput = Throughput(flops, peak)
    recorder = eval_recorder(list(data.eval_sets), initial_file if measure_initial else None, throughput)
    offset = config.stage1_steps if stage == "stage2" else 0
    trainer = runtime_trainer_class()(
        model=model,
        args=args,
        train_dataset=data.train,
        eval_dataset=data.eval_sets,
        data_collator=BlockCollator(data.bos_id, config.document_attention == "within"),
        callbacks=[recorder, LiveLossLog(output / "loss.csv", stage, offset)],
        throughput=throughput,
    )
    resumed_at = int(last.rsplit("-", 1)[1]) if last else 0
    trainer.train(resume_from_checkpoint=last)
    summary = throughput.summary()  # training only: the clock restarted after the start-up eval
    seconds = summary.pop("seconds")
    main = trainer.is_world_process_zero()
    final = eval_losses(trainer.evaluate(), data.eval_sets)
    trainer.save_model(str(stage_dir / "final"))
    history = [
        {"stage": stage, "step": h["step"], "loss": h["loss"]}
        for h in trainer.state.log_history
        if "loss" in h
    ]
    evals = eval_points(stage, trainer.state.log_history, data.eval_sets)
    tokens = (
        (steps - resumed_at)
        * config.per_device_batch_size
        * config.gradient_accumulation_steps
        * world_size()
        * config.block_size
    )
    if main:
        (stage_dir / "throughput.json").write_text(
            json.dumps({"tokens": tokens, "seconds": seconds, **summary})
        )
        (stage_dir / "done.json").write_text(json.dumps({"eval": final, "history": history, "evals": evals}))
    log.info("%s: eval loss %s; %s", stage, final, summary)
    barrier()  # the other ranks read done.json and stage_dir/final next
    del trainer, model
    gc.collect()
    from transformers.integrations.deepspeed import unset_hf_deepspeed_config

    unset_hf_deepspeed_config()  # the next stage's TrainingArguments set their own


def finish_from_checkpoint(config: PretrainConfig, stage: str, last: Path, data, stage_dir: Path) -> None:
    """A stage's record from its final checkpoint's weights (saved whole: model.safetensors), evaluated
    on the training devices without DeepSpeed (ZeRO-2 cannot start for evaluation alone)."""
    import dataclasses

    from pipeline.packing import BlockCollator
    from pipeline.training import barrier, eval_losses, load_model, runtime_trainer_class, training_arguments

    plain = dataclasses.replace(config, deepspeed="")
    args = training_arguments(plain, stage_dir / "finish", max_steps=1, learning_rate=0.0)
    model = load_model(last, plain)
    model.config.use_cache = False
    trainer = runtime_trainer_class()(
        model=model,
        args=args,
        eval_dataset=data.eval_sets,
        data_collator=BlockCollator(data.bos_id, config.document_attention == "within"),
    )
    final = eval_losses(trainer.evaluate(), data.eval_sets)
    trainer.save_model(str(stage_dir / "final"))
    state = json.loads((last / "trainer_state.json").read_text())
    history = [
        {"stage": stage, "step": h["step"], "loss": h["loss"]} for h in state["log_history"] if "loss" in h
    ]
    step = int(last.name.rsplit("-", 1)[1])
    evals = eval_points(stage, state["log_history"], data.eval_sets)
    evals = [e for e in evals if e["step"] < step] + [{"stage": stage, "step": step, **final}]
    if trainer.is_world_process_zero():
        # The killed run's timing was lost with it: this run trained nothing.
        (stage_dir / "throughput.json").write_text(json.dumps({"tokens": 0, "seconds": 0.0}))
        (stage_dir / "done.json").write_text(json.dumps({"eval": final, "history": history, "evals": evals}))
    log.info("%s: finished from %s; eval loss %s", stage, last, final)
    barrier()
    del trainer, model
    gc.collect()


def eval_points(stage: str, log_history: list[dict], eval_sets) -> list[dict]:
    """{stage, step, ko, en}: the held-out losses of every evaluation the Trainer logged, one entry
    per step (an evaluation over the eval_dataset dict logs one record per language)."""
    points: dict[int, dict] = {}
    for record in log_history:
        for name in eval_sets:
            key = f"eval_{name}_token_loss"
            if key in record:
                points.setdefault(int(record["step"]), {})[name] = record[key]
    return [{"stage": stage, "step": step, **losses} for step, losses in sorted(points.items())]


def first_stage(config: PretrainConfig) -> str:
    return "stage1" if config.stage1_steps else "stage2"


def resize_to_tokenizer(config: PretrainConfig, model, model_dir: Path, tokenizer_dir: Path) -> None:
    """EEVE's subword-mean rows for the new pieces (under ZeRO-3 on the gathered matrices)."""
    import torch

    from pipeline.embeddings import init_new_embeddings

    torch.manual_seed(config.seed)  # HF's mean_resizing draw for padding rows
    byte_level = not (model_dir / "tokenizer.model").is_file()  # then both hold a tokenizer.json
    resize = init_new_embeddings(
        model,
        model_dir if byte_level else model_dir / "tokenizer.model",
        tokenizer_dir if byte_level else tokenizer_dir / "tokenizer.model",
        input_init=config.input_init,
        output_init=config.output_init,
        pad_to_multiple_of=config.pad_to_multiple_of,
    )
    log.info("resized to %d rows (%d new tokens initialised)", resize.rows, resize.initialised)


def take_finished_stage(run: RunState, stage: str, stage_dir: Path, measured: dict) -> None:
    """A finished stage's losses, history and measured throughput into the run's state."""
    state = json.loads((stage_dir / "done.json").read_text())
    initial = stage_dir / "initial.json"
    for language, loss in (json.loads(initial.read_text()) if initial.is_file() else {}).items():
        run.losses[language]["initial"] = loss
    for language, loss in state["eval"].items():
        run.losses[language][stage] = loss
    run.history += state["history"]
    run.evals += state.get("evals", [])
    # Its own run's throughput, so a resumed run still reports what training measured
    # (nothing when this machine has no record of it, e.g. OUTPUT came from `dvc pull`).
    timing = measured.get(stage, {})
    run.tokens += timing.get("tokens", 0)
    run.seconds += timing.get("seconds", 0.0)
    if timing:
        run.last_throughput = timing


def drop_legacy_checkpoints(output: Path) -> None:
    """Checkpoints were kept inside OUTPUT before they moved to $KO_CACHE_DIR: remove them (DVC
    would cache them)."""
    if not is_main_process():
        return
    for name in STAGES:
        shutil.rmtree(output / name, ignore_errors=True)
    (output / "run_fingerprint.txt").unlink(missing_ok=True)


def assemble_outputs(output: Path, final: Path, tokenizer_dir: Path, history: list[dict]) -> None:
    """OUTPUT/model (the last stage's weights with the extended tokenizer) and loss.csv."""
    final_dir = output / "model"
    if final_dir.exists():
        shutil.rmtree(final_dir)
    # Not the Trainer's pickled arguments: they name this machine's checkpoint folder.
    shutil.copytree(final, final_dir, ignore=shutil.ignore_patterns("training_args.bin"))
    for name in HF_FILES:
        if (tokenizer_dir / name).is_file():
            shutil.copyfile(tokenizer_dir / name, final_dir / name)
    write_history(output / "loss.csv", history)


def build_report(
    config: PretrainConfig, run: RunState, data: PackedData, final: Path, seconds: float
) -> PretrainReport:
    from transformers import AutoConfig

    from pipeline.flops import device_name, model_flops_per_token, peak_flops

    model_config = AutoConfig.from_pretrained(final)
    ko, en = run.losses["ko"], run.losses["en"]
    final_loss = ko.get("stage2", ko.get("stage1"))
    by_stage = {"ko": stage_bits(ko, data.pack, config.block_size)}
    if data.en_pack is not None:
        by_stage["en"] = stage_bits(en, data.en_pack, config.block_size)
    _, peak_source = peak_flops(device_name(), config.peak_tflops)
    return PretrainReport(
        stage1_eval_loss=ko.get("stage1"),
        stage2_eval_loss=ko.get("stage2"),
        eval_loss=final_loss,
        bits_per_char=round(bits_per_char(final_loss, data.pack, config.block_size), 4),
        initial_eval_loss=ko["initial"],
        initial_bits_per_char=round(bits_per_char(ko["initial"], data.pack, config.block_size), 4),
        bits_per_char_by_stage=by_stage,
        bits_per_char_curve=bits_curve(config, run.evals, data),
        replay=asdict(data.mix),
        english_validation_characters=data.en_pack.validation_characters if data.en_pack else 0,
        train_tokens_per_s=round(run.tokens / run.seconds, 1) if run.seconds else 0.0,
        train_tokens_per_s_per_device=run.last_throughput.get("tokens_per_s_per_device", 0.0),
        mfu=run.last_throughput.get("mfu"),
        peak=peak_source,
        model_flops_per_token=model_flops_per_token(model_config, config.block_size),
        world_size=world_size(),
        embedding_rows=model_config.vocab_size,
        validation_characters=data.pack.validation_characters,
        seconds=round(seconds, 1),
    )


def bits_per_char(eval_loss: float, pack, block_size: int) -> float:
    """Eval loss (nats per predicted token) as bits per character of the validation text it covered."""
    blocks = pack.validation_tokens // block_size
    predicted = blocks * (block_size - 1)
    covered = pack.validation_tokens / max(pack.validation_tokens + pack.validation_dropped_tokens, 1)
    chars = pack.validation_characters * covered
    return eval_loss * predicted / max(chars, 1) / math.log(2)


def bits_curve(config: PretrainConfig, evals: list[dict], data: PackedData) -> list[dict]:
    """The evaluations as bits per character, with steps counted across stages and tokens trained."""
    packs = {"ko": data.pack, "en": data.en_pack}
    per_step = (
        config.per_device_batch_size * config.gradient_accumulation_steps * world_size() * config.block_size
    )
    offsets = {"stage1": 0, "stage2": config.stage1_steps}
    curve = []
    for point in evals:
        step = offsets[point["stage"]] + point["step"]
        bits = {
            k: round(bits_per_char(point[k], packs[k], config.block_size), 4)
            for k in ("ko", "en")
            if k in point and packs[k] is not None
        }
        curve.append({"stage": point["stage"], "step": step, "tokens": step * per_step, **bits})
    return curve


def stage_bits(losses: dict[str, float], pack, block_size: int) -> dict[str, float]:
    """Bits per character at each point that was measured (initial, stage1, stage2)."""
    order = ("initial", "stage1", "stage2")
    return {
        k: round(bits_per_char(losses[k], pack, block_size), 4) for k in order if losses.get(k) is not None
    }


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

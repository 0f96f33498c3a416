"""The params file as typed sections: one frozen dataclass per section, all loaded together.

Loading validates the whole file, not just the running stage's section, so a bad key anywhere in
params.yaml or a recipe fails before any work starts. The registry names each section's class by
module path and imports only those config modules, when a file is loaded: the plumbing depends on
no stage's code, only on the small config module each stage package owns (and which every stage's
DVC dependencies therefore list, since validating the whole file reads them all).
"""

from __future__ import annotations

import dataclasses
import importlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pipeline.params import (
    ParamsError,
    apply_overrides,
    build_section,
    read_params_file,
    require,
    section_to_dict,
)
from pipeline.source_entry import SourceEntry, check_source_names

if TYPE_CHECKING:  # for readers and type checkers only: loading imports them by name
    from data_prep.config import CleanConfig, CorpusConfig
    from eval.config import EvalConfig
    from tokenizer.config import VocabConfig

DEMO = "demo"
HUB_ID_PATTERN = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


@dataclass(frozen=True)
class BaseConfig:
    """params.yaml `base`: the English-centric Llama model that the pipeline starts from."""

    SECTION: ClassVar[str] = "base"

    # "demo" builds a stand-in for Llama-2 offline in seconds: a Llama-2-format SentencePiece
    # tokenizer trained on English text and a small randomly initialised LlamaForCausalLM.
    # Otherwise a Hub id (meta-llama/Llama-2-7b-hf, meta-llama/Llama-3.1-8B, Qwen/Qwen2-7B) or a
    # local Hugging Face directory, copied as is. Its tokenizer is what the vocab stage extends:
    # a SentencePiece tokenizer.model (Llama-2), or a byte-level BPE: a tokenizer.json, Llama-3's
    # tiktoken tokenizer.model (Llama-3.1 special-token names unless config.json lacks its rope
    # scaling), or vocab.json + merges.txt (the pre-tokenizer from config.json's model_type:
    # qwen2 or gpt2).
    model: str = DEMO
    # Hub branch, tag or commit of a Hub id. Pin a commit hash for a reproducible run.
    revision: str = "main"
    # Seed of the demo model's random weights (the demo tokenizer is deterministic anyway).
    seed: int = 0
    # Demo tokenizer size. Llama-2 has 32,000 pieces; the ~465k characters of English in
    # pydoc_data support at most ~15.5k. Any size keeps Korean in byte fallback, as in Llama-2.
    demo_vocab_size: int = 8000
    # Demo model shape: wider/deeper learns more in the CPU demo's pretraining, costs time.
    demo_hidden_size: int = 64
    demo_intermediate_size: int = 172
    demo_num_layers: int = 2
    demo_num_heads: int = 4
    # Longest sequence of the demo model (Llama-2: 4096); also the tokenizer's model_max_length.
    demo_max_position_embeddings: int = 1024
    # A SentencePiece tokenizer.model for the demo model instead of the one trained on pydoc
    # (e.g. the real Llama-2 tokenizer: a random model of the demo's shape around it); "" trains one.
    demo_tokenizer: str = ""

    def __post_init__(self):
        s = self.SECTION
        require(self.model.strip() != "", f"{s}.model is empty: use 'demo', a Hub id or a local directory")
        require(self.revision.strip() != "", f"{s}.revision is empty: use a branch, tag or commit")
        for name in (
            "demo_vocab_size",
            "demo_hidden_size",
            "demo_intermediate_size",
            "demo_num_layers",
            "demo_num_heads",
            "demo_max_position_embeddings",
        ):
            value = getattr(self, name)
            require(value > 0, f"{s}.{name} = {value}: must be positive")
        # 3 special pieces + 256 byte pieces come first in a Llama-2-format model.
        require(
            self.demo_vocab_size >= 512,
            f"{s}.demo_vocab_size = {self.demo_vocab_size}: must be at least 512 (259 are reserved)",
        )
        require(
            self.demo_hidden_size % self.demo_num_heads == 0,
            f"{s}.demo_hidden_size = {self.demo_hidden_size} must be divisible by "
            f"{s}.demo_num_heads = {self.demo_num_heads}",
        )
        require(
            (self.demo_hidden_size // self.demo_num_heads) % 2 == 0,
            f"{s}.demo_hidden_size / {s}.demo_num_heads = "
            f"{self.demo_hidden_size // self.demo_num_heads}: rotary embeddings need an even head size",
        )

    @property
    def is_demo(self) -> bool:
        return self.model == DEMO

    def source_kind(self) -> str:
        """'demo', 'local' (an existing directory) or 'hub' (an owner/name id)."""
        if self.is_demo:
            return "demo"
        if Path(self.model).expanduser().is_dir():
            return "local"
        if HUB_ID_PATTERN.match(self.model):
            return "hub"
        raise ParamsError(
            f"{self.SECTION}.model = {self.model!r}: not 'demo', not an existing directory, "
            "and not a Hub id of the form owner/name"
        )


def check_runtime_settings(config) -> None:
    """The training-runtime keys pretrain and sft share (pipeline/training.py)."""
    s = config.SECTION
    require(
        config.save_total_limit >= 0,
        f"{s}.save_total_limit = {config.save_total_limit}: 0 (keep all) or more",
    )
    require(
        config.peak_tflops >= 0,
        f"{s}.peak_tflops = {config.peak_tflops}: 0 (by device name) or a TFLOP/s figure",
    )


@dataclass(frozen=True)
class PretrainConfig:
    """params.yaml `pretrain`: continued pretraining of the resized model on the corpus."""

    SECTION: ClassVar[str] = "pretrain"

    # Tokens per training sequence (Llama-2: 4096). Longer sees more context, costs memory.
    block_size: int = 128
    # English replay against forgetting: sources in corpus.sources' format (language: en),
    # written by the corpus stage to data/replay after exact dedup and these length bounds
    # (no Korean quality filter), and their share of the training tokens (seeded interleave of
    # packed blocks). Their held-out documents give English bits per character even at share 0.
    replay_sources: tuple[SourceEntry, ...] = ()
    replay_fraction: float = 0.0
    # Replay documents shorter than replay_min_chars are dropped; longer than replay_max_chars are
    # cut at paragraph breaks (a book becomes many documents, so a held-out share is never empty).
    replay_min_chars: int = 200
    replay_max_chars: int = 100_000
    # Share of documents held out for eval loss and bits per character.
    validation_fraction: float = 0.1
    # Input embedding rows of new tokens: mean of the base pieces' rows for the token's text (EEVE),
    # or Hugging Face's mean_resizing draw around the mean of all old rows (an anchor: it knows
    # nothing of the token; bench/adapt.py compares them).
    input_init: Literal["mean", "hf_mean"] = "mean"
    # lm_head rows of new tokens: mean of the base pieces' rows (as the input rows, EEVE),
    # the first piece's row, or Hugging Face's mean_resizing draw.
    output_init: Literal["mean", "first", "hf_mean"] = "mean"
    # Embedding rows are padded to a multiple of this (tensor-core friendly).
    pad_to_multiple_of: int = 64
    # DeepSpeed ZeRO config (configs/deepspeed/*.json), or "" to train without DeepSpeed.
    deepspeed: str = "configs/deepspeed/zero2.json"
    # Stage 1 trains only the embeddings and lm_head, so the new rows settle before the body moves.
    stage1_steps: int = 20
    stage1_learning_rate: float = 1e-3
    # Stage 2 trains every parameter.
    stage2_steps: int = 20
    learning_rate: float = 3e-4
    # Warmup as a share of each stage's steps; then cosine decay.
    warmup: float = 0.1
    weight_decay: float = 0.0
    # Sequences per device per step, and steps accumulated per optimizer update.
    per_device_batch_size: int = 4
    gradient_accumulation_steps: int = 1
    # Recompute activations in the backward pass: ~30% slower, much less memory.
    gradient_checkpointing: bool = False
    # bf16 on GPUs that support it; fp32 on CPU (bf16 on CPU is ~20-80x slower).
    bf16: Literal["auto", "always", "never"] = "auto"
    # Checkpoint and log intervals in steps; a killed run resumes from the last checkpoint.
    save_steps: int = 10
    logging_steps: int = 5
    # Held-out loss (Korean, and English with replay) every this many steps of each stage, besides
    # its start and end: the bits-per-character curve in the metrics (bits_per_char_curve). 0: at
    # the start and end only. Each point costs one pass over the validation blocks.
    eval_steps: int = 0
    # Checkpoints kept per stage (older ones are deleted; 0 keeps all). They live under
    # $KO_CACHE_DIR/checkpoints, outside the DVC output: a 7B ZeRO-3 checkpoint is ~100 GB.
    save_total_limit: int = 2
    # Attention kernel: sdpa (PyTorch's, flash backend on GPUs), flash_attention_2 (needs the
    # flash-attn package and a CUDA GPU), eager (the reference implementation, slowest).
    attention: Literal["sdpa", "flash_attention_2", "eager"] = "sdpa"
    # Where the Trainer's logs go besides the console and loss.csv: none, tensorboard (events
    # under $KO_CACHE_DIR/checkpoints/<output>/<stage>/runs) or dvclive (live `dvc plots`).
    report_to: Literal["none", "tensorboard", "dvclive"] = "none"
    # Peak dense bf16 TFLOP/s per device for MFU; 0 looks it up by device name (989 for H100
    # SXM and H200). MFU is left out where neither is known (CPU).
    peak_tflops: float = 0.0
    # Attention between the documents packed into one block: cross (a block is one sequence,
    # the usual continued-pretraining setup) or within (position ids restart at each document's
    # <s> and attention stays inside it: block-diagonal mask with sdpa/eager, varlen with FA2).
    document_attention: Literal["cross", "within"] = "cross"
    # Processes for tokenization.
    num_proc: int = 1
    seed: int = 0

    def __post_init__(self):
        s = self.SECTION
        for name in (
            "block_size",
            "per_device_batch_size",
            "gradient_accumulation_steps",
            "save_steps",
            "logging_steps",
            "num_proc",
            "pad_to_multiple_of",
        ):
            require(getattr(self, name) > 0, f"{s}.{name} = {getattr(self, name)}: must be positive")
        check_runtime_settings(self)
        require(self.stage1_steps >= 0 and self.stage2_steps >= 0, f"{s}: stage steps must be >= 0")
        require(self.eval_steps >= 0, f"{s}.eval_steps = {self.eval_steps}: 0 (stage ends only) or more")
        require(self.stage1_steps + self.stage2_steps > 0, f"{s}.stage1_steps and stage2_steps are both 0")
        require(
            0.0 < self.validation_fraction < 0.5,
            f"{s}.validation_fraction = {self.validation_fraction}: must be between 0 and 0.5",
        )
        require(0.0 <= self.warmup < 1.0, f"{s}.warmup = {self.warmup}: a share of steps in [0, 1)")
        require(
            0.0 <= self.replay_fraction < 1.0,
            f"{s}.replay_fraction = {self.replay_fraction}: a share of training tokens in [0, 1)",
        )
        require(
            self.replay_fraction == 0.0 or len(self.replay_sources) > 0,
            f"{s}.replay_fraction = {self.replay_fraction} but {s}.replay_sources is empty",
        )
        require(
            0 < self.replay_min_chars <= self.replay_max_chars,
            f"{s}.replay_min_chars and replay_max_chars: need 0 < min <= max",
        )
        check_source_names(self.replay_sources, f"{s}.replay_sources")


@dataclass(frozen=True)
class InstructionInput:
    """One entry of `sft.inputs`: instruction rows from a file, a directory or the Hub, and their licence."""

    SECTION: ClassVar[str] = "input"

    # A JSON/JSONL file or a directory of them (KoAlpaca, KULLM, self-instruct, chat messages).
    path: str = ""
    # Or a Hugging Face dataset OWNER/NAME (beomi/KoAlpaca-v1.1a, nlpai-lab/kullm-v2).
    hub: str = ""
    # Licence for the model card (cc-by-nc-4.0, apache-2.0); "" for a known set or one declared in
    # publish.data_licenses. A non-commercial licence makes the card's licence non-commercial.
    license: str = ""

    def __post_init__(self):
        s = self.SECTION
        require(bool(self.path) != bool(self.hub), f"{s}: give exactly one of path or hub")
        require(
            not self.hub or HUB_ID_PATTERN.match(self.hub) is not None,
            f"{s}.hub = {self.hub!r}: not OWNER/NAME",
        )

    @property
    def name(self) -> str:
        return self.path or self.hub


LORA_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass(frozen=True)
class SFTConfig:
    """params.yaml `sft`: LoRA instruction tuning of the pretrained model on KoAlpaca/KULLM-style rows."""

    SECTION: ClassVar[str] = "sft"

    # Instruction rows to tune on (--input replaces them). Local files are pinned by the corpus
    # stage (data/pins.json), so DVC reruns sft when one changes.
    inputs: tuple[InstructionInput, ...] = ()
    # Instructions the tuned model answers after training (KULLM's user_oriented_instructions_eval
    # .ko.jsonl); never trained on. "": the held-out rows. --prompts replaces it.
    prompts: str = ""
    # Prompt format, saved as the tokenizer's chat_template: kullm (KULLM/Alpaca-LoRA, Korean
    # preamble), koalpaca (### 질문/### 답변, KoAlpaca v1.1), llama2-chat ([INST] ... [/INST]),
    # llama3-chat (Llama-3's headers and <|eot_id|>) or qwen2-chat (ChatML, <|im_end|>). The last
    # two need the base's own special tokens and make the turn's end token the tokenizer's EOS.
    template: Literal["kullm", "koalpaca", "llama2-chat", "llama3-chat", "qwen2-chat"] = "kullm"
    # Also train on the prompt tokens (KULLM did; KoAlpaca did not). False: loss on answers only.
    train_on_inputs: bool = False
    # Longest example in tokens; longer rows are dropped (counted) or cut to fit (truncate).
    max_length: int = 512
    overlength: Literal["drop", "truncate"] = "drop"
    # Drop rows whose messages equal an earlier row's (spacing ignored), across all inputs.
    dedup: bool = True
    # One weight per --input: 1 uses each row once, 0.5 a seeded half, 2 each row twice; [] all 1.
    weights: tuple[float, ...] = ()
    # Share of rows held out for eval loss and sample generations.
    validation_fraction: float = 0.05
    # Concatenate examples into max_length rows (attention and loss stay within each example):
    # fewer pad tokens, faster on short rows.
    packing: bool = False
    # LoRA rank, scale (alpha / r multiplies the update), dropout and wrapped linear layers.
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    target_modules: tuple[str, ...] = LORA_MODULES
    # Embedding and lm_head rows: new_rows trains the rows the vocab stage added and, for
    # llama3-chat and qwen2-chat, the format's own special tokens (PEFT trainable tokens, saved in
    # the adapter, small), full trains and saves both whole matrices
    # (Chinese-Alpaca; ~2 x vocab x hidden parameters), frozen trains neither.
    embeddings: Literal["new_rows", "full", "frozen"] = "new_rows"
    # QLoRA: the frozen base in 4-bit NF4 (needs a CUDA GPU and bitsandbytes); the merge reloads
    # the base unquantized.
    load_in_4bit: bool = False
    # DeepSpeed ZeRO config (configs/deepspeed/*.json), or "" for none; as in pretraining.
    deepspeed: str = "configs/deepspeed/zero2.json"
    # Passes over the training rows, or a fixed number of optimizer steps (max_steps > 0 wins).
    epochs: float = 3.0
    max_steps: int = 0
    learning_rate: float = 2e-4
    # Warmup as a share of the steps; then cosine decay.
    warmup: float = 0.03
    weight_decay: float = 0.0
    per_device_batch_size: int = 4
    gradient_accumulation_steps: int = 1
    gradient_checkpointing: bool = False
    # bf16 on GPUs that support it; fp32 on CPU.
    bf16: Literal["auto", "always", "never"] = "auto"
    # Checkpoint and log intervals in steps; a killed run resumes from the last checkpoint.
    save_steps: int = 50
    logging_steps: int = 10
    # Checkpoints kept per stage (older ones are deleted; 0 keeps all). They live under
    # $KO_CACHE_DIR/checkpoints, outside the DVC output: a 7B ZeRO-3 checkpoint is ~100 GB.
    save_total_limit: int = 2
    # Attention kernel: sdpa (PyTorch's, flash backend on GPUs), flash_attention_2 (needs the
    # flash-attn package and a CUDA GPU), eager (the reference implementation, slowest).
    attention: Literal["sdpa", "flash_attention_2", "eager"] = "sdpa"
    # Where the Trainer's logs go besides the console and loss.csv: none, tensorboard (events
    # under $KO_CACHE_DIR/checkpoints/<output>/<stage>/runs) or dvclive (live `dvc plots`).
    report_to: Literal["none", "tensorboard", "dvclive"] = "none"
    # Peak dense bf16 TFLOP/s per device for MFU; 0 looks it up by device name (989 for H100
    # SXM and H200). MFU is left out where neither is known (CPU).
    peak_tflops: float = 0.0
    # Held-out instructions answered by the merged model after training (0: none), and how.
    # temperature 0 is greedy decoding.
    sample_count: int = 8
    sample_max_new_tokens: int = 128
    sample_temperature: float = 0.0
    sample_top_p: float = 0.9
    sample_repetition_penalty: float = 1.1
    seed: int = 0

    def __post_init__(self):
        s = self.SECTION
        for name in (
            "max_length",
            "lora_r",
            "lora_alpha",
            "per_device_batch_size",
            "gradient_accumulation_steps",
            "save_steps",
            "logging_steps",
            "sample_max_new_tokens",
        ):
            require(getattr(self, name) > 0, f"{s}.{name} = {getattr(self, name)}: must be positive")
        check_runtime_settings(self)
        require(self.max_length >= 16, f"{s}.max_length = {self.max_length}: at least 16 tokens")
        require(all(w >= 0 for w in self.weights), f"{s}.weights = {list(self.weights)}: must be >= 0")
        require(
            not self.weights or not self.inputs or len(self.weights) == len(self.inputs),
            f"{s}.weights has {len(self.weights)} values for {len(self.inputs)} sft.inputs",
        )
        require(
            0.0 < self.validation_fraction < 0.5,
            f"{s}.validation_fraction = {self.validation_fraction}: must be between 0 and 0.5",
        )
        require(0.0 <= self.lora_dropout < 1.0, f"{s}.lora_dropout = {self.lora_dropout}: in [0, 1)")
        require(len(self.target_modules) > 0, f"{s}.target_modules is empty: LoRA needs a layer to wrap")
        require(self.epochs > 0 or self.max_steps > 0, f"{s}: epochs or max_steps must be positive")
        require(self.max_steps >= 0, f"{s}.max_steps = {self.max_steps}: 0 (use epochs) or more")
        require(0.0 <= self.warmup < 1.0, f"{s}.warmup = {self.warmup}: a share of steps in [0, 1)")
        require(self.sample_count >= 0, f"{s}.sample_count = {self.sample_count}: must be >= 0")
        require(self.sample_temperature >= 0, f"{s}.sample_temperature: must be >= 0 (0: greedy)")
        require(0.0 < self.sample_top_p <= 1.0, f"{s}.sample_top_p = {self.sample_top_p}: in (0, 1]")
        require(self.sample_repetition_penalty > 0, f"{s}.sample_repetition_penalty: must be positive")


SHARD_SIZE_PATTERN = re.compile(r"^\d+(\.\d+)?\s*(KB|KIB|MB|MIB|GB|GIB)$", re.IGNORECASE)
LICENSE_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9.+-]*$")


@dataclass(frozen=True)
class PublishConfig:
    """params.yaml `publish`: where the model goes, what is staged, and the licence facts of its card."""

    SECTION: ClassVar[str] = "publish"

    # Upload the staged folder to the Hub. false: a dry run that stages the folder and lists what
    # would be uploaded. The token comes from HF_TOKEN or `hf auth login`, never from a params file.
    push: bool = False
    # Hub repository OWNER/NAME: needed to push, and named in the card's usage code.
    repo_id: str = ""
    # A repository this creates is private; an existing one keeps its visibility.
    private: bool = True
    # Branch to push to, created from main when missing ("": main).
    revision: str = ""
    # Largest safetensors shard. Smaller shards restart cheaper on a broken upload; more files.
    max_shard_size: str = "5GB"
    # Also stage the LoRA adapter under adapter/ (it applies to the continued-pretraining model,
    # not to the merged one).
    include_adapter: bool = False
    # The card's title ("": the repository's name, else the staging folder's).
    model_name: str = ""
    # Licence of the base weights as a Hub licence id (Llama-2: llama2). It is the card's licence
    # unless training data restricts it further.
    base_license: str = "llama2"
    # Licence of each training source as "NAME=LICENCE"; NAME is an sft --input (path or Hub id)
    # or a label for pretraining text. KoAlpaca (cc-by-nc-4.0) and KULLM (apache-2.0) inputs are
    # known without an entry; any other sft input needs one. A non-commercial licence (cc-by-nc-*)
    # makes the card's licence non-commercial.
    data_licenses: tuple[str, ...] = ()
    # Hub ids of training datasets for the card's `datasets` metadata (sft inputs that are Hub
    # ids are added by themselves).
    datasets: tuple[str, ...] = ()

    def __post_init__(self):
        s = self.SECTION
        require(
            self.repo_id == "" or HUB_ID_PATTERN.match(self.repo_id) is not None,
            f"{s}.repo_id = {self.repo_id!r}: expected OWNER/NAME (letters, digits, '-', '_', '.')",
        )
        require(
            SHARD_SIZE_PATTERN.match(self.max_shard_size) is not None,
            f"{s}.max_shard_size = {self.max_shard_size!r}: expected a size like 5GB or 500MB",
        )
        require(
            LICENSE_ID_PATTERN.match(self.base_license) is not None,
            f"{s}.base_license = {self.base_license!r}: expected a Hub licence id (llama2, apache-2.0)",
        )
        for entry in self.data_licenses:
            name, sep, licence = entry.partition("=")
            require(
                bool(sep and name.strip() and licence.strip()),
                f"{s}.data_licenses: {entry!r} is not NAME=LICENCE (e.g. beomi/KoAlpaca-v1.1a=cc-by-nc-4.0)",
            )
        for dataset in self.datasets:
            require(
                HUB_ID_PATTERN.match(dataset) is not None,
                f"{s}.datasets: {dataset!r} is not a Hub dataset id OWNER/NAME",
            )

    def data_licence_map(self) -> dict[str, str]:
        """data_licenses as NAME -> LICENCE."""
        pairs = (entry.partition("=") for entry in self.data_licenses)
        return {name.strip(): licence.strip() for name, _, licence in pairs}


# Section name -> "module:Class", in params-file order. Each stage package owns its section's class.
SECTIONS: dict[str, str] = {
    "corpus": "data_prep.config:CorpusConfig",
    "clean": "data_prep.config:CleanConfig",
    "base": "pipeline.config:BaseConfig",
    "vocab": "tokenizer.config:VocabConfig",
    "pretrain": "pipeline.config:PretrainConfig",
    "sft": "pipeline.config:SFTConfig",
    "eval": "eval.config:EvalConfig",
    "publish": "pipeline.config:PublishConfig",
}


def section_class(name: str) -> type:
    """The dataclass of section `name`, imported on first use."""
    module, _, cls = SECTIONS[name].partition(":")
    return getattr(importlib.import_module(module), cls)


def section_classes() -> dict[str, type]:
    """Section name -> dataclass, in params-file order."""
    return {name: section_class(name) for name in SECTIONS}


class Params:
    """A whole params file: one validated dataclass per section, as attributes (params.pretrain).

    Sections missing from the file take their defaults.
    """

    corpus: CorpusConfig
    clean: CleanConfig
    base: BaseConfig
    vocab: VocabConfig
    pretrain: PretrainConfig
    sft: SFTConfig
    eval: EvalConfig
    publish: PublishConfig

    def __init__(self, **sections: Any):
        unknown = sorted(set(sections) - set(SECTIONS))
        if unknown:
            raise TypeError(f"unknown section(s) {unknown}")
        for name in SECTIONS:
            value = sections.get(name)
            object.__setattr__(self, name, value if value is not None else section_class(name)())

    def __setattr__(self, name, value):
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")

    def __eq__(self, other) -> bool:
        return isinstance(other, Params) and self.to_dict() == other.to_dict()

    __hash__ = None

    def replace(self, **sections: Any) -> Params:
        """A copy with some sections replaced."""
        return Params(**{**{name: getattr(self, name) for name in SECTIONS}, **sections})

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return {name: section_to_dict(getattr(self, name)) for name in SECTIONS}


def load_params(path: str | Path | None, overrides: Sequence[str] = ()) -> Params:
    """Load and validate a params file (None: all defaults), after applying `section.key=value` overrides."""
    raw = read_params_file(path) if path is not None else {}
    source = str(path) if path is not None else "defaults"
    raw = apply_overrides(raw, overrides)
    unknown = sorted(set(raw) - set(SECTIONS))
    if unknown:
        raise ParamsError(f"{source}: unknown section(s) {', '.join(unknown)}; known: {', '.join(SECTIONS)}")
    classes = section_classes()
    return Params(**{name: build_section(cls, name, raw.get(name), source) for name, cls in classes.items()})

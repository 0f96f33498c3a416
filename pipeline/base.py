"""`ko-base`: put the English-centric base model and its tokenizer in one directory.

With `base.model: demo` it builds a stand-in for Llama-2 offline: a Llama-2-format SentencePiece
BPE tokenizer trained on the English text that ships with Python (pydoc_data), so that Korean
falls back to UTF-8 bytes as it does in Llama-2, and a small randomly initialised
LlamaForCausalLM saved as safetensors. With a Hub id or a local directory it copies that model.
A SentencePiece base (Llama-2) gets its Hugging Face tokenizer files exported from tokenizer.model
by the same code as the demo; a byte-level BPE base (Llama-3's tiktoken tokenizer.model, Qwen2's or
GPT-2's vocab.json + merges.txt, or any byte-level tokenizer.json) is read or converted by
tokenizer/byte_level.py and written as tokenizer.json. The output loads with
AutoModelForCausalLM / AutoTokenizer.from_pretrained.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import struct
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from pipeline.cli import StageError
from pipeline.config import BaseConfig
from pipeline.deps import require_module

log = logging.getLogger("ko.base")

# Files taken from a Hub or local model directory; tokenizer files are re-exported (SentencePiece)
# or read and rewritten (byte-level BPE) instead of copied, so every base of a kind goes through
# one tokenizer code path.
MODEL_FILE_PATTERNS = (
    "config.json",
    "generation_config.json",
    "*.safetensors",
    "model.safetensors.index.json",
)
TOKENIZER_FILES = (
    "tokenizer.model",
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.json",
    "merges.txt",
    "added_tokens.json",
)
HUB_PATTERNS = (*MODEL_FILE_PATTERNS, *TOKENIZER_FILES, "*.bin", "pytorch_model.bin.index.json")


@dataclass(frozen=True)
class BaseReport:
    """What the base stage produced: the stage's metrics."""

    source: str  # demo, local or hub
    model: str
    vocab_size: int  # tokenizer pieces
    embedding_rows: int  # rows of the input embedding matrix (>= vocab_size)
    parameters: int
    hangul_pieces: int  # pieces containing a Hangul syllable: 0 for the demo, a few hundred for Llama-2
    korean_tokens_per_char: float  # on the konlpy constitution: ~3 when Korean is all bytes
    seconds: float


def demo_training_text() -> list[str]:
    """English text that ships with CPython: the pydoc topics (~465k characters), one line per item."""
    from pydoc_data.topics import topics

    return [line for key in sorted(topics) for line in topics[key].splitlines() if line.strip()]


def build_demo_base(config: BaseConfig, output: Path) -> None:
    """Train the demo tokenizer and save a randomly initialised small Llama-2-shaped model to `output`."""
    from tokenizer.hf_export import export_hf_tokenizer
    from tokenizer.spm import read_model, train_llama_style_model, write_model

    if config.demo_tokenizer:
        path = Path(config.demo_tokenizer).expanduser()
        if not path.is_file():
            raise StageError(f"base.demo_tokenizer = {config.demo_tokenizer!r}: no such file")
        log.info("demo model around the tokenizer %s", path)
        proto = read_model(path)
    else:
        log.info(
            "training the demo tokenizer (%d pieces, Llama-2 trainer spec) on pydoc_data",
            config.demo_vocab_size,
        )
        proto = train_llama_style_model(demo_training_text(), config.demo_vocab_size)
    write_model(proto, output / "tokenizer.model")
    export_hf_tokenizer(
        output / "tokenizer.model", output, model_max_length=config.demo_max_position_embeddings
    )

    require_module("transformers", extra="model")
    require_module("torch", extra="model", pip_name="torch")
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    trainer = proto.trainer_spec
    model_config = LlamaConfig(
        vocab_size=len(proto.pieces),
        hidden_size=config.demo_hidden_size,
        intermediate_size=config.demo_intermediate_size,
        num_hidden_layers=config.demo_num_layers,
        num_attention_heads=config.demo_num_heads,
        num_key_value_heads=config.demo_num_heads,
        max_position_embeddings=config.demo_max_position_embeddings,
        rms_norm_eps=1e-5,  # Llama-2's
        tie_word_embeddings=False,  # Llama-2's input and output embeddings are separate matrices
        bos_token_id=trainer.bos_id,
        eos_token_id=trainer.eos_id,
        pad_token_id=None,
    )
    torch.manual_seed(config.seed)
    model = LlamaForCausalLM(model_config)
    log.info("saving a random %d-parameter LlamaForCausalLM", sum(p.numel() for p in model.parameters()))
    model.save_pretrained(output)


def resolve_source_dir(config: BaseConfig) -> Path:
    """The local directory of a Hub id (downloaded into the HF cache) or of a local model."""
    if config.source_kind() == "local":
        return Path(config.model).expanduser()
    require_module("huggingface_hub", extra="model")
    from huggingface_hub import snapshot_download

    log.info(
        "fetching %s@%s from the Hugging Face Hub (HF_TOKEN for gated models)", config.model, config.revision
    )
    try:
        return Path(
            snapshot_download(config.model, revision=config.revision, allow_patterns=list(HUB_PATTERNS))
        )
    except Exception as exc:  # offline, gated, missing repo or revision: all end the stage the same way
        raise StageError(
            f"base.model = {config.model!r}@{config.revision}: could not fetch it from the Hub "
            f"({type(exc).__name__}: {exc}). Log in or set HF_TOKEN for gated models, or point "
            "base.model at a local directory."
        ) from exc


def copy_base(config: BaseConfig, output: Path) -> None:
    """Copy a Hub or local model into `output` with its tokenizer as Hugging Face files."""
    from tokenizer.byte_level import tokenizer_kind

    source = resolve_source_dir(config)
    if not (source / "config.json").is_file():
        raise StageError(f"base.model = {config.model!r}: {source} has no config.json")
    try:
        kind = tokenizer_kind(source)
    except ValueError as exc:
        raise StageError(
            f"base.model = {config.model!r}: {exc}; the vocab stage extends a SentencePiece model "
            "(Llama-2) or a byte-level BPE (Llama-3, Qwen2, GPT-2)"
        ) from exc
    if any(source.glob("*.safetensors")):
        for pattern in MODEL_FILE_PATTERNS:
            for path in sorted(source.glob(pattern)):
                _link_or_copy(path, output / path.name)
    else:
        # Only PyTorch .bin weights: load once and save as safetensors.
        require_module("transformers", extra="model")
        from transformers import AutoModelForCausalLM

        log.info("%s has no safetensors; converting its weights", source)
        AutoModelForCausalLM.from_pretrained(source, dtype="auto").save_pretrained(output)
    model_config = json.loads((source / "config.json").read_text())
    positions = model_config.get("max_position_embeddings") or model_config.get("n_positions") or 4096
    write_tokenizer(source, output, kind, int(positions))


def write_tokenizer(source: Path, output: Path, kind: str, max_length: int) -> None:
    """The base's tokenizer as HF files: exported from tokenizer.model (SentencePiece), or read or
    converted (byte-level BPE) and saved as tokenizer.json."""
    if kind == "sentencepiece":
        from tokenizer.hf_export import export_hf_tokenizer

        export_hf_tokenizer(source / "tokenizer.model", output, model_max_length=max_length)
        return
    from tokenizer.byte_level import load_byte_level, save_byte_level

    try:
        base = load_byte_level(source)
    except ValueError as exc:
        raise StageError(f"base tokenizer in {source}: {exc}") from exc
    save_byte_level(base, output, model_max_length=max_length)
    log.info("byte-level BPE tokenizer (%s, %d ids) written as tokenizer.json", base.kind, base.size())


def _link_or_copy(src: Path, dst: Path) -> None:
    """Hard-link when possible (a 13 GB checkpoint costs no space), else copy."""
    dst.unlink(missing_ok=True)
    try:
        os.link(src.resolve(), dst)
    except OSError:
        shutil.copyfile(src, dst)


def count_parameters(model_dir: Path) -> int:
    """Parameters in the safetensors files of `model_dir`, read from their headers (no weights loaded)."""
    total = 0
    for path in sorted(model_dir.glob("*.safetensors")):
        with open(path, "rb") as f:
            (header_len,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(header_len))
        for name, entry in header.items():
            if name != "__metadata__":
                count = 1
                for dim in entry["shape"]:
                    count *= dim
                total += count
    return total


def describe_base(config: BaseConfig, output: Path, seconds: float) -> BaseReport:
    """Metrics of a finished base directory."""
    from data_prep.demo_corpus import konlpy_documents

    probe = "".join(d.text for d in konlpy_documents() if d.source.startswith("konlpy/kolaw"))
    if (output / "tokenizer.model").is_file():
        import sentencepiece as spm

        sp = spm.SentencePieceProcessor(model_file=str(output / "tokenizer.model"))
        pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
        probe_tokens = len(sp.encode(probe))
    else:
        pieces, probe_tokens = byte_level_pieces(output, probe)
    model_config = json.loads((output / "config.json").read_text())
    return BaseReport(
        source=config.source_kind(),
        model=config.model,
        vocab_size=len(pieces),
        embedding_rows=int(model_config["vocab_size"]),
        parameters=count_parameters(output),
        hangul_pieces=sum(any("\uac00" <= ch <= "\ud7a3" for ch in p) for p in pieces),
        korean_tokens_per_char=round(probe_tokens / len(probe), 4),
        seconds=round(seconds, 2),
    )


def byte_level_pieces(output: Path, probe: str) -> tuple[list[str], int]:
    """The text of every id of a byte-level tokenizer.json (partial characters dropped, added tokens
    as written), and its token count for `probe`."""
    from tokenizers import Tokenizer

    from tokenizer.byte_level import token_bytes

    tok = Tokenizer.from_file(str(output / "tokenizer.json"))
    vocab = tok.get_vocab(with_added_tokens=True)
    added = {t.content for t in tok.get_added_tokens_decoder().values()}
    pieces = [t if t in added else token_bytes(t).decode("utf-8", "ignore") for t in vocab]
    return pieces, len(tok.encode(probe, add_special_tokens=False).ids)


def prepare_base(config: BaseConfig, output: Path) -> BaseReport:
    """Build (demo) or copy (Hub id, local directory) the base model into `output`; return its report."""
    start = time.perf_counter()
    if output.exists():
        shutil.rmtree(output)
    output.mkdir(parents=True)
    if config.is_demo:
        build_demo_base(config, output)
    else:
        copy_base(config, output)
    return describe_base(config, output, time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    """Console entry point of `ko-base`."""
    from pipeline.cli import run_stage, stage_parser, write_metrics, write_resolved

    parser = stage_parser(
        "base",
        __doc__,
        BaseConfig,
        output_default="models/base",
        model="'demo', a Hub id or a local Hugging Face directory (overrides base.model)",
        model_key="model",
    )

    def body(args, params):
        output = Path(args.output)
        report = prepare_base(params.base, output)
        write_resolved(output, "base", params, "base", {"output": str(output)})
        write_metrics(Path(args.metrics or output / "metrics.json"), asdict(report))
        print(f"base model ready in {output}: {report.parameters:,} parameters, {report.vocab_size:,} pieces")

    return run_stage(parser, argv, body)


if __name__ == "__main__":
    raise SystemExit(main())

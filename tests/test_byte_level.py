"""Byte-level BPE bases on the real Llama-3, Qwen2 and GPT-2 files: conversion, the base stage with
tiny models built from a config, and the vocab stage's Korean merges with their proofs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import shared_path
from tokenizer.byte_level import (
    encode_twin,
    load_byte_level,
    tiktoken_encoding,
    token_bytes,
    tokenizer_kind,
)

LLAMA3_IDS = 128256  # 128,000 ranks + 256 special tokens
QWEN2_IDS = 151646  # 151,643 + <|endoftext|> <|im_start|> <|im_end|>
GPT2_IDS = 50257


@pytest.fixture(scope="session")
def byte_level_files() -> dict[str, Path]:
    return {
        "llama3": shared_path("tokenizers", "llama3", "tokenizer.model"),
        "qwen2": shared_path("tokenizers", "qwen2"),
        "gpt2": shared_path("tokenizers", "gpt2"),
    }


@pytest.fixture(scope="session")
def byte_level_bases(byte_level_files):
    return {
        "llama3": load_byte_level(byte_level_files["llama3"]),
        "qwen2": load_byte_level(byte_level_files["qwen2"], "qwen2"),
        "gpt2": load_byte_level(byte_level_files["gpt2"]),
    }


@pytest.fixture(scope="session")
def english_lines() -> list[str]:
    from tokenizer.probes import english_probe

    return english_probe()


def test_conversions_give_the_published_ids(byte_level_bases):
    llama3, qwen2, gpt2 = (byte_level_bases[k] for k in ("llama3", "qwen2", "gpt2"))
    # Meta's own test (llama/test_tokenizer.py): BOS from the post-processor, EOS by id.
    expected = [128000, 2028, 374, 264, 1296, 11914, 13]
    assert llama3.tokenizer.encode("This is a test sentence.").ids == expected
    assert llama3.tokenizer.token_to_id("<|end_of_text|>") == 128001
    assert llama3.tokenizer.token_to_id("<|eot_id|>") == 128009
    assert gpt2.tokenizer.encode("Hello world").ids == [15496, 995]
    assert qwen2.tokenizer.encode("Hello world").ids == [9707, 1879]
    assert qwen2.tokenizer.token_to_id("<|im_end|>") == 151645
    sizes = {k: b.size() for k, b in byte_level_bases.items()}
    assert sizes == {"llama3": LLAMA3_IDS, "qwen2": QWEN2_IDS, "gpt2": GPT2_IDS}


@pytest.mark.parametrize("kind", ["llama3", "qwen2", "gpt2"])
def test_tiktoken_gives_the_same_ids(kind, byte_level_bases, korean_lines, edge_lines, english_lines):
    base = byte_level_bases[kind]
    lines = [*korean_lines, *edge_lines, *english_lines]
    hf = [e.ids for e in base.tokenizer.encode_batch(lines, add_special_tokens=False)]
    assert encode_twin(tiktoken_encoding(base), base, lines) == hf
    # Byte-level BPE never loses a byte.
    assert base.tokenizer.decode_batch(hf[:500]) == lines[:500]


def test_kinds_are_told_apart(byte_level_files, llama2_sp_model, tmp_path):
    assert tokenizer_kind(llama2_sp_model) == "sentencepiece"
    assert tokenizer_kind(llama2_sp_model.parent) == "sentencepiece"
    assert tokenizer_kind(byte_level_files["llama3"]) == "byte_level"
    assert tokenizer_kind(byte_level_files["qwen2"]) == "byte_level"
    with pytest.raises(ValueError, match="no tokenizer found"):
        tokenizer_kind(tmp_path)
    # vocab.json + merges.txt alone do not say which pre-tokenizer: the family must be named.
    with pytest.raises(ValueError, match="qwen2 or gpt2"):
        load_byte_level(byte_level_files["qwen2"])


# ---------------------------------------------------------------- the base stage on tiny models


def tiny_model_dir(kind: str, root: Path, files: dict[str, Path]) -> Path:
    """A random 1-layer model of the family, saved from a config, beside the real tokenizer files."""
    import torch
    from transformers import (
        GPT2Config,
        GPT2LMHeadModel,
        LlamaConfig,
        LlamaForCausalLM,
        Qwen2Config,
        Qwen2ForCausalLM,
    )

    torch.manual_seed(0)
    small = {"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2}
    if kind == "llama3":
        rope = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0}
        rope |= {"original_max_position_embeddings": 8192, "rope_theta": 500000.0}
        config = LlamaConfig(
            vocab_size=LLAMA3_IDS, rope_scaling=rope, max_position_embeddings=131072, **small
        )
        model = LlamaForCausalLM(config)
    elif kind == "qwen2":
        model = Qwen2ForCausalLM(Qwen2Config(vocab_size=151936, tie_word_embeddings=True, **small))
    else:
        model = GPT2LMHeadModel(GPT2Config(n_embd=16, n_layer=1, n_head=2, n_positions=256))
    folder = root / kind
    model.save_pretrained(folder)
    source = files[kind]
    for path in [source] if source.is_file() else sorted(source.glob("*")):
        if path.suffix in (".model", ".json", ".txt", ".bpe"):
            shutil.copyfile(path, folder / path.name)
    return folder


@pytest.fixture(scope="module")
def byte_level_base_dirs(tmp_path_factory, byte_level_files) -> dict[str, Path]:
    """Each family's tiny model through the base stage (ko-base on a local directory)."""
    from pipeline.base import prepare_base
    from pipeline.config import BaseConfig

    root = tmp_path_factory.mktemp("bbpe-models")
    out = {}
    for kind in ("llama3", "qwen2", "gpt2"):
        source = tiny_model_dir(kind, root / "src", byte_level_files)
        out[kind] = root / "base" / kind
        report = prepare_base(BaseConfig(model=str(source)), out[kind])
        assert report.source == "local" and report.hangul_pieces > (0 if kind != "gpt2" else -1)
    return out


@pytest.mark.parametrize("kind", ["llama3", "qwen2", "gpt2"])
def test_base_stage_writes_the_tokenizer_as_hf_files(
    kind, byte_level_base_dirs, byte_level_bases, korean_lines
):
    from transformers import AutoTokenizer

    folder = byte_level_base_dirs[kind]
    assert tokenizer_kind(folder) == "byte_level" and not (folder / "tokenizer.model").exists()
    tok = AutoTokenizer.from_pretrained(folder)
    base = byte_level_bases[kind]
    assert len(tok) == base.size()
    lines = korean_lines[:300]
    expected = [e.ids for e in base.tokenizer.encode_batch(lines, add_special_tokens=False)]
    assert [tok(line, add_special_tokens=False)["input_ids"] for line in lines] == expected
    config = json.loads((folder / "tokenizer_config.json").read_text())
    if kind == "llama3":  # Llama-3.1 names (the config's rope scaling), BOS added like Meta's
        assert tok("안녕")["input_ids"][0] == 128000 and tok.eos_token == "<|end_of_text|>"
        assert tok.convert_ids_to_tokens(128008) == "<|eom_id|>"
    if kind == "qwen2":
        assert tok.bos_token is None and config["eos_token"] == config["pad_token"] == "<|endoftext|>"
        assert tok("안녕")["input_ids"] == base.tokenizer.encode("안녕").ids  # no BOS
    metrics_tokens_per_char = {"llama3": 0.75, "qwen2": 0.85, "gpt2": 2.5}[kind]
    korean = "".join(korean_lines[:200])
    assert len(tok(korean, add_special_tokens=False)["input_ids"]) / len(korean) < metrics_tokens_per_char


def test_token_bytes_round_trip(byte_level_bases):
    vocab = byte_level_bases["gpt2"].vocab()
    assert token_bytes("Ġworld") == b" world" and vocab["Ġworld"] == 995

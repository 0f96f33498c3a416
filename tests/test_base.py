"""The base stage: demo build, local copy, clear failures, and checkpoints that load with Auto*."""

from __future__ import annotations

import json

import pytest
import sentencepiece as spm

from pipeline.base import count_parameters, prepare_base
from pipeline.cli import StageError
from pipeline.config import BaseConfig
from tests.conftest import tiny_llama


def test_demo_base_loads_with_auto_classes_and_generates(demo_base):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(demo_base)
    tok = AutoTokenizer.from_pretrained(demo_base)
    assert type(model).__name__ == "LlamaForCausalLM"
    config = model.config
    assert config.vocab_size == len(tok) == 8000
    assert (config.bos_token_id, config.eos_token_id) == (tok.bos_token_id, tok.eos_token_id) == (1, 2)
    # Llama-2 keeps input embeddings and lm_head separate; later stages resize both.
    assert not config.tie_word_embeddings
    assert model.get_input_embeddings().weight.data_ptr() != model.get_output_embeddings().weight.data_ptr()
    inputs = tok("대한민국은 민주공화국이다.", return_tensors="pt")
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=5, do_sample=False)
    assert out.shape[1] == inputs["input_ids"].shape[1] + 5
    assert count_parameters(demo_base) == sum(p.numel() for p in model.parameters())


def test_demo_metrics_describe_a_byte_fallback_base(demo_base):
    from pipeline.base import describe_base

    report = describe_base(BaseConfig(), demo_base, 0.0)
    assert report.hangul_pieces == 0
    # Each Hangul syllable costs 3 byte tokens; spaces and digits bring the average down a little.
    assert report.korean_tokens_per_char > 2.0
    assert report.vocab_size == report.embedding_rows == 8000


def test_demo_base_is_reproducible(demo_base, tmp_path):
    prepare_base(BaseConfig(), tmp_path / "again")
    for name in ("model.safetensors", "tokenizer.model", "tokenizer.json", "config.json"):
        assert (tmp_path / "again" / name).read_bytes() == (demo_base / name).read_bytes(), name


def test_local_directory_is_copied_and_loads(demo_base, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM

    report = prepare_base(BaseConfig(model=str(demo_base)), tmp_path / "copy")
    assert report.source == "local"
    ids = torch.tensor([[1, 300, 400, 500]])
    with torch.no_grad():
        a = AutoModelForCausalLM.from_pretrained(demo_base)(ids).logits
        b = AutoModelForCausalLM.from_pretrained(tmp_path / "copy")(ids).logits
    assert torch.equal(a, b)


def test_real_llama2_tokenizer_goes_through_the_base_stage(llama2_sp_model, korean_lines, tmp_path):
    """A local Llama-2-format model dir (tiny weights, the real tokenizer) takes the same export path."""
    from transformers import AutoTokenizer

    source = tmp_path / "tiny-llama2"
    tiny_llama().save_pretrained(source)
    (source / "tokenizer.model").write_bytes(llama2_sp_model.read_bytes())
    (source / "tokenizer.json").write_text("{}")  # a stale/foreign file that must not be used

    report = prepare_base(BaseConfig(model=str(source)), tmp_path / "base")
    assert report.vocab_size == 32000 and report.hangul_pieces > 0
    assert 1.0 < report.korean_tokens_per_char < 2.0  # Llama-2: ~1.45 tokens per Korean character
    tok = AutoTokenizer.from_pretrained(tmp_path / "base")
    sp = spm.SentencePieceProcessor(model_file=str(llama2_sp_model))
    assert all(tok(line, add_special_tokens=False)["input_ids"] == sp.encode(line) for line in korean_lines)
    assert tok.model_max_length == 4096


def test_pytorch_bin_weights_are_converted_to_safetensors(demo_base, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM

    source = tmp_path / "bin-only"
    source.mkdir()
    model = AutoModelForCausalLM.from_pretrained(demo_base)
    torch.save(model.state_dict(), source / "pytorch_model.bin")
    for name in ("config.json", "tokenizer.model"):
        (source / name).write_bytes((demo_base / name).read_bytes())
    prepare_base(BaseConfig(model=str(source)), tmp_path / "base")
    assert (tmp_path / "base" / "model.safetensors").is_file()
    assert count_parameters(tmp_path / "base") == sum(p.numel() for p in model.parameters())


def test_directory_without_a_tokenizer_is_refused(demo_base, tmp_path):
    source = tmp_path / "no-spm"
    source.mkdir()
    (source / "config.json").write_text((demo_base / "config.json").read_text())
    with pytest.raises(StageError, match="no tokenizer found .*SentencePiece tokenizer.model.*byte-level"):
        prepare_base(BaseConfig(model=str(source)), tmp_path / "base")


def test_unreachable_hub_model_fails_with_advice(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    import huggingface_hub.constants as constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf-home" / "hub"))
    with pytest.raises(StageError, match=r"could not fetch it from the Hub .*HF_TOKEN"):
        prepare_base(BaseConfig(model="meta-llama/Llama-2-7b-hf"), tmp_path / "base")


def test_cli_writes_metrics_and_resolved_params(tmp_path, demo_base):
    from pipeline.base import main
    from pipeline.config import load_params

    out, metrics = tmp_path / "base", tmp_path / "metrics" / "base.json"
    assert main(["--model", str(demo_base), "--output", str(out), "--metrics", str(metrics), "-q"]) == 0
    data = json.loads(metrics.read_text())
    assert data["source"] == "local" and data["parameters"] > 0
    resolved = tmp_path / "resolved.yaml"
    import yaml

    saved = yaml.safe_load((out / "resolved_params.yaml").read_text())
    assert saved["base"]["model"] == str(demo_base)
    resolved.write_text(yaml.safe_dump({"base": saved["base"]}))
    assert load_params(resolved).base.model == str(demo_base)

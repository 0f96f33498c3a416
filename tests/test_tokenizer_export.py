"""The HF export gives SentencePiece's ids exactly, for the demo tokenizer and the real Llama-2 one."""

from __future__ import annotations

import io

import pytest
import sentencepiece as spm

from tokenizer.hf_export import export_hf_tokenizer
from tokenizer.spm import BYTE, LLAMA2_TRAINER_SPEC, read_model

TRAINER_KEYS = [
    k
    for k in LLAMA2_TRAINER_SPEC
    if k not in ("normalization_rule_name", "add_dummy_prefix", "remove_extra_whitespaces")
]


def _load(directory):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(directory)


def test_demo_tokenizer_has_llama2_trainer_and_normalizer_spec(demo_base, llama2_sp_model):
    demo, real = read_model(demo_base / "tokenizer.model"), read_model(llama2_sp_model)
    for key in TRAINER_KEYS:
        assert getattr(demo.trainer_spec, key) == getattr(real.trainer_spec, key), key
    assert demo.normalizer_spec.name == real.normalizer_spec.name == "identity"
    assert demo.normalizer_spec.add_dummy_prefix and not demo.normalizer_spec.remove_extra_whitespaces
    # Same layout of the first ids: <unk> <s> </s>, then the 256 byte pieces.
    assert [p.piece for p in demo.pieces[:259]] == [p.piece for p in real.pieces[:259]]
    assert all(p.type == BYTE for p in demo.pieces[3:259])


def test_demo_tokenizer_falls_back_to_bytes_on_hangul(demo_base, korean_lines):
    sp = spm.SentencePieceProcessor(model_file=str(demo_base / "tokenizer.model"))
    pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
    assert not any("\uac00" <= ch <= "\ud7a3" for piece in pieces for ch in piece)
    text = "대한민국 헌법"
    tokens = sp.encode(text, out_type=str)
    # Each of the 6 syllables is 3 UTF-8 bytes, each a <0x..> piece; plus two "▁".
    assert sum(t.startswith("<0x") for t in tokens) == 18
    assert sp.unk_id() not in sp.encode(" ".join(korean_lines[:200]))
    for line in korean_lines[:200]:
        assert sp.decode(sp.encode(line)) == line


@pytest.mark.parametrize("which", ["demo", "llama2"])
def test_hf_ids_equal_sentencepiece_ids(
    which, demo_base, llama2_sp_model, korean_lines, edge_lines, tmp_path
):
    from pydoc_data.topics import topics

    sp_model = demo_base / "tokenizer.model" if which == "demo" else llama2_sp_model
    out = export_hf_tokenizer(sp_model, tmp_path / which, model_max_length=4096)
    tok, sp = _load(out), spm.SentencePieceProcessor(model_file=str(sp_model))
    english = [line for key in ("if", "for", "function", "class") for line in topics[key].splitlines()]
    lines = korean_lines + english + edge_lines
    mismatched = [
        line for line in lines if tok(line, add_special_tokens=False)["input_ids"] != sp.encode(line)
    ]
    assert mismatched == []
    undecoded = [line for line in lines if tok.decode(sp.encode(line)) != sp.decode(sp.encode(line))]
    assert undecoded == []


def test_llama2_export_adds_bos_like_llama2(llama2_sp_model, tmp_path):
    tok = _load(export_hf_tokenizer(llama2_sp_model, tmp_path, model_max_length=4096))
    assert (tok.bos_token_id, tok.eos_token_id, tok.unk_token_id, tok.pad_token) == (1, 2, 0, None)
    assert tok("안녕")["input_ids"][0] == 1
    assert tok("a", "b")["input_ids"] == [
        1,
        *tok.encode("a", add_special_tokens=False),
        1,
        *tok.encode("b", add_special_tokens=False),
    ]
    assert tok.model_max_length == 4096
    assert (tmp_path / "tokenizer.model").read_bytes() == llama2_sp_model.read_bytes()


def test_export_refuses_a_unigram_model(tmp_path):
    from pipeline.base import demo_training_text

    buffer = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(demo_training_text()[:2000]),
        model_writer=buffer,
        vocab_size=400,
        model_type="unigram",
        minloglevel=2,
    )
    path = tmp_path / "unigram.model"
    path.write_bytes(buffer.getvalue())
    with pytest.raises(ValueError, match="only BPE SentencePiece models"):
        export_hf_tokenizer(path, tmp_path / "out", model_max_length=128)


def test_read_model_rejects_a_non_model_file(tmp_path):
    junk = tmp_path / "tokenizer.model"
    junk.write_bytes(b"\x00not a model at all")
    with pytest.raises(ValueError, match="not a SentencePiece model"):
        read_model(junk)

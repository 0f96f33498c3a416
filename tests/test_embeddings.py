"""Resizing to the extended tokenizer: old rows kept, new rows = mean of the base pieces' rows (EEVE)."""

from __future__ import annotations

import pytest
import sentencepiece as spm

from pipeline.embeddings import base_piece_ids, init_new_embeddings
from tests.conftest import tiny_llama
from tokenizer.config import VocabConfig
from tokenizer.spm import read_model
from tokenizer.vocab import extend_vocab

ADDED = 300


@pytest.fixture(scope="module")
def extended_model(tmp_path_factory, korean_lines, llama2_sp_model):
    corpus = tmp_path_factory.mktemp("emb") / "ko.txt"
    corpus.write_text("\n".join(korean_lines) + "\n", encoding="utf-8")
    out = corpus.parent / "tok"
    config = VocabConfig(target_vocab_size=32000 + ADDED, train_vocab_size=4000, cache_dir="", processes=1)
    extend_vocab(config, [corpus], str(llama2_sp_model), out, progress=False)
    return out / "tokenizer.model"


def test_base_piece_ids_spell_each_piece_exactly(llama2_sp_model, extended_model):
    sp = spm.SentencePieceProcessor(model_file=str(llama2_sp_model))
    pieces = [p.piece for p in read_model(extended_model).pieces[32000:]]
    ids = base_piece_ids(llama2_sp_model, pieces)
    for piece, piece_ids in zip(pieces, ids, strict=True):
        assert all(i < 32000 for i in piece_ids)
        if piece.startswith("\u2581"):
            # A word-initial piece is what SentencePiece itself gives for the word (dummy prefix).
            assert piece_ids == sp.encode(piece[1:].replace("\u2581", " "))
        else:
            assert sp.decode(piece_ids) == piece.replace("\u2581", " ")
            assert sp.id_to_piece(piece_ids[0]) != "\u2581"


def test_new_rows_are_the_mean_of_base_rows_and_old_rows_stay(llama2_sp_model, extended_model):
    import torch

    model = tiny_llama()
    before_in = model.get_input_embeddings().weight.detach().clone()
    before_out = model.get_output_embeddings().weight.detach().clone()
    report = init_new_embeddings(model, llama2_sp_model, extended_model)
    assert report.tokenizer_size == 32000 + ADDED and report.rows == 32320  # padded to a multiple of 64
    assert report.initialised == ADDED and not report.tied
    inputs = model.get_input_embeddings().weight.detach()
    outputs = model.get_output_embeddings().weight.detach()
    assert inputs.shape[0] == outputs.shape[0] == model.config.vocab_size == 32320
    assert torch.equal(inputs[:32000], before_in) and torch.equal(outputs[:32000], before_out)
    pieces = [p.piece for p in read_model(extended_model).pieces[32000:]]
    for offset, ids in enumerate(base_piece_ids(llama2_sp_model, pieces)):
        row = 32000 + offset
        assert torch.allclose(inputs[row], before_in[ids].mean(dim=0))
        assert torch.allclose(outputs[row], before_out[ids].mean(dim=0))


@pytest.mark.parametrize("mode", ["first", "hf_mean"])
def test_output_row_modes(mode, llama2_sp_model, extended_model):
    import torch

    model = tiny_llama()
    before_out = model.get_output_embeddings().weight.detach().clone()
    init_new_embeddings(model, llama2_sp_model, extended_model, output_init=mode)
    outputs = model.get_output_embeddings().weight.detach()
    pieces = [p.piece for p in read_model(extended_model).pieces[32000:]]
    ids = base_piece_ids(llama2_sp_model, pieces)
    firsts = torch.stack([before_out[i[0]] for i in ids])
    means = torch.stack([before_out[i].mean(dim=0) for i in ids])
    if mode == "first":
        assert torch.equal(outputs[32000 : 32000 + ADDED], firsts)
    else:  # HF's draw around the old mean: neither the per-token mean nor the first piece
        assert not torch.allclose(outputs[32000 : 32000 + ADDED], means)
        assert not torch.allclose(outputs[32000 : 32000 + ADDED], firsts)


def test_tied_model_and_checkpoint_round_trip(llama2_sp_model, extended_model, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM

    model = tiny_llama(tied=True)
    report = init_new_embeddings(model, llama2_sp_model, extended_model)
    assert report.tied
    assert torch.equal(model.get_output_embeddings().weight, model.get_input_embeddings().weight)
    model.save_pretrained(tmp_path)
    again = AutoModelForCausalLM.from_pretrained(tmp_path)
    assert torch.equal(again.get_input_embeddings().weight, model.get_input_embeddings().weight)
    logits = again(torch.tensor([[1, 32000 + ADDED - 1, 32010]])).logits
    assert logits.shape == (1, 3, 32320) and torch.isfinite(logits).all()


def test_a_tokenizer_that_moved_ids_is_refused(llama2_sp_model, demo_base):
    with pytest.raises(ValueError, match="does not start with the base tokenizer's pieces"):
        init_new_embeddings(tiny_llama(), llama2_sp_model, demo_base / "tokenizer.model")


def test_input_rows_from_hf_draw_know_nothing_of_the_token(llama2_sp_model, extended_model):
    """input_init hf_mean (the adaptation bench's anchor): new input rows are Hugging Face's draw
    around the old rows' mean, not each token's pieces' mean; old rows and mean output rows as before."""
    import torch

    torch.manual_seed(0)
    model = tiny_llama()
    before_in = model.get_input_embeddings().weight.detach().clone()
    before_out = model.get_output_embeddings().weight.detach().clone()
    init_new_embeddings(model, llama2_sp_model, extended_model, input_init="hf_mean")
    inputs = model.get_input_embeddings().weight.detach()
    outputs = model.get_output_embeddings().weight.detach()
    pieces = [p.piece for p in read_model(extended_model).pieces[32000:]]
    ids = base_piece_ids(llama2_sp_model, pieces)
    means_in = torch.stack([before_in[i].mean(dim=0) for i in ids])
    means_out = torch.stack([before_out[i].mean(dim=0) for i in ids])
    new = inputs[32000 : 32000 + ADDED]
    assert torch.equal(inputs[:32000], before_in)
    assert not torch.allclose(new, means_in, atol=1e-3)
    # the draw is centred on the old rows' mean, which the per-token means are not tied to
    assert torch.allclose(new.mean(dim=0), before_in.mean(dim=0), atol=3 * new.std(dim=0).max() / ADDED**0.5)
    assert torch.allclose(outputs[32000 : 32000 + ADDED], means_out)

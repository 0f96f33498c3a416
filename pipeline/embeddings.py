"""Resize a Llama model to an extended tokenizer and initialise the new rows from the old ones.

EEVE's recipe: the input embedding of a new token is the mean of the base embeddings of the base
tokenizer's pieces for the same text ("▁대한민국" -> the bytes and pieces Llama-2 would use), or,
for comparison, Hugging Face's `mean_resizing` draw (around the mean of all old rows, the same for
every new token's distribution). The output (lm_head) rows take the same mean, the first piece's
row, or Hugging Face's draw. Llama-2's input and output embeddings are separate matrices; tied models
are handled too. Original rows are never touched. The pretrain stage calls this before training.

A byte-level BPE base (Llama-3, Qwen2, GPT-2) is handled the same way: a new token's bytes
(" 대한", or part of a character) are encoded by the base's own BPE model as one pre-token, and
its rows are the mean of those tokens' rows. Its new tokens may fall in rows the model already
has (Qwen2 pads 151,646 ids to 151,936 rows): those unused rows are initialised too, and the
matrix never shrinks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pipeline.deps import require_module

OutputInit = Literal["mean", "first", "hf_mean"]
InputInit = Literal["mean", "hf_mean"]


@dataclass(frozen=True)
class ResizeReport:
    """What init_new_embeddings did."""

    base_rows: int  # embedding rows before
    tokenizer_size: int  # pieces of the extended tokenizer
    rows: int  # embedding rows after (tokenizer_size padded to pad_to_multiple_of)
    initialised: int  # new tokens given a mean of base rows
    without_base_pieces: int  # new tokens whose text the base encodes to nothing (kept HF's init)
    tied: bool


def base_piece_ids(base_sp_model: str | Path, pieces: list[str]) -> list[list[int]]:
    """For each piece ("▁대한", "민국"), the base model's ids for exactly that text.

    SentencePiece would add its dummy "▁" to a piece that does not start a word, so the pieces
    are encoded with the base's own vocabulary and merges but without the dummy prefix.
    """
    require_module("tokenizers", extra="tokenizer")
    from tokenizers import normalizers

    from tokenizer.hf_export import SPACE, build_hf_tokenizer
    from tokenizer.spm import read_model

    tok = build_hf_tokenizer(read_model(base_sp_model), add_bos=False)
    tok.normalizer = normalizers.Replace(" ", SPACE)
    return [
        enc.ids for enc in tok.encode_batch([p.replace(SPACE, " ") for p in pieces], add_special_tokens=False)
    ]


def byte_level_sources(
    base_tokenizer: str | Path, extended_tokenizer: str | Path
) -> tuple[int, list[list[int]]]:
    """The base's size and, for each id of the extended byte-level tokenizer past it, the base's ids
    for that token's bytes (its BPE model on them as one pre-token; a placeholder's text likewise).

    ValueError unless every base token, merge position aside, keeps its id in the extension.
    """
    from tokenizer.byte_level import load_byte_level, token_string

    base, extended = load_byte_level(base_tokenizer), load_byte_level(extended_tokenizer)
    size, ext_vocab, ext_special = base.size(), extended.vocab(), extended.special_tokens()
    if any(ext_vocab.get(k) != v for k, v in base.vocab().items()) or any(
        ext_special.get(k) != v for k, v in base.special_tokens().items()
    ):
        raise ValueError("the extended tokenizer does not start with the base tokenizer's pieces in order")
    by_id = {v: token_string(token) for token, v in extended.token_ids().items() if v >= size}
    by_id |= {v: token_string(content.encode("utf-8")) for content, v in ext_special.items() if v >= size}
    model = base.tokenizer.model
    return size, [[t.id for t in model.tokenize(by_id[i])] for i in range(size, extended.size())]


def init_new_embeddings(
    model,
    base_sp_model: str | Path,
    extended_sp_model: str | Path,
    *,
    input_init: InputInit = "mean",
    output_init: OutputInit = "mean",
    pad_to_multiple_of: int = 64,
) -> ResizeReport:
    """Resize `model` to the extended tokenizer (padded) and initialise every new token's rows in place.

    `base_sp_model` and `extended_sp_model` are SentencePiece tokenizer.model files, or the
    directories (or tokenizer.json files) of byte-level BPE tokenizers (byte_level_sources).
    """
    require_module("torch", extra="model")
    import torch

    from tokenizer.byte_level import tokenizer_kind

    byte_level = tokenizer_kind(base_sp_model) == "byte_level"
    if byte_level:
        base_size, sources = byte_level_sources(base_sp_model, extended_sp_model)
        new_size = base_size + len(sources)
    else:
        base_size, new_size, sources = _sentencepiece_sources(base_sp_model, extended_sp_model)
    old_rows = full_rows(model.get_input_embeddings().weight)
    if old_rows < base_size:
        raise ValueError(f"the model has {old_rows} embedding rows but the base tokenizer {base_size} pieces")

    # HF's mean_resizing draws new rows around the old mean; kept for "hf_mean" and for padding rows.
    # Under ZeRO-3 transformers gathers the partitioned matrices for this itself.
    if not byte_level or new_size > old_rows:
        model.resize_token_embeddings(new_size, pad_to_multiple_of=pad_to_multiple_of, mean_resizing=True)
    inputs = model.get_input_embeddings().weight
    output_layer = model.get_output_embeddings()
    tied = output_layer is None or output_layer.weight is inputs
    outputs = None if tied else output_layer.weight

    initialised = empty = 0
    with gathered([inputs] + ([outputs] if outputs is not None else [])), torch.no_grad():
        for offset, ids in enumerate(sources):
            row = base_size + offset
            if row < old_rows and not byte_level:  # the model already had a row for it (padded base)
                continue
            if not ids:
                empty += 1
                continue
            index = torch.tensor(ids, device=inputs.device)
            # The mean in fp32 (a bf16 model would otherwise sum in bf16), written in the model's dtype.
            if input_init == "mean":
                inputs[row] = inputs[index].float().mean(dim=0).to(inputs.dtype)
            if outputs is not None:
                if output_init == "mean":
                    outputs[row] = outputs[index].float().mean(dim=0).to(outputs.dtype)
                elif output_init == "first":
                    outputs[row] = outputs[ids[0]]
            initialised += 1
        rows = inputs.shape[0]
    model.config.vocab_size = rows
    return ResizeReport(
        base_rows=old_rows,
        tokenizer_size=new_size,
        rows=rows,
        initialised=initialised,
        without_base_pieces=empty,
        tied=tied,
    )


def _sentencepiece_sources(base_sp_model, extended_sp_model) -> tuple[int, int, list[list[int]]]:
    """Base size, extended size and each new piece's base ids (base_piece_ids) of two SentencePiece models."""
    from tokenizer.spm import read_model

    base_proto, extended_proto = read_model(base_sp_model), read_model(extended_sp_model)
    base_size, new_size = len(base_proto.pieces), len(extended_proto.pieces)
    if [p.piece for p in extended_proto.pieces[:base_size]] != [p.piece for p in base_proto.pieces]:
        raise ValueError("the extended tokenizer does not start with the base tokenizer's pieces in order")
    new_pieces = [p.piece for p in extended_proto.pieces[base_size:]]
    return base_size, new_size, base_piece_ids(base_sp_model, new_pieces)


def full_rows(weight) -> int:
    """Rows of an embedding matrix, also when ZeRO-3 has partitioned it (its local shape is then empty)."""
    return int(weight.ds_shape[0]) if hasattr(weight, "ds_shape") else int(weight.shape[0])


def gathered(params):
    """Under ZeRO-3, the whole of partitioned `params` on every rank for the block; rank 0's writes
    are kept and re-partitioned on exit (every rank computes the same rows). A no-op otherwise."""
    import contextlib

    if not any(hasattr(p, "ds_id") for p in params):
        return contextlib.nullcontext()
    import deepspeed

    return deepspeed.zero.GatheredParameters(params, modifier_rank=0)

"""Export a Llama-format SentencePiece model as Hugging Face tokenizer files, token for token.

The `tokenizer.json` is built here with the `tokenizers` library rather than by transformers'
LlamaTokenizer conversion, because that conversion does not reproduce SentencePiece on leading
and repeated spaces (measured: bench/tokenizer_parity.py). The result loads with
`AutoTokenizer.from_pretrained(dir)` and gives SentencePiece's ids. No torch is imported.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from pipeline.deps import require_module
from tokenizer.spm import CONTROL, NORMAL, UNKNOWN, USER_DEFINED, read_model

SPACE = "\u2581"  # ▁, SentencePiece's whitespace marker
HF_FILES = ("tokenizer.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def build_hf_tokenizer(proto, *, add_bos: bool = True, add_eos: bool = False):
    """A `tokenizers.Tokenizer` equivalent to the SentencePiece BPE model `proto`.

    Merges are ranked by the score of the piece they produce, which is the order in which
    SentencePiece's BPE applies them; specials get BOS/EOS through a post-processor.
    """
    require_module("tokenizers", extra="tokenizer")
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )

    trainer, norm = proto.trainer_spec, proto.normalizer_spec
    if trainer.model_type != trainer.BPE:
        raise ValueError(
            f"only BPE SentencePiece models (the Llama family) can be exported, not model_type "
            f"{trainer.ModelType.Name(trainer.model_type)}"
        )
    if norm.name not in ("identity", "") or norm.remove_extra_whitespaces or norm.precompiled_charsmap:
        raise ValueError(
            f"the model normalizes text (rule {norm.name!r}, remove_extra_whitespaces="
            f"{norm.remove_extra_whitespaces}); only Llama-style identity normalization is exported exactly"
        )
    if trainer.treat_whitespace_as_suffix:
        raise ValueError("treat_whitespace_as_suffix models are not supported")

    vocab = {piece.piece: i for i, piece in enumerate(proto.pieces)}
    merges = []
    for i, piece in enumerate(proto.pieces):
        if piece.type != NORMAL or len(piece.piece) < 2:
            continue
        text = piece.piece
        for cut in range(1, len(text)):
            left, right = text[:cut], text[cut:]
            if left in vocab and right in vocab:
                merges.append((-piece.score, i, vocab[left], vocab[right], left, right))
    merges.sort()

    unk = proto.pieces[trainer.unk_id].piece if trainer.unk_id >= 0 else None
    user_defined = [p.piece for p in proto.pieces if p.type == USER_DEFINED]
    tok = Tokenizer(
        models.BPE(
            vocab=vocab,
            merges=[(m[4], m[5]) for m in merges],
            unk_token=unk,
            fuse_unk=True,
            byte_fallback=trainer.byte_fallback,
            # A user-defined piece (a PII placeholder) is one pre-tokenized word with no merge path:
            # emit whole-vocabulary words directly. Only set when needed.
            ignore_merges=bool(user_defined),
        )
    )
    steps = [normalizers.Prepend(SPACE)] if norm.add_dummy_prefix else []
    tok.normalizer = normalizers.Sequence([*steps, normalizers.Replace(" ", SPACE)])
    # SentencePiece matches user-defined pieces in the normalized text (after its single dummy
    # prefix). HF added tokens would split the raw text first and prefix every segment, so they
    # are isolated here, after normalization, instead.
    tok.pre_tokenizer = (
        pre_tokenizers.Split(Regex("|".join(map(re.escape, user_defined))), behavior="isolated")
        if user_defined
        else None
    )
    tok.decoder = decoders.Sequence(
        [decoders.Replace(SPACE, " "), decoders.ByteFallback(), decoders.Fuse()]
        + ([decoders.Strip(" ", 1, 0)] if norm.add_dummy_prefix else [])
    )
    tok.add_special_tokens(
        [
            AddedToken(p.piece, special=True, normalized=False)
            for p in proto.pieces
            if p.type in (CONTROL, UNKNOWN)
        ]
    )

    bos = proto.pieces[trainer.bos_id].piece if trainer.bos_id >= 0 else None
    eos = proto.pieces[trainer.eos_id].piece if trainer.eos_id >= 0 else None
    if (add_bos and bos is None) or (add_eos and eos is None):
        raise ValueError("add_bos/add_eos asked for, but the model has no bos/eos piece")
    head = [f"{bos}:0"] if add_bos else []
    tail = [f"{eos}:0"] if add_eos else []
    pair_head = [f"{bos}:1"] if add_bos else []
    pair_tail = [f"{eos}:1"] if add_eos else []
    specials = {}
    if add_bos:
        specials[bos] = vocab[bos]
    if add_eos:
        specials[eos] = vocab[eos]
    tok.post_processor = processors.TemplateProcessing(
        single=[*head, "$A:0", *tail],
        pair=[*head, "$A:0", *tail, *pair_head, "$B:1", *pair_tail],
        special_tokens=list(specials.items()),
    )
    return tok


def export_hf_tokenizer(
    sp_model: str | Path,
    output_dir: str | Path,
    *,
    model_max_length: int,
    add_bos: bool = True,
    add_eos: bool = False,
) -> Path:
    """Write tokenizer.model, tokenizer.json, tokenizer_config.json, special_tokens_map.json to `output_dir`.

    `AutoTokenizer.from_pretrained(output_dir)` then loads a tokenizer whose ids equal
    SentencePiece's (the class is the generic fast tokenizer: transformers' LlamaTokenizer would
    rebuild the normalizer and lose that parity). Returns `output_dir`.
    """
    sp_model, output_dir = Path(sp_model), Path(output_dir)
    proto = read_model(sp_model)
    tok = build_hf_tokenizer(proto, add_bos=add_bos, add_eos=add_eos)
    output_dir.mkdir(parents=True, exist_ok=True)
    target = output_dir / "tokenizer.model"
    if sp_model.resolve() != target.resolve():
        shutil.copyfile(sp_model, target)
    tok.save(str(output_dir / "tokenizer.json"))

    trainer = proto.trainer_spec
    names = {
        "bos_token": trainer.bos_id,
        "eos_token": trainer.eos_id,
        "unk_token": trainer.unk_id,
        "pad_token": trainer.pad_id,
    }
    special = {key: proto.pieces[i].piece for key, i in names.items() if i >= 0}
    config = {
        # PreTrainedTokenizerFast (TokenizersBackend in transformers 5) uses tokenizer.json as written.
        "tokenizer_class": "PreTrainedTokenizerFast",
        **special,
        "add_bos_token": add_bos,
        "add_eos_token": add_eos,
        "model_max_length": model_max_length,
        "clean_up_tokenization_spaces": False,
        "split_special_tokens": False,
    }
    (output_dir / "tokenizer_config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n")
    (output_dir / "special_tokens_map.json").write_text(
        json.dumps(special, indent=2, ensure_ascii=False) + "\n"
    )
    return output_dir

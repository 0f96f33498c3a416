"""SentencePiece models in the Llama-2 format: its trainer spec, training, and reading a model file.

No torch, no transformers: only sentencepiece and its protobuf schema.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path

from pipeline.deps import require_module

# Llama-2's trainer and normalizer settings, as stored in its tokenizer.model (input, paths,
# sizes and thread counts aside). A model trained with them splits digits, keeps whitespace as
# is and falls back to UTF-8 bytes for any character it lacks: Korean, in Llama-2's case.
LLAMA2_TRAINER_SPEC = {
    "model_type": "bpe",
    "character_coverage": 0.99995,
    "byte_fallback": True,
    "split_digits": True,
    "split_by_unicode_script": True,
    "split_by_whitespace": True,
    "split_by_number": True,
    "treat_whitespace_as_suffix": False,
    "allow_whitespace_only_pieces": True,
    "max_sentencepiece_length": 16,
    "max_sentence_length": 4192,
    "num_sub_iterations": 2,
    "shrinking_factor": 0.75,
    "vocabulary_output_piece_score": True,
    "hard_vocab_limit": True,
    "unk_id": 0,
    "bos_id": 1,
    "eos_id": 2,
    "pad_id": -1,
    "unk_surface": " \u2047 ",
    # normalizer_spec
    "normalization_rule_name": "identity",
    "add_dummy_prefix": True,
    "remove_extra_whitespaces": False,
}

# Piece types of sentencepiece_model.proto (ModelProto.SentencePiece.Type).
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6


def model_pb2():
    """The ModelProto schema module (sentencepiece's own copy; transformers' breaks under protobuf 7)."""
    require_module("sentencepiece", extra="tokenizer")
    require_module("google.protobuf", extra="tokenizer", pip_name="protobuf")
    from sentencepiece import sentencepiece_model_pb2

    return sentencepiece_model_pb2


def train_llama_style_model(sentences: Iterable[str], vocab_size: int, *, num_threads: int = 2):
    """Train a BPE SentencePiece model with Llama-2's trainer spec; return its ModelProto.

    Training writes to memory, so the model bytes do not depend on any output path.
    """
    require_module("sentencepiece", extra="tokenizer")
    import sentencepiece as spm

    buffer = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences),
        model_writer=buffer,
        vocab_size=vocab_size,
        num_threads=num_threads,
        minloglevel=2,
        **LLAMA2_TRAINER_SPEC,
    )
    proto = model_pb2().ModelProto()
    proto.ParseFromString(buffer.getvalue())
    return proto


def read_model(path: str | Path):
    """Read a SentencePiece `tokenizer.model` into a ModelProto, with a clear error for anything else."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"SentencePiece model not found: {path}")
    proto = model_pb2().ModelProto()
    try:
        proto.ParseFromString(path.read_bytes())
    except Exception as exc:  # protobuf raises DecodeError, or RuntimeWarning-ish errors on junk
        raise ValueError(f"{path}: not a SentencePiece model ({exc})") from exc
    if not proto.pieces:
        raise ValueError(f"{path}: not a SentencePiece model (no pieces)")
    return proto


def write_model(proto, path: str | Path) -> Path:
    """Write a ModelProto to `path` (a `tokenizer.model`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(proto.SerializeToString())
    return path

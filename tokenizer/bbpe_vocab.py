"""The vocab stage for a byte-level BPE base (Llama-3, Qwen2, GPT-2); `ko-vocab` calls it for one.

Steps: the same seeded sample and MeCab boundaries as for SentencePiece (tokenizer.sample,
tokenizer.morphemes); Korean merges learned on top of the base's merges over the morpheme-bounded
pre-tokens, kept only when the tokenizer produces them (tokenizer.bbpe); the extended
tokenizer.json written with every base id and merge in place. Then the proofs: English and code
keep the base's ids, Korean round-trips byte for byte, tiktoken built from the same files gives
HF's ids, every added token comes out when the training text is encoded; and tokens per character.
"""

from __future__ import annotations

import logging
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.cli import StageError
from tokenizer.bbpe import MergeLearner, extend_tokenizer, korean_pretokens, mergeable_runs, select_reachable
from tokenizer.byte_level import (
    ByteLevelBase,
    encode_twin,
    load_byte_level,
    save_byte_level,
    tiktoken_encoding,
)
from tokenizer.config import VocabConfig
from tokenizer.morphemes import morpheme_boundaries, segment_lines
from tokenizer.probes import anchor_token_count, code_probe, english_probe
from tokenizer.sample import sample_corpus

log = logging.getLogger("ko.vocab")


@dataclass(frozen=True)
class ByteLevelVocabReport:
    """The vocab stage's metrics for a byte-level BPE base."""

    base_kind: str  # llama3 (tiktoken file), qwen2, gpt2, or tokenizer.json
    base_tokens: int  # ids before, added tokens included (Llama-3: 128,256)
    added_pieces: int  # new BPE tokens (placeholders aside), at ids base_tokens and up
    vocab_size: int  # ids after, placeholders included
    target_vocab_size: int
    target_reached: bool
    merges_learned: int  # learned in all; dropped_unreachable of them were never produced
    dropped_unreachable: int
    selection_rounds: int
    placeholders: list[str]
    train_lines: int
    train_characters: int
    heldout_lines: int
    heldout_characters: int
    corpus_train_lines: int
    corpus_heldout_lines: int
    corpus_train_characters: int
    sample_seed: int
    tokens_per_char: dict[str, float]
    tokens_per_eojeol: dict[str, float]
    morpheme_boundary_precision: float  # share of intra-eojeol token boundaries on MeCab boundaries
    parity_mismatched_lines: int  # HF ids != tiktoken ids (Korean held-out + English + code)
    parity_lines: int
    english_changed_lines: int  # extended ids != base ids on English and code
    english_lines: int  # English prose lines (built-in probe and --english)
    code_lines: int  # lines of the Python standard library's sources
    roundtrip_failures: int  # decode(encode(x)) != x on the Korean held-out text (x after NFC for Qwen2)
    reachability: float  # share of added tokens produced when the training lines are encoded
    unreachable_tokens: int
    heldout_token_coverage: float  # share of added tokens produced on the held-out lines
    segmentation_chars_per_s: float | None
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)


def extend_byte_level_vocab(
    config: VocabConfig,
    inputs: Sequence[str | Path],
    base_path: Path,
    output: Path,
    anchors: dict[str, Path],
    english: Sequence[str],
    model_max_length: int,
    progress: bool = True,
) -> ByteLevelVocabReport:
    """The vocab stage on a byte-level base: write tokenizer.json, its config, pieces.txt; return metrics."""
    start, timings = time.perf_counter(), {}
    try:
        base = load_byte_level(base_path)
    except ValueError as exc:
        raise StageError(f"--base {base_path}: {exc}") from exc
    if config.target_vocab_size <= base.size():
        raise StageError(
            f"vocab.target_vocab_size = {config.target_vocab_size} is not above the base's {base.size()} ids"
        )
    t = time.perf_counter()
    sample = sample_corpus(inputs, config, progress)
    timings["sampling"] = round(time.perf_counter() - t, 2)
    if not sample.train:
        raise StageError("no training text in the inputs")
    t = time.perf_counter()
    segmented, seg_stats = segment_training_text(sample.train, config, progress)
    seg_seconds = time.perf_counter() - t
    heldout_segmented = segment_lines(
        sample.heldout, config.analyzer, processes=1, cache_dir=None, progress=False
    )
    timings["segmentation"] = round(seg_seconds, 2)

    t = time.perf_counter()
    budget = config.target_vocab_size - base.size() - len(sample.placeholders)
    tokens, selection = learn_korean_tokens(base, sample.train, segmented, budget, config)
    timings["learning"] = round(time.perf_counter() - t, 2)
    extended = extend_tokenizer(base, tokens, sample.placeholders)
    save_byte_level(extended, output, model_max_length=model_max_length)
    (output / "pieces.txt").write_text("".join(f"{t.decode('utf-8', 'backslashreplace')}\n" for t in tokens))

    t = time.perf_counter()
    english_lines = english_probe() + list(english)
    probe = {"english": english_lines, "code": code_probe()}
    proofs = measure_byte_level(base, extended, sample, heldout_segmented, probe, anchors, len(tokens))
    timings["proofs"] = round(time.perf_counter() - t, 2)
    train_chars = sum(map(len, sample.train))
    return ByteLevelVocabReport(
        base_kind=base.kind,
        base_tokens=base.size(),
        added_pieces=len(tokens),
        vocab_size=extended.size(),
        target_vocab_size=config.target_vocab_size,
        target_reached=extended.size() >= config.target_vocab_size,
        merges_learned=selection["learned"],
        dropped_unreachable=selection["dropped_unreachable"],
        selection_rounds=selection["selection_rounds"],
        placeholders=sample.placeholders,
        train_lines=len(sample.train),
        train_characters=train_chars,
        heldout_lines=len(sample.heldout),
        heldout_characters=sum(map(len, sample.heldout)),
        corpus_train_lines=sample.corpus_train_lines,
        corpus_heldout_lines=sample.corpus_heldout_lines,
        corpus_train_characters=sample.corpus_train_chars,
        sample_seed=config.seed,
        segmentation_chars_per_s=None if seg_stats["cached"] else round(train_chars / max(seg_seconds, 1e-9)),
        seconds=round(time.perf_counter() - start, 2),
        timings=timings,
        **proofs,
    )


def segment_training_text(
    lines: list[str], config: VocabConfig, progress: bool
) -> tuple[list[str] | None, dict]:
    """The training lines with their morpheme boundaries marked (None for vocab.boundaries = none)."""
    stats: dict = {"cached": True}
    if config.boundaries == "none":
        return None, stats
    segmented = segment_lines(
        lines,
        config.analyzer,
        boundaries=config.boundaries,
        unit=config.analysis_unit,
        processes=config.processes,
        cache_dir=config.cache_dir or None,
        progress=progress,
        stats=stats,
    )
    return segmented, stats


def learn_korean_tokens(
    base: ByteLevelBase, lines: list[str], segmented: list[str] | None, budget: int, config: VocabConfig
) -> tuple[list[bytes], dict]:
    """Up to `budget` new tokens, each produced by the extended tokenizer on `lines` (tokenizer.bbpe)."""
    pretokens = korean_pretokens(base, lines, segmented)
    runs = mergeable_runs(base, pretokens)
    symbols = {token_id: token for token, token_id in base.token_ids().items()}
    learner = MergeLearner(runs, symbols, base.size(), config.max_piece_length)
    log.info("%d distinct Korean pre-tokens, %d runs to merge over", len(pretokens), len(runs))
    return select_reachable(base, learner, pretokens, budget)


# ---------------------------------------------------------------- proofs and measurements


def measure_byte_level(
    base: ByteLevelBase,
    extended: ByteLevelBase,
    sample,
    heldout_segmented: Sequence[str],
    probe: dict[str, list[str]],
    anchors: dict[str, Path],
    added: int,
) -> dict:
    """The proofs and fertility numbers of ByteLevelVocabReport."""
    heldout = sample.heldout
    base_ids, ext_ids = _ids(base, heldout), _ids(extended, heldout)
    chars = sum(map(len, heldout))
    eojeols = sum(len(line.split()) for line in heldout)
    counts = {"base": sum(map(len, base_ids)), "extended": sum(map(len, ext_ids))}
    for name, path in anchors.items():
        counts[name] = anchor_token_count(path, heldout)

    english = probe["english"] + probe["code"]
    ext_english = _ids(extended, english)
    english_changed = sum(a != b for a, b in zip(_ids(base, english), ext_english, strict=True))
    twin = encode_twin(tiktoken_encoding(extended, "extended"), extended, [*heldout, *english])
    parity = sum(a != b for a, b in zip([*ext_ids, *ext_english], twin, strict=True))
    decode = extended.tokenizer.decode_batch
    # A base that normalizes (Qwen2: NFC) gives back the normalized text, as it does unextended.
    expected = [unicodedata.normalize("NFC", line) for line in heldout] if base.nfc else heldout
    decoded = decode(ext_ids, skip_special_tokens=False)
    roundtrip = sum(text != line for text, line in zip(decoded, expected, strict=True))

    first = base.size()
    produced = {i for ids in _ids(extended, sample.train) for i in ids if first <= i < first + added}
    on_heldout = {i for ids in ext_ids for i in ids if first <= i < first + added}
    return {
        "tokens_per_char": {k: round(v / max(chars, 1), 4) for k, v in counts.items()},
        "tokens_per_eojeol": {k: round(v / max(eojeols, 1), 4) for k, v in counts.items()},
        "morpheme_boundary_precision": boundary_precision(extended, heldout, heldout_segmented, ext_ids),
        "parity_mismatched_lines": parity,
        "parity_lines": len(heldout) + len(english),
        "english_changed_lines": english_changed,
        "english_lines": len(probe["english"]),
        "code_lines": len(probe["code"]),
        "roundtrip_failures": roundtrip,
        "reachability": round(len(produced) / added, 4) if added else 1.0,
        "unreachable_tokens": added - len(produced),
        "heldout_token_coverage": round(len(on_heldout) / added, 4) if added else 1.0,
    }


def _ids(base: ByteLevelBase, lines: Sequence[str]) -> list[list[int]]:
    return [e.ids for e in base.tokenizer.encode_batch(list(lines), add_special_tokens=False)]


def boundary_precision(
    extended: ByteLevelBase, lines: Sequence[str], segmented: Sequence[str], ids: Sequence[list[int]]
) -> float:
    """Share of token boundaries inside eojeols (at whole characters) that are MeCab morpheme boundaries."""
    lengths = {i: len(token) for token, i in extended.token_ids().items()}
    for content, token_id in extended.special_tokens().items():
        lengths[token_id] = len(content.encode("utf-8"))
    hits = total = 0
    for line, seg, line_ids in zip(lines, segmented, ids, strict=True):
        if extended.nfc and unicodedata.normalize("NFC", line) != line:
            continue
        char_at, offset = {}, 0
        for i, ch in enumerate(line):
            char_at[offset] = i
            offset += len(ch.encode("utf-8"))
        ends, offset = set(), 0
        for token_id in line_ids[:-1]:
            offset += lengths[token_id]
            end = char_at.get(offset)
            if end is not None and not line[end - 1].isspace() and not line[end].isspace():
                ends.add(end)
        hits += len(ends & morpheme_boundaries(seg))
        total += len(ends)
    return round(hits / total, 4) if total else 1.0

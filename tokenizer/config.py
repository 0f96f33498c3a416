"""Typed params for the tokenizer stage."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from pipeline.params import require

Analyzer = Literal["mecab", "komoran", "okt", "hannanum", "kkma"]


@dataclass(frozen=True)
class VocabConfig:
    """params.yaml `vocab`: Korean pieces learned on morpheme boundaries, appended to the base model."""

    SECTION: ClassVar[str] = "vocab"

    # konlpy morpheme analyzer whose boundaries the new pieces may not cross. mecab: ~1M chars/s
    # per process; komoran ~24x, okt and hannanum ~100x, kkma ~500x slower, and they need Java.
    analyzer: Analyzer = "mecab"
    # Which boundaries no learned piece may cross inside an eojeol. "morpheme": every boundary the
    # analyzer finds (정부|가 사용|하|였|다). "lexical" (mecab only): the boundaries of content words;
    # endings and particles may fuse with verb stems, bound nouns, pronouns and each other, and
    # 하다-type suffixes with their noun (정부|가 사용하였다): 5% fewer tokens per character on
    # held-out news and law (0.555 vs 0.586), token boundaries on morpheme boundaries 66.7% of the
    # time instead of 75.0% (bench/vocab.py). "none": plain BPE on the raw text (0.547, 58.8%).
    # The default is lexical: a model trained through morpheme learned Korean less well per
    # training FLOP and per character of text seen than through lexical or none, which tied
    # (bench/adapt.py, three held-out sets: morpheme 0.06-0.21 bits/char behind, lexical and none
    # within 0.03, seed spread 0.02-0.05; a small model, one seed per rule), and lexical keeps
    # more token boundaries on morpheme boundaries than none.
    boundaries: Literal["morpheme", "lexical", "none"] = "lexical"
    # What the analyzer reads. "eojeol": each distinct eojeol once, between two fixed neighbours
    # (또 ... 또), its split reused wherever it occurs: 1.3-1.6x as fast on 2 processes on the
    # 4.5M-char bench corpus, whose distinct eojeols hold half the characters (77% on an eighth
    # of it: the more text, the more it saves), but 2.4-2.6% of eojeol occurrences split otherwise
    # than in their own sentence (bench/vocab.py). "line": every line in full, each word in context.
    analysis_unit: Literal["eojeol", "line"] = "eojeol"
    # Processes for morpheme analysis (0: one per CPU core). More is faster, costs memory per process.
    processes: int = 2
    # Cache of analyzed text, keyed on the text, analyzer version and segmentation code ("" disables).
    cache_dir: str = ".cache/morphemes"
    # JSONL field holding the text; other fields are ignored here.
    text_field: str = "text"
    # Total pieces after extension (Llama-2-Ko: 46,336; a byte-level base counts every id, its
    # special ids included: Llama-3 128,256 + new). Fewer pieces cost more tokens per character;
    # more cost embedding rows to train. Must exceed the base's size.
    target_vocab_size: int = 46336
    # train_vocab_size ... add_pad_token steer the SentencePiece trainer (Llama-2 bases). A
    # byte-level base (Llama-3, Qwen2, GPT-2; tokenizer/bbpe.py) learns BPE merges on top of its
    # own instead, most frequent pair first, keeping those the tokenizer produces, and reads only
    # max_piece_length of these keys.
    # Size of the Korean BPE model whose pieces are the candidates. More candidates let the usage
    # selection find better pieces (lexical, 16,000 added: 0.551 tokens/char from 32,000, 0.549
    # from 64,000; bench/vocab.py) and cost training time. Capped to what the corpus supports
    # (SentencePiece's limit), with a warning.
    train_vocab_size: int = 64000
    # Share of characters the Korean model must cover; rarer characters stay byte-encoded.
    character_coverage: float = 0.9995
    # Longest piece, in characters.
    max_piece_length: int = 16
    # Take every single-character Korean piece before any longer one: a missing syllable costs 3
    # byte tokens, so syllables pay more per piece than long words.
    syllables_first: bool = True
    # Which candidates fill the budget. "usage": encode the training text with every candidate and
    # keep the pieces that end up as tokens most often, with the shorter pieces that build them
    # (1.7% fewer tokens per character on held-out news and law text; costs one encoding pass).
    # "model_order": the Korean BPE model's merge order, cut at the budget.
    selection: Literal["usage", "model_order"] = "usage"
    # Scores of the new pieces: "decreasing" below every base score, in selection order (the HF
    # tokenizer then matches SentencePiece exactly), or "zero" (Chinese-LLaMA's recipe).
    score_mode: Literal["decreasing", "zero"] = "decreasing"
    # Append a <pad> control piece after the new pieces (Llama-2 has none; trainers then pad with it).
    add_pad_token: bool = False
    # Share of documents (by id hash) held out from training to measure fertility and parity.
    heldout_fraction: float = 0.05
    # Most training lines, drawn with `seed` before any analysis: only these are analyzed by MeCab,
    # trained on by SentencePiece and counted for the usage selection, so memory and time grow
    # with this, not with the corpus. 0 uses every line.
    max_training_lines: int = 5_000_000
    # About this many training characters at most (an expected size: fewer lines are drawn, each
    # whole): peak memory follows them (SentencePiece's trainer, the raw and the segmented lines;
    # bench/vocab.py --part scale on 1 GB of JSONL, base Llama-2: 3.8 GB at 150M characters,
    # 8.3 GB at all 397M) and tokens per character hardly move (0.5317 against 0.5319).
    # 0: no character cap.
    max_training_chars: int = 150_000_000
    # Most held-out lines the proofs and tokens per character are measured on (same draw); 0: all.
    max_heldout_lines: int = 200_000
    # Seed of the line sample; a corpus under every cap is used whole, whatever the seed.
    seed: int = 0

    def __post_init__(self):
        s = self.SECTION
        require(
            self.boundaries != "lexical" or self.analyzer == "mecab",
            f"{s}.boundaries = lexical reads MeCab's part-of-speech tags; {s}.analyzer is {self.analyzer}",
        )
        require(self.processes >= 0, f"{s}.processes = {self.processes}: must be 0 (all cores) or more")
        require(self.text_field != "", f"{s}.text_field is empty")
        require(self.train_vocab_size >= 300, f"{s}.train_vocab_size = {self.train_vocab_size}: below 300")
        require(
            0.98 <= self.character_coverage <= 1.0,
            f"{s}.character_coverage = {self.character_coverage}: SentencePiece accepts 0.98 to 1.0",
        )
        require(
            1 <= self.max_piece_length <= 16, f"{s}.max_piece_length = {self.max_piece_length}: not 1..16"
        )
        require(
            0.0 < self.heldout_fraction < 0.5,
            f"{s}.heldout_fraction = {self.heldout_fraction}: must be between 0 and 0.5",
        )
        require(self.max_training_lines >= 0, f"{s}.max_training_lines = {self.max_training_lines}: negative")
        require(self.max_training_chars >= 0, f"{s}.max_training_chars = {self.max_training_chars}: negative")
        require(self.max_heldout_lines >= 0, f"{s}.max_heldout_lines = {self.max_heldout_lines}: negative")

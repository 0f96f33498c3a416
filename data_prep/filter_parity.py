"""Our quality blocks and datatrove's filters side by side, with the same thresholds.

Used by bench/filters.py and by the test that holds the parity, so both compare the same way.
Each side is a function from a text to None (keep) or the reason it drops the text.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from datatrove.data import Document
from datatrove.pipeline.filters import FineWebQualityFilter, GopherQualityFilter, GopherRepetitionFilter
from datatrove.utils.word_tokenizers import WordTokenizer

from data_prep.config import CleanConfig
from data_prep.filters import KOREAN_STOPWORDS, LINE_END_CHARS, DocStats, QualityFilters

# Our blocks against datatrove's filter of the same name.
BLOCKS = ("gopher_quality", "gopher_repetition", "fineweb_quality")
Decide = Callable[[str], "str | None"]


class EojeolWords(WordTokenizer):
    """ko-clean's words, for datatrove: whitespace-delimited eojeol."""

    def word_tokenize(self, text: str) -> list[str]:
        return text.split()

    def sent_tokenize(self, text: str) -> list[str]:
        return [text]

    def span_tokenize(self, text: str) -> list[tuple[int, int]]:
        return [(0, len(text))]


def without_korean_choices(config: CleanConfig) -> CleanConfig:
    """The two Korean choices off on both sides: no stop-word rule, no bullet rule."""
    return dataclasses.replace(config, min_stop_words=0, max_bullet_lines_ratio=1.0)


def our_block(config: CleanConfig, block: str) -> Decide:
    """Our block alone (Gopher quality: the word count of `length`, `gopher_quality`, `symbols`)."""
    filters = QualityFilters(config)
    parts = {
        "gopher_quality": (filters.length, filters.gopher_quality, filters.symbols),
        "gopher_repetition": (filters.gopher_repetition,),
        "fineweb_quality": (filters.fineweb_quality,),
    }[block]

    def decide(text: str) -> str | None:
        stats = DocStats(text)
        return next((reason for reason in (part(stats) for part in parts) if reason), None)

    return decide


def datatrove_block(config: CleanConfig, block: str, words: WordTokenizer) -> Decide:
    """datatrove's filter given our thresholds (its stop words ours, max_doc_words off since we
    bound characters, stop_chars our line endings) and the word splitting `words`."""
    c = config
    if block == "gopher_quality":
        f = GopherQualityFilter(
            min_doc_words=c.min_words, max_doc_words=None, min_avg_word_length=c.min_avg_word_length,
            max_avg_word_length=c.max_avg_word_length, max_symbol_word_ratio=c.max_symbol_word_ratio,
            max_bullet_lines_ratio=c.max_bullet_lines_ratio if c.max_bullet_lines_ratio < 1 else None,
            max_ellipsis_lines_ratio=c.max_ellipsis_lines_ratio,
            max_non_alpha_words_ratio=c.min_alpha_words_ratio, min_stop_words=c.min_stop_words or None,
            stop_words=list(KOREAN_STOPWORDS), language=words,
        )  # fmt: skip
    elif block == "gopher_repetition":
        f = GopherRepetitionFilter(
            dup_line_frac=c.dup_line_frac, dup_para_frac=c.dup_para_frac,
            dup_line_char_frac=c.dup_line_char_frac, dup_para_char_frac=c.dup_para_char_frac,
            top_n_grams=tuple(c.top_ngram_limits()), dup_n_grams=tuple(c.dup_ngram_limits()), language=words,
        )  # fmt: skip
    else:
        f = FineWebQualityFilter(
            line_punct_thr=c.min_line_punct_ratio, stop_chars=LINE_END_CHARS,
            short_line_thr=c.max_short_line_ratio, short_line_length=c.short_line_chars,
            char_duplicates_ratio=c.max_char_dup_ratio, new_line_ratio=c.max_newline_ratio, language=words,
        )  # fmt: skip

    def decide(text: str) -> str | None:
        try:
            result = f.filter(Document(text=text, id="parity"))
        except ZeroDivisionError:  # datatrove divides by the word count
            return "datatrove_zero_division"
        if result is True:
            return None
        return result[1] if isinstance(result, tuple) else "dropped"

    return decide

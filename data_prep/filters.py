"""Document quality filters: small blocks, each returning None (keep) or the reason to drop.

Defaults follow FineWeb-2's tuned values for Korean (`kor_Hang`) on Gopher's and FineWeb's
filters. Words are whitespace-delimited eojeol. Korean attaches particles and endings to the
word before them, so word lists (stopwords, spam) are matched on suffixes or substrings,
never on whole eojeol alone.

Each statistic is computed as datatrove's filter computes it, since FineWeb-2 tuned the
thresholds on datatrove's numbers; given our words, the blocks decide as datatrove's do
(tests/test_clean_blocks.py, bench/filters.py). The Korean choices that differ are marked
"choice" below and in the params comments.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from datatrove.utils.text import PUNCTUATION_SET

if TYPE_CHECKING:
    from data_prep.config import CleanConfig

# FineWeb-2 kor_Hang stopwords are morphemes (particles, endings, 년/월). On eojeol they are
# counted when an eojeol is one or ends with one: "정부는" ends with 는, "했다" with 다.
KOREAN_STOPWORDS = (
    "의", "다", "이", "는", "에", "을", "한", "년", "하", "은", "를",
    "했", "고", "에서", "가", "있", "으로", "인", "월", "로", "되",
)  # fmt: skip
# Advertising compounds of adult, gambling and loan spam (not the words a news report on them
# uses), matched as substrings of the text with spaces removed, so particles ("토토사이트를")
# and spacing tricks ("출 장 안 마") match.
SPAM_PHRASES = (
    "출장안마", "출장마사지", "출장샵", "토토사이트", "사설토토", "안전놀이터", "먹튀검증", "카지노사이트",
    "온라인카지노", "바카라사이트", "슬롯사이트", "파워볼사이트", "홀덤사이트", "조건만남", "만남어플",
    "성인용품", "작업대출", "대출문의", "비아그라판매", "시알리스판매", "야동사이트",
)  # fmt: skip
# Lines that end a sentence (FineWeb's line_punct rule). A Korean choice: 다 and 요 end most
# Korean sentences that lack a period, and the list is short where datatrove's TERMINAL_PUNCTUATION
# has 160 marks of many scripts (fullwidth ？！． among them, which NFC leaves as they are).
LINE_END_CHARS = (".", "!", "?", "…", "'", '"', "”", "’", "。", "다", "요")
_BULLETS = ("•", "·", "-", "*", "▶", "►", "■", "□", "○", "●", "◆", "◇", "▷", "☞", "※", "✔", "➤")
_PARAGRAPH_BREAK = re.compile(r"\n{2,}")
_LINE_BREAK = re.compile(r"\n+")
_EDGE_PUNCT = "\"'“”‘’()[]{}<>.,!?;:…·~-"


def _is_hangul(ch: str) -> bool:
    cp = ord(ch)
    return (
        0xAC00 <= cp <= 0xD7A3  # syllables
        or 0x1100 <= cp <= 0x11FF  # conjoining jamo
        or 0x3130 <= cp <= 0x318F  # compatibility jamo: typed ㅋ, ㅠ
        or 0xA960 <= cp <= 0xA97F
        or 0xD7B0 <= cp <= 0xD7FF
    )


class DocStats:
    """Lines, words and n-gram counts of one text, each computed once on first use."""

    def __init__(self, text: str):
        self.text = text

    @cached_property
    def lines(self) -> list[str]:
        return [line for line in self.text.split("\n") if line.strip()]

    @cached_property
    def words(self) -> list[str]:
        return self.text.split()

    @cached_property
    def non_symbol_words(self) -> list[str]:
        """Words with at least one character outside datatrove's punctuation set (Gopher's count)."""
        return [w for w in self.words if not all(_is_symbol(ch) for ch in w)]

    @cached_property
    def non_space_chars(self) -> int:
        return sum(1 for ch in self.text if not ch.isspace())

    def word_ngrams(self, n: int) -> list[str]:
        w = self.words
        return [" ".join(w[i : i + n]) for i in range(len(w) - n + 1)]


def _duplicates(elements: Sequence[str]) -> tuple[int, int]:
    """(elements that repeat an earlier one, their characters): Gopher's duplicate counts."""
    seen: set[str] = set()
    count = chars = 0
    for e in elements:
        if e in seen:
            count += 1
            chars += len(e)
        else:
            seen.add(e)
    return count, chars


def _repeated_ngram_chars(words: list[str], n: int) -> int:
    """Characters of the n-grams that repeat an earlier one, counted left to right without
    overlap (a repeat skips its n words): Gopher's duplicate n-gram numerator as datatrove
    computes it, on which FineWeb-2 tuned the thresholds."""
    seen: set[str] = set()
    chars = i = 0
    while i < len(words) - n + 1:
        gram = "".join(words[i : i + n])
        if gram in seen:
            chars += len(gram)
            i += n
        else:
            seen.add(gram)
            i += 1
    return chars


def _is_symbol(ch: str) -> bool:
    # datatrove's own punctuation set (Gopher's "symbol words"), so the word counts agree.
    return ch in PUNCTUATION_SET


Block = Callable[[DocStats], "str | None"]


@dataclass(frozen=True)
class QualityFilters:
    """The clean stage's quality blocks, configured from `clean` params, applied in order."""

    config: CleanConfig

    def blocks(self) -> list[tuple[str, Block]]:
        return [
            ("length", self.length),
            ("hangul_ratio", self.hangul_ratio),
            ("spam", self.spam),
            ("gopher_quality", self.gopher_quality),
            ("symbols", self.symbols),
            ("gopher_repetition", self.gopher_repetition),
            ("fineweb_quality", self.fineweb_quality),
        ]

    def check(self, text: str) -> str | None:
        """None to keep the text, else the first failing block's reason (e.g. 'dup_line_frac')."""
        if not self.config.quality_filters:
            return None
        stats = DocStats(text)
        for _, block in self.blocks():
            reason = block(stats)
            if reason is not None:
                return reason
        return None

    def length(self, s: DocStats) -> str | None:
        c = self.config
        if len(s.text) < c.min_chars:
            return "too_short_chars"
        if len(s.text) > c.max_chars:
            return "too_long_chars"
        if len(s.non_symbol_words) < c.min_words:
            return "too_few_words"
        return None

    def hangul_ratio(self, s: DocStats) -> str | None:
        # Not the common [ㄱ-힣] class: it also spans CJK ideographs U+4E00-9FFF.
        hangul = sum(1 for ch in s.text if _is_hangul(ch))
        if hangul < self.config.min_hangul_ratio * max(s.non_space_chars, 1):
            return "hangul_ratio"
        return None

    def spam(self, s: DocStats) -> str | None:
        if self.config.spam_min_hits <= 0:
            return None
        squeezed = re.sub(r"\s+", "", s.text)
        hits = sum(squeezed.count(p) for p in SPAM_PHRASES)
        return "spam" if hits >= self.config.spam_min_hits else None

    def gopher_quality(self, s: DocStats) -> str | None:
        c = self.config
        words = s.non_symbol_words
        if not words:
            return "no_words"
        avg = sum(len(w) for w in words) / len(words)
        if not c.min_avg_word_length <= avg <= c.max_avg_word_length:
            return "avg_word_length"
        alpha = sum(1 for w in s.words if any(ch.isalpha() for ch in w))
        if alpha < c.min_alpha_words_ratio * len(s.words):
            return "alpha_words_ratio"
        # Korean choice: an eojeol counts when it ends with a stopword morpheme (Gopher and
        # datatrove count distinct whole words, which on eojeol would find almost none).
        stop = sum(1 for w in words if w.strip(_EDGE_PUNCT).endswith(KOREAN_STOPWORDS))
        if stop < c.min_stop_words:
            return "stopwords"
        return None

    def symbols(self, s: DocStats) -> str | None:
        c = self.config
        n_words = max(len(s.words), 1)
        if s.text.count("#") / n_words > c.max_symbol_word_ratio:
            return "symbol_ratio"
        if (s.text.count("...") + s.text.count("…")) / n_words > c.max_symbol_word_ratio:
            return "symbol_ratio"
        # Over every line, blank ones included, as Gopher counts them.
        lines = s.text.splitlines() or [""]
        # Korean choice: documents bullet with ■□○●▶※ as well as • and -.
        bullets = sum(1 for line in lines if line.lstrip().startswith(_BULLETS))
        if bullets / len(lines) > c.max_bullet_lines_ratio:
            return "bullet_lines"
        if (
            sum(1 for line in lines if line.rstrip().endswith(("...", "…"))) / len(lines)
            > c.max_ellipsis_lines_ratio
        ):
            return "ellipsis_lines"
        return None

    def gopher_repetition(self, s: DocStats) -> str | None:
        # Fractions as datatrove computes them (over all characters of the text), the statistic
        # FineWeb-2 tuned its Korean thresholds on.
        c = self.config
        n_chars = max(len(s.text), 1)
        paragraphs = _PARAGRAPH_BREAK.split(s.text.strip())
        count, chars = _duplicates(paragraphs)
        if count / len(paragraphs) > c.dup_para_frac:
            return "dup_para_frac"
        if chars / n_chars > c.dup_para_char_frac:
            return "dup_para_char_frac"
        lines = _LINE_BREAK.split(s.text)
        count, chars = _duplicates(lines)
        if count / len(lines) > c.dup_line_frac:
            return "dup_line_frac"
        if chars / n_chars > c.dup_line_char_frac:
            return "dup_line_char_frac"
        for n, limit in c.top_ngram_limits():
            grams = s.word_ngrams(n)
            if grams:
                gram, count = Counter(grams).most_common(1)[0]
                # Choice: an n-gram seen once is not a repetition (datatrove scores it anyway,
                # which drops short texts; ours reach this block only with min_words words).
                if count > 1 and len(gram) * count / n_chars > limit:
                    return f"top_{n}gram_frac"
        for n, limit in c.dup_ngram_limits():
            if _repeated_ngram_chars(s.words, n) / n_chars > limit:
                return f"dup_{n}gram_frac"
        return None

    def fineweb_quality(self, s: DocStats) -> str | None:
        c = self.config
        lines = [line.strip() for line in s.lines]
        if not lines:
            return "empty"
        if sum(1 for line in lines if line.endswith(LINE_END_CHARS)) / len(lines) < c.min_line_punct_ratio:
            return "line_punct_ratio"
        if sum(1 for line in lines if len(line) <= c.short_line_chars) / len(lines) > c.max_short_line_ratio:
            return "short_line_ratio"
        _, dup_chars = _duplicates(lines)
        if dup_chars / max(sum(len(line) for line in lines), 1) > c.max_char_dup_ratio:
            return "char_dup_ratio"
        if s.text.count("\n") / max(len(s.words), 1) > c.max_newline_ratio:
            return "newline_ratio"
        return None

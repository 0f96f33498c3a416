"""The vocab stage's text: a seeded sample of training lines chosen before any analysis.

Two passes over the corpus. The first counts the training and held-out lines and the training
characters (a document is held out by its id's hash, data_prep.corpus.is_heldout, as in every
stage) and finds the PII placeholders. Then `vocab.seed` draws which line numbers to keep, at
most `vocab.max_training_lines` training lines (fewer where `vocab.max_training_chars` asks:
lines drawn uniformly carry the corpus's mean length, so the sample's expected size is that cap)
and `vocab.max_heldout_lines` held-out ones, and the second pass keeps exactly those, in corpus
order. Memory holds the sample, never the corpus, and the morpheme analyzer reads only the lines
SentencePiece trains on. A corpus under every cap is kept whole, line for line as before.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from data_prep.corpus import is_heldout, iter_documents
from tokenizer.config import VocabConfig

# The clean stage's PII placeholders: whole special tokens, never split into pieces.
PLACEHOLDER = re.compile(r"<\|[a-z_]+\|>")


@dataclass(frozen=True)
class CorpusSample:
    """The lines the vocab stage trains and measures on, and how many the corpus had."""

    train: list[str]  # sampled training lines, in corpus order
    heldout: list[str]  # sampled held-out lines, in corpus order
    corpus_train_lines: int
    corpus_heldout_lines: int
    corpus_train_chars: int
    placeholders: list[str]  # every placeholder in the training lines of the whole corpus


def corpus_lines(inputs: Sequence[str | Path], config: VocabConfig) -> Iterator[tuple[bool, str]]:
    """(held out?, line) for every non-blank line of every document, stripped, in corpus order."""
    for doc_id, text in iter_documents(inputs, config.text_field):
        held = is_heldout(doc_id, config.heldout_fraction)
        for line in text.split("\n"):
            line = line.strip()
            if line:
                yield held, line


def training_lines_to_draw(lines: int, chars: int, config: VocabConfig) -> int:
    """max_training_lines (0: all), lowered so that the expected characters stay within max_training_chars."""
    keep = config.max_training_lines or lines
    if config.max_training_chars and chars > config.max_training_chars:
        keep = min(keep, max(1, lines * config.max_training_chars // chars))
    return keep


def choose(total: int, keep: int, rng: np.random.Generator) -> np.ndarray | None:
    """Sorted line numbers of `keep` of `total` lines drawn without replacement; None: all of them."""
    if keep == 0 or total <= keep:
        return None
    return np.sort(rng.choice(total, size=keep, replace=False))


class _Picker:
    """Walks line numbers in order and says which ones `chosen` holds (None: every one)."""

    def __init__(self, chosen: np.ndarray | None):
        self.chosen, self.next, self.seen = chosen, 0, 0

    def take(self) -> bool:
        number, self.seen = self.seen, self.seen + 1
        if self.chosen is None:
            return True
        if self.next < len(self.chosen) and self.chosen[self.next] == number:
            self.next += 1
            return True
        return False


def sample_corpus(inputs: Sequence[str | Path], config: VocabConfig, progress: bool = True) -> CorpusSample:
    """Count the corpus, draw the sample with config.seed, then read the chosen lines."""
    from tqdm import tqdm

    n_train = n_heldout = train_chars = last_chars = 0
    placeholders: set[str] = set()
    lines = tqdm(corpus_lines(inputs, config), desc="counting lines", unit=" lines", disable=not progress)
    for held, line in lines:
        if held:
            n_heldout += 1
            continue
        n_train, last_chars = n_train + 1, len(line)
        train_chars += last_chars
        if "<|" in line:
            placeholders.update(PLACEHOLDER.findall(line))
    # A tiny corpus with no held-out document: its last training line is measured on instead.
    moved = n_train - 1 if n_heldout == 0 and n_train > 1 else None
    if moved is not None:
        n_train, n_heldout, train_chars = n_train - 1, 1, train_chars - last_chars

    # One generator per split: the held-out draw stays put whatever the training caps are.
    train_rng, heldout_rng = np.random.default_rng(config.seed), np.random.default_rng([config.seed, 1])
    train_pick = _Picker(choose(n_train, training_lines_to_draw(n_train, train_chars, config), train_rng))
    heldout_pick = _Picker(choose(n_heldout, config.max_heldout_lines, heldout_rng))
    train, heldout, number = [], [], 0  # number: of the next training line
    total, bar = n_train + n_heldout, {"desc": "sampling lines", "unit": " lines", "disable": not progress}
    lines = tqdm(corpus_lines(inputs, config), total=total, **bar)
    for held, line in lines:
        if not held:
            held, number = number == moved, number + 1
        if (heldout_pick if held else train_pick).take():
            (heldout if held else train).append(line)
    return CorpusSample(train, heldout, n_train, n_heldout, train_chars, sorted(placeholders))

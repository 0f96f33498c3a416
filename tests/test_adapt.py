"""The initialisation the pretrain stage gives new tokens works on a model that knows some Korean
bytes: a tiny version of bench/adapt.py's arms (b) and (c), with the base trained inside the test."""

from __future__ import annotations

import gzip
import json
import math

import pytest

from tests.conftest import shared_path

ADDED = 300


@pytest.fixture(scope="module")
def extended_llama2(tmp_path_factory, korean_lines, llama2_sp_model):
    """Llama-2's tokenizer extended by 300 Korean pieces learned on the even lines."""
    from tokenizer.config import VocabConfig
    from tokenizer.vocab import extend_vocab

    corpus = tmp_path_factory.mktemp("adapt") / "ko.txt"
    corpus.write_text("\n".join(korean_lines[::2]) + "\n", encoding="utf-8")
    config = VocabConfig(target_vocab_size=32000 + ADDED, train_vocab_size=4000, cache_dir="", processes=1)
    extend_vocab(config, [corpus], str(llama2_sp_model), corpus.parent / "tok", progress=False)
    return corpus.parent / "tok" / "tokenizer.model"


def english_text() -> list[str]:
    """40,000 characters from each of the first four Gutenberg books, past their front matter."""
    books = []
    with gzip.open(shared_path("english", "gutenberg", "en_gutenberg_pd_sample.jsonl.gz"), "rt") as f:
        for line in f:
            books.append(json.loads(line)["text"][20_000:60_000])
            if len(books) == 4:
                break
    return books


def trained_base(llama2_sp_model, korean: list[str], steps: int = 40, korean_share: float = 0.1):
    """A 1-layer Llama around Llama-2's vocabulary, trained `steps` AdamW steps on English with
    Korean (byte-encoded, as Llama-2 sees it) in `korean_share` of its sequences."""
    import sentencepiece as spm
    import torch

    from tests.conftest import tiny_llama

    sp = spm.SentencePieceProcessor(model_file=str(llama2_sp_model))
    streams = [
        torch.tensor([t for ids in sp.encode(texts) for t in (1, *ids)]) for texts in (english_text(), korean)
    ]
    model = tiny_llama()
    generator = torch.Generator().manual_seed(0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(steps):
        rows = []
        for _ in range(8):
            stream = streams[1] if torch.rand(1, generator=generator).item() < korean_share else streams[0]
            start = torch.randint(0, len(stream) - 65, (1,), generator=generator).item()
            rows.append(stream[start : start + 64])
        batch = torch.stack(rows)
        model(input_ids=batch, labels=batch).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    return model


def korean_bits_per_char(model, sp_model, lines: list[str]) -> float:
    """Bits per character of `lines` (each scored alone after BOS) under the tokenizer `sp_model`."""
    import sentencepiece as spm
    import torch

    sp = spm.SentencePieceProcessor(model_file=str(sp_model))
    nats = 0.0
    with torch.no_grad():
        for ids in sp.encode(lines):
            batch = torch.tensor([[1, *ids]])
            nats += model(input_ids=batch, labels=batch).loss.item() * len(ids)
    return nats / sum(len(line) for line in lines) / math.log(2)


def test_subword_mean_rows_start_below_hugging_faces_draw(llama2_sp_model, extended_llama2, korean_lines):
    """Arm (c) against arm (b) right after the resize, on held-out lines (the odd ones): the mean
    of the base pieces' rows starts lower than Hugging Face's mean_resizing draw. Measured with
    this setup on seeds 0-2 (200 held-out lines) before the test was written: 0.67, 0.65 and 0.68
    bits per character lower. On a base that never saw Korean (0 steps, or 20 steps at 0.3%
    Korean) there was no gap (0.00-0.02 bits): the mean is only as good as the rows it averages."""
    import copy

    import torch

    from pipeline.embeddings import init_new_embeddings

    base = trained_base(llama2_sp_model, korean_lines[::2])
    held_out = korean_lines[1::2][:60]
    bits = {}
    for init in ("hf_mean", "mean"):
        model = copy.deepcopy(base)
        torch.manual_seed(0)  # Hugging Face's draw, and the padding rows
        init_new_embeddings(model, llama2_sp_model, extended_llama2, input_init=init, output_init=init)
        bits[init] = korean_bits_per_char(model, extended_llama2, held_out)
    assert bits["mean"] < bits["hf_mean"] - 0.3, bits
    # both beat the base tokenizer, which spends about three byte tokens on each syllable
    assert max(bits.values()) < korean_bits_per_char(base, llama2_sp_model, held_out)

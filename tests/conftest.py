"""Shared fixtures: the real data in ../shared/data, and one demo base built per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# ../shared/data beside the checkout, as in CI; KO_SHARED_DATA points elsewhere.
SHARED = Path(os.environ.get("KO_SHARED_DATA", REPO.parent / "shared" / "data"))
LLAMA2_SP = SHARED / "tokenizers" / "llama2" / "tokenizer.model"


def shared_path(*parts: str) -> Path:
    """A file under ../shared/data; its absence is a broken checkout, not a reason to skip."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.fail(f"{path} is missing: tests read ../shared/data beside the checkout, or $KO_SHARED_DATA")
    return path


@pytest.fixture(scope="session")
def llama2_sp_model() -> Path:
    return shared_path("tokenizers", "llama2", "tokenizer.model")


@pytest.fixture(scope="session")
def korean_lines() -> list[str]:
    """Real Korean text: Wikinews lines (formal) and entertainment-news comments (informal)."""
    news = shared_path("corpus", "boddari_wikinews", "wikinews.txt").read_text(encoding="utf-8")
    comments = shared_path("corpus", "kocohub_comments", "unlabeled_unlabeled_comments_5.txt")
    lines = [line for line in news.splitlines() if line.strip()][:1500]
    lines += comments.read_text(encoding="utf-8").splitlines()[:1500]
    return lines


@pytest.fixture(scope="session")
def edge_lines() -> list[str]:
    """Whitespace and script edge cases where HF and SentencePiece conversions usually part ways."""
    return [
        "",
        " ",
        "  two  spaces",
        " leading space",
        "trailing space ",
        "tab\there",
        "line\nbreak",
        "def f(x):\n    return x ** 2",
        "숫자 1234567와 ㅋㅋㅋㅋ",
        "메일은hong@naver.com, 전화 010-1234-5678로",
        "😀 emoji and 中文 漢字",
        "ʻokina and ẞ",
    ]


@pytest.fixture(scope="session")
def demo_base(tmp_path_factory) -> Path:
    """The demo base (tokenizer + random small Llama) built once, as the base stage builds it."""
    from pipeline.base import prepare_base
    from pipeline.config import BaseConfig

    output = tmp_path_factory.mktemp("demo") / "base"
    prepare_base(BaseConfig(), output)
    return output


def tiny_llama(
    vocab_size: int = 32000, *, tied: bool = False, seed: int = 0, max_position_embeddings: int = 4096
):
    """A 1-layer, 16-wide LlamaForCausalLM with Llama-2's vocabulary size: real code, seconds on CPU."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        max_position_embeddings=max_position_embeddings,
        tie_word_embeddings=tied,
    )
    return LlamaForCausalLM(config)

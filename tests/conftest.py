"""Shared fixtures: the real data in ../shared/data, and one demo base built per session."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
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


@pytest.fixture(scope="session", autouse=True)
def ko_cache_dir(tmp_path_factory) -> Path:
    """Machine-local state (packed blocks, checkpoints, timings) in a folder of this test session,
    not the checkout's .cache: every session starts cold, and a stage run by a test finds its
    checkpoints where pipeline.training.checkpoint_root says."""
    path = tmp_path_factory.mktemp("ko-cache")
    os.environ["KO_CACHE_DIR"] = str(path)
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


@pytest.fixture(scope="session")
def korean_extension(tmp_path_factory, demo_base, korean_lines) -> tuple[Path, Path]:
    """A small Korean JSONL corpus and the demo base's vocabulary extended on it to 8,600 pieces."""
    from tokenizer.config import VocabConfig
    from tokenizer.vocab import extend_vocab

    root = tmp_path_factory.mktemp("extension")
    corpus = root / "corpus.jsonl"
    with open(corpus, "w", encoding="utf-8") as f:
        for n in range(0, 600, 3):
            row = {"id": f"d{n}", "text": "\n".join(korean_lines[n : n + 3])}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    config = VocabConfig(target_vocab_size=8600, train_vocab_size=2000, cache_dir="", processes=1)
    extend_vocab(config, [corpus], str(demo_base), root / "tokenizer", progress=False)
    return corpus, root / "tokenizer"


DISTRIBUTED_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


def launch_env() -> dict:
    """This environment without torch.distributed's variables: a launched stage picks its own."""
    return {k: v for k, v in os.environ.items() if k not in DISTRIBUTED_ENV}


def run_module(module: str, args: list[str], *, processes: int = 1, wait: bool = True, timeout: int = 300):
    """`python -m module args` in its own process group, under torchrun --standalone for several processes.

    Returns the Popen when not waiting (kill it with os.killpg), else its output, asserting success.
    """
    command = [sys.executable, "-m", module, *args]
    if processes > 1:
        command[1:2] = ["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}", "-m"]
    process = subprocess.Popen(
        command,
        cwd=REPO,
        env={**launch_env(), "OMP_NUM_THREADS": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    if not wait:
        return process
    try:
        out, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # torchrun's workers too
        raise
    assert process.returncode == 0, out[-4000:]
    return out


def run_checked(args: list[str], cwd: Path, env: dict) -> str:
    """Run a command; fail the test with its output unless it succeeds; return its stdout."""
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"{' '.join(args)}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def fresh_repo(root: Path) -> dict:
    """The project's files (as git sees them) copied to `root` as a new git repo; returns an
    environment with the venv's tools on PATH and no Hub token."""
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for name in filter(None, files):
        if (REPO / name).is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, root / name)
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    env.pop("HF_TOKEN", None)  # the pipeline must not need one
    run_checked(["git", "init", "-q"], root, env)
    run_checked(["git", "add", "-A"], root, env)
    run_checked(["git", "commit", "-qm", "fresh clone"], root, env)
    return env


@pytest.fixture(scope="session")
def demo_pipeline(tmp_path_factory) -> tuple[Path, dict, str]:
    """The project's files (as git sees them) in a new git repo after one `dvc repro` of the demo.

    Returns the repo, an environment with the venv's tools on PATH, and repro's output. Tests may
    read its outputs and write elsewhere; they must leave its files as they found them.
    """
    root = tmp_path_factory.mktemp("fresh") / "repo"
    env = fresh_repo(root)
    return root, env, run_checked(["dvc", "repro"], root, env)

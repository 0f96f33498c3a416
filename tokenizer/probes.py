"""Text the vocab stage proves its tokenizers on: English and code whose ids must not change, and
the anchor tokenizers' counts. Shared by the SentencePiece and byte-level paths."""

from __future__ import annotations

import sysconfig
from collections.abc import Sequence
from pathlib import Path

# Characters of the Python standard library's sources read by code_probe (the byte-level proofs).
CODE_PROBE_CHARS = 3_000_000
# Characters of English read from --english files (the first documents, in path order).
ENGLISH_PROBE_CHARS = 5_000_000


def english_probe() -> list[str]:
    """English prose and Python code that ship with CPython: the base's ids must not change on them."""
    import json as json_module
    import textwrap
    from pydoc_data.topics import topics

    keys = ("if", "for", "class", "function", "import")
    prose = [line for key in keys for line in topics[key].splitlines()]
    code = Path(json_module.__file__).read_text(encoding="utf-8").splitlines()
    code += Path(textwrap.__file__).read_text(encoding="utf-8").splitlines()
    return [line for line in prose + code if line.strip()]


def code_probe(max_chars: int | None = None) -> list[str]:
    """Non-blank lines of the standard library's top-level modules (sorted by name), up to
    `max_chars` (CODE_PROBE_CHARS)."""

    def sources():
        for path in sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py")):
            try:
                yield path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue

    return first_lines(sources(), CODE_PROBE_CHARS if max_chars is None else max_chars)


def first_lines(texts, max_chars: int) -> list[str]:
    """The non-blank lines of `texts`, whole texts at a time, until `max_chars` characters."""
    lines: list[str] = []
    total = 0
    for text in texts:
        for line in text.splitlines():
            if line.strip():
                lines.append(line)
                total += len(line)
        if total >= max_chars:
            break
    return lines


def read_english(paths: Sequence[str | Path], max_chars: int | None = None) -> list[str]:
    """Non-blank lines of the first documents of English JSONL(.gz) or text files, up to
    `max_chars` (ENGLISH_PROBE_CHARS). A directory without such files (the pipeline's data/replay
    when no replay source is set) gives none; a path that does not exist is an error."""
    from data_prep.corpus import corpus_files, iter_documents
    from pipeline.cli import StageError

    def has_files(path: Path) -> bool:
        try:
            return bool(corpus_files([path]))
        except StageError:
            if path.is_dir():
                return False
            raise

    paths = [p for p in paths if has_files(Path(p))]
    if not paths:
        return []
    texts = (text for _, text in iter_documents(paths))
    return first_lines(texts, ENGLISH_PROBE_CHARS if max_chars is None else max_chars)


def anchor_token_count(path: Path, lines: Sequence[str]) -> int:
    """Tokens an anchor tokenizer (a tokenizer.json or its directory) spends on `lines`."""
    from tokenizers import Tokenizer

    file = path / "tokenizer.json" if path.is_dir() else path
    tok = Tokenizer.from_file(str(file))
    return sum(len(enc.ids) for enc in tok.encode_batch(list(lines), add_special_tokens=False))

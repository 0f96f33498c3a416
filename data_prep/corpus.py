"""Reading the cleaned corpus: the documents every later stage trains or measures on.

The vocab and pretrain stages read the clean stage's output (JSONL(.gz) or plain text) through
these functions, and hold out documents by one hash of their id, so both split alike.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterator, Sequence
from pathlib import Path

from pipeline.cli import StageError


def corpus_files(paths: Sequence[str | Path]) -> list[Path]:
    """The files behind `paths`: each file as given, each directory's .jsonl(.gz)/.txt files sorted."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.is_file() and _is_corpus_file(p))
        elif path.is_file():
            files.append(path)
        else:
            raise StageError(f"input not found: {path}")
    if not files:
        raise StageError(f"no .jsonl, .jsonl.gz or .txt files under {', '.join(map(str, paths))}")
    return files


def iter_documents(paths: Sequence[str | Path], text_field: str = "text") -> Iterator[tuple[str, str]]:
    """(id, text) of every document in JSONL(.gz) or text files, or directories of them, in path order."""
    for path in corpus_files(paths):
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as f:
            if ".jsonl" in path.suffixes:
                for n, line in enumerate(f, 1):
                    if not line.strip():
                        continue
                    try:
                        row = json.loads(line)
                        text = row[text_field]
                    except (json.JSONDecodeError, KeyError, TypeError) as exc:
                        raise StageError(f"{path}:{n}: no '{text_field}' string ({exc})") from exc
                    yield str(row.get("id", f"{path.name}:{n}")), text
            else:
                for n, line in enumerate(f, 1):
                    if line.strip():
                        yield f"{path.name}:{n}", line.rstrip("\n")


def _is_corpus_file(path: Path) -> bool:
    name = path.name
    return name.endswith((".jsonl", ".jsonl.gz", ".txt")) and not name.startswith(".")


def is_heldout(doc_id: str, fraction: float) -> bool:
    """Whether a document is held out: a stable hash of its id, so every stage splits alike."""
    return int(hashlib.sha256(doc_id.encode()).hexdigest()[:8], 16) % 10_000 < int(fraction * 10_000)

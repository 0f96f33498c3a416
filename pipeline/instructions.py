"""Instruction data for `ko-sft`: KoAlpaca, KULLM and chat-style rows read into one message format.

Every accepted row becomes a `Conversation`: a list of messages ({"role", "content"} with an
optional "input" on user turns, the context field of Alpaca-style data). Row shapes, told apart per
row so that sources can be mixed within one file:

- KoAlpaca v1.0 / Alpaca: `instruction`, `input`, `output`
- KoAlpaca v1.1: `instruction`, `output` (and `url`, ignored)
- KULLM v2: `id`, `instruction`, `input`, `output`
- self-instruct evaluation sets: `instruction` and `instances: [{input, output}, ...]` (the first)
- chat: `messages: [{role, content}, ...]`, roles system (first only), user and assistant in turn

Rows that cannot be used are skipped by rule, each with its file and line, and counted by reason:
malformed JSON, a missing or non-string field, an empty instruction or output, a broken message
list, an exact duplicate of an earlier row. A file that cannot be read at all stops the run.
"""

from __future__ import annotations

import json
import logging
import random
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.cli import StageError

log = logging.getLogger("ko.sft")

DATA_SUFFIXES = (".json", ".jsonl")
ROLES = ("system", "user", "assistant")
SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Conversation:
    """One training row: messages in the chat format, and where the row came from."""

    messages: tuple[dict, ...]
    source: str  # file:line (or a Hub id with the row number)
    id: str = ""

    def prompt_messages(self) -> list[dict]:
        """The messages before the last answer: what a model is asked at inference."""
        return list(self.messages[:-1])

    @property
    def reference(self) -> str:
        return self.messages[-1]["content"]


@dataclass(frozen=True)
class Skipped:
    """A row that was not used, with the rule that dropped it."""

    source: str
    reason: str
    detail: str

    def message(self) -> str:
        return f"{self.source}: {self.reason}: {self.detail}"


@dataclass
class SourceReport:
    """Counts for one input: rows read, skipped per reason, kept, and used after weighting."""

    path: str
    read: int = 0
    kept: int = 0
    used: int = 0
    skipped: Counter = field(default_factory=Counter)


def row_to_conversation(row: object, source: str) -> Conversation | Skipped:
    """Convert one parsed row to a Conversation, or say by which rule it is skipped."""
    if not isinstance(row, dict):
        return Skipped(source, "not_an_object", f"expected a JSON object, got {type(row).__name__}")
    row_id = str(row.get("id", ""))
    if "messages" in row:
        return _chat_row(row["messages"], source, row_id)
    instruction = row.get("instruction")
    if "instances" in row and "output" not in row:
        instances = row["instances"]
        if not isinstance(instances, list) or not instances or not isinstance(instances[0], dict):
            return Skipped(source, "missing_field", "'instances' must be a non-empty list of objects")
        context, output = instances[0].get("input", ""), instances[0].get("output")
    else:
        context, output = row.get("input", ""), row.get("output")
    for name, value in (("instruction", instruction), ("output", output)):
        if value is None:
            return Skipped(source, "missing_field", f"no '{name}' field (keys: {', '.join(sorted(row))})")
        if not isinstance(value, str):
            return Skipped(source, "bad_type", f"'{name}' is {type(value).__name__}, not a string")
    if context is None:
        context = ""
    if not isinstance(context, str):
        return Skipped(source, "bad_type", f"'input' is {type(context).__name__}, not a string")
    if not instruction.strip():
        return Skipped(source, "empty_instruction", "the instruction is empty")
    if not output.strip():
        return Skipped(source, "empty_output", "the output is empty")
    user = {"role": "user", "content": instruction.strip()}
    if context.strip():
        user["input"] = context.strip()
    return Conversation((user, {"role": "assistant", "content": output.strip()}), source, row_id)


def _chat_row(messages: object, source: str, row_id: str) -> Conversation | Skipped:
    if not isinstance(messages, list) or not messages:
        return Skipped(source, "bad_messages", "'messages' must be a non-empty list")
    cleaned = []
    for n, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("content"), str):
            return Skipped(source, "bad_messages", f"message {n} needs a string 'content'")
        role = message.get("role")
        if role not in ROLES:
            return Skipped(source, "bad_messages", f"message {n} has role {role!r}, not one of {ROLES}")
        if role == "system" and n != 0:
            return Skipped(source, "bad_messages", f"message {n}: a system message may only come first")
        cleaned.append({"role": role, "content": message["content"].strip()})
    turns = cleaned[1:] if cleaned[0]["role"] == "system" else cleaned
    expected = ["user", "assistant"] * (len(turns) // 2 + 1)
    if not turns or [m["role"] for m in turns] != expected[: len(turns)] or turns[-1]["role"] != "assistant":
        return Skipped(source, "bad_messages", "roles must go user, assistant, user, ... ending on assistant")
    if any(not m["content"] for m in turns):
        return Skipped(source, "empty_output" if turns[-1]["content"] == "" else "bad_messages", "empty turn")
    return Conversation(tuple(cleaned), source, row_id)


def iter_rows(path: Path) -> Iterator[tuple[int, object | Skipped]]:
    """(line, parsed row) for each row of a JSON array or JSONL file; a bad JSONL line is a Skipped."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise StageError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    stripped = text.lstrip()
    if stripped.startswith("["):
        yield from _iter_json_array(path, text)
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, Skipped(f"{path}:{number}", "malformed_json", exc.msg + f" at column {exc.colno}")


def _iter_json_array(path: Path, text: str) -> Iterator[tuple[int, object]]:
    """Elements of a top-level JSON array with the line each starts on (for messages about them)."""
    decoder = json.JSONDecoder()
    position = text.index("[") + 1
    line, counted_to = 1, 0

    def skip_space(pos: int) -> int:
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        return pos

    position = skip_space(position)
    if position < len(text) and text[position] == "]":
        return
    while True:
        line += text.count("\n", counted_to, position)
        counted_to = position
        try:
            value, end = decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            where = f"{path}:{exc.lineno}"
            raise StageError(f"{where}: malformed JSON array: {exc.msg} (column {exc.colno})") from None
        yield line, value
        position = skip_space(end)
        if position < len(text) and text[position] == ",":
            position = skip_space(position + 1)
        elif position < len(text) and text[position] == "]":
            return
        else:
            lineno = text.count("\n", 0, position) + 1
            raise StageError(f"{path}:{lineno}: malformed JSON array: expected ',' or ']'")


def expand_inputs(inputs: list[str]) -> list[tuple[str, list[Path] | None]]:
    """Each input with its files: a .json/.jsonl file, a directory of them, or (None) a Hub dataset id."""
    from pipeline.config import HUB_ID_PATTERN

    expanded = []
    for item in inputs:
        path = Path(item).expanduser()
        if path.is_file():
            expanded.append((item, [path]))
        elif path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in DATA_SUFFIXES)
            if not files:
                raise StageError(f"{item}: no .json or .jsonl files in this directory")
            expanded.append((item, files))
        elif HUB_ID_PATTERN.match(item) and not item.startswith((".", "/")):
            expanded.append((item, None))
        else:
            raise StageError(f"{item}: no such file or directory, and not a Hub dataset id (owner/name)")
    return expanded


def iter_hub_rows(dataset_id: str) -> Iterator[tuple[int, object]]:
    """Rows of a Hub dataset's train split (KoAlpaca, KULLM v2, ...), numbered from 1."""
    from pipeline.deps import require_module

    require_module("datasets", extra="model")
    import datasets

    try:
        dataset = datasets.load_dataset(dataset_id, split="train")
    except Exception as exc:  # network, auth, missing dataset: one line for the user
        why = f"{type(exc).__name__}: {exc}"
        raise StageError(f"{dataset_id}: cannot load this Hub dataset ({why})") from None
    yield from enumerate(dataset, start=1)


def dedup_key(conversation: Conversation) -> str:
    """Rows that differ only in spacing are the same row."""
    parts = []
    for m in conversation.messages:
        parts += [m["role"], SPACES.sub(" ", m["content"]), SPACES.sub(" ", m.get("input", ""))]
    return "\x1f".join(parts)


def load_conversations(
    inputs: list[str], weights: tuple[float, ...], *, dedup: bool, seed: int
) -> tuple[list[Conversation], list[SourceReport], list[Skipped]]:
    """Read every input, skip bad rows by rule, drop duplicates, and mix the sources by weight.

    A weight w takes every row of its source floor(w) times plus a seeded random share w - floor(w)
    of them once more (0.5: half the rows, 2: each row twice). Duplicates are found across all
    sources, so a row shared by KoAlpaca and KULLM is trained on once per weight of the first.
    """
    if weights and len(weights) != len(inputs):
        raise StageError(
            f"sft.weights has {len(weights)} values for {len(inputs)} inputs: give one per --input, or []"
        )
    weights = weights or (1.0,) * len(inputs)
    seen: set[str] = set()
    mixed: list[Conversation] = []
    reports, skipped = [], []
    for (item, files), weight in zip(expand_inputs(inputs), weights, strict=True):
        report = SourceReport(item)
        kept: list[Conversation] = []
        sources = [(item, iter_hub_rows(item))] if files is None else [(str(p), iter_rows(p)) for p in files]
        for name, rows in sources:
            for number, row in rows:
                report.read += 1
                source = f"{name}:{number}"
                result = row if isinstance(row, Skipped) else row_to_conversation(row, source)
                if isinstance(result, Conversation) and dedup:
                    key = dedup_key(result)
                    if key in seen:
                        result = Skipped(source, "duplicate", "same messages as an earlier row")
                    seen.add(key)
                if isinstance(result, Skipped):
                    report.skipped[result.reason] += 1
                    skipped.append(result)
                    continue
                kept.append(result)
        report.kept = len(kept)
        chosen = take_weighted(kept, weight, random.Random(f"{seed}:{item}"))
        report.used = len(chosen)
        mixed += chosen
        reports.append(report)
        log.info(
            "%s: %d rows read, %d kept, %d used (weight %g), skipped: %s",
            item,
            report.read,
            report.kept,
            report.used,
            weight,
            dict(report.skipped) or "none",
        )
    for entry in skipped[:20]:
        log.warning("skipped %s", entry.message())
    if len(skipped) > 20:
        log.warning("... and %d more skipped rows (all listed in skipped.jsonl)", len(skipped) - 20)
    return mixed, reports, skipped


def take_weighted(rows: list[Conversation], weight: float, rng: random.Random) -> list[Conversation]:
    """floor(weight) copies of `rows` plus a random share of the fractional part, in file order."""
    whole, fraction = int(weight), weight - int(weight)
    extra = sorted(rng.sample(range(len(rows)), round(len(rows) * fraction))) if fraction else []
    return rows * whole + [rows[i] for i in extra]

"""Token-level SFT examples: answer-only labels, the over-length rule, packing and batching.

Labels are set from character spans: the conversation is rendered through the chat template,
tokenized once (as inference tokenizes it), and a token is trained on when it starts inside an
assistant answer (EOS included). Everything else is labelled -100, as is the first token of every
example, so in a packed row no example is asked to predict from the one before it.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.instructions import Conversation, Skipped
from pipeline.templates import answer_spans

IGNORE = -100


@dataclass(frozen=True)
class Example:
    """One tokenized conversation."""

    input_ids: list[int]
    labels: list[int]

    @property
    def trained_tokens(self) -> int:
        return sum(label != IGNORE for label in self.labels)


def encode_conversation(
    tokenizer, conversation: Conversation, *, train_on_inputs: bool, max_length: int, overlength: str
) -> Example | Skipped:
    """Tokenize one conversation with its labels, or skip it by the over-length rule."""
    text, spans = answer_spans(tokenizer, list(conversation.messages))
    encoding = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids, offsets = encoding["input_ids"], encoding["offset_mapping"]
    labels = []
    for token, (start, _end) in zip(ids, offsets, strict=True):
        inside = any(a <= start < b for a, b in spans)
        labels.append(token if train_on_inputs or inside else IGNORE)
    labels[0] = IGNORE
    if len(ids) > max_length:
        if overlength == "drop":
            why = f"{len(ids)} tokens > sft.max_length {max_length}"
            return Skipped(conversation.source, "too_long", why)
        ids, labels = ids[:max_length], labels[:max_length]
    if all(label == IGNORE for label in labels):
        return Skipped(conversation.source, "too_long", f"no answer token within sft.max_length {max_length}")
    return Example(ids, labels)


def pack_examples(examples: list[Example], max_length: int) -> list[dict]:
    """Concatenate examples, in order, into rows of at most `max_length` tokens.

    Each row carries position_ids that restart at 0 for every example and no attention mask:
    transformers then builds a block-diagonal causal mask from the position_ids, so attention
    does not cross examples (the model must run with use_cache=False while training).
    """
    rows: list[dict] = []
    current = {"input_ids": [], "labels": [], "position_ids": []}
    for example in examples:
        if current["input_ids"] and len(current["input_ids"]) + len(example.input_ids) > max_length:
            rows.append(current)
            current = {"input_ids": [], "labels": [], "position_ids": []}
        current["input_ids"] += example.input_ids
        current["labels"] += example.labels
        current["position_ids"] += list(range(len(example.input_ids)))
    if current["input_ids"]:
        rows.append(current)
    return rows


def unpacked_rows(examples: list[Example]) -> list[dict]:
    return [{"input_ids": e.input_ids, "labels": e.labels} for e in examples]


class PadCollator:
    """Right-pads a batch: pad id in input_ids, -100 in labels; an attention mask for plain rows,
    restarting position_ids for packed rows (the padding is then a sequence of its own)."""

    def __init__(self, pad_id: int):
        self.pad_id = pad_id

    def __call__(self, rows: list[dict]) -> dict:
        import torch

        longest = max(len(r["input_ids"]) for r in rows)
        batch = {"input_ids": [], "labels": []}
        packed = "position_ids" in rows[0]
        batch["position_ids" if packed else "attention_mask"] = []
        for row in rows:
            pad = longest - len(row["input_ids"])
            batch["input_ids"].append(list(row["input_ids"]) + [self.pad_id] * pad)
            batch["labels"].append(list(row["labels"]) + [IGNORE] * pad)
            if packed:
                batch["position_ids"].append(list(row["position_ids"]) + list(range(pad)))
            else:
                batch["attention_mask"].append([1] * len(row["input_ids"]) + [0] * pad)
        return {key: torch.tensor(value, dtype=torch.long) for key, value in batch.items()}

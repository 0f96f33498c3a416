"""Scoring find_pii against a gold file of spans (../shared/data/pii/eval_corpus.jsonl's format).

Used by bench/clean.py and by the test that holds the PII targets, so both score the same way.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path

from data_prep.pii import Span, find_pii

# Gold labels mapped to our kinds; the other labels (names, addresses, case numbers...) are not
# structured identifiers and are not scored.
GOLD_KINDS = {
    "PHONE": "phone", "FAX": "phone", "EMAIL": "email", "RRN": "rrn", "FRN": "rrn", "CARD": "card",
    "BUSINESS_REG": "brn", "CORP_REG": "crn", "PASSPORT": "passport", "DRIVER_LICENSE": "licence",
    "ACCOUNT": "account", "IP": "ip",
}  # fmt: skip


def is_public_number(text: str) -> bool:
    """Business and public-service numbers (1588-xxxx, 119, 02-120): the gold set labels them
    PHONE; our policy keeps them, since they identify no person."""
    digits = "".join(ch for ch in text if ch.isdigit())
    business = len(digits) == 8 and digits[:2] in ("15", "16", "18")
    return len(digits) <= 4 or business or digits.endswith("120")


@dataclass
class PIIScore:
    """Span-overlap counts: a gold span is found by an overlapping predicted span of its kind,
    and a predicted span is correct when it overlaps a gold span of its kind."""

    found: Counter[str] = field(default_factory=Counter)
    missed: Counter[str] = field(default_factory=Counter)
    predicted: Counter[str] = field(default_factory=Counter)
    wrong: Counter[str] = field(default_factory=Counter)
    public_numbers_kept: int = 0

    @property
    def gold_spans(self) -> int:
        return sum(self.found.values()) + sum(self.missed.values())

    @property
    def recall(self) -> float:
        return sum(self.found.values()) / max(self.gold_spans, 1)

    @property
    def precision(self) -> float:
        predicted = sum(self.predicted.values())
        return (predicted - sum(self.wrong.values())) / max(predicted, 1)

    def per_kind(self) -> dict[str, dict[str, float]]:
        kinds = sorted(set(self.found) | set(self.missed) | set(self.predicted))
        return {
            k: {
                "gold": self.found[k] + self.missed[k],
                "recall": round(self.found[k] / max(self.found[k] + self.missed[k], 1), 4),
                "precision": round((self.predicted[k] - self.wrong[k]) / max(self.predicted[k], 1), 4),
            }
            for k in kinds
        }


def score_pii(
    gold_file: Path,
    detect: Callable[[str], list[Span]] = find_pii,
    kinds: Collection[str] | None = None,
) -> PIIScore:
    """Score a detector (find_pii unless given) on every document of a gold JSONL file
    (text, spans[{label,start,end,text}]). `kinds` limits both the gold and the predicted spans
    to those kinds: an anchor that has only e-mail and IP rules is scored on those."""
    score = PIIScore()
    with open(gold_file, encoding="utf-8") as f:
        for line in f:
            doc = json.loads(line)
            gold = []
            for s in doc["spans"]:
                if s["label"] not in GOLD_KINDS:
                    continue
                if s["label"] == "PHONE" and is_public_number(s["text"]):
                    score.public_numbers_kept += 1
                    continue
                if kinds is None or GOLD_KINDS[s["label"]] in kinds:
                    gold.append((GOLD_KINDS[s["label"]], s["start"], s["end"]))
            spans = [p for p in detect(doc["text"]) if kinds is None or p.kind in kinds]
            for kind, a, b in gold:
                hit = any(p.kind == kind and p.start < b and a < p.end for p in spans)
                (score.found if hit else score.missed)[kind] += 1
            for p in spans:
                score.predicted[p.kind] += 1
                if not any(k == p.kind and p.start < b and a < p.end for k, a, b in gold):
                    score.wrong[p.kind] += 1
    return score

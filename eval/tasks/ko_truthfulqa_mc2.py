"""Ko-TruthfulQA MC2 (Open Ko-LLM Leaderboard season 1's metric): the normalised probability of the
true answers among mc2_targets, 0-shot, as lm-eval's truthfulqa_mc2 computes it.

Same file and prompt as ko_truthfulqa_mc1. The true choices are put first (lm-eval splits the
likelihoods at the first false label, so the data's own order would matter).
"""

from pathlib import Path

from eval.tasks import Task, read_records
from eval.tasks.ko_truthfulqa_mc1 import PREAMBLE, targets


def read(path: Path) -> list[dict]:
    docs = []
    for n, r in enumerate(read_records(path)):
        choices, labels = targets(r, "mc2_targets", f"{path}: record {n}")
        order = sorted(range(len(choices)), key=lambda i: -labels[i])  # stable: true ones first
        docs.append(
            {
                "query": f"{PREAMBLE}Q: {r['question']}\nA:",
                "choices": [choices[i] for i in order],
                "labels": [labels[i] for i in order],
                "gold": 0,
            }
        )
    return docs


TASK = Task(
    "ko_truthfulqa_mc2",
    "ko_truthfulqa/validation.jsonl",
    None,
    0,
    read,
    headline="mc2",
    title="Ko-TruthfulQA (MC2)",
    scoring="mc2",
)

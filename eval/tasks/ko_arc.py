"""Ko-ARC (Open Ko-LLM Leaderboard season 1): ARC-Challenge's format, 25-shot, acc_norm.

The leaderboard's Korean sets are private; this reads your copy in ARC's published schema (JSONL,
JSON or Parquet; question, choices {text, label}, answerKey) from ko_arc/test.* with the
few-shot pool in ko_arc/train.*, and prompts as lm-eval's arc_challenge does, which the
leaderboard mirrors.
"""

from pathlib import Path

from eval.tasks import Task, TaskDataError, read_records, require_fields


def read(path: Path) -> list[dict]:
    docs = []
    for n, r in enumerate(read_records(path)):
        where = f"{path}: record {n}"
        require_fields(r, ("question", "choices", "answerKey"), where)
        labels, texts = list(r["choices"]["label"]), list(r["choices"]["text"])
        if str(r["answerKey"]) not in labels or len(labels) != len(texts):
            raise TaskDataError(f"{where}: answerKey {r['answerKey']!r} is not among labels {labels}")
        docs.append(
            {
                "query": f"Question: {r['question']}\nAnswer:",
                "choices": texts,
                "gold": labels.index(str(r["answerKey"])),
            }
        )
    return docs


TASK = Task(
    "ko_arc",
    "ko_arc/test.jsonl",
    "ko_arc/train.jsonl",
    25,
    read,
    headline="acc_norm",
    title="Ko-ARC",
)

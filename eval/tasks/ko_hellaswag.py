"""Ko-HellaSwag (Open Ko-LLM Leaderboard season 1): HellaSwag's format, 10-shot, acc_norm.

Reads your copy in HellaSwag's schema (activity_label, ctx_a, ctx_b, endings, label) from
ko_hellaswag/test.jsonl, few-shot pool ko_hellaswag/train.jsonl, and builds the context and
endings as lm-eval's hellaswag does (WikiHow's "[title]" markers and other brackets removed).
KoBEST HellaSwag (kobest_hellaswag) is a different, public task.
"""

import re
from pathlib import Path

from eval.tasks import Task, TaskDataError, read_records, require_fields


def clean(text: str) -> str:
    text = text.strip().replace(" [title]", ". ")
    text = re.sub(r"\[.*?\]", "", text)
    return text.replace("  ", " ")


def read(path: Path) -> list[dict]:
    docs = []
    for n, r in enumerate(read_records(path)):
        where = f"{path}: record {n}"
        require_fields(r, ("activity_label", "ctx_a", "ctx_b", "endings", "label"), where)
        endings = list(r["endings"])
        if str(r["label"]).strip() not in {str(i) for i in range(len(endings))}:
            raise TaskDataError(f"{where}: label {r['label']!r} does not index the {len(endings)} endings")
        context = r["ctx_a"] + " " + r["ctx_b"].capitalize()
        docs.append(
            {
                "query": clean(r["activity_label"] + ": " + context),
                "choices": [clean(e) for e in endings],
                "gold": int(r["label"]),
            }
        )
    return docs


TASK = Task(
    "ko_hellaswag",
    "ko_hellaswag/test.jsonl",
    "ko_hellaswag/train.jsonl",
    10,
    read,
    headline="acc_norm",
    title="Ko-HellaSwag",
)

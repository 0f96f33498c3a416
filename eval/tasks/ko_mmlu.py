"""Ko-MMLU (Open Ko-LLM Leaderboard season 1): MMLU's format, 5-shot, acc.

Reads your copy in MMLU's schema (question, choices [4], answer 0-3; subject optional) from
ko_mmlu/test.jsonl, few-shot pool ko_mmlu/dev.jsonl, with lm-eval's mmlu prompt. lm-eval heads
each subject with "The following are multiple choice questions (with answers) about <subject>.";
with all subjects in one task that line is left out.
"""

from pathlib import Path

from eval.tasks import Task, TaskDataError, read_records, require_fields


def read(path: Path) -> list[dict]:
    docs = []
    for n, r in enumerate(read_records(path)):
        where = f"{path}: record {n}"
        require_fields(r, ("question", "choices", "answer"), where)
        options = list(r["choices"])
        if len(options) != 4 or int(r["answer"]) not in range(4):
            raise TaskDataError(f"{where}: needs 4 choices and an answer 0-3")
        listed = "".join(f"\n{k}. {o}" for k, o in zip("ABCD", options, strict=True))
        query = f"{r['question'].strip()}{listed}\nAnswer:"
        docs.append({"query": query, "choices": list("ABCD"), "gold": int(r["answer"])})
    return docs


TASK = Task(
    "ko_mmlu",
    "ko_mmlu/test.jsonl",
    "ko_mmlu/dev.jsonl",
    5,
    read,
    title="Ko-MMLU",
)

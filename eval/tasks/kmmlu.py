"""KMMLU: four-option exam questions (lm-eval's kmmlu prompt), 5-shot.

The few-shot pool is the subject's dev file when it is there (KMMLU's 5 dev questions); otherwise
examples come from the test file itself, never the question asked, and the result says so.
Answers are 1-4 in the files.
"""

from pathlib import Path

from eval.tasks import Task, TaskDataError, read_json_records


def read(path: Path) -> list[dict]:
    docs = []
    for n, r in enumerate(read_json_records(path)):
        if int(r.get("answer", 0)) not in (1, 2, 3, 4) or any(k not in r for k in "ABCD"):
            raise TaskDataError(f"{path}: record {n} needs question, A-D and an answer 1-4")
        docs.append(
            {
                "query": r["question"].strip() + "".join(f"\n{k}. {r[k]}" for k in "ABCD") + "\n정답：",
                "choices": ["A", "B", "C", "D"],
                "gold": int(r["answer"]) - 1,
            }
        )
    return docs


TASK = Task(
    "kmmlu",
    "kmmlu/criminal_law_test.json",
    "kmmlu/criminal_law_dev.json",
    5,
    read,
    title="KMMLU Criminal Law",
    hub_id="HAERAE-HUB/KMMLU",
    hub_config="Criminal-Law",
)

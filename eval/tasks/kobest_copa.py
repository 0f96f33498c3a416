"""KoBEST COPA: the cause or effect of a sentence; the file's answers are 1/2 (the Hub copy's 0/1)."""

from pathlib import Path

from eval.tasks import Task, TaskDataError, read_tsv

CONNECTORS = {"원인": " 왜냐하면", "결과": " 그래서"}


def read(path: Path) -> list[dict]:
    docs = []
    for n, r in enumerate(read_tsv(path, ("sentence", "question", "1", "2", "Answer"))):
        where = f"{path}:{n + 2}"
        if r["question"].strip() not in CONNECTORS or r["Answer"].strip() not in ("1", "2"):
            raise TaskDataError(
                f"{where}: question {r['question']!r} / answer {r['Answer']!r} not understood"
            )
        docs.append(
            {
                "query": f"{r['sentence']}{CONNECTORS[r['question'].strip()]}",
                "choices": [r["1"], r["2"]],
                "gold": int(r["Answer"]) - 1,
            }
        )
    return docs


TASK = Task(
    "kobest_copa",
    "kobest/COPA/test.tsv",
    "kobest/COPA/train.tsv",
    0,
    read,
    headline="f1",
    macro_f1=True,
    title="KoBEST COPA",
    hub_id="skt/kobest_v1",
    hub_config="copa",
)

"""KoBEST COPA: the cause or effect of a sentence; the file's answers are 1/2 (the Hub copy's 0/1)."""

from pathlib import Path

from eval.tasks import Task, TaskDataError, read_tsv, require_fields

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
                # lm-eval writes f"{premise} {connector}" and the connector starts with a space: two.
                "query": f"{r['sentence']} {CONNECTORS[r['question'].strip()]}",
                "choices": [r["1"], r["2"]],
                "gold": int(r["Answer"]) - 1,
            }
        )
    return docs


def from_hub(rows: list[dict], where: str) -> list[dict]:
    """skt/kobest_v1 copa rows: premise, question, alternative_1, alternative_2, label 0/1."""
    docs = []
    for n, r in enumerate(rows):
        fields = ("premise", "question", "alternative_1", "alternative_2", "label")
        require_fields(r, fields, f"{where} row {n}")
        if r["question"].strip() not in CONNECTORS:
            raise TaskDataError(f"{where} row {n}: question {r['question']!r} not understood")
        docs.append(
            {
                "query": f"{r['premise']} {CONNECTORS[r['question'].strip()]}",
                "choices": [r["alternative_1"], r["alternative_2"]],
                "gold": int(r["label"]),
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
    version="2",  # 2: two spaces before the connector, as lm-eval
    from_hub=from_hub,
)

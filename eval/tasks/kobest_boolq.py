"""KoBEST BoolQ: a Wikipedia paragraph and a yes/no question (lm-eval's kobest_boolq prompt)."""

from pathlib import Path

from eval.tasks import Task, parse_bool, read_tsv, require_fields


def read(path: Path) -> list[dict]:
    rows = read_tsv(path, ("Text", "Question", "Answer"))
    return [
        {
            "query": f"{r['Text']} 질문: {r['Question']} 답변: ",
            "choices": ["아니오", "예"],
            "gold": parse_bool(r["Answer"], f"{path}:{n + 2}"),
        }
        for n, r in enumerate(rows)
    ]


def from_hub(rows: list[dict], where: str) -> list[dict]:
    """skt/kobest_v1 boolq rows: paragraph, question, label 0/1."""
    for n, r in enumerate(rows):
        require_fields(r, ("paragraph", "question", "label"), f"{where} row {n}")
    return [
        {
            "query": f"{r['paragraph']} 질문: {r['question']} 답변: ",
            "choices": ["아니오", "예"],
            "gold": int(r["label"]),
        }
        for r in rows
    ]


TASK = Task(
    "kobest_boolq",
    "kobest/BoolQ/test.tsv",
    "kobest/BoolQ/train.tsv",
    0,
    read,
    headline="f1",
    macro_f1=True,
    title="KoBEST BoolQ",
    hub_id="skt/kobest_v1",
    hub_config="boolq",
    from_hub=from_hub,
)

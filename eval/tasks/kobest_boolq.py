"""KoBEST BoolQ: a Wikipedia paragraph and a yes/no question (lm-eval's kobest_boolq prompt)."""

from pathlib import Path

from eval.tasks import Task, parse_bool, read_tsv


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
)

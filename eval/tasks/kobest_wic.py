"""KoBEST WiC: is the bracketed word used in the same sense in both sentences?"""

from pathlib import Path

from eval.tasks import Task, parse_bool, read_tsv


def read(path: Path) -> list[dict]:
    rows = read_tsv(path, ("Target", "SENTENCE1", "SENTENCE2", "ANSWER"))
    return [
        {
            "query": f"문장1: {r['SENTENCE1']} 문장2: {r['SENTENCE2']} "
            f"두 문장에서 {r['Target']}가 같은 뜻으로 쓰였나?",
            "choices": ["아니오", "예"],
            "gold": parse_bool(r["ANSWER"], f"{path}:{n + 2}"),
        }
        for n, r in enumerate(rows)
    ]


TASK = Task(
    "kobest_wic",
    "kobest/WiC/test.tsv",
    "kobest/WiC/train.tsv",
    0,
    read,
    headline="f1",
    macro_f1=True,
    title="KoBEST WiC",
    hub_id="skt/kobest_v1",
    hub_config="wic",
)

"""KoBEST WiC: is the bracketed word used in the same sense in both sentences?"""

from pathlib import Path

from eval.tasks import Task, parse_bool, read_tsv, require_fields


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


def from_hub(rows: list[dict], where: str) -> list[dict]:
    """skt/kobest_v1 wic rows: word, context_1, context_2, label."""
    for n, r in enumerate(rows):
        require_fields(r, ("word", "context_1", "context_2", "label"), f"{where} row {n}")
    return [
        {
            "query": f"문장1: {r['context_1']} 문장2: {r['context_2']} "
            f"두 문장에서 {r['word']}가 같은 뜻으로 쓰였나?",
            "choices": ["아니오", "예"],
            "gold": int(r["label"]),
        }
        for r in rows
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
    from_hub=from_hub,
)

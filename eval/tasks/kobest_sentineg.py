"""KoBEST SentiNeg: sentiment of negated review sentences.

The test file carries the negated sentence (Text, Label) beside the one it was made from
(Text_origin, Label_origin); the task scores the negated one, as the Hub's test split does.
The train file has only Text and Label.
"""

from pathlib import Path

from eval.tasks import Task, read_tsv, require_fields


def read(path: Path) -> list[dict]:
    rows = read_tsv(path, ("Text", "Label"))
    return [
        {"query": f"문장: {r['Text']} 긍부정:", "choices": ["부정", "긍정"], "gold": int(r["Label"])}
        for r in rows
    ]


def from_hub(rows: list[dict], where: str) -> list[dict]:
    """skt/kobest_v1 sentineg rows: sentence, label."""
    for n, r in enumerate(rows):
        require_fields(r, ("sentence", "label"), f"{where} row {n}")
    return [
        {"query": f"문장: {r['sentence']} 긍부정:", "choices": ["부정", "긍정"], "gold": int(r["label"])}
        for r in rows
    ]


TASK = Task(
    "kobest_sentineg",
    "kobest/SentiNeg/test.tsv",
    "kobest/SentiNeg/train.tsv",
    0,
    read,
    headline="f1",
    macro_f1=True,
    title="KoBEST SentiNeg",
    hub_id="skt/kobest_v1",
    hub_config="sentineg",
    from_hub=from_hub,
)

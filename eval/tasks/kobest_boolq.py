"""KoBEST BoolQ: a Wikipedia paragraph and a yes/no question (lm-eval's kobest_boolq)."""

from pathlib import Path

from eval.tasks import Defined, Rows, kobest_rows, parse_bool, require_fields


def convert(r: dict, where: str) -> dict:
    require_fields(r, ("Text", "Question", "Answer"), where)
    return {"paragraph": r["Text"], "question": r["Question"], "label": parse_bool(r["Answer"], where)}


def rows(directory: Path) -> Rows:
    """{CONFIG: {split: rows}} from BoolQ/train.tsv, dev.tsv (validation), test.tsv: those present."""
    return kobest_rows(directory, "boolq", convert)


TASK = Defined(
    "kobest_boolq",
    "kobest_boolq",
    "kobest/BoolQ",
    rows,
    title="KoBEST BoolQ",
    hub_id="skt/kobest_v1",
    hub_config="boolq",
    headline="f1",  # lm-eval's kobest f1 is macro F1, as the KoBEST paper reports
    published=1404,
)

"""KoBEST COPA: the cause or effect of a sentence (lm-eval's kobest_copa); the files' answers
are 1/2, the Hub copy's labels 0/1."""

from pathlib import Path

from eval.tasks import Defined, Rows, TaskDataError, kobest_rows, require_fields


def convert(r: dict, where: str) -> dict:
    require_fields(r, ("sentence", "question", "1", "2", "Answer"), where)
    if r["Answer"].strip() not in ("1", "2"):
        raise TaskDataError(f"{where}: answer {r['Answer']!r} is not 1 or 2")
    return {
        "premise": r["sentence"],
        "question": r["question"],
        "alternative_1": r["1"],
        "alternative_2": r["2"],
        "label": int(r["Answer"]) - 1,
    }


def rows(directory: Path) -> Rows:
    """{CONFIG: {split: rows}} from COPA/train.tsv, dev.tsv (validation), test.tsv: those present."""
    return kobest_rows(directory, "copa", convert)


TASK = Defined(
    "kobest_copa",
    "kobest_copa",
    "kobest/COPA",
    rows,
    title="KoBEST COPA",
    hub_id="skt/kobest_v1",
    hub_config="copa",
    headline="f1",  # lm-eval's kobest f1 is macro F1, as the KoBEST paper reports
    published=1000,
)

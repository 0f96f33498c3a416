"""KoBEST SentiNeg: sentiment of negated review sentences (lm-eval's kobest_sentineg).

The test file carries the negated sentence (Text, Label) beside the one it was made from
(Text_origin, Label_origin); the task scores the negated one, as the Hub's test split does.
"""

from pathlib import Path

from eval.tasks import Defined, Rows, kobest_rows, require_fields


def convert(r: dict, where: str) -> dict:
    require_fields(r, ("Text", "Label"), where)
    return {"sentence": r["Text"], "label": int(r["Label"])}


def rows(directory: Path) -> Rows:
    """{CONFIG: {split: rows}} from SentiNeg/train.tsv, dev.tsv (validation), test.tsv: those present."""
    return kobest_rows(directory, "sentineg", convert)


TASK = Defined(
    "kobest_sentineg",
    "kobest_sentineg",
    "kobest/SentiNeg",
    rows,
    title="KoBEST SentiNeg",
    hub_id="skt/kobest_v1",
    hub_config="sentineg",
    headline="f1",  # lm-eval's kobest f1 is macro F1, as the KoBEST paper reports
    published=397,
)

"""KoBEST WiC: is the word used in the same sense in both sentences? (lm-eval's kobest_wic)"""

from pathlib import Path

from eval.tasks import Defined, Rows, kobest_rows, parse_bool, require_fields


def convert(r: dict, where: str) -> dict:
    require_fields(r, ("Target", "SENTENCE1", "SENTENCE2", "ANSWER"), where)
    return {
        "word": r["Target"],
        "context_1": r["SENTENCE1"],
        "context_2": r["SENTENCE2"],
        "label": parse_bool(r["ANSWER"], where),
    }


def rows(directory: Path) -> Rows:
    """{CONFIG: {split: rows}} from WiC/train.tsv, dev.tsv (validation), test.tsv: those present."""
    return kobest_rows(directory, "wic", convert)


TASK = Defined(
    "kobest_wic",
    "kobest_wic",
    "kobest/WiC",
    rows,
    title="KoBEST WiC",
    hub_id="skt/kobest_v1",
    hub_config="wic",
    headline="f1",  # lm-eval's kobest f1 is macro F1, as the KoBEST paper reports
    published=1260,
)

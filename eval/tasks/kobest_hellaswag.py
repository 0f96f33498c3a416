"""KoBEST HellaSwag: the right ending of a short story out of four (lm-eval's kobest_hellaswag)."""

from pathlib import Path

from eval.tasks import Defined, Rows, kobest_rows, require_fields


def convert(r: dict, where: str) -> dict:
    require_fields(r, ("context", "choice1", "choice2", "choice3", "choice4", "label"), where)
    endings = {f"ending_{i}": r[f"choice{i}"] for i in range(1, 5)}
    return {"context": r["context"], **endings, "label": int(r["label"])}


def rows(directory: Path) -> Rows:
    """{CONFIG: {split: rows}} from HellaSwag/train.tsv, dev.tsv (validation), test.tsv: those present."""
    return kobest_rows(directory, "hellaswag", convert)


TASK = Defined(
    "kobest_hellaswag",
    "kobest_hellaswag",
    "kobest/HellaSwag",
    rows,
    title="KoBEST HellaSwag",
    hub_id="skt/kobest_v1",
    hub_config="hellaswag",
    headline="f1",  # lm-eval's kobest f1 is macro F1, as the KoBEST paper reports
    published=500,
)

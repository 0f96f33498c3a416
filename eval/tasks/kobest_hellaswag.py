"""KoBEST HellaSwag: the right ending of a short story out of four."""

from pathlib import Path

from eval.tasks import Task, read_tsv, require_fields


def read(path: Path) -> list[dict]:
    rows = read_tsv(path, ("context", "choice1", "choice2", "choice3", "choice4", "label"))
    return [
        {
            "query": f"문장: {r['context']}",
            "choices": [r[f"choice{i}"] for i in range(1, 5)],
            "gold": int(r["label"]),
        }
        for r in rows
    ]


def from_hub(rows: list[dict], where: str) -> list[dict]:
    """skt/kobest_v1 hellaswag rows: context, ending_1..ending_4, label."""
    fields = ("context", "ending_1", "ending_2", "ending_3", "ending_4", "label")
    for n, r in enumerate(rows):
        require_fields(r, fields, f"{where} row {n}")
    return [
        {
            "query": f"문장: {r['context']}",
            "choices": [r[f"ending_{i}"] for i in range(1, 5)],
            "gold": int(r["label"]),
        }
        for r in rows
    ]


TASK = Task(
    "kobest_hellaswag",
    "kobest/HellaSwag/test.tsv",
    "kobest/HellaSwag/train.tsv",
    0,
    read,
    headline="f1",
    macro_f1=True,
    title="KoBEST HellaSwag",
    hub_id="skt/kobest_v1",
    hub_config="hellaswag",
    from_hub=from_hub,
)

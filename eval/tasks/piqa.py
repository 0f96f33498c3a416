"""PIQA: the physical-commonsense solution of two (lm-eval's piqa), English, 0-shot.

Read from PIQA's original validation files: valid.jsonl (goal, sol1, sol2) and valid-labels.lst
(one label a line), joined into the Hub copy's schema; lm-eval scores the validation split.
"""

from pathlib import Path

from eval.tasks import Defined, Rows, TaskDataError, read_json_records, require_fields


def rows(directory: Path) -> Rows:
    records = read_json_records(directory / "valid.jsonl")
    labels_path = directory / "valid-labels.lst"
    if not labels_path.is_file():
        raise TaskDataError(f"{labels_path}: no such file")
    labels = labels_path.read_text(encoding="utf-8").split()
    if len(labels) != len(records) or set(labels) - {"0", "1"}:
        raise TaskDataError(f"{labels_path}: {len(labels)} labels of 0/1 needed for {len(records)} questions")
    for n, (r, label) in enumerate(zip(records, labels, strict=True)):
        require_fields(r, ("goal", "sol1", "sol2"), f"{directory / 'valid.jsonl'}: record {n}")
        r["label"] = int(label)
    return {None: {"validation": records}}


TASK = Defined(
    "piqa",
    "piqa",
    "english/piqa",
    rows,
    title="PIQA",
    hub_id="baber/piqa",
    language="en",
    headline="acc_norm",
    published=1838,
)

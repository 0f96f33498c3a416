"""CLIcK: Korean culture and language exam questions (lm-eval's click group), 0-shot.

Every file under click/ (JSON, JSONL, CSV or Parquet; records id, paragraph, question, choices,
answer, as the Hub copy's single split) is one dataset; lm-eval's eleven click tasks each take the
questions of their category by id, and the headline is the group's mean over all of them.
"""

from pathlib import Path

from eval.tasks import Defined, Rows, TaskDataError, read_records, require_fields


def rows(directory: Path) -> Rows:
    records = read_records(directory)
    for n, r in enumerate(records):
        where = f"{directory}: record {n}"
        require_fields(r, ("id", "question", "choices", "answer"), where)
        if r["answer"] not in list(r["choices"]):
            raise TaskDataError(f"{where}: the answer is not among the choices")
        r.setdefault("paragraph", "")
    return {None: {"train": records}}


TASK = Defined("click", "click", "click", rows, title="CLIcK", hub_id="EunsuKim/CLIcK")

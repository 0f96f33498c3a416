"""MMLU: four-option exam questions in 57 subjects (lm-eval's mmlu group), English, 5-shot.

Files in cais/mmlu's CSV export: test/<subject>_test.csv and dev/<subject>_dev.csv (header
question,choice0..choice3,answer; answer 0-3). Subjects with a test file are scored, each as
lm-eval's task of that subject with its dev questions as shots (first five, lm-eval's first_n);
the headline is the group's mean over all questions (micro), acc_macro the mean over subjects.
"""

import csv
from pathlib import Path

from eval.tasks import Defined, Rows, TaskDataError, require_fields

COLUMNS = ("question", "choice0", "choice1", "choice2", "choice3", "answer")


def read_csv(path: Path, subject: str) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as f:
        records = list(csv.DictReader(f))
    out = []
    for n, r in enumerate(records):
        where = f"{path}:{n + 2}"
        require_fields(r, COLUMNS, where)
        if r["answer"].strip() not in ("0", "1", "2", "3"):
            raise TaskDataError(f"{where}: answer {r['answer']!r} is not 0-3")
        choices = [r[f"choice{i}"] for i in range(4)]
        out.append(
            {"question": r["question"], "subject": subject, "choices": choices, "answer": int(r["answer"])}
        )
    return out


def rows(directory: Path) -> Rows:
    tests = sorted((directory / "test").glob("*_test.csv"))
    if not tests:
        raise TaskDataError(f"{directory / 'test'}: no <subject>_test.csv files")
    out = {}
    for test in tests:
        subject = test.name[: -len("_test.csv")]
        out[subject] = {"test": read_csv(test, subject)}
        dev = directory / "dev" / f"{subject}_dev.csv"
        if dev.is_file():
            out[subject]["dev"] = read_csv(dev, subject)
    return out


TASK = Defined(
    "mmlu",
    "mmlu",
    "english/mmlu",
    rows,
    title="MMLU",
    hub_id="cais/mmlu",
    language="en",
    num_fewshot=5,
    published=14042,  # test questions over 57 subjects
)

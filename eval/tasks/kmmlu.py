"""KMMLU: four-option exam questions in 45 subjects (lm-eval's kmmlu group), 5-shot as the paper.

A subject is a `<subject>_test.json` (or .jsonl) file under kmmlu/, or the Hub copy's
`<Subject>-test.csv`, matched to lm-eval's kmmlu task of that Hub config ("Criminal-Law" ->
kmmlu_criminal_law); its few-shot pool is `<subject>_dev.*` / `<Subject>-dev.csv` (KMMLU's 5 dev
questions) when there, otherwise other questions of the test file. Subjects without a file are not
scored (results say how many were); the headline acc is lm-eval's group mean over all questions
(micro), acc_macro the mean over subjects. Records keep the Hub schema: question, A-D, answer 1-4.
"""

from pathlib import Path

from eval.tasks import Defined, Rows, TaskDataError, read_records, require_fields

SPLIT_SUFFIXES = ("_{split}.json", "_{split}.jsonl", "-{split}.csv")


def subjects(directory: Path) -> dict[str, tuple[Path, Path | None]]:
    """Subject -> (test file, dev file or None), from the files' names."""
    if not directory.is_dir():
        raise TaskDataError(f"{directory}: no such directory (KMMLU's subject files go there)")
    found = {}
    for path in sorted(directory.iterdir()):
        for suffix in SPLIT_SUFFIXES:
            test = suffix.format(split="test")
            if path.name.endswith(test):
                stem = path.name[: -len(test)]
                devs = [directory / (stem + s.format(split="dev")) for s in SPLIT_SUFFIXES]
                found[stem] = (path, next((d for d in devs if d.is_file()), None))
    if not found:
        raise TaskDataError(f"{directory}: no <subject>_test.json or <Subject>-test.csv files")
    return found


def rows(directory: Path) -> Rows:
    """{subject: {"test": rows, "dev": rows}} in the Hub schema (answers checked to be 1-4)."""
    out = {}
    for subject, (test, dev) in subjects(directory).items():
        out[subject] = {"test": checked(read_records(test), test)}
        if dev is not None:
            out[subject]["dev"] = checked(read_records(dev), dev)
    return out


def checked(records: list[dict], source: Path) -> list[dict]:
    for n, r in enumerate(records):
        where = f"{source}: record {n}"
        require_fields(r, ("question", "answer", "A", "B", "C", "D"), where)
        if str(r["answer"]).strip() not in ("1", "2", "3", "4"):
            raise TaskDataError(f"{where}: answer {r['answer']!r} is not 1-4")
        r["answer"] = int(r["answer"])  # CSV cells are text; lm-eval's target is answer-1
    return records


TASK = Defined(
    "kmmlu",
    "kmmlu",
    "kmmlu",
    rows,
    title="KMMLU",
    hub_id="HAERAE-HUB/KMMLU",
    num_fewshot=5,
    published=35030,  # test questions over 45 subjects
)

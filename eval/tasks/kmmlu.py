"""KMMLU: four-option exam questions in 45 subjects (lm-eval's kmmlu prompt), 5-shot.

Every subject under kmmlu/ is scored as its own lm-eval task and grouped as lm-eval's kmmlu group
does: the headline acc is the mean over all questions (micro); acc_macro, the mean over subjects,
is recorded beside it. A subject is a `<subject>_test.json` (or .jsonl) file, or the Hub copy's
`<Subject>-test.csv`. Its few-shot pool is `<subject>_dev.*` / `<Subject>-dev.csv` (KMMLU's 5 dev
questions) when there, otherwise the test file itself, never the question asked, and the result
says so. Answers are 1-4.
"""

from pathlib import Path

from eval.tasks import Task, TaskDataError, read_records, require_fields

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


def read(path: Path) -> list[dict]:
    return parse(read_records(path), str(path))


def parse(records: list[dict], source: str) -> list[dict]:
    """Rows with question, A-D and answer 1-4: the files' and the Hub copy's schema alike."""
    docs = []
    for n, r in enumerate(records):
        where = f"{source}: record {n}"
        require_fields(r, ("question", "answer", "A", "B", "C", "D"), where)
        if str(r["answer"]).strip() not in ("1", "2", "3", "4"):
            raise TaskDataError(f"{where}: answer {r['answer']!r} is not 1-4")
        docs.append(
            {
                "query": r["question"].strip() + "".join(f"\n{k}. {r[k]}" for k in "ABCD") + "\n정답：",
                "choices": ["A", "B", "C", "D"],
                "gold": int(r["answer"]) - 1,
            }
        )
    return docs


TASK = Task(
    "kmmlu",
    "kmmlu",
    None,
    5,
    read,
    title="KMMLU",
    hub_id="HAERAE-HUB/KMMLU",
    subjects=subjects,
    from_hub=parse,
    hub_fewshot_split="dev",
)

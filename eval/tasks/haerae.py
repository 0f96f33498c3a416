"""HAE-RAE Bench: Korean knowledge and vocabulary, five options (lm-eval's haerae prompt), 0-shot.

Every subset file under haerae/ (general_knowledge, history, loan_words, rare_words,
standard_nomenclature, ...; JSON, JSONL, CSV or Parquet) is scored as one task, so the score is
the mean over all questions, as lm-eval's haerae group weights its subsets by size. Each record's
`query` already holds the question and its options; `answer` is "(A)" ... "(E)".
"""

from pathlib import Path

from eval.tasks import Task, TaskDataError, read_records, require_fields

CHOICES = ["(A)", "(B)", "(C)", "(D)", "(E)"]


def read(path: Path) -> list[dict]:
    return parse(read_records(path), str(path))


def parse(records: list[dict], source: str) -> list[dict]:
    """Rows with query and answer: the files' and the Hub copy's schema alike."""
    docs = []
    for n, r in enumerate(records):
        require_fields(r, ("query", "answer"), f"{source}: record {n}")
        answer = str(r["answer"]).strip()
        if answer not in CHOICES:
            raise TaskDataError(f"{source}: record {n}: answer {answer!r} is not one of (A)-(E)")
        docs.append({"query": r["query"], "choices": CHOICES, "gold": CHOICES.index(answer)})
    return docs


TASK = Task(
    "haerae",
    "haerae",
    None,
    0,
    read,
    title="HAE-RAE Bench",
    hub_id="HAERAE-HUB/HAE_RAE_BENCH",
    from_hub=parse,
    # lm-eval's haerae group: these five subsets.
    hub_configs=("general_knowledge", "history", "loan_words", "rare_words", "standard_nomenclature"),
)

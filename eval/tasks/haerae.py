"""HAE-RAE Bench: Korean knowledge and vocabulary, five options (lm-eval's haerae group), 0-shot.

A subset file under haerae/ is named after its Hub config (general_knowledge, history, loan_words,
rare_words, standard_nomenclature; JSON, JSONL, CSV or Parquet) and scored as lm-eval's task of
that subset; the headline is the group's mean over all questions. Each record's `query` holds the
question and its options; `answer` is "(A)" ... "(E)".
"""

from pathlib import Path

from eval.tasks import Defined, Rows, TaskDataError, read_records, require_fields

SUFFIXES = (".json", ".jsonl", ".csv", ".parquet")
CHOICES = ("(A)", "(B)", "(C)", "(D)", "(E)")


def rows(directory: Path) -> Rows:
    if not directory.is_dir():
        raise TaskDataError(f"{directory}: no such directory (HAE-RAE's subset files go there)")
    out = {}
    for path in sorted(p for p in directory.iterdir() if p.suffix in SUFFIXES):
        records = read_records(path)
        for n, r in enumerate(records):
            require_fields(r, ("query", "answer"), f"{path}: record {n}")
            if str(r["answer"]).strip() not in CHOICES:
                raise TaskDataError(f"{path}: record {n}: answer {r['answer']!r} is not one of (A)-(E)")
        out[path.stem] = {"test": records}
    if not out:
        raise TaskDataError(f"{directory}: no .json, .jsonl, .csv or .parquet files")
    return out


TASK = Defined(
    "haerae",
    "haerae",
    "haerae",
    rows,
    title="HAE-RAE Bench",
    hub_id="HAERAE-HUB/HAE_RAE_BENCH",
)

"""LAMBADA (OpenAI's text): predict a passage's last word (lm-eval's lambada_openai), English.

Read from OpenAI's test file (JSONL, field text), whole or a part of it: the Hub copy's schema as
is. Accuracy is over the passages present, so a part of the file gives a part's number.
"""

from pathlib import Path

from eval.tasks import Defined, Rows, TaskDataError, read_json_records, require_fields


def rows(directory: Path) -> Rows:
    files = sorted(directory.glob("*.jsonl")) if directory.is_dir() else [directory]
    if not files:
        raise TaskDataError(f"{directory}: no .jsonl files")
    records = [r for f in files for r in read_json_records(f)]
    for n, r in enumerate(records):
        require_fields(r, ("text",), f"{directory}: record {n}")
    return {"default": {"test": [{"text": r["text"]} for r in records]}}


TASK = Defined(
    "lambada_openai",
    "lambada_openai",
    "english/lambada_openai",
    rows,
    title="LAMBADA (OpenAI)",
    hub_id="EleutherAI/lambada_openai",
    language="en",
    published=5153,
)

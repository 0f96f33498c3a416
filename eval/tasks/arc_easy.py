"""ARC-Easy: grade-school science questions (lm-eval's arc_easy), English, 0-shot.

The shared copy is llm-foundry's conversion (query "Question: ...", choices, gold): question ids
and answer letters are lost, so rows get labels A, B, ... in order, which leaves lm-eval's prompt
("Question: {question}\\nAnswer:") and its choices unchanged.
"""

from pathlib import Path

from eval.tasks import Defined, Rows, TaskDataError, read_json_records, require_fields

PREFIX = "Question: "


def arc_rows(path: Path, config: str) -> Rows:
    records = []
    for n, r in enumerate(read_json_records(path)):
        where = f"{path}: record {n}"
        require_fields(r, ("query", "choices", "gold"), where)
        if not r["query"].startswith(PREFIX) or not 0 <= int(r["gold"]) < len(r["choices"]):
            raise TaskDataError(f"{where}: not a converted ARC item (query 'Question: ...', gold in range)")
        labels = [chr(ord("A") + i) for i in range(len(r["choices"]))]
        records.append(
            {
                "id": f"{config}-{n}",
                "question": r["query"][len(PREFIX) :],
                "choices": {"text": list(r["choices"]), "label": labels},
                "answerKey": labels[int(r["gold"])],
            }
        )
    return {config: {"test": records}}


def rows(directory: Path) -> Rows:
    return arc_rows(directory / "arc_easy.jsonl", "ARC-Easy")


TASK = Defined(
    "arc_easy",
    "arc_easy",
    "english/llmfoundry_icl",
    rows,
    title="ARC-Easy",
    hub_id="allenai/ai2_arc",
    hub_config="ARC-Easy",
    language="en",
    caveat=(
        "llm-foundry's conversion gives every question four choices (ARC has three or five for under 1%; "
        "a few converted ones repeat a choice), and its answer letters are lost; published scores use "
        "the original choices"
    ),
    published=2376,
)

"""Ko-GSM8K: GSM8K's test problems machine-translated into Korean, through lm-eval's gsm8k.

lm-eval has no Korean GSM8K; its gsm8k definition (prompt "Question: ...\\nAnswer:", 5-shot,
greedy until "Question:", strict "#### N" and flexible last-number matching) runs over rows of
the Korean fields: question = kor_question, answer = kor_answer + "\\n#### " + answer_s (the
numeric answer, so the shots show the format strict matching needs). There is no Korean train
split, so the shots are other test problems (lm-eval never shows the problem being asked).

Leaks: a translated question that carries its own answer, a line starting "Answer:", "답:" or
"정답:" (LEAK), is dropped, and results.json lists the dropped ids (`dropped`). In the shared file
these are the problems at lines 1, 49, 117, 197, 449, 846, 950 and 1105 (ids 0, 48, 116, 196, 448,
845, 949, 1104 counting from 0). 23 translated answers already end in "#### N"; that line is
replaced by the one built from answer_s, so no shot shows it twice.
"""

import re
from pathlib import Path

from eval.tasks import Defined, Rows, TaskDataError, read_json_records, require_fields

LEAK = re.compile(r"(?:^|\n)\s*(?:Answer|답|정답)\s*[:：]")


def leaked(records: list[dict]) -> list[int]:
    """Indices of the problems whose Korean question states an answer."""
    return [n for n, r in enumerate(records) if LEAK.search(r["kor_question"])]


FINAL = re.compile(r"\n?\s*####\s*[^\n]*\s*$")


def read(directory: Path) -> tuple[Path, list[dict]]:
    files = sorted(directory.glob("*.jsonl")) if directory.is_dir() else [directory]
    if not files:
        raise TaskDataError(f"{directory}: no .jsonl file")
    records = read_json_records(files[0])
    for n, r in enumerate(records):
        require_fields(r, ("kor_question", "kor_answer", "answer_s"), f"{files[0]}: record {n}")
    return files[0], records


def rows(directory: Path) -> Rows:
    _, records = read(directory)
    drop = set(leaked(records))
    # Some translations already end in "#### N": one final line, from answer_s.
    kept = [
        {
            "question": r["kor_question"],
            "answer": f"{FINAL.sub('', r['kor_answer']).strip()}\n#### {r['answer_s']}",
        }
        for n, r in enumerate(records)
        if n not in drop
    ]
    return {"main": {"test": kept}}


def dropped(directory: Path) -> dict:
    """The leaked problems left out: the rule, the file, and their line numbers from 0."""
    path, records = read(directory)
    return {"rule": f"kor_question matches {LEAK.pattern}", "file": str(path), "ids": leaked(records)}


TASK = Defined(
    "ko_gsm8k",
    "gsm8k",
    "ko_gsm8k_mt",
    rows,
    title="Ko-GSM8K (machine-translated GSM8K test)",
    hub_id="",
    headline="exact_match_strict_match",
    caveat="machine translation; shots are other test problems",
    dropped=dropped,
)

"""WinoGrande: which of two names fills the blank (lm-eval's winogrande), English, 0-shot.

The shared dev set is llm-foundry's conversion: each item's two contexts (the sentence up to the
blank with either option) and the continuation after it. Rows are rebuilt in the Hub schema
(sentence with "_", option1, option2, answer "1"/"2"): the contexts lm-eval builds from them are
the converted ones exactly, wherever the options are cut from their common start.
"""

import os
from pathlib import Path

from eval.tasks import Defined, Rows, TaskDataError, read_json_records, require_fields


def rows(directory: Path) -> Rows:
    path = directory / "winogrande.jsonl"
    records = []
    for n, r in enumerate(read_json_records(path)):
        where = f"{path}: record {n}"
        require_fields(r, ("context_options", "continuation", "gold"), where)
        first, second = r["context_options"]
        if str(r["gold"]) not in ("0", "1") or first == second:
            raise TaskDataError(f"{where}: needs two different contexts and a gold 0 or 1")
        prefix = os.path.commonprefix([first, second])
        prefix = prefix[: prefix.rfind(" ") + 1] if " " in prefix else ""
        records.append(
            {
                "sentence": f"{prefix}_ {r['continuation']}",
                "option1": first[len(prefix) :],
                "option2": second[len(prefix) :],
                "answer": str(int(r["gold"]) + 1),
            }
        )
    return {"winogrande_xl": {"validation": records}}


TASK = Defined(
    "winogrande",
    "winogrande",
    "english/llmfoundry_icl",
    rows,
    title="WinoGrande",
    hub_id="allenai/winogrande",
    hub_config="winogrande_xl",
    language="en",
    published=1267,
)

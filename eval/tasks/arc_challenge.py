"""ARC-Challenge: the harder ARC questions (lm-eval's arc_challenge), English, 0-shot, acc_norm.

Read as arc_easy from llm-foundry's converted file (arc_challenge.jsonl).
"""

import dataclasses
from pathlib import Path

from eval.tasks import Rows, arc_easy


def rows(directory: Path) -> Rows:
    return arc_easy.arc_rows(directory / "arc_challenge.jsonl", "ARC-Challenge")


TASK = dataclasses.replace(
    arc_easy.TASK,
    name="arc_challenge",
    lm_eval="arc_challenge",
    rows=rows,
    title="ARC-Challenge",
    hub_config="ARC-Challenge",
    headline="acc_norm",
    published=1172,
)

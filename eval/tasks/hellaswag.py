"""HellaSwag: the likeliest ending of four (lm-eval's hellaswag), English, 0-shot, acc_norm.

The shared copy is a converted text file, six lines an item: "activity_label: ctx", the gold
index, four endings (bz2 or plain). It lost ctx_a/ctx_b: lm-eval's prompt capitalises ctx_b's first
letter ("... on a roof. He"), the converted ctx keeps it as written ("... on a roof. he"), so our
number on it cannot equal a published one; rows carry ctx as ctx_a and an empty ctx_b.
"""

import bz2
from pathlib import Path

from eval.tasks import Defined, Rows, TaskDataError


def rows(directory: Path) -> Rows:
    files = sorted(directory.glob("*.txt*")) if directory.is_dir() else [directory]
    if not files:
        raise TaskDataError(f"{directory}: no hellaswag .txt or .txt.bz2 file")
    opener = bz2.open if files[0].suffix == ".bz2" else open
    with opener(files[0], "rt", encoding="utf-8") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) % 6:
        raise TaskDataError(f"{files[0]}: {len(lines)} lines is not six per item")
    records = []
    for n in range(0, len(lines), 6):
        label, sep, ctx = lines[n].partition(": ")
        if not sep or lines[n + 1] not in ("0", "1", "2", "3"):
            raise TaskDataError(f"{files[0]}:{n + 1}: not 'activity_label: ctx' then a gold 0-3")
        records.append(
            {
                "activity_label": label,
                "ctx_a": ctx,
                "ctx_b": "",
                "endings": lines[n + 2 : n + 6],
                "label": lines[n + 1],
            }
        )
    return {None: {"validation": records}}


TASK = Defined(
    "hellaswag",
    "hellaswag",
    "english/hellaswag_converted",
    rows,
    title="HellaSwag",
    hub_id="Rowan/hellaswag",
    language="en",
    headline="acc_norm",
    caveat="converted file: ctx_b's capital letter lost, so prompts differ from lm-eval's on the Hub copy",
    published=10042,
)

"""KMMLU-HARD: the KMMLU questions most models miss (lm-eval's kmmlu_hard group), 5-shot.

Files as kmmlu's, under kmmlu_hard/ (the Hub copy's `<subject>-test.csv` / `-dev.csv`), or the Hub
(HAERAE-HUB/KMMLU-HARD, eval.source: hub) or a mirror of it.
"""

import dataclasses

from eval.tasks import kmmlu

TASK = dataclasses.replace(
    kmmlu.TASK,
    name="kmmlu_hard",
    lm_eval="kmmlu_hard",
    files="kmmlu_hard",
    title="KMMLU-HARD",
    hub_id="HAERAE-HUB/KMMLU-HARD",
)

"""KMMLU-HARD: the KMMLU questions most models miss (lm-eval's kmmlu_hard group), 5-shot.

Hub-only (HAERAE-HUB/KMMLU-HARD): eval.source hub reads it from the Hub or a mirror; with files,
kmmlu_hard/ under eval.data_dir is a copy of the Hub repository in its own layout, read by
`datasets` as the Hub copy would be. Scored as kmmlu: the headline acc is lm-eval's group mean over
all questions (micro), acc_macro the mean over subjects.
"""

import dataclasses

from eval.tasks import kmmlu

TASK = dataclasses.replace(
    kmmlu.TASK,
    name="kmmlu_hard",
    lm_eval="kmmlu_hard",
    files="kmmlu_hard",
    rows=None,
    title="KMMLU-HARD",
    hub_id="HAERAE-HUB/KMMLU-HARD",
    published=0,
)

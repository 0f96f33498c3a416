"""KMMLU direct: the model writes its answer (lm-eval's kmmlu_direct group), 5-shot.

The same files and subjects as kmmlu; lm-eval generates greedily until "Q:", a blank line, "</s>"
or ".", and scores exact match with the right letter, ignoring case, punctuation and spaces.
"""

import dataclasses

from eval.tasks import kmmlu

TASK = dataclasses.replace(
    kmmlu.TASK,
    name="kmmlu_direct",
    lm_eval="kmmlu_direct",
    title="KMMLU (direct answer)",
    headline="exact_match",
)

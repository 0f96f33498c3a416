"""KMMLU direct: the model writes its answer (lm-eval's kmmlu_direct), 5-shot, scored by exact match.

The same files, subjects, prompt and dev shots as kmmlu; instead of comparing the likelihoods of
A-D, the model generates greedily until "Q:", a blank line, "</s>" or "." (lm-eval's stops), and
the answer is compared with the right letter two ways:
  - exact_match: lm-eval's own, on the whole answer, ignoring case, punctuation and spaces;
  - exact_match_extracted: on the first A-D standing alone in the answer ("정답은 B입니다" -> B),
    for models that answer in a sentence.
"""

import dataclasses

from eval.tasks import kmmlu

TASK = dataclasses.replace(
    kmmlu.TASK,
    name="kmmlu_direct",
    title="KMMLU (direct answer)",
    headline="exact_match",
    scoring="generate",
)

"""KorMedMCQA: Korean medical licensing exam questions (lm-eval's kormedmcqa group), generated.

Doctor, nurse, pharmacist and dentist exams, five options; the model answers after lm-eval's
few-shot examples (its `fewshot` split, first_n) and its extract_answer filter takes the letter.
Hub-only (sean0042/KorMedMCQA): eval.source hub, or a copy of the Hub repository in kormedmcqa/.
"""

from eval.tasks import Defined

TASK = Defined(
    "kormedmcqa",
    "kormedmcqa",
    "kormedmcqa",
    None,
    title="KorMedMCQA",
    hub_id="sean0042/KorMedMCQA",
    headline="exact_match_extract_answer",
)

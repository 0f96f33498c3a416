"""KorMedMCQA: Korean medical licensing exam questions (lm-eval's kormedmcqa group), generated.

Doctor, nurse, pharmacist and dentist exams, five options; the model writes its answer and lm-eval's
extract_answer filter takes the letter. lm-eval's definition is 0-shot; eval.num_fewshot draws shots
from its `fewshot` split (first_n), as the KorMedMCQA authors' runs with --num_fewshot did.
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

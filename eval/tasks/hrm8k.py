"""HRM8K: Korean math word problems in five sets (lm-eval's hrm8k group), generated, 0-shot.

The model writes a solution and lm-eval's own scoring reads its final $\\boxed{N}$ answer
(its hrm8k utils: is_equiv after LaTeX normalisation). The data is Hub-only (HAERAE-HUB/HRM8K):
eval.source hub reads it from the Hub or a mirror; with files, hrm8k/ under eval.data_dir is a copy
of the Hub repository in its own layout. The headline is the mean over all problems (micro).
"""

from eval.tasks import Defined

TASK = Defined(
    "hrm8k", "hrm8k", "hrm8k", None, title="HRM8K", hub_id="HAERAE-HUB/HRM8K", headline="exact_match"
)

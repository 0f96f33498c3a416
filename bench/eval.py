"""Bench: ko-eval's scoring against plain lm-eval on the same tasks, model and prompts, in one run.

Anchor: lm-evaluation-harness run as its CLI runs by default (HFLM with batch_size 1) on the task
YAMLs that ko-eval writes. Ours: the same YAMLs through eval.harness.run_lm_eval with eval params
(batch 8 on a CPU, lm-eval's "auto" on a GPU; lm-eval's one-token-continuation cache groups choices
that share a context). Prints wall time for both, the ratio, and the largest difference between
their numbers (they must agree).

    python bench/eval.py [--model models/sft/merged] [--data ../shared/data/eval] [--limit 200]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("KO_SHARED_DATA", REPO.parent / "shared" / "data"))
# The public tasks whose real files are in ../shared/data/eval (HAE-RAE and CLIcK are not there).
NOT_SHARED = ("haerae", "click")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default=str(REPO / "models" / "sft" / "merged"))
    parser.add_argument("--data", default=str(SHARED / "eval"))
    parser.add_argument("--limit", type=int, default=200, help="questions per task (0: all)")
    args = parser.parse_args()

    import torch
    from lm_eval.models.huggingface import HFLM

    from eval.config import PUBLIC_TASKS, EvalConfig
    from eval.harness import prepare_task, run_lm_eval, score_tasks
    from eval.tasks import all_tasks

    names = tuple(t for t in PUBLIC_TASKS if t not in NOT_SHARED)
    config = EvalConfig(tasks=names, data_dir=args.data, limit=args.limit)
    tasks = all_tasks()
    with tempfile.TemporaryDirectory() as tmp:
        tasks_dir = Path(tmp)
        prepared = [prepare_task(tasks[name], Path(args.data), tasks_dir, args.limit) for name in names]
        questions = sum(p.documents for p in prepared)
        device = "cuda" if torch.cuda.is_available() else "cpu"

        start = time.perf_counter()
        plain = HFLM(
            pretrained=args.model,
            dtype=config.dtype,
            batch_size=1,
            device=device,
            add_bos_token=config.add_bos_token,
        )
        anchor = score_tasks(plain, prepared, tasks_dir, config.seed)
        anchor_s = time.perf_counter() - start
        del plain

        start = time.perf_counter()
        ours = run_lm_eval(Path(args.model), prepared, tasks_dir, dataclasses.replace(config))
        ours_s = time.perf_counter() - start

    diff = max(abs(ours[t][m] - anchor[t][m]) for t in ours for m in ours[t] if isinstance(ours[t][m], float))
    print(f"model {args.model} on {device}; {len(names)} tasks, {questions} questions")
    print(f"plain lm-eval (batch 1):  {anchor_s:7.1f} s")
    print(f"ko-eval (batch {config.batch_size or ('auto' if device == 'cuda' else 8)}):  {ours_s:7.1f} s")
    print(f"ratio (anchor / ours): {anchor_s / ours_s:.2f}x; largest metric difference {diff:.2e}")


if __name__ == "__main__":
    main()

"""Bench: `ko-eval` against plain `lm_eval` on the same model, tasks, questions and batch size.

Anchor: the `lm_eval` command line as its own process, on lm-eval's own task definitions: the group
YAMLs ko-eval writes under OUTPUT/tasks name the installed tasks and override only their dataset
(offline, the shared files), passed with --include_path; Ko-CommonGen v2, which lm-eval lacks, is
left out so both sides run only lm-eval's definitions. Ours: the `ko-eval` command line as its own
process, wall time including what lm_eval does not do (reading the files into the Hub schema,
writing the task YAMLs, the table). Same model, dtype, batch size, --limit, seed and BOS setting;
no bits per character. Runs: --repeat rounds of ko-eval then lm_eval, each with an empty `datasets`
cache (no run reads files another converted), then ko-eval at its defaults (batch 8 on a CPU,
lm-eval's "auto" on a GPU; the checkpoint's dtype); prints every wall time, anchor / ours, and the
largest difference between the two sides' headline numbers (they must agree). lm_eval's task files
are the ones ko-eval's first run wrote, its preparation untimed. lm_eval's command line also
bootstraps standard errors (its default; it has no switch to turn that off), which ko-eval does not
report: said beside the number.

    python bench/eval.py [--model models/sft/merged] [--data ../shared/data/eval] [--limit 100]
        [--batch 8] [--repeat 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("KO_SHARED_DATA", REPO.parent / "shared" / "data"))
# The default suite's tasks that lm-eval defines and whose files are in ../shared/data/eval: all but
# Ko-CommonGen v2 (lm-eval has no definition), HAE-RAE and CLIcK (not in the shared folder).
NOT_COMPARED = ("ko_commongen_v2", "haerae", "click")


def compared_tasks() -> tuple[str, ...]:
    from eval.config import ENGLISH_TASKS, PUBLIC_TASKS

    return tuple(t for t in PUBLIC_TASKS + ENGLISH_TASKS if t not in NOT_COMPARED)


def timed(command: list[str], env: dict) -> float:
    """Wall seconds of a command, printed as it ends (a long bench loses nothing when it stops later)."""
    start = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{' '.join(command[:3])} failed:\n{done.stderr[-3000:]}")
    seconds = time.perf_counter() - start
    print(f"  {Path(command[0]).name} ({command[-1]}): {seconds:.1f} s", flush=True)
    return seconds


def ko_eval(args, params: Path, output: Path, env: dict) -> float:
    command = [str(Path(sys.executable).parent / "ko-eval"), "--params", str(params), "--model", args.model]
    command += [
        "--tasks",
        ",".join(compared_tasks()),
        "--output",
        str(output),
        "--metrics",
        str(output / "m.json"),
    ]
    return timed(command, env)


def write_params(path: Path, args, batch: int, dtype: str) -> None:
    from pipeline.params import dump_yaml, read_params_file

    raw = read_params_file(REPO / "params.yaml")
    settings = {
        "data_dir": args.data,
        "tasks": list(compared_tasks()),
        "limit": args.limit,
        "batch_size": batch,
    }
    raw["eval"].update(settings, bpc_texts={}, dtype=dtype)
    path.write_text(dump_yaml(raw), encoding="utf-8")


# The default suite at full size, questions per task (for the GPU projection): the published test
# or validation splits. HAE-RAE's and CLIcK's files are not in ../shared/data: their tokens per
# question come from the demo samples, and their sizes are upper bounds (HAE-RAE Bench 1.0's 1,538
# questions over six subsets, of which lm-eval scores five; CLIcK's 1,995).
FULL_SUITE = {
    "kobest_boolq": 1404,
    "kobest_copa": 1000,
    "kobest_hellaswag": 500,
    "kobest_sentineg": 397,
    "kobest_wic": 1260,
    "kmmlu": 35030,
    "ko_commongen_v2": 847,
    "haerae": 1538,
    "click": 1995,
    "lambada_openai": 5153,
    "piqa": 1838,
    "hellaswag": 10042,
    "arc_easy": 2376,
    "arc_challenge": 1172,
    "winogrande": 1267,
    "mmlu": 14042,
}
LLAMA2_7B_PARAMETERS = 6.74e9


def counting_lm(tokenizer, counts: dict):
    """An lm-eval LM that scores nothing: it adds the tokens a Hugging Face model runs forward to
    counts["tokens"]: BOS, context and continuation, once per group of requests that share the
    context and all but the continuation's last token (HFLM's one-token-continuation cache runs
    such a group once: the four letter choices of a KMMLU question are one forward pass)."""
    from lm_eval.api.model import LM

    class CountingLM(LM):
        def loglikelihood(self, requests, disable_tqdm=False):
            pairs = [r.args for r in requests]
            contexts = tokenizer.encode_batch([c for c, _ in pairs], add_special_tokens=False)
            continuations = tokenizer.encode_batch([x for _, x in pairs], add_special_tokens=False)
            for a, b in zip(contexts, continuations, strict=True):
                key = (*a.ids, -1, *b.ids[:-1])
                if key not in counts["seen"]:
                    counts["seen"].add(key)
                    counts["tokens"] += 1 + len(a.ids) + len(b.ids)
            counts["requests"] += len(pairs)
            return [(-1.0, False)] * len(pairs)

        def loglikelihood_rolling(self, requests, disable_tqdm=False):
            raise NotImplementedError

        def generate_until(self, requests, disable_tqdm=False):
            raise NotImplementedError

    return CountingLM()


def project_gpu(args) -> None:
    """Tokens a 7B model runs forward for the full default suite, counted through lm-eval's own
    request building on the shared files (scaled to each task's full size), and the hours that
    takes on one H100 or H200 (989 dense bf16 TFLOP/s) at 2N FLOPs per token and an assumed MFU."""
    from eval.harness import prepare_task, score_tasks
    from eval.tasks import all_tasks
    from tokenizer.hf_export import build_hf_tokenizer
    from tokenizer.spm import read_model

    tokenizer = build_hf_tokenizer(
        read_model(SHARED / "tokenizers" / "llama2" / "tokenizer.model"), add_bos=False
    )
    tasks = all_tasks()
    total = 0.0
    print(f"{'task':18} {'questions':>9} {'full size':>9} {'tokens/question':>15} {'full-suite tokens':>17}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, full in FULL_SUITE.items():
            data = SHARED / "eval" if name not in ("haerae", "click") else REPO / "data" / "eval_demo"
            prepared = prepare_task(tasks[name], data, Path(tmp))
            counts = {"tokens": 0, "requests": 0, "seen": set()}
            scores = score_tasks(counting_lm(tokenizer, counts), [prepared], Path(tmp), 1234)[name]
            per_question = counts["tokens"] / scores["documents"]
            total += per_question * full
            print(
                f"{name:18} {scores['documents']:9d} {full:9d} {per_question:15.0f} "
                f"{per_question * full:17.3g}"
            )
    flops = total * 2 * LLAMA2_7B_PARAMETERS
    print(
        f"all: {total:.3g} tokens forward, {flops:.3g} FLOPs at 2N per token (Llama-2 7B, its own tokenizer)"
    )
    for mfu in (0.2, 0.4):
        print(f"  at {mfu:.0%} MFU on one 989-TFLOP/s GPU: {flops / (989e12 * mfu) / 60:.1f} minutes")


def fresh_cache(env: dict, folder: Path) -> dict:
    """An environment whose `datasets` cache is empty: no run reads another's converted files."""
    return {**env, "HF_DATASETS_CACHE": str(folder)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default=str(REPO / "models" / "sft" / "merged"))
    parser.add_argument("--data", default=str(SHARED / "eval"))
    parser.add_argument("--limit", type=int, default=100, help="questions per lm-eval task")
    parser.add_argument("--batch", type=int, default=8, help="batch size of both sides")
    parser.add_argument("--repeat", type=int, default=2, help="rounds of ko-eval then lm_eval")
    parser.add_argument(
        "--project",
        action="store_true",
        help="only count the full default suite's tokens and project GPU time",
    )
    args = parser.parse_args()
    if args.project:
        return project_gpu(args)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}

    ours, anchor = [], []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_params(tmp / "params.yaml", args, args.batch, "float32")
        write_params(tmp / "default.yaml", args, 0, "auto")
        for n in range(args.repeat):
            ours.append(
                ko_eval(args, tmp / "params.yaml", tmp / f"ours{n}", fresh_cache(env, tmp / f"c-ours{n}"))
            )
            # lm_eval reads the group YAMLs and files the first ko-eval run wrote (its data preparation
            # is not timed: the anchor gets it free)
            command = [str(Path(sys.executable).parent / "lm_eval"), "run", "--model", "hf"]
            command += ["--model_args", f"pretrained={args.model},dtype=float32,add_bos_token=True"]
            command += ["--tasks", ",".join(f"ko-eval/{t}" for t in compared_tasks())]
            command += ["--include_path", str(tmp / "ours0" / "tasks"), "--batch_size", str(args.batch)]
            command += [
                "--limit",
                str(args.limit),
                "--seed",
                "1234",
                "--output_path",
                str(tmp / f"anchor{n}"),
            ]
            anchor.append(timed(command, fresh_cache(env, tmp / f"c-anchor{n}")))
        default = ko_eval(
            args, tmp / "default.yaml", tmp / "ours-default", fresh_cache(env, tmp / "c-default")
        )
        record = json.loads((tmp / "ours0" / "results.json").read_text())
        theirs = json.loads(next((tmp / "anchor0").rglob("results_*.json")).read_text())["results"]
        members = {
            task: json.loads((tmp / "ours0" / "tasks" / task / f"{task}.group.yaml").read_text())["task"]
            for task in compared_tasks()
        }
    scores = next(iter(record["models"].values()))["tasks"]
    diffs = []
    for task in compared_tasks():
        key = f"{record['tasks'][task]['headline']},none"
        # a group's aggregate where lm-eval computes one (several subjects), else its one task's row
        row = theirs.get(f"ko-eval/{task}", {})
        value = row[key] if key in row else theirs[members[task][0]["task"]][key]
        diffs.append(abs(scores[task][record["tasks"][task]["headline"]] - value))
    questions = sum(t["documents"] for t in scores.values())
    mean_ours, mean_anchor = sum(ours) / len(ours), sum(anchor) / len(anchor)
    print(
        f"model {args.model}; {len(compared_tasks())} tasks, {questions} questions "
        f"(--limit {args.limit} a task)"
    )
    print(f"lm_eval CLI (anchor), batch {args.batch}, float32: " + ", ".join(f"{t:.1f} s" for t in anchor))
    print("    (it also bootstraps standard errors, its default with no command-line switch; ko-eval reports")
    print("    none. Its task files were written by ko-eval's first run, untimed.)")
    print(f"ko-eval CLI, batch {args.batch}, float32: " + ", ".join(f"{t:.1f} s" for t in ours))
    print("    (includes reading the benchmark files into the Hub schema, writing the task YAMLs, the table)")
    rounds = ", ".join(f"{a / o:.2f}x" for a, o in zip(anchor, ours, strict=True))
    print(f"anchor / ours by round: {rounds}; mean of {args.repeat} rounds: {mean_anchor / mean_ours:.2f}x")
    print(
        f"ko-eval CLI at its defaults (batch {'auto' if default_device() == 'cuda' else 8}, dtype auto): "
        f"{default:.1f} s, right after the last round; its anchor / ours {anchor[-1] / default:.2f}x"
    )
    print(f"largest headline difference: {max(diffs):.2e}")


def default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


if __name__ == "__main__":
    main()

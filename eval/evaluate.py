"""`ko-eval`: score several models on the Korean benchmark suite and print one comparable table.

Each --model (NAME=DIR, or DIR named by its folder) is scored on every task in eval.tasks through
lm-evaluation-harness (eval/harness.py): the tasks lm-eval defines (KoBEST, KMMLU, HAE-RAE, CLIcK,
the English retention tasks, ...) from the installed package's own YAMLs, the others from ours, on
the files under eval.data_dir or, with eval.source hub, the benchmarks' Hub datasets. Likelihood
scores never normalise by token count (vocabulary extension changes it): acc, acc_norm (by
characters), macro F1 for KoBEST, MC2 for TruthfulQA; generation tasks score lm-eval's exact
match. With bits-per-character texts, each model's bits per character on Korean and English text
are reported too. Outputs: OUTPUT/leaderboard.md (models by tasks, Korean and English averages,
deltas against the first model), OUTPUT/results.json (every number with task version, prompt and
data hashes, n-shot, averaging, seed, model path and dtype) and the metrics file.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import logging
import math
import time
from pathlib import Path

from eval.config import EvalConfig
from eval.table import render_table
from pipeline.cli import StageError

log = logging.getLogger("ko.eval")


def parse_models(items: list[str]) -> dict[str, Path]:
    """NAME=DIR or DIR (named by its folder, or its parent's when the folder is 'model'/'merged')."""
    models: dict[str, Path] = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep:
            path = item
            folder = Path(item.rstrip("/"))
            name = folder.parent.name if folder.name in ("model", "merged") else folder.name
        if name in models:
            raise StageError(f"--model {item}: the name {name!r} is used twice; write NAME=DIR")
        if not (Path(path) / "config.json").is_file():
            raise StageError(f"--model {item}: {path} is not a Hugging Face model directory (no config.json)")
        models[name] = Path(path)
    return models


def evaluate_models(
    config: EvalConfig, models: dict[str, Path], output: Path, bpc_texts: dict[str, Path] | None = None
) -> dict:
    """Score every model on every task; write the table and results; return the metrics.

    `bpc_texts` ({"ko": path, "en": path}) adds each model's bits per character on that text.
    """
    from pipeline.deps import require_module

    require_module("lm_eval", extra="eval")
    require_module("transformers", extra="model")
    from eval.harness import prepare_task, run_lm_eval
    from eval.tasks import TaskDataError, all_tasks

    start = time.perf_counter()
    tasks = all_tasks()
    data_dir = Path(config.data_dir)
    hub = config.hub_mirror if config.source == "hub" else None
    if hub is None and not data_dir.is_dir():
        raise StageError(f"eval.data_dir = {config.data_dir!r}: no such directory")
    tasks_dir = output / "tasks"
    prepared = []
    for name in config.tasks:
        task = tasks[name]
        if config.num_fewshot >= 0:
            task = dataclasses.replace(task, num_fewshot=config.num_fewshot)
        try:
            prepared.append(prepare_task(task, data_dir, tasks_dir, config.limit, hub))
        except (TaskDataError, KeyError, ValueError) as exc:
            raise StageError(f"task {name}: {exc}") from None
    bpc_texts = bpc_texts or {}
    texts = {lang: read_bpc_text(path, config.bpc_max_chars) for lang, path in bpc_texts.items()}

    results: dict[str, dict] = {}
    for name, path in models.items():
        log.info("scoring %s (%s) on %d tasks", name, path, len(prepared))
        scores = run_lm_eval(path, prepared, tasks_dir, config)
        entry = {"path": str(path), "dtype": config.dtype, "tasks": scores, **averages(prepared, scores)}
        for lang, text in texts.items():
            key = "bits_per_char" if lang == "ko" else f"bits_per_char_{lang}"
            entry[key] = round(bits_per_char(path, text, config), 5)
        results[name] = entry
    komt = run_komt_bench(config, models, output, results) if config.komt_bench else None
    record = {
        "tasks": {
            p.task.name: {
                "version": p.task.version,
                "title": p.task.title,
                "hub_id": p.task.hub_id,
                "hub_config": p.task.hub_config,
                "headline": p.task.headline,
                "n_shot": next(iter(results.values()))["tasks"][p.task.name]["n_shot"],
                "fewshot_source": p.fewshot_source,
                "language": p.task.language,
                "caveat": caveat(p, documents(results, p), config.limit),
                "dropped": p.dropped,
                "lm_eval_task": getattr(p.task, "lm_eval", None),
                "documents": documents(results, p),
                "published_documents": p.task.published or None,
                "split": p.split,
                "prompt_sha256": p.prompt_sha256,
                "data_sha256": p.data_sha256,
                "averaging": (
                    f"{p.task.headline}: micro (lm-eval's group: mean over all questions); "
                    f"{p.task.headline}_macro: mean over {len(p.members)} subjects"
                    if p.members
                    else "mean over questions"
                ),
            }
            for p in prepared
        },
        "data_dir": config.data_dir if hub is None else f"hub:{config.hub_mirror or 'huggingface.co'}",
        "limit": config.limit,
        "seed": config.seed,
        "add_bos_token": config.add_bos_token,
        "bpc_text": str(bpc_texts["ko"]) if "ko" in bpc_texts else None,
        "bpc_texts": {lang: str(path) for lang, path in bpc_texts.items()},
        "models": results,
        "families": families(prepared, results),
        "komt_bench": komt,
        "seconds": round(time.perf_counter() - start, 1),
    }
    output.mkdir(parents=True, exist_ok=True)
    (output / "results.json").write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    (output / "leaderboard.md").write_text(render_table(record), encoding="utf-8")
    return record


def run_komt_bench(config: EvalConfig, models: dict[str, Path], output: Path, results: dict) -> dict:
    """Every model's KoMT-Bench answers, stored; judged when eval.judge_url is set."""
    from eval.komt_bench import generate_answers, judge_answers, load_bench

    directory = Path(config.komt_bench)
    questions = load_bench(directory)[0]
    questions = questions[: config.limit] if config.limit else questions
    folder = output / "komt_bench"
    files = {
        name: generate_answers(path, name, questions, folder, config.komt_max_new_tokens, config.dtype)
        for name, path in models.items()
    }
    info = {
        "questions": len(questions),
        "answers": {name: str(path) for name, path in files.items()},
        "judge": f"{config.judge_model} at {config.judge_url}" if config.judge_url else None,
    }
    if config.judge_url:
        scores = judge_answers(config.judge_url, config.judge_model, directory, files, folder)
        for name, score in scores.items():
            results[name]["komt_bench"] = score
    return info


def documents(results: dict, p) -> int:
    """Questions scored (the same for every model)."""
    return next(iter(results.values()))["tasks"][p.task.name]["documents"]


def caveat(p, scored: int, limit: int) -> str:
    """Why a task's number cannot equal a published one: the task's own caveat, rows dropped by
    rule, and a file holding fewer questions than the published split (unless eval.limit cut them)."""
    notes = [p.task.caveat] if p.task.caveat else []
    if p.dropped:
        notes.append(f"{len(p.dropped['ids'])} questions dropped by rule (ids in results.json)")
    if p.task.published and scored < p.task.published and not limit:
        notes.append(
            f"{scored:,} of the published {p.task.published:,} questions scored, so the number "
            "cannot equal a published one"
        )
    return "; ".join(notes)


def averages(prepared: list, scores: dict) -> dict:
    """Each language's mean of headline metrics (macro over tasks): average (Korean), average_en."""
    out = {}
    for lang, key in (("ko", "average"), ("en", "average_en")):
        values = [scores[p.task.name][p.task.headline] for p in prepared if p.task.language == lang]
        if values:
            out[key] = round(sum(values) / len(values), 6)
    return out


# Benchmarks reported as one number over several tasks: the papers' macro mean of the tasks'
# headlines beside lm-eval's group (micro: weighted by questions).
FAMILIES = {"kobest": ("kobest_boolq", "kobest_copa", "kobest_hellaswag", "kobest_sentineg", "kobest_wic")}
# Grouped tasks whose paper reports the mean over subjects.
MACRO_PAPERS = ("kmmlu",)


def families(prepared: list, results: dict) -> dict:
    """Macro and micro means, said out loud: {name: {"headline": which one the table shows,
    "models": {model: {metric_macro, metric_micro}}}} for KoBEST (whose five tasks all ran) and for
    every task scored over several subjects (KMMLU, MMLU: its table cell is lm-eval's micro mean)."""
    ran = {p.task.name: p for p in prepared}
    out = {}
    for family, members in FAMILIES.items():
        if not all(m in ran for m in members):
            continue
        metric = ran[members[0]].task.headline
        out[family] = {
            "headline": f"{metric}_macro, the paper's mean over its {len(members)} tasks (each a column); "
            f"{metric}_micro, lm-eval's kobest group, weights them by questions",
            "models": {},
        }
        for name, model in results.items():
            values = [model["tasks"][m][metric] for m in members]
            sizes = [model["tasks"][m]["documents"] for m in members]
            out[family]["models"][name] = {
                f"{metric}_macro": round(sum(values) / len(values), 6),
                f"{metric}_micro": round(
                    sum(v * n for v, n in zip(values, sizes, strict=True)) / sum(sizes), 6
                ),
            }
    for p in prepared:
        if not p.members:
            continue
        metric = p.task.headline
        out[p.task.name] = {
            "headline": f"{metric}_micro, lm-eval's {p.task.name} group over all questions (the "
            f"table's column); {metric}_macro, the mean over its {len(p.members)} subjects"
            + (" (the paper's)" if p.task.name in MACRO_PAPERS else ""),
            "models": {
                name: {
                    f"{metric}_macro": model["tasks"][p.task.name][f"{metric}_macro"],
                    f"{metric}_micro": model["tasks"][p.task.name][metric],
                }
                for name, model in results.items()
            },
        }
    return out


def read_bpc_text(path: Path, max_chars: int) -> str:
    """Text of a .jsonl/.jsonl.gz (field `text`) or plain-text file, or of every file in a directory."""
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    parts: list[str] = []
    total = 0
    for file in files:
        opener = gzip.open if file.suffix == ".gz" else open
        is_jsonl = ".jsonl" in file.name
        with opener(file, "rt", encoding="utf-8") as f:
            for line in f:
                if is_jsonl:
                    line = json.loads(line).get("text", "") if line.strip() else ""
                if line.strip():
                    parts.append(line.strip())
                    total += len(parts[-1])
                if total >= max_chars:
                    return "\n".join(parts)[:max_chars]
    if not parts:
        raise StageError(f"--bpc-text {path}: no text found")
    return "\n".join(parts)


def bits_per_char(model_dir: Path, text: str, config: EvalConfig) -> float:
    """Total negative log-likelihood of `text` (bits) over its characters; windows start with BOS.

    Per character, so models with different vocabularies compare fairly.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = "auto" if config.dtype == "auto" else getattr(torch, config.dtype)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype).to(device)
    model.eval()
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    step = config.bpc_window - 1
    nats = 0.0
    with torch.no_grad():
        for start in range(0, len(ids), step):
            window = torch.tensor([[tokenizer.bos_token_id, *ids[start : start + step]]], device=device)
            logits = model(input_ids=window).logits[0, :-1].float()
            nats += torch.nn.functional.cross_entropy(logits, window[0, 1:], reduction="sum").item()
    return nats / len(text) / math.log(2)


def flat_metrics(record: dict) -> dict:
    """metrics/eval.json: per model, each task's headline metric, the averages and bits/char."""
    metrics = {}
    for name, model in record["models"].items():
        row = {task: model["tasks"][task][info["headline"]] for task, info in record["tasks"].items()}
        for key in ("average", "average_en", "bits_per_char", "bits_per_char_en"):
            if key in model:
                row[key] = model[key]
        if "komt_bench" in model:
            row["komt_bench"] = model["komt_bench"]["score"]
        metrics[name] = row
    return metrics


def main(argv: list[str] | None = None) -> int:
    """Console entry point of `ko-eval`."""
    from pipeline.cli import run_stage, stage_parser, write_metrics, write_resolved

    parser = stage_parser("eval", __doc__, EvalConfig, output_default="eval_results")
    parser.add_argument(
        "--model",
        dest="models",
        action="append",
        required=True,
        metavar="[NAME=]DIR",
        help="a model directory to score (repeatable; the first is the table's baseline)",
    )
    parser.add_argument("--tasks", metavar="NAME,...", help="comma-separated tasks (overrides eval.tasks)")
    parser.add_argument(
        "--bpc-text",
        metavar="PATH",
        help="Korean text for bits per character (.jsonl[.gz], .txt or a directory; "
        "default: eval.bpc_texts.ko)",
    )
    parser.add_argument(
        "--judge",
        metavar="URL",
        help="grade KoMT-Bench answers at this OpenAI-compatible endpoint (up to /v1; "
        "default: eval.judge_url); needs eval.komt_bench",
    )
    parser.add_argument(
        "--bpc-text-en",
        metavar="PATH",
        help="English text for bits per character (default: eval.bpc_texts.en)",
    )

    def body(args, params):
        config = params.eval
        if args.tasks:
            from pipeline.params import build_section

            raw = {
                **params.to_dict()["eval"],
                "tasks": [t.strip() for t in args.tasks.split(",") if t.strip()],
            }
            config = build_section(EvalConfig, "eval", raw, "--tasks")
        if args.judge:
            config = dataclasses.replace(config, judge_url=args.judge)
            if not config.komt_bench:
                raise StageError("--judge grades KoMT-Bench answers: set eval.komt_bench to its folder")
        output = Path(args.output)
        texts = dict(config.bpc_texts)
        texts.update({k: v for k, v in (("ko", args.bpc_text), ("en", args.bpc_text_en)) if v})
        for lang, path in texts.items():
            if not Path(path).exists():
                raise StageError(f"eval.bpc_texts.{lang} = {path!r}: no such file or directory")
        record = evaluate_models(
            config, parse_models(args.models), output, {k: Path(v) for k, v in texts.items()}
        )
        write_resolved(
            output,
            "eval",
            params.replace(eval=config),
            "eval",
            {"models": args.models, "bpc_texts": texts, "output": str(output)},
        )
        write_metrics(Path(args.metrics or output / "metrics.json"), flat_metrics(record))
        print(render_table(record), end="")

    return run_stage(parser, argv, body)


if __name__ == "__main__":
    raise SystemExit(main())

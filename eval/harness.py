"""The engine of `ko-eval`: our task documents run through lm-evaluation-harness, offline.

Each task's documents are written as JSONL under OUTPUT/tasks/<task>/ beside an lm-eval task YAML
that reads them (dataset_path: json), so lm-eval's own request building, batching and metrics
(acc, acc_norm by characters, acc_bytes, macro F1, MC2) produce the numbers, with its default
task registry left out (`include_defaults=False`). The documents come from the benchmarks' files,
or with eval.source hub from their Hub datasets through `datasets` (or a local mirror of them).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from eval.tasks import Task, TaskDataError

log = logging.getLogger("ko.eval")

# lm-eval imports this beside the YAMLs for `!function utils.macro_f1` and `utils.mc2`.
UTILS = '''"""Aggregation functions for ko-eval's lm-eval task YAMLs (written by eval/harness.py)."""


def macro_f1(items):
    from sklearn.metrics import f1_score

    golds, preds = zip(*items)
    return f1_score(golds, preds, average="macro")


def mc2(doc, results):
    """TruthfulQA MC2 as lm-eval computes it: probability mass on the true choices (listed first)."""
    import math

    likelihoods = [ll for ll, _ in results]
    split = doc["labels"].index(0)
    true = sum(math.exp(ll) for ll in likelihoods[:split])
    false = sum(math.exp(ll) for ll in likelihoods[split:])
    return {"mc2": true / (true + false)}
'''


@dataclass(frozen=True)
class PreparedTask:
    """A task written out for lm-eval, with what makes its numbers reproducible."""

    task: Task
    yaml_path: Path
    documents: int
    fewshot_source: str
    prompt_sha256: str  # of the YAML (prompt fields, n-shot, metrics) and the first rendered query
    data_sha256: str  # of the documents scored and the few-shot pool
    members: tuple[str, ...] = ()  # a grouped task's per-subject lm-eval tasks


def prepare_group(
    task: Task, data_dir: Path, tasks_dir: Path, limit: int = 0, hub: str | None = None
) -> PreparedTask:
    """A task of subjects: one lm-eval task per subject (its own few-shot pool) and a group YAML that
    averages them over questions (micro), as lm-eval's own kmmlu group does."""
    from eval.tasks import hub_configs

    directory = tasks_dir / task.name
    members, with_pool = [], 0
    if hub is None:
        found = task.subjects(data_dir / task.test)
        subjects = [
            (s, {"test": str(t.relative_to(data_dir)), "fewshot": d and str(d.relative_to(data_dir))})
            for s, (t, d) in found.items()
        ]
        with_pool = sum(1 for _, d in found.values() if d)
    else:  # one Hub config per subject, each with its own few-shot split
        subjects = [(c, {"hub_config": c}) for c in hub_configs(hub_source(task, hub)) if c != "default"]
        with_pool = len(subjects) if task.hub_fewshot_split else 0
    for subject, where in subjects:
        name = f"{task.name}_{re.sub(r'[^a-z0-9]+', '_', subject.lower()).strip('_')}"
        member = dataclasses.replace(task, name=name, subjects=None, **where)
        members.append(prepare_task(member, data_dir, directory, limit, hub))
    lines = [f"group: {task.name}", "task:", *(f"  - {m.task.name}" for m in members)]
    lines.append("aggregate_metric_list:")
    if task.scoring == "generate":
        aggregates = [("exact_match", "[none, extract]")]
    else:
        aggregates = [(metric, "[none]") for metric in ("acc", "acc_norm", "acc_bytes")]
    for metric, filters in aggregates:
        lines += [
            f"  - metric: {metric}",
            f"    filter_list: {filters}",
            "    aggregation: mean",
            "    weight_by_size: true",
        ]
    lines += ["metadata:", f"  version: {task.version}"]
    (directory / f"{task.name}.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return PreparedTask(
        task,
        directory / f"{task.name}.yaml",
        sum(m.documents for m in members),
        f"{len(members)} subjects: own dev pools for {with_pool}, other questions of the scored split "
        "for the rest",
        hashlib.sha256("".join(m.prompt_sha256 for m in members).encode()).hexdigest()[:16],
        hashlib.sha256("".join(m.data_sha256 for m in members).encode()).hexdigest()[:16],
        tuple(m.task.name for m in members),
    )


def hub_source(task: Task, hub: str) -> str:
    """The task's Hub id, or its folder under a local mirror of the Hub (hub = that mirror)."""
    if not task.hub_id or task.from_hub is None:
        raise TaskDataError(f"task {task.name} has no Hub copy; read it from files (eval.source: files)")
    return str(Path(hub) / task.hub_id) if hub else task.hub_id


def hub_documents(task: Task, hub: str) -> tuple[list[dict], list[dict], str]:
    """The scored documents, the few-shot pool and where the pool came from, read from the Hub."""
    from eval.tasks import hub_rows

    source = hub_source(task, hub)
    configs = task.hub_configs or (task.hub_config,)
    rows = [row for config in configs for row in hub_rows(source, config, task.hub_split)]
    docs = task.from_hub(rows, f"{task.hub_id} {task.hub_split}")
    if not task.num_fewshot:
        return docs, [], "none (0-shot)"
    if task.hub_fewshot_split:
        split = task.hub_fewshot_split
        pool = task.from_hub(hub_rows(source, task.hub_config, split), f"{task.hub_id} {split}")
        return docs, pool, " ".join(filter(None, (task.hub_id, task.hub_config, split)))
    return docs, docs, f"{task.hub_id} {task.hub_split} (other questions)"


def prepare_task(
    task: Task, data_dir: Path, tasks_dir: Path, limit: int = 0, hub: str | None = None
) -> PreparedTask:
    """Read the task's files (or its Hub copy), write its documents and lm-eval YAML under `tasks_dir`.

    hub: None reads the files under data_dir; "" the Hub itself; a directory, a local mirror of the
    Hub with one OWNER/NAME folder per dataset.
    """
    if task.subjects:
        return prepare_group(task, data_dir, tasks_dir, limit, hub)
    if hub is not None:
        all_docs, pool, fewshot_source = hub_documents(task, hub)
    else:
        all_docs, pool, fewshot_source = file_documents(task, data_dir)
    docs = all_docs[:limit] if limit else all_docs
    directory = tasks_dir / task.name
    directory.mkdir(parents=True, exist_ok=True)
    files = {"test": write_docs(directory / "test.jsonl", docs)}
    if task.num_fewshot:
        needed = task.num_fewshot + (pool is all_docs)
        if len(pool) < needed:
            raise TaskDataError(
                f"{task.num_fewshot}-shot needs {needed} few-shot documents; {fewshot_source} has {len(pool)}"
            )
        files["train"] = write_docs(directory / "fewshot.jsonl", pool)
    yaml_text = task_yaml(task, files)
    yaml_path = directory / f"{task.name}.yaml"
    yaml_path.write_text(yaml_text, encoding="utf-8")
    (directory / "utils.py").write_text(UTILS, encoding="utf-8")
    prompt = hashlib.sha256((yaml_text.split("dataset_kwargs")[0] + docs[0]["query"]).encode()).hexdigest()
    data = hashlib.sha256()
    for path in files.values():
        data.update(path.read_bytes())
    return PreparedTask(task, yaml_path, len(docs), fewshot_source, prompt[:16], data.hexdigest()[:16])


def file_documents(task: Task, data_dir: Path) -> tuple[list[dict], list[dict], str]:
    """The scored documents, the few-shot pool and where the pool came from, read from files."""
    all_docs = task.read(data_dir / task.test)
    if not task.num_fewshot:
        return all_docs, [], "none (0-shot)"
    fewshot_path = data_dir / task.fewshot if task.fewshot else None
    if fewshot_path is not None and fewshot_path.is_file():
        return all_docs, task.read(fewshot_path), str(task.fewshot)
    # The whole scored file is the pool; lm-eval's sampler leaves out the question being asked.
    missing = f"{task.fewshot} not found" if task.fewshot else "no few-shot file"
    return all_docs, all_docs, f"{task.test} (other questions; {missing})"


def write_docs(path: Path, docs: list[dict]) -> Path:
    with open(path, "w", encoding="utf-8") as f:
        for doc in docs:
            f.write(json.dumps(doc, ensure_ascii=False) + "\n")
    return path


# A choice letter standing alone: "B", "B.", "정답은 B입니다", not the A of "Answer".
CHOICE_LETTER = "(?<![A-Za-z])([A-D])(?![A-Za-z])"
# lm-eval's kmmlu_direct recipe: greedy generation until its stops, exact match ignoring case,
# punctuation and spaces; a second filter scores the extracted letter.
GENERATION_SCORING = (
    "generation_kwargs:",
    "  until: ['Q:', \"\\n\\n\", '</s>', '.']",
    "  do_sample: false",
    "  temperature: 0.0",
    "metric_list:",
    "  - metric: exact_match",
    "    aggregation: mean",
    "    higher_is_better: true",
    "    ignore_case: true",
    "    ignore_punctuation: true",
    "    regexes_to_ignore: [' ']",
    "filter_list:",
    "  - name: none",
    "    filter:",
    "      - function: take_first",
    "  - name: extract",
    "    filter:",
    "      - function: regex",
    f"        regex_pattern: '{CHOICE_LETTER}'",
    "      - function: take_first",
)


def task_yaml(task: Task, files: dict[str, Path]) -> str:
    """An lm-eval task over our documents (a YAML file; `!function` needs the text form)."""
    if task.scoring == "generate":
        kind, target, scoring = "generate_until", ["doc_to_target: '{{choices[gold]}}'"], GENERATION_SCORING
    else:
        kind, target, scoring = "multiple_choice", ["doc_to_choice: choices", "doc_to_target: gold"], []
        if task.scoring == "mc2":
            scoring.append("process_results: !function utils.mc2")
        scoring.append("metric_list:")
        for metric in ["mc2"] if task.scoring == "mc2" else ["acc", "acc_norm", "acc_bytes"]:
            scoring += [f"  - metric: {metric}", "    aggregation: mean", "    higher_is_better: true"]
        if task.macro_f1:
            scoring += ["  - metric: f1", "    aggregation: !function utils.macro_f1"]
            scoring.append("    higher_is_better: true")
    lines = [
        f"task: {task.name}",
        f"output_type: {kind}",
        "doc_to_text: '{{query}}'",
        *target,
        f"num_fewshot: {task.num_fewshot}",
        "test_split: test",
        *(["fewshot_split: train"] if "train" in files else []),
        *scoring,
        "metadata:",
        f"  version: {task.version}",
        "dataset_path: json",
        "dataset_kwargs:",
        "  data_files:",
        *(f"    {split}: {json.dumps(str(path.resolve()))}" for split, path in files.items()),
    ]
    return "\n".join(lines) + "\n"


def run_lm_eval(model_path: Path, prepared: list[PreparedTask], tasks_dir: Path, config) -> dict[str, dict]:
    """Score one model directory on the prepared tasks with lm-eval's Hugging Face backend."""
    import torch
    from lm_eval.models.huggingface import HFLM

    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = HFLM(
        pretrained=str(model_path),
        dtype=config.dtype,
        # lm-eval's "auto" probes by doubling until memory runs out: minutes on a CPU, so 8 there.
        batch_size=config.batch_size or ("auto" if device == "cuda" else 8),
        device=device,
        add_bos_token=config.add_bos_token,
        trust_remote_code=False,
    )
    return score_tasks(model, prepared, tasks_dir, config.seed)


def score_tasks(lm, prepared: list[PreparedTask], tasks_dir: Path, seed: int) -> dict[str, dict]:
    """{task: {metric: value, n_shot, lm_eval_version}} for an lm-eval LM on the prepared tasks."""
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    manager = TaskManager(include_path=str(tasks_dir), include_defaults=False)
    output = simple_evaluate(
        model=lm,
        tasks=[p.task.name for p in prepared],
        task_manager=manager,
        random_seed=seed,
        numpy_random_seed=seed,
        torch_random_seed=seed,
        fewshot_random_seed=seed,
        log_samples=False,
    )
    scores = {}
    for p in prepared:
        values = metric_values(output["results"][p.task.name])
        if p.members:  # lm-eval's group value is the micro mean; the macro mean is ours
            headline = p.task.headline
            per_subject = [metric_values(output["results"][m])[headline] for m in p.members]
            values[f"{headline}_macro"] = sum(per_subject) / len(per_subject)
        first = p.members[0] if p.members else p.task.name
        scores[p.task.name] = {
            **{k: round(v, 6) for k, v in values.items()},
            "n_shot": int(output["n-shot"][first]),
            "lm_eval_version": str(output["versions"].get(p.task.name, output["versions"][first])),
        }
        if p.members:
            scores[p.task.name]["subjects"] = len(p.members)
    return scores


def metric_values(raw: dict) -> dict[str, float]:
    """lm-eval's "metric,filter" entries without their standard errors, as floats; the "extract"
    filter's (generation tasks) get an "_extracted" suffix."""
    values = {}
    for key, value in raw.items():
        metric, _, name = key.partition(",")
        if "stderr" not in metric and name in ("none", "extract") and isinstance(value, int | float):
            values[metric + ("_extracted" if name == "extract" else "")] = float(value)
    return values

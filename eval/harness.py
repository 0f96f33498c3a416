"""The engine of `ko-eval`: every task runs through lm-evaluation-harness, offline if asked.

A task lm-eval defines (eval.tasks.Defined) runs from the installed package's own task YAMLs and
utils: each of its lm-eval tasks (one per subject for a group) is loaded from lm-eval's registry
with only the dataset overridden: our files rewritten in the Hub dataset's schema as JSONL under
OUTPUT/tasks/<task>/, a local copy or mirror of the Hub repository, or nothing (the Hub itself).
They are scored as one lm-eval group with the installed group's own aggregation.

A task lm-eval lacks (eval.tasks.Task) has its documents written as JSONL beside an lm-eval task
YAML that reads them (dataset_path: json). Either way lm-eval's own request building, batching and
metrics produce the numbers.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from eval.tasks import Defined, Task, TaskDataError

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
    # A Defined task: the lm-eval spec (an inline group of the installed tasks, dataset overridden)
    spec: dict | None = None
    aggregated: bool = False  # the spec's group carries lm-eval's aggregate (else: one task)
    dropped: dict | None = None  # rows the reader left out on purpose (Defined.dropped)
    split: str = "test"  # the published split scored (PIQA, HellaSwag, WinoGrande: validation)


# lm-eval's split keys: one that names a split our data lacks is set to None (lm-eval then draws
# few-shot examples from the next split it has, never the question asked).
SPLIT_KEYS = ("training_split", "validation_split", "test_split", "fewshot_split")
_MANAGERS: dict[str, object] = {}


def task_manager(include_path: str | None = None):
    """lm-eval's TaskManager with its installed tasks (indexing takes seconds: one per path)."""
    from lm_eval.tasks import TaskManager

    key = include_path or ""
    if key not in _MANAGERS:
        _MANAGERS[key] = TaskManager(include_path=include_path, include_defaults=True)
    return _MANAGERS[key]


def task_manager_with(tasks_dir: Path):
    """The installed tasks' manager with this run's task and group YAMLs indexed beside them.

    (lm-eval 0.4.13 mis-builds a group given by path or as a dict; indexed, it builds right.)
    """
    from lm_eval.tasks._index import TaskIndex

    manager = task_manager()
    manager._index.update(TaskIndex().build([tasks_dir]))
    return manager


def installed_config(name: str) -> dict:
    """An installed lm-eval task's or group's YAML with its includes, `!function`s as text."""
    from lm_eval.tasks._yaml_loader import load_yaml

    entry = task_manager().task_index.get(name)
    if entry is None or entry.yaml_path is None:
        raise TaskDataError(f"lm-eval {lm_eval_version()} has no task or group {name!r}")
    return load_yaml(entry.yaml_path, resolve_func=False)


def installed_leaves(name: str) -> list[str]:
    """The installed lm-eval tasks under a task, group or tag name, in the group's order."""
    entry = task_manager().task_index.get(name)
    if entry is None:
        raise TaskDataError(f"lm-eval {lm_eval_version()} has no task, group or tag {name!r}")
    kind = entry.kind.name
    if kind == "TAG":
        return [leaf for member in sorted(entry.tags) for leaf in installed_leaves(member)]
    if kind == "GROUP":
        members = installed_config(name)["task"]
        names = [m if isinstance(m, str) else m.get("task") or m.get("group") for m in members]
        return [leaf for member in names for leaf in installed_leaves(member)]
    return [name]


def lm_eval_version() -> str:
    from importlib.metadata import version

    return version("lm_eval")


def config_key(name: str | None) -> str:
    """A Hub config's name as files spell it: "Criminal-Law", "criminal_law" -> "criminal_law"."""
    return re.sub(r"[^a-z0-9]+", "_", (name or "").lower()).strip("_")


def prepare_defined(
    task: Defined, data_dir: Path, tasks_dir: Path, num_fewshot: int = -1, hub: str | None = None
) -> PreparedTask:
    """The installed lm-eval definition of `task` over our data: an inline group of its tasks.

    hub: None reads eval.data_dir (the task's files, or its copy of the Hub repository); "" the Hub
    itself; a directory, a local mirror of the Hub with one OWNER/NAME folder per dataset.
    """
    leaves = {leaf: installed_config(leaf) for leaf in installed_leaves(task.lm_eval)}
    directory = tasks_dir / task.name
    if hub is None and task.rows is not None:
        members, digest = defined_file_members(task, data_dir, directory, leaves)
        dropped = task.dropped(data_dir / task.files) if task.dropped else None
    else:
        root = Path(hub) if hub else (data_dir / task.files if hub is None else None)
        if root is not None and not root.is_dir():
            raise TaskDataError(f"{root}: no such directory (a copy of the Hub repository goes there)")
        members = hub_members(leaves, root, bool(hub))
        digest = folder_digest(sorted({Path(m["dataset_path"]) for m in members if "dataset_path" in m}))
        dropped = None
    shots = num_fewshot if num_fewshot >= 0 else task.num_fewshot
    for member in members:
        if shots is not None:
            member["num_fewshot"] = shots
    first = leaves[members[0]["task"]]
    n_shot = shots if shots is not None else int(first.get("num_fewshot") or 0)
    pool = next((members[0].get(k, first.get(k)) for k in ("fewshot_split", "training_split")), None)
    pool = pool or members[0].get("validation_split", first.get("validation_split"))
    spec = {"group": f"ko-eval/{task.name}", "task": members}
    aggregated = len(members) > 1
    if aggregated:
        spec["aggregate_metric_list"] = group_aggregates(task, leaves)
    prompt = hashlib.sha256(
        json.dumps([leaves[m["task"]] for m in members], sort_keys=True, default=str).encode()
    )
    # A group YAML lm-eval loads by path (JSON is YAML): its members are the installed tasks by
    # name, each with the dataset overridden, which lm-eval merges onto the installed YAML.
    directory.mkdir(parents=True, exist_ok=True)
    yaml_path = directory / f"{task.name}.group.yaml"
    yaml_path.write_text(json.dumps(spec, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return PreparedTask(
        task,
        yaml_path,
        0,
        "none (0-shot)" if not n_shot else f"lm-eval's {pool or 'scored'} split",
        prompt.hexdigest()[:16],
        digest.hexdigest()[:16],
        tuple(m["task"] for m in members) if aggregated else (),
        spec,
        aggregated,
        dropped,
        first.get("test_split") or first.get("validation_split") or "test",
    )


def folder_digest(folders: list[Path]):
    """sha256 over the files of local Hub copies (names and bytes), or of the word "huggingface.co"
    for the Hub itself, whose revision `datasets` resolves (results record the lm-eval version)."""
    digest = hashlib.sha256()
    if not folders:
        digest.update(b"huggingface.co")
    for folder in folders:
        for file in sorted(p for p in folder.rglob("*") if p.is_file() and ".cache" not in p.parts):
            digest.update(str(file.relative_to(folder)).encode() + b"\0")
            with open(file, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
    return digest


def hub_members(leaves: dict[str, dict], root: Path | None, mirror: bool) -> list[dict]:
    """The installed tasks reading the Hub itself (root None), a local mirror of it (one OWNER/NAME
    folder per dataset) or a copy of the task's one Hub repository: of a local one, the configs it
    holds (matched as files are: "criminal_law" is "Criminal-Law")."""
    from datasets import get_dataset_split_names, load_dataset

    from eval.tasks import hub_configs

    if root is None:
        return [{"task": leaf} for leaf in leaves]
    members, held = [], {}
    for leaf, cfg in leaves.items():
        folder = root / cfg["dataset_path"] if mirror else root
        if folder not in held:
            held[folder] = {config_key(c): c for c in hub_configs(str(folder))}
        member = {"task": leaf, "dataset_path": str(folder)}
        name = cfg.get("dataset_name")
        if name not in (None, "default"):
            if config_key(name) not in held[folder]:
                continue
            member["dataset_name"] = held[folder][config_key(name)]
        config = member.get("dataset_name", name)
        splits = get_dataset_split_names(str(folder), config)
        member.update({k: None for k in SPLIT_KEYS if cfg.get(k) and cfg[k] not in splits})
        scored = cfg.get("test_split") or cfg.get("validation_split")
        if "process_docs" in cfg and not selected_rows(leaf, load_dataset(str(folder), config, split=scored)):
            continue  # a category a partial copy lacks
        members.append(member)
    if not members:
        raise TaskDataError(f"{root}: none of the configs lm-eval's tasks read ({', '.join(map(str, held))})")
    return members


def defined_file_members(
    task: Defined, data_dir: Path, directory: Path, leaves: dict[str, dict]
) -> tuple[list[dict], object]:
    """Our files in the Hub schema as JSONL, and the installed tasks overridden to read them."""
    rows = task.rows(data_dir / task.files)
    by_key = {config_key(config): (config, splits) for config, splits in rows.items()}
    members, used, digest = [], set(), hashlib.sha256()
    for leaf, cfg in leaves.items():
        key = config_key(cfg.get("dataset_name"))
        if key not in by_key and not (len(by_key) == 1 and len(leaves) == 1):
            continue
        key = key if key in by_key else next(iter(by_key))
        used.add(key)
        files = {}
        for split, split_rows in by_key[key][1].items():
            files[split] = str(write_docs(directory / leaf / f"{split}.jsonl", split_rows).resolve())
            digest.update(Path(files[split]).read_bytes())
        member = {
            "task": leaf,
            "dataset_path": "json",
            "dataset_name": None,
            "dataset_kwargs": {"data_files": files},
        }
        member.update({k: None for k in SPLIT_KEYS if cfg.get(k) and cfg[k] not in files})
        scored = cfg.get("test_split") or cfg.get("validation_split")
        if scored not in files:
            raise TaskDataError(f"{task.files}: {leaf} scores the {scored!r} split; found {sorted(files)}")
        if "process_docs" in cfg and not selected_rows(leaf, by_key[key][1][scored]):
            log.info("%s: none of the %s rows are %s's (its process_docs); left out", task.name, scored, leaf)
            continue
        members.append(member)
    unused = sorted(by_key[k][0] or "default" for k in set(by_key) - used)
    known = sorted({str(cfg.get("dataset_name")) for cfg in leaves.values()})
    if unused:
        raise TaskDataError(
            f"{task.files}: {', '.join(unused)} match none of lm-eval's {task.lm_eval} datasets "
            f"({', '.join(known)})"
        )
    if not members:
        raise TaskDataError(f"{task.files}: no data for lm-eval's {task.lm_eval} ({', '.join(known)})")
    return members, digest


def selected_rows(leaf: str, rows) -> int:
    """How many rows (a list or a Dataset) the installed task's own process_docs keeps (CLIcK's
    tasks pick their category by id)."""
    import datasets
    from lm_eval.tasks._yaml_loader import load_yaml

    process = load_yaml(task_manager().task_index[leaf].yaml_path, resolve_func=True)["process_docs"]
    return len(process(rows if isinstance(rows, datasets.Dataset) else datasets.Dataset.from_list(rows)))


def group_aggregates(task: Defined, leaves: dict[str, dict]) -> list[dict]:
    """The installed group's aggregate metrics (micro: weighted by size), else the headline's."""
    entry = task_manager().task_index.get(task.lm_eval)
    if entry is not None and entry.kind.name == "GROUP":
        aggregates = installed_config(task.lm_eval).get("aggregate_metric_list")
        if aggregates:
            return [dict(a) for a in aggregates]
    first = next(iter(leaves.values()))
    filters = [f["name"] for f in first.get("filter_list") or []] or ["none"]
    return [{"metric": metric_base(task.headline, first), "filter_list": filters, "weight_by_size": True}]


def metric_base(headline: str, cfg: dict) -> str:
    """The lm-eval metric a headline name starts with (exact_match_strict_match -> exact_match)."""
    for metric in sorted((m["metric"] for m in cfg.get("metric_list") or []), key=len, reverse=True):
        if headline.startswith(metric):
            return metric
    return headline


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
    if isinstance(task, Defined):
        return prepare_defined(task, data_dir, tasks_dir, hub=hub)
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
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for doc in docs:
            f.write(json.dumps(doc, ensure_ascii=False) + "\n")
    return path


def task_yaml(task: Task, files: dict[str, Path]) -> str:
    """An lm-eval task over our documents (a YAML file; `!function` needs the text form)."""
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
    """Score one model directory on the prepared tasks with lm-eval's Hugging Face or vLLM model."""
    return score_tasks(load_lm(model_path, config), prepared, tasks_dir, config.seed, config.limit)


def load_lm(model_path: Path, config):
    """lm-eval's model for eval.backend: HFLM, or VLLM on a CUDA GPU."""
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    if config.backend == "vllm":
        from pipeline.cli import StageError
        from pipeline.deps import require_module

        if device != "cuda":
            raise StageError("eval.backend = vllm needs a CUDA GPU; use hf on this machine")
        require_module("vllm", extra="vllm")
        from lm_eval.models.vllm_causallms import VLLM

        return VLLM(
            pretrained=str(model_path),
            dtype=config.dtype,
            batch_size=config.batch_size or "auto",
            add_bos_token=config.add_bos_token,
            seed=config.seed,
        )
    from lm_eval.models.huggingface import HFLM

    return HFLM(
        pretrained=str(model_path),
        dtype=config.dtype,
        # lm-eval's "auto" probes by doubling until memory runs out: minutes on a CPU, so 8 there.
        batch_size=config.batch_size or ("auto" if device == "cuda" else 8),
        device=device,
        add_bos_token=config.add_bos_token,
        trust_remote_code=False,
    )


def score_tasks(
    lm, prepared: list[PreparedTask], tasks_dir: Path, seed: int, limit: int = 0
) -> dict[str, dict]:
    """{task: {metric: value, n_shot, documents, lm_eval_version}} for an lm-eval LM on the tasks."""
    from lm_eval import simple_evaluate

    output = simple_evaluate(
        model=lm,
        tasks=[p.spec["group"] if p.spec else p.task.name for p in prepared],
        task_manager=task_manager_with(tasks_dir),
        limit=limit or None,
        random_seed=seed,
        numpy_random_seed=seed,
        torch_random_seed=seed,
        fewshot_random_seed=seed,
        log_samples=False,
        bootstrap_iters=0,  # standard errors are not reported; bootstrapping perplexity takes minutes
    )
    return {p.task.name: task_scores(p, output) for p in prepared}


def task_scores(p: PreparedTask, output: dict) -> dict:
    """One task's numbers out of simple_evaluate's output; a group's macro mean is ours."""
    if p.spec is None:
        leaves = (p.task.name,)
    else:
        leaves = tuple(m["task"] for m in p.spec["task"])
    source = p.spec["group"] if p.aggregated else leaves[0]
    values = metric_values(output["results"][source])
    headline = p.task.headline
    if len(leaves) > 1:  # lm-eval's group value is the micro mean; the macro mean is ours
        per_subject = [metric_values(output["results"][leaf])[headline] for leaf in leaves]
        values[f"{headline}_macro"] = sum(per_subject) / len(per_subject)
    scores = {k: round(v, 6) for k, v in values.items()}
    scores["n_shot"] = int(output["n-shot"][leaves[0]])
    scores["documents"] = sum(int(output["n-samples"][leaf]["effective"]) for leaf in leaves)
    version = output["versions"].get(source, "N/A")
    scores["lm_eval_version"] = str(output["versions"][leaves[0]] if version == "N/A" else version)
    if len(leaves) > 1:
        scores["subjects"] = len(leaves)
    return scores


def metric_values(raw: dict) -> dict[str, float]:
    """lm-eval's "metric,filter" entries without their standard errors, as floats: named by the
    metric for the "none" filter, metric_filter for another ("exact_match_strict_match")."""
    values = {}
    for key, value in raw.items():
        metric, _, name = key.partition(",")
        if "stderr" in metric or not name or not isinstance(value, int | float):
            continue
        values[metric if name == "none" else f"{metric}_{config_key(name)}"] = float(value)
    return values

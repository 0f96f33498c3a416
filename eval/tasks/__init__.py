"""Benchmark tasks of `ko-eval`, one module each, all in one shape: a file reader and a prompt.

Every reader turns a benchmark's own file into documents {"query", "choices", "gold"} (gold is the
index of the right choice), with the benchmark's quirks handled where the file is read. The prompts
are lm-evaluation-harness's own for the tasks it has (kobest_*, kmmlu), so numbers compare with
published ones; the engine (eval/harness.py) scores them by log-likelihood of each choice.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


class TaskDataError(ValueError):
    """A benchmark file is missing or does not have the columns its task expects."""


@dataclass(frozen=True)
class Task:
    """One benchmark: where its files lie under the eval data directory and how it is scored."""

    name: str
    # Files relative to eval.data_dir: the scored split, and the pool few-shot examples are drawn
    # from (None: the scored split itself, never the question being asked).
    test: str
    fewshot: str | None
    num_fewshot: int
    read: Callable[[Path], list[dict]]
    # The table's headline metric: macro F1 for KoBEST (as its paper), acc elsewhere.
    headline: str = "acc"
    # Bumped whenever the prompt or the reader changes what is scored.
    version: str = "1"
    macro_f1: bool = False
    # The published benchmark this file layout comes from: its name, and its Hugging Face dataset
    # id and config, which model cards cite (the model-index of `ko-publish`).
    title: str = ""
    hub_id: str = ""
    hub_config: str | None = None
    # The Hub copy (eval.source: hub): rows -> documents (its schema may differ from the files':
    # KoBEST's does; None: no Hub copy), the split scored, the few-shot split, and several configs
    # read as one task (HAE-RAE's subsets).
    from_hub: Callable[[list[dict], str], list[dict]] | None = None
    hub_split: str = "test"
    hub_fewshot_split: str | None = None
    hub_configs: tuple[str, ...] = ()
    # A task of several subjects (KMMLU): given the directory `test`, the subject -> (test file,
    # few-shot file or None) map. Each subject is its own lm-eval task with its own few-shot pool,
    # grouped: the headline is the mean over all questions (micro), acc_macro the mean of subjects.
    subjects: Callable[[Path], dict[str, tuple[Path, Path | None]]] | None = None
    # "choice": pick the likeliest choice (acc, acc_norm, acc_bytes). "mc2": TruthfulQA's MC2,
    # the probability mass on the true choices (documents then carry "labels", true ones first).
    # "generate": the model writes its answer, compared with choices[gold] (exact_match, and
    # exact_match_extracted on the first standalone choice letter A-D in the answer).
    scoring: str = "choice"


def read_tsv(path: Path, columns: tuple[str, ...]) -> list[dict]:
    """KoBEST TSVs: quotes are literal text (csv.QUOTE_NONE), every row must carry `columns`."""
    if not path.is_file():
        raise TaskDataError(f"{path}: no such file")
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    missing = [c for c in columns if rows and c not in rows[0]]
    if not rows or missing:
        raise TaskDataError(
            f"{path}: expected columns {', '.join(columns)}; missing {', '.join(missing) or 'rows'}"
        )
    return rows


def read_json_records(path: Path) -> list[dict]:
    """A JSON array or JSONL file of objects."""
    if not path.is_file():
        raise TaskDataError(f"{path}: no such file")
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("["):
        return json.loads(text)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def read_records(path: Path) -> list[dict]:
    """Records of a JSON array, JSONL, CSV or Parquet file, or of every such file in a directory
    (sorted by name, e.g. one file per HAE-RAE subset)."""
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in (".json", ".jsonl", ".csv", ".parquet"))
        if not files:
            raise TaskDataError(f"{path}: no .json, .jsonl, .csv or .parquet files")
        return [record for file in files for record in read_records(file)]
    if not path.is_file():
        raise TaskDataError(f"{path}: no such file or directory")
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        records = pq.read_table(path).to_pylist()
    elif path.suffix == ".csv":
        with open(path, encoding="utf-8", newline="") as f:
            records = list(csv.DictReader(f))
    else:
        records = read_json_records(path)
    return records


def hub_rows(source: str, config: str | None, split: str) -> list[dict]:
    """Rows of a Hub dataset, or of a local copy in a Hub repository's layout, through `datasets`
    (cached; HF_HUB_OFFLINE=1 reads the cache only)."""
    from datasets import load_dataset

    try:
        return load_dataset(source, config, split=split).to_list()
    except (FileNotFoundError, ValueError, ConnectionError) as exc:
        raise TaskDataError(f"{source} ({config or 'default'}, {split}): {exc}") from None


def hub_configs(source: str) -> list[str]:
    """The configs (subjects) of a Hub dataset or of its local copy."""
    from datasets import get_dataset_config_names

    try:
        return get_dataset_config_names(source)
    except (FileNotFoundError, ValueError, ConnectionError) as exc:
        raise TaskDataError(f"{source}: {exc}") from None


def require_fields(record: dict, fields: tuple[str, ...], where: str) -> None:
    """A record must carry `fields`; the error names the record and what is missing."""
    missing = [f for f in fields if f not in record]
    if missing:
        raise TaskDataError(f"{where}: missing {', '.join(missing)}")


def parse_bool(value: str, where: str) -> int:
    """BoolQ and WiC answers mix TRUE/True/true and FALSE/False/false."""
    lowered = value.strip().lower()
    if lowered not in ("true", "false"):
        raise TaskDataError(f"{where}: answer {value!r} is not true or false")
    return int(lowered == "true")


def all_tasks() -> dict[str, Task]:
    """Every task, by name, in table order."""
    from eval.tasks import (
        click,
        haerae,
        kmmlu,
        kmmlu_direct,
        ko_arc,
        ko_commongen_v2,
        ko_hellaswag,
        ko_mmlu,
        ko_truthfulqa_mc1,
        ko_truthfulqa_mc2,
        kobest_boolq,
        kobest_copa,
        kobest_hellaswag,
        kobest_sentineg,
        kobest_wic,
    )

    modules = (
        kobest_boolq,
        kobest_copa,
        kobest_hellaswag,
        kobest_sentineg,
        kobest_wic,
        kmmlu,
        ko_commongen_v2,
        haerae,
        click,
        kmmlu_direct,
        ko_arc,
        ko_hellaswag,
        ko_mmlu,
        ko_truthfulqa_mc1,
        ko_truthfulqa_mc2,
    )
    return {m.TASK.name: m.TASK for m in modules}

"""Benchmark tasks of `ko-eval`, one module each, in two shapes.

- `Defined`: a task lm-evaluation-harness defines (kobest_*, kmmlu, haerae, click, the English
  tasks, ...). Its prompts, choices, targets, filters and metrics are read at run time from the
  installed lm-eval package's own YAMLs and utils; ours is only the data: a reader that turns the
  benchmark's files into rows of its Hub dataset's schema (the schema those YAMLs expect), or a
  local copy of the Hub repository, or the Hub itself.
- `Task`: a benchmark lm-eval has no definition for (Ko-CommonGen v2, the Open Ko-LLM
  Leaderboard's season-1 formats). Its reader turns the files into documents {"query", "choices",
  "gold"} (gold: the index of the right choice) and eval/harness.py writes an lm-eval YAML for them.
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
    # "choice": pick the likeliest choice (acc, acc_norm, acc_bytes). "mc2": TruthfulQA's MC2,
    # the probability mass on the true choices (documents then carry "labels", true ones first).
    scoring: str = "choice"
    language: str = "ko"
    caveat: str = ""
    # Questions in the published scored split (0: not stated); scoring fewer is said in the results.
    published: int = 0


# Rows of a Hub dataset, by config (None: the dataset has one) and split, in the Hub's schema.
Rows = dict[str | None, dict[str, list[dict]]]


@dataclass(frozen=True)
class Defined:
    """A task lm-eval defines, scored through its installed definition with our data underneath."""

    name: str
    # The installed lm-eval task or group this runs (every task of a group: one per subject).
    lm_eval: str
    # Under eval.data_dir: what `rows` reads, or (rows None) a copy of the Hub repository in its own
    # layout, read by `datasets` as the Hub copy would be.
    files: str
    rows: Callable[[Path], Rows] | None
    title: str = ""
    hub_id: str = ""
    language: str = "ko"
    # The table's headline metric, as named in results (metric, or metric_filter for a filter).
    headline: str = "acc"
    # Few-shot examples; None keeps lm-eval's own (mostly 0).
    num_fewshot: int | None = None
    # Where our data cannot give the published number (a converted file lost something).
    caveat: str = ""
    version: str = "1"  # of our reader; lm-eval's own version is recorded beside it
    hub_config: str | None = None
    # Questions in the published scored split, all subjects (0: not stated): a file with fewer
    # (part of LAMBADA, half of MMLU's subjects) gives a number that cannot equal a published one,
    # which the results say.
    published: int = 0
    # Rows the reader leaves out on purpose, from the same files: {"rule": ..., "ids": [...]}
    # (Ko-GSM8K's leaked answers), listed in results.json.
    dropped: Callable[[Path], dict] | None = None


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


# KoBEST's file names and the Hub splits they are.
KOBEST_SPLITS = {"train.tsv": "train", "dev.tsv": "validation", "test.tsv": "test"}


def kobest_rows(directory: Path, config: str, convert: Callable[[dict, str], dict]) -> Rows:
    """A KoBEST folder's TSVs (those present; test.tsv needed) in the skt/kobest_v1 schema."""
    if not (directory / "test.tsv").is_file():
        raise TaskDataError(f"{directory / 'test.tsv'}: no such file")
    splits = {}
    for file, split in KOBEST_SPLITS.items():
        path = directory / file
        if path.is_file():
            splits[split] = [convert(r, f"{path}:{n + 2}") for n, r in enumerate(read_tsv(path, ()))]
    return {config: splits}


def parse_bool(value: str, where: str) -> int:
    """BoolQ and WiC answers mix TRUE/True/true and FALSE/False/false."""
    lowered = value.strip().lower()
    if lowered not in ("true", "false"):
        raise TaskDataError(f"{where}: answer {value!r} is not true or false")
    return int(lowered == "true")


def all_tasks() -> dict[str, Task | Defined]:
    """Every task, by name, in table order."""
    from eval.tasks import (
        arc_challenge,
        arc_easy,
        click,
        csatqa,
        haerae,
        hellaswag,
        hrm8k,
        kmmlu,
        kmmlu_direct,
        kmmlu_hard,
        ko_arc,
        ko_commongen_v2,
        ko_gsm8k,
        ko_hellaswag,
        ko_mmlu,
        ko_truthfulqa_mc1,
        ko_truthfulqa_mc2,
        kobest_boolq,
        kobest_copa,
        kobest_hellaswag,
        kobest_sentineg,
        kobest_wic,
        kormedmcqa,
        lambada_openai,
        mmlu,
        piqa,
        winogrande,
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
        kmmlu_hard,
        ko_gsm8k,
        hrm8k,
        kormedmcqa,
        csatqa,
        ko_arc,
        ko_hellaswag,
        ko_mmlu,
        ko_truthfulqa_mc1,
        ko_truthfulqa_mc2,
        lambada_openai,
        piqa,
        hellaswag,
        arc_easy,
        arc_challenge,
        winogrande,
        mmlu,
    )
    return {m.TASK.name: m.TASK for m in modules}

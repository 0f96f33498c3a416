"""The model card of `ko-publish`, in Korean and English, made from the pipeline's own outputs.

Every number in it is read from a file the stages wrote (metrics/*.json, ko-eval's results.json)
or from params; nothing is typed in by hand. The YAML metadata carries a model-index of the eval
results that huggingface_hub's ModelCard and EvalResult parse, and the licences: the base model's,
and the training data's, a non-commercial one (KoAlpaca: CC BY-NC 4.0) restricting the card's.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from pipeline.cli import StageError
from pipeline.config import HUB_ID_PATTERN, Params, PublishConfig

# The stages whose metrics the card quotes, and the stage that writes each file.
PIPELINE_METRICS = {"clean": "clean", "vocab": "vocab", "pretrain": "pretrain", "sft": "sft"}
# Instruction sets recognised by their file or Hub name, with the licence they are published under.
KNOWN_DATA = (
    (re.compile(r"ko[_-]?alpaca", re.IGNORECASE), "KoAlpaca", "cc-by-nc-4.0"),
    (re.compile(r"kullm", re.IGNORECASE), "KULLM v2", "apache-2.0"),
)
NON_COMMERCIAL = re.compile(r"(^|[^a-z])nc([^a-z]|$)|non-?commercial", re.IGNORECASE)
METRIC_NAMES = {
    "f1": "macro F1",
    "acc": "accuracy",
    "acc_norm": "accuracy (length-normalised)",
    "exact_match": "exact match",
}


@dataclass(frozen=True)
class DataSource:
    """One source of training text, the stage that used it, and its licence."""

    name: str
    stage: str  # "pretrain" or "sft"
    licence: str

    @property
    def non_commercial(self) -> bool:
        return NON_COMMERCIAL.search(self.licence) is not None


@dataclass(frozen=True)
class Card:
    """README.md's text and what the publish report says of it."""

    text: str
    license: str
    eval_model: str
    summary: str  # the commit description


def read_pipeline_metrics(directory: Path) -> dict[str, dict]:
    """metrics/<stage>.json of the stages the card quotes; a missing one names its stage."""
    metrics = {}
    for name, stage in PIPELINE_METRICS.items():
        path = directory / f"{name}.json"
        if not path.is_file():
            raise StageError(f"{path}: not found; the card quotes it (run the {stage} stage first)")
        metrics[name] = json.loads(path.read_text(encoding="utf-8"))
    corpus = directory / "corpus.json"  # optional: the licences of the pretraining sources
    if corpus.is_file():
        metrics["corpus"] = json.loads(corpus.read_text(encoding="utf-8"))
    return metrics


def data_sources(
    config: PublishConfig, sft_metrics: dict, corpus_metrics: dict | None = None
) -> list[DataSource]:
    """The sft inputs (from the sft metrics) and the other declared sources, each with a licence.

    An sft input needs a licence: an entry of publish.data_licenses naming it (by path, file name or
    Hub id), else its sft.inputs entry's, else a known instruction set's; otherwise the card would
    hide one.
    """
    declared = config.data_licence_map()
    sources, named = [], set()
    for entry in sft_metrics.get("sources", []):
        name = entry["input"]
        keys = (name, Path(name).name)
        # publish.data_licenses, said at publishing time, overrides the licence the sft.inputs entry gave.
        licence = next((declared[k] for k in keys if k in declared), None) or entry.get("license") or None
        if licence is None:
            licence = next((lic for pattern, _, lic in KNOWN_DATA if pattern.search(name)), None)
        if licence is None:
            raise StageError(
                f"sft input {name!r} has no known licence: add '{name}=<licence>' to publish.data_licenses"
            )
        named.update(keys)
        sources.append(DataSource(name, "sft", licence))
    for entry in (corpus_metrics or {}).get("sources", []):  # corpus.sources and replay with a licence
        if entry.get("license") and entry["name"] not in declared:
            named.add(entry["name"])
            sources.append(DataSource(entry["name"], "pretrain", entry["license"]))
    for name, licence in declared.items():
        if name not in named:
            sources.append(DataSource(name, "pretrain", licence))
    return sources


def card_licence(base_license: str, sources: list[DataSource]) -> tuple[str, str | None]:
    """The card's `license` (and `license_name` when it is 'other').

    The base model's licence, unless training data is non-commercial: then that licence if it is
    the only restriction on a permissive base, else 'other' naming both.
    """
    restricted = sorted({s.licence for s in sources if s.non_commercial})
    if not restricted:
        return base_license, None
    ids = [lic for lic in restricted if re.fullmatch(r"[a-z0-9.+-]+", lic)]
    if len(restricted) == 1 and ids and base_license in ("apache-2.0", "mit", "cc-by-4.0", "cc0-1.0"):
        return ids[0], None
    name = "-and-".join([base_license, *(re.sub(r"[^a-z0-9.]+", "-", lic.lower()) for lic in restricted)])
    return "other", name


def eval_row(record: dict, model_dir: Path) -> str:
    """The name under which ko-eval scored `model_dir`."""
    for name, entry in record["models"].items():
        if Path(entry["path"]).resolve() == model_dir.resolve():
            return name
    scored = ", ".join(f"{n}={e['path']}" for n, e in record["models"].items())
    raise StageError(
        f"the eval results do not include {model_dir} (they score {scored}); run ko-eval on it first"
    )


def eval_results(record: dict, name: str) -> list:
    """model-index entries: each task's headline metric of model `name`, in %."""
    from huggingface_hub import EvalResult

    demo = is_demo_eval(record)
    results = []
    for task, info in record["tasks"].items():
        metric = info["headline"]
        title = info.get("title") or task
        results.append(
            EvalResult(
                task_type="text-generation",
                task_name="Text Generation",
                dataset_type=info.get("hub_id") or task,
                dataset_name=f"{title} (demo sample)" if demo else title,
                dataset_config=info.get("hub_config"),
                dataset_split=info.get("split", "test"),
                dataset_args={"num_few_shot": info["n_shot"], "questions": info["documents"]},
                metric_type=metric,
                metric_name=METRIC_NAMES.get(metric, metric),
                metric_value=round(100 * record["models"][name]["tasks"][task][metric], 2),
            )
        )
    return results


def is_demo_eval(record: dict) -> bool:
    from eval.config import DEMO_DATA_DIR

    return Path(record.get("data_dir", DEMO_DATA_DIR)) == Path(DEMO_DATA_DIR)


def build_card(
    config: PublishConfig,
    params: Params,
    title: str,
    model_dir: Path,
    record: dict,
    metrics: dict[str, dict],
    origin: dict,
) -> Card:
    """The model card: YAML metadata (licence, base model, datasets, model-index) and a bilingual body."""
    from huggingface_hub import ModelCard, ModelCardData

    from eval.table import render_table

    sources = data_sources(config, metrics["sft"], metrics.get("corpus"))
    license_id, license_name = card_licence(config.base_license, sources)
    name = eval_row(record, model_dir)
    results = eval_results(record, name)
    base = params.base
    datasets = list(config.datasets)
    datasets += [s.name for s in sources if HUB_ID_PATTERN.match(s.name) and not Path(s.name).exists()]
    tags = ["korean", "llama", "llama-2", "ko-llama", "vocabulary-extension", "continued-pretraining", "lora"]
    if any(s.non_commercial for s in sources):
        tags.append("non-commercial")
    data = ModelCardData(
        model_name=title,
        language="ko",
        license=license_id,
        license_name=license_name,
        base_model=base.model if base.source_kind() == "hub" else None,
        datasets=list(dict.fromkeys(datasets)) or None,
        tags=tags,
        pipeline_tag="text-generation",
        library_name="transformers",
        eval_results=results,
    )
    average = record["models"][name]["average"]
    body = "\n".join(
        [
            f"# {title}",
            "",
            *warnings(params, record),
            *overview(params, metrics),
            *usage(config, params),
            *how_it_was_made(params, metrics),
            *evaluation(record, name, render_table(record)),
            *licences(config, sources, license_id, license_name),
            *reproduce(origin),
        ]
    )
    text = f"---\n{data.to_yaml()}\n---\n\n{body}"
    parsed = ModelCard(text)  # the Hub's own parser must read back what we wrote
    if len(parsed.data.eval_results or []) != len(results):
        raise StageError("the model card's model-index does not parse back; nothing was staged")
    summary = (
        f"{title}: average {100 * average:.2f} over {len(results)} tasks (ko-eval row '{name}'); "
        f"licence {license_name or license_id}; base {base.model}@{base.revision}"
    )
    return Card(text=text, license=license_name or license_id, eval_model=name, summary=summary)


def warnings(params: Params, record: dict) -> list[str]:
    lines = []
    if params.base.is_demo:
        lines += [
            "> **데모 모델입니다.** CPU에서 몇 분 만에 파이프라인 전체를 돌려 보려고 만든 "
            "작은 무작위 Llama이며, 쓸 만한 한국어를 생성하지 못합니다.",
            "> **This is the pipeline's CPU demo:** a small, randomly initialised Llama trained for minutes. "
            "It does not write usable Korean.",
            "",
        ]
    if is_demo_eval(record) or record.get("limit"):
        lines += [
            "> 평가 점수는 이 프로젝트의 작은 예시 문항(또는 일부 문항)으로 낸 것이라 "
            "리더보드 점수와 비교할 수 없습니다.",
            "> The scores below come from a few sample questions (or a `limit`ed subset), not the full "
            "benchmarks: they show the evaluation runs and do not compare with leaderboard numbers.",
            "",
        ]
    return lines


def overview(params: Params, metrics: dict[str, dict]) -> list[str]:
    vocab = metrics["vocab"]
    base = "The pipeline's demo model" if params.base.is_demo else f"`{params.base.model}`"
    base_ko = "파이프라인의 데모 모델" if params.base.is_demo else f"`{params.base.model}`"
    return [
        f"{base_ko}에 한국어 어휘 {vocab['added_pieces']:,}개를 더하고(총 {vocab['vocab_size']:,}개), "
        "한국어 말뭉치로 추가 사전학습한 뒤 LoRA로 지시 학습한 모델입니다. "
        "ko-llama 파이프라인의 `dvc repro` 한 번으로 만들었습니다.",
        "",
        f"{base} with {vocab['added_pieces']:,} Korean pieces added to its vocabulary "
        f"({vocab['vocab_size']:,} in all), continued pretraining on Korean text, then LoRA instruction "
        "tuning, made by one `dvc repro` of the ko-llama pipeline.",
        "",
    ]


def usage(config: PublishConfig, params: Params) -> list[str]:
    where = config.repo_id or "path/to/this/folder"
    return [
        "## 사용법 (Usage)",
        "",
        f"프롬프트 형식은 `{params.sft.template}` 템플릿이며 토크나이저의 `chat_template`에 들어 있습니다. "
        "디코딩 설정은 `generation_config.json`에 있습니다.",
        "",
        f"Prompts use the `{params.sft.template}` template, saved as the tokenizer's `chat_template`; "
        "decoding settings are in `generation_config.json`.",
        "",
        "```python",
        "from transformers import AutoModelForCausalLM, AutoTokenizer",
        "",
        f'tokenizer = AutoTokenizer.from_pretrained("{where}")',
        f'model = AutoModelForCausalLM.from_pretrained("{where}", dtype="auto")',
        'messages = [{"role": "user", "content": "한국의 수도는 어디인가요?"}]',
        "inputs = tokenizer.apply_chat_template(",
        '    messages, add_generation_prompt=True, return_dict=True, return_tensors="pt"',
        ")",
        "output = model.generate(**inputs)",
        'print(tokenizer.decode(output[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True))',
        "```",
        "",
        *(
            [
                "`adapter/` holds the LoRA adapter, which applies to the continued-pretraining model "
                "(before tuning), not to the merged weights here.",
                "",
            ]
            if config.include_adapter
            else []
        ),
    ]


def how_it_was_made(params: Params, metrics: dict[str, dict]) -> list[str]:
    clean, vocab, pretrain, sft = (metrics[k] for k in ("clean", "vocab", "pretrain", "sft"))
    p, s = params.pretrain, params.sft
    reasons = ", ".join(f"{r} {n:,}" for r, n in sorted(clean.get("dropped_by_reason", {}).items()))
    pii = ", ".join(f"{k} {n:,}" for k, n in sorted(clean.get("pii_replaced", {}).items())) or "none"
    tpc = vocab["tokens_per_char"]
    steps = f"{s.max_steps} steps" if s.max_steps else f"{s.epochs:g} epochs"
    base_model = "demo" if params.base.is_demo else f"{params.base.model} @ {params.base.revision}"
    return [
        "## 만든 과정 (How it was made)",
        "",
        "| 단계 stage | 내용 what | 결과 result |",
        "|---|---|---|",
        f"| base | {base_model} | {vocab['base_pieces']:,} pieces |",
        f"| clean | {clean['read']:,} documents read, {clean['kept']:,} kept "
        f"({clean['bytes_out'] / 1e6:.2f} of {clean['bytes_in'] / 1e6:.2f} MB); dropped: {reasons or 'none'} "
        f"| exact duplicates {clean['exact_duplicate_rate']:.2%}, near duplicates "
        f"{clean['near_duplicate_rate']:.2%}; PII replaced: {pii} |",
        f"| vocab | morpheme-bounded BPE ({params.vocab.analyzer}), +{vocab['added_pieces']:,} pieces, "
        f"no original id moved | Korean tokens per character {tpc['base']} → {tpc['extended']} |",
        f"| pretrain | {p.block_size}-token blocks; embeddings {p.stage1_steps} steps, then all "
        f"{p.stage2_steps} steps at lr {p.learning_rate:g}; DeepSpeed `{p.deepspeed or 'none'}` "
        f"| held-out loss {pretrain['initial_eval_loss']:.3f} → {pretrain['eval_loss']:.3f}, "
        f"bits/char {pretrain['initial_bits_per_char']} → {pretrain['bits_per_char']} |",
        f"| sft | {sft['rows_used']:,} rows, `{s.template}` template; LoRA r={s.lora_r}, "
        f"alpha={s.lora_alpha} on {', '.join(s.target_modules)}; new embedding rows: {s.embeddings}; "
        f"{steps} at lr {s.learning_rate:g} | held-out answer loss {sft['initial_eval_loss']:.3f} → "
        f"{sft['eval_loss']:.3f} |",
        "",
        "Every setting is in `training_params.yaml`. 모든 설정은 `training_params.yaml`에 있습니다.",
        "",
    ]


def evaluation(record: dict, name: str, table: str) -> list[str]:
    counts = ", ".join(f"{info.get('title') or t} {info['documents']}" for t, info in record["tasks"].items())
    where = record.get("data_dir", "?")
    return [
        "## 평가 (Evaluation)",
        "",
        f"이 모델은 표의 `{name}` 행입니다. lm-evaluation-harness로 선택지마다 로그 우도를 구해 "
        f"채점했습니다. 문항은 `{where}`에서 읽었습니다.",
        "",
        f"This model is the `{name}` row. Each choice was scored by log-likelihood with "
        f"lm-evaluation-harness, on the questions in `{where}` ({counts}).",
        "",
        table.rstrip(),
        "",
    ]


def licences(
    config: PublishConfig, sources: list[DataSource], license_id: str, license_name: str | None
) -> list[str]:
    lines = [
        "## 라이선스 (Licence)",
        "",
        f"- Base model 기반 모델: `{config.base_license}`",
        *(f"- {s.stage} data 학습 데이터 `{s.name}`: {s.licence}" for s in sources),
        "",
    ]
    restricted = [s for s in sources if s.non_commercial]
    if restricted:
        names = ", ".join(f"`{s.name}` ({s.licence})" for s in restricted)
        lines += [
            f"**비상업적 이용만 가능합니다.** 학습 데이터 {names}의 라이선스가 "
            "상업적 이용을 허용하지 않습니다.",
            "",
            f"**Non-commercial use only:** the training data {names} does not allow commercial use. "
            f"This card's licence is `{license_name or license_id}`, and the base model's terms apply too.",
            "",
        ]
    return lines


def reproduce(origin: dict) -> list[str]:
    dirty = " (with uncommitted changes)" if origin["dirty"] else ""
    return [
        "## 재현 (Reproduce)",
        "",
        f"git `{origin['git']}`{dirty}, dvc.lock sha256 `{origin['dvc_lock'] or 'none'}`: "
        "check out that revision and run `dvc repro`.",
        "",
    ]

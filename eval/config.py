"""params.yaml `eval`: which benchmarks, where their files are, and how models are scored."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

from pipeline.params import require

# Public benchmarks, in table order: the default suite.
PUBLIC_TASKS = (
    "kobest_boolq",
    "kobest_copa",
    "kobest_hellaswag",
    "kobest_sentineg",
    "kobest_wic",
    "kmmlu",
    "ko_commongen_v2",
    "haerae",
    "click",
)
# The Open Ko-LLM Leaderboard's season-1 formats, for users who hold those (private) files.
LEADERBOARD_TASKS = ("ko_arc", "ko_hellaswag", "ko_mmlu", "ko_truthfulqa_mc1", "ko_truthfulqa_mc2")
# English retention, through lm-eval's own definitions of the tasks English models report.
ENGLISH_TASKS = ("lambada_openai", "piqa", "hellaswag", "arc_easy", "arc_challenge", "winogrande", "mmlu")
# More Korean tasks: scored on generated answers (slower), or with Hub-only data (a Hub copy or
# mirror needed), so not in the default.
MORE_KOREAN_TASKS = ("kmmlu_direct", "kmmlu_hard", "ko_gsm8k", "hrm8k", "kormedmcqa", "csatqa")
# No public Hub copy: read from files only.
FILES_ONLY_TASKS = LEADERBOARD_TASKS + ("ko_gsm8k",)
TASK_NAMES = PUBLIC_TASKS + MORE_KOREAN_TASKS + LEADERBOARD_TASKS + ENGLISH_TASKS
# The tiny samples written for this project: numbers on them only show that the stage runs.
DEMO_DATA_DIR = "data/eval_demo"


@dataclass(frozen=True)
class EvalConfig:
    """params.yaml `eval`."""

    SECTION: ClassVar[str] = "eval"

    # Tasks to run, in table order (eval/tasks/<name>.py); --tasks overrides. The default: the
    # Korean suite, then English retention.
    tasks: tuple[str, ...] = PUBLIC_TASKS + ENGLISH_TASKS
    # Directory holding the benchmarks' own files in their published layout
    # (kobest/BoolQ/test.tsv, kmmlu/<subject>_test.json, ko_commongen_v2/..., haerae/*.jsonl,
    # click/*.json, ko_gsm8k_mt/*.jsonl, english/piqa/valid.jsonl, english/mmlu/test/*.csv, ...;
    # a Hub-only task's folder, e.g. hrm8k/, is a copy of its Hub repository; each task module
    # says what it reads). ../shared/data/eval is laid out this way.
    data_dir: str = DEMO_DATA_DIR
    # files: read the benchmarks from data_dir. hub: from their Hugging Face datasets (all but
    # Ko-GSM8K and the leaderboard's sets, which are not public), through `datasets` and its cache
    # (HF_HUB_OFFLINE=1 reads the cache only).
    source: Literal["files", "hub"] = "files"
    # With source hub: a local mirror of the Hub, one OWNER/NAME folder per dataset in its Hub
    # layout ("": the Hub itself).
    hub_mirror: str = ""
    # Few-shot examples per question; -1 keeps each task's default (KMMLU and MMLU 5, Ko-GSM8K 5,
    # CommonGen 2, Ko-ARC 25, Ko-HellaSwag 10, Ko-MMLU 5, the others lm-eval's, mostly 0).
    num_fewshot: int = -1
    # Questions per task (0: all); a smoke-test knob, never for reported numbers.
    limit: int = 0
    # hf: lm-eval's Hugging Face model (any machine). vllm: lm-eval's vLLM model (a CUDA GPU and the
    # `vllm` extra; faster generation, same scores up to batching noise).
    backend: Literal["hf", "vllm"] = "hf"
    # lm-eval batch size (0: the largest that fits on a GPU, 8 on a CPU).
    batch_size: int = 0
    # Weights' dtype for scoring: auto takes the checkpoint's.
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    # Llama models were trained with BOS in front; lm-eval leaves it out unless told.
    add_bos_token: bool = True
    # Few-shot draws and every other random choice in lm-eval.
    seed: int = 1234
    # Held-out text per language for bits per character ({ko: PATH, en: PATH}; .jsonl[.gz], .txt
    # or a directory; --bpc-text / --bpc-text-en override). Tokenizer-independent, so models with
    # different vocabularies compare; en measures what the adaptation kept of English.
    bpc_texts: dict[str, str] = field(default_factory=dict)
    # KoMT-Bench: the folder of its FastChat files (question_ko.jsonl, reference answers, judge
    # prompts; "": not run). Each model answers both turns (at FastChat's temperature for the
    # category, seeded; up to komt_max_new_tokens tokens), stored in FastChat's format; with
    # judge_url (--judge) an OpenAI-compatible endpoint grades them with the benchmark's judge
    # prompts (key from KO_EVAL_JUDGE_API_KEY or OPENAI_API_KEY); without one the answers wait for a
    # later run.
    komt_bench: str = ""
    komt_max_new_tokens: int = 1024
    judge_url: str = ""
    judge_model: str = "gpt-4"
    # Bits per character: most characters read per text, and tokens per scored window.
    bpc_max_chars: int = 200000
    bpc_window: int = 1024

    def __post_init__(self):
        s = self.SECTION
        unknown = [t for t in self.tasks if t not in TASK_NAMES]
        require(not unknown, f"{s}.tasks: unknown {', '.join(unknown)}; known: {', '.join(TASK_NAMES)}")
        require(len(self.tasks) > 0, f"{s}.tasks is empty")
        require(self.data_dir.strip() != "", f"{s}.data_dir is empty")
        offline = [t for t in self.tasks if t in FILES_ONLY_TASKS]
        require(
            self.source == "files" or not offline,
            f"{s}.source = hub: {', '.join(offline)} have no public Hub copy; read them from files",
        )
        require(self.num_fewshot >= -1, f"{s}.num_fewshot = {self.num_fewshot}: -1 (task default) or more")
        require(self.limit >= 0 and self.batch_size >= 0, f"{s}.limit and batch_size must be >= 0")
        unknown_lang = sorted(set(self.bpc_texts) - {"ko", "en"})
        require(not unknown_lang, f"{s}.bpc_texts: unknown language(s) {unknown_lang}; use ko and en")
        require(self.komt_max_new_tokens > 0, f"{s}.komt_max_new_tokens must be positive")
        require(
            not self.judge_url or self.judge_url.startswith(("http://", "https://")),
            f"{s}.judge_url = {self.judge_url!r}: an http(s) URL of an OpenAI-compatible API (up to /v1)",
        )
        require(
            self.bpc_max_chars > 0 and self.bpc_window > 1,
            f"{s}.bpc_max_chars and bpc_window must be positive",
        )

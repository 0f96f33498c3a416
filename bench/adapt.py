"""Bench: does the adaptation work? An English model taught Korean, measured, arm against arm.

1. An English base. `ko-base` builds a random Llama of the scale's shape around the real Llama-2
   tokenizer (../shared/data/tokenizers/llama2, 32,000 pieces); `ko-pretrain` trains it (stage 2
   only, no new pieces) on English Gutenberg books with Korean movie reviews at --korean-share of
   the tokens (a source no arm reads), so its byte rows for Korean are trained, as Llama-2's were.
2. The Korean corpus: Wikinews, book reviews, fairy tales, UNESCO reports, the 2019 petitions and
   part of the court decisions from ../shared/data/corpus, written as JSONL and cleaned by
   `ko-clean` with the default params.
3. Tokenizers: `ko-vocab` extends the base's tokenizer by the same number of pieces with
   vocab.boundaries morpheme, lexical and none.
4. Arms: `ko-pretrain` from the base on the clean corpus with params changed, each for the same
   training FLOPs (pipeline/flops.py: 6 x all parameters, embeddings and lm_head included, plus
   the attention term, x tokens trained): (a) no extension; (b) extension, Hugging Face's
   mean_resizing rows (pretrain.input_init and output_init hf_mean); (c) extension, subword-mean
   rows; (d) (c) + English replay at 25% of tokens; (e) (c) without the embeddings-only stage 1;
   (f) (c) with lexical boundaries; (g) (c) with none (plain BPE). (a) and (c) run with two seeds.
   Every arm is given the English text as replay (trained on only in (d)), so each evaluation
   also measures English.
5. Measures per arm: Korean bits per character on the held-out documents of the clean corpus and
   English bits per character on held-out Gutenberg text (tokenizer-independent: the same
   documents for every arm), right after the resize and every pretrain.eval_steps; tokens per
   Korean character on the vocab stage's held-out text; Korean characters generated per second.

Every step is cached in --workdir under a hash of its inputs and settings, so the arms share the
base and a killed run resumes (finished steps are kept, ko-pretrain resumes from its checkpoints).
It runs for about 90 minutes at the default scale on 2 CPU cores, so start it in the background:

    nohup python bench/adapt.py --workdir /work/bench-data/adapt > adapt.log 2>&1 &
    python bench/adapt.py --workdir /work/bench-data/adapt --report-only --plot bench/adapt.png

`--scale gpu` is a larger model and more text for one GPU (about 30 MB of data).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import math
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("KO_SHARED_DATA", REPO.parent / "shared" / "data"))
BIN = Path(sys.executable).parent
LLAMA2 = SHARED / "tokenizers" / "llama2" / "tokenizer.model"
BASE_PIECES = 32000
DONE = "done.json"
REPORT_ONLY = False  # --report-only: a step not yet finished is an error, not work


@dataclass(frozen=True)
class Scale:
    """Model shape, data and budgets of one run of the bench."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    block: int
    batch: int
    english_chars: int  # Gutenberg text for the base (and held-out English)
    precedent_chars: int  # court decisions in the Korean corpus
    source_chars: int  # at most this much of each other Korean source (0: all)
    base_tokens: int  # tokens the English base trains on
    base_lr: float
    added: int  # Korean pieces every extended tokenizer adds
    arm_tokens: int  # tokens arm (c) trains on: its FLOPs are every arm's budget
    stage1_share: float  # of the steps, in arms with the embeddings-only stage
    stage1_lr: float
    stage2_lr: float
    eval_points: int  # evaluations per arm besides the one right after the resize
    validation_fraction: float
    generate_tokens: int


SCALES = {
    # a few minutes: does every step run (not a measurement)
    "smoke": Scale(
        hidden=64,
        layers=2,
        heads=4,
        intermediate=172,
        block=128,
        batch=4,
        english_chars=400_000,
        precedent_chars=100_000,
        source_chars=60_000,
        base_tokens=20_000,
        base_lr=2e-3,
        added=600,
        arm_tokens=8_000,
        stage1_share=0.2,
        stage1_lr=2e-3,
        stage2_lr=1e-3,
        eval_points=2,
        validation_fraction=0.02,
        generate_tokens=16,
    ),
    "cpu": Scale(
        hidden=128,
        layers=4,
        heads=4,
        intermediate=344,
        block=256,
        batch=8,
        english_chars=4_000_000,
        precedent_chars=1_500_000,
        source_chars=0,
        base_tokens=400_000,
        base_lr=2e-3,
        added=8_000,
        arm_tokens=120_000,
        stage1_share=0.2,
        stage1_lr=2e-3,
        stage2_lr=1e-3,
        eval_points=4,
        validation_fraction=0.01,
        generate_tokens=64,
    ),
    "gpu": Scale(
        hidden=512,
        layers=8,
        heads=8,
        intermediate=1376,
        block=512,
        batch=32,
        english_chars=12_000_000,
        precedent_chars=4_000_000,
        source_chars=0,
        base_tokens=12_000_000,
        base_lr=1e-3,
        added=14_336,
        arm_tokens=4_000_000,
        stage1_share=0.2,
        stage1_lr=1e-3,
        stage2_lr=5e-4,
        eval_points=8,
        validation_fraction=0.005,
        generate_tokens=128,
    ),
}


@dataclass(frozen=True)
class Arm:
    """One way of teaching the base Korean; settings are ko-vocab's and ko-pretrain's params."""

    name: str
    label: str
    boundaries: str | None = "morpheme"  # None: the base tokenizer, no new pieces
    input_init: str = "mean"
    output_init: str = "mean"
    replay: float = 0.0
    stage1: bool = True
    seed: int = 0


ARMS = (
    Arm("a", "no extension", boundaries=None),
    Arm("a'", "no extension, seed 1", boundaries=None, seed=1),
    Arm("b", "extension, HF mean_resizing rows", input_init="hf_mean", output_init="hf_mean"),
    Arm("c", "extension, subword-mean rows"),
    Arm("c'", "extension, subword-mean rows, seed 1", seed=1),
    Arm("d", "(c) + 25% English replay", replay=0.25),
    Arm("e", "(c) without stage 1", stage1=False),
    Arm("f", "(c), lexical boundaries", boundaries="lexical"),
    Arm("g", "(c), plain BPE (no boundaries)", boundaries="none"),
)


# ---- steps, cached by a hash of what they depend on ----


def cached_step(work: Path, name: str, key: dict, run) -> Path:
    """The folder of step `name` for `key`; `run(folder)` makes it unless a finished one exists."""
    digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:12]
    folder = work / f"{name}-{digest}"
    if (folder / DONE).is_file():
        return folder
    if REPORT_ONLY:
        sys.exit(f"--report-only: step {name} has not finished ({folder}); run without it first")
    folder.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    log(f"{name}: running (in {folder})")
    run(folder)
    seconds = time.perf_counter() - start
    (folder / DONE).write_text(json.dumps({"key": key, "seconds": round(seconds, 1)}, default=str))
    log(f"{name}: done in {seconds:.0f} s")
    return folder


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def cli(name: str, args: list[str], folder: Path, env: dict, cwd: Path = REPO) -> None:
    """Run a stage CLI of the project (its output in folder/log.txt); stop the bench if it fails."""
    command = [str(BIN / name), "--params", str(REPO / "params.yaml"), *args]
    with open(folder / "log.txt", "a", encoding="utf-8") as out:
        out.write(" ".join(command) + "\n")
        out.flush()
        done = subprocess.run(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    if done.returncode:
        tail = (folder / "log.txt").read_text(encoding="utf-8")[-3000:]
        sys.exit(f"{name} failed (exit {done.returncode}); end of {folder / 'log.txt'}:\n{tail}")


def sets(section: str, values: dict) -> list[str]:
    out = []
    for key, value in values.items():
        out += ["--set", f"{section}.{key}={json.dumps(value)}"]
    return out


def file_sha(path: Path) -> str:
    digest = hashlib.sha256()
    for file in sorted(path.rglob("*")) if path.is_dir() else [path]:
        if file.is_file():
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


# ---- data ----


def write_jsonl(path: Path, docs: list[dict]) -> None:
    path.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")


def chunks(text: str, size: int) -> list[str]:
    """Text cut at paragraph breaks into pieces of about `size` characters."""
    out, current = [], []
    length = 0
    for paragraph in text.split("\n\n"):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        current.append(paragraph)
        length += len(paragraph)
        if length >= size:
            out.append("\n\n".join(current))
            current, length = [], 0
    if length >= size // 4:
        out.append("\n\n".join(current))
    return out


def english_docs(chars: int) -> list[dict]:
    """Gutenberg books in chunks of ~8,000 characters, the opening chunk (front matter) skipped,
    taken a chunk per book in turn until `chars`."""
    books = []
    with gzip.open(SHARED / "english" / "gutenberg" / "en_gutenberg_pd_sample.jsonl.gz", "rt") as f:
        for line in f:
            book = json.loads(line)
            books.append((book["title"], chunks(book["text"], 8000)[1:]))
    docs, total, round_ = [], 0, 0
    while total < chars and any(round_ < len(c) for _, c in books):
        for title, parts in books:
            if round_ < len(parts) and total < chars:
                docs.append({"id": f"{title}#{round_}", "text": parts[round_]})
                total += len(parts[round_])
        round_ += 1
    return docs


def korean_share_docs(english: list[dict], share: float) -> list[dict]:
    """Movie reviews (a source the arms never read) in documents of ~2,000 characters, as many as
    make `share` of the base's training tokens under the Llama-2 tokenizer."""
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(LLAMA2))
    english_tokens = sum(len(ids) for ids in sp.encode([d["text"] for d in english]))
    wanted = share / (1 - share) * english_tokens
    reviews = []
    for path in sorted((SHARED / "corpus" / "nsmc_raw").rglob("*.json")):
        reviews += [
            r["review"].strip() for r in json.loads(path.read_text(encoding="utf-8")) if r.get("review")
        ]
        if len(reviews) > 20000:
            break
    docs, text, tokens = [], [], 0
    for review in reviews:
        text.append(review)
        if sum(map(len, text)) >= 2000:
            body = "\n".join(text)
            docs.append({"id": f"nsmc#{len(docs)}", "text": body})
            tokens += len(sp.encode(body))
            text = []
            if tokens >= wanted:
                break
    return docs


def capped(docs: list[dict], chars: int) -> list[dict]:
    """The first documents of a source, up to `chars` characters (0: all)."""
    out, total = [], 0
    for doc in docs:
        if chars and total >= chars:
            break
        out.append(doc)
        total += len(doc["text"])
    return out


def korean_corpus_docs(precedent_chars: int, source_chars: int) -> dict[str, list[dict]]:
    """The arms' Korean text by source, as JSONL documents (ko-clean reads them)."""
    corpus = SHARED / "corpus"
    out: dict[str, list[dict]] = {}
    news = (corpus / "boddari_wikinews" / "wikinews.txt").read_text(encoding="utf-8")
    out["wikinews"] = [{"id": f"wikinews#{n}", "text": t} for n, t in enumerate(chunks(news, 1))]
    for name in ("book_review01", "fairytale01", "unesco_report"):
        lines = (corpus / "boddari_more" / f"boddari_txt_{name}.txt").read_text(encoding="utf-8")
        grouped = chunks(lines.replace("\n", "\n\n"), 2000)
        out[name] = [{"id": f"{name}#{n}", "text": t.replace("\n\n", "\n")} for n, t in enumerate(grouped)]
    petitions = corpus / "petitions_2019" / "petitions_2019-08.jsonl"
    rows = [json.loads(x) for x in petitions.read_text(encoding="utf-8").splitlines() if x.strip()]
    out["petitions"] = [{"id": f"petition#{r['petition_idx']}", "text": r["content"]} for r in rows]
    rulings, total = [], 0
    with gzip.open(corpus / "ko_precedents" / "ko_supreme_court_precedents_sample.jsonl.gz", "rt") as f:
        for n, line in enumerate(f):
            if n % 7:  # every 7th decision: all kinds of case, not the first ones only
                continue
            record = json.loads(line)
            rulings.append({"id": f"ruling#{record['case_no']}", "text": record["text"]})
            total += len(record["text"])
            if total >= precedent_chars:
                break
    out["rulings"] = rulings
    return {name: capped(docs, source_chars) if name != "rulings" else docs for name, docs in out.items()}


def prepare_data(work: Path, scale: Scale, korean_share: float) -> dict[str, Path]:
    def english(folder: Path) -> None:
        docs = english_docs(scale.english_chars)
        write_jsonl(folder / "english.jsonl", docs)
        write_jsonl(folder / "korean_share.jsonl", korean_share_docs(docs, korean_share))

    def korean(folder: Path) -> None:
        raw = folder / "raw"
        raw.mkdir(exist_ok=True)
        for name, docs in korean_corpus_docs(scale.precedent_chars, scale.source_chars).items():
            write_jsonl(raw / f"{name}.jsonl", docs)

    settings = {"english_chars": scale.english_chars, "korean_share": korean_share, "version": 1}
    base_data = cached_step(work, "data-english", settings, english)
    sizes = {"precedent_chars": scale.precedent_chars, "source_chars": scale.source_chars, "version": 1}
    ko = cached_step(work, "data-korean", sizes, korean)
    return {
        "english": base_data / "english.jsonl",
        "korean_share": base_data / "korean_share.jsonl",
        "korean_raw": ko / "raw",
    }


# ---- the pipeline's stages ----


def clean_corpus(work: Path, raw: Path, env: dict) -> Path:
    def run(folder: Path) -> None:
        # ko-clean names a document after the path it was read from, and pretrain holds documents
        # out by a hash of that name: a path relative to the workdir keeps the held-out Korean
        # documents the same wherever the workdir is.
        args = ["-q", "--input", str(raw.relative_to(work)), "--output", str(folder / "clean")]
        cli("ko-clean", args, folder, env, cwd=work)

    return cached_step(work, "clean", {"raw": file_sha(raw), "ids": "relative"}, run) / "clean" / "clean"


def english_base(work: Path, scale: Scale, data: dict[str, Path], env: dict) -> Path:
    """The random model around Llama-2's tokenizer, then trained on English (+ a Korean share)."""
    shape = {
        "model": "demo",
        "demo_tokenizer": str(LLAMA2),
        "demo_hidden_size": scale.hidden,
        "demo_intermediate_size": scale.intermediate,
        "demo_num_layers": scale.layers,
        "demo_num_heads": scale.heads,
        "demo_max_position_embeddings": scale.block,
        "seed": 0,
    }

    def random_model(folder: Path) -> None:
        cli("ko-base", ["-q", "--output", str(folder / "model"), *sets("base", shape)], folder, env)

    start = cached_step(work, "base-random", {**shape, "tokenizer": file_sha(LLAMA2)}, random_model) / "model"
    steps = math.ceil(scale.base_tokens / (scale.batch * scale.block))
    settings = {
        **common_pretrain(scale),
        "stage1_steps": 0,
        "stage2_steps": steps,
        "learning_rate": scale.base_lr,
        "eval_steps": max(1, steps // scale.eval_points),
    }

    def train(folder: Path) -> None:
        inputs = [str(data["english"]), str(data["korean_share"])]
        args = ["-q", "--input", *inputs, "--model", str(start), "--tokenizer", str(start)]
        args += ["--output", str(folder / "out"), *sets("pretrain", settings)]
        cli("ko-pretrain", args, folder, env)

    key = {
        "start": file_sha(start),
        "english": file_sha(data["english"]),
        "ko": file_sha(data["korean_share"]),
    }
    return cached_step(work, "base-english", {**key, **settings}, train) / "out"


def common_pretrain(scale: Scale) -> dict:
    return {
        "block_size": scale.block,
        "per_device_batch_size": scale.batch,
        "validation_fraction": scale.validation_fraction,
        "deepspeed": "",
        "warmup": 0.05,
        "save_steps": 50,
        "logging_steps": 10,
        "save_total_limit": 1,
    }


def extend_tokenizer(work: Path, scale: Scale, base: Path, clean: Path, boundaries: str, env: dict) -> Path:
    settings = {
        "boundaries": boundaries,
        "target_vocab_size": BASE_PIECES + scale.added,
        "cache_dir": str(work / "cache" / "morphemes"),
    }

    def run(folder: Path) -> None:
        args = ["-q", "--input", str(clean), "--base", str(base), "--output", str(folder / "tokenizer")]
        cli("ko-vocab", [*args, *sets("vocab", settings)], folder, env)

    key = {"base": file_sha(base / "tokenizer.model"), "clean": file_sha(clean), **settings}
    return cached_step(work, f"vocab-{boundaries}", key, run) / "tokenizer"


def flops_per_token(scale: Scale, pieces: int) -> float:
    """pipeline/flops.py's training FLOPs per token for the scale's shape with this many pieces
    (embedding rows padded to 64, as the pretrain stage pads them)."""
    from transformers import LlamaConfig

    from pipeline.flops import model_flops_per_token

    rows = math.ceil(pieces / 64) * 64
    config = LlamaConfig(
        vocab_size=rows,
        hidden_size=scale.hidden,
        intermediate_size=scale.intermediate,
        num_hidden_layers=scale.layers,
        num_attention_heads=scale.heads,
    )
    return model_flops_per_token(config, scale.block)


def pieces_of(tokenizer: Path) -> int:
    from tokenizer.spm import read_model

    return len(read_model(tokenizer / "tokenizer.model").pieces)


@dataclass
class ArmRun:
    arm: Arm
    folder: Path
    tokenizer: Path
    flops_per_token: float
    steps: tuple[int, int]
    metrics: dict = field(default_factory=dict)


def run_arm(work, scale, arm, base, tokenizer, clean, english, budget, env) -> ArmRun:
    """ko-pretrain from the base for the FLOP budget (stage 1 at scale.stage1_share of the steps)."""
    fpt = flops_per_token(scale, pieces_of(tokenizer))
    total = round(budget / (fpt * scale.batch * scale.block))
    stage1 = round(total * scale.stage1_share) if arm.stage1 else 0
    settings = {
        **common_pretrain(scale),
        "stage1_steps": stage1,
        "stage2_steps": total - stage1,
        "stage1_learning_rate": scale.stage1_lr,
        "learning_rate": scale.stage2_lr,
        "input_init": arm.input_init,
        "output_init": arm.output_init,
        "replay_fraction": arm.replay,
        "eval_steps": max(1, total // scale.eval_points),
        "seed": arm.seed,
    }

    def run(folder: Path) -> None:
        args = ["-q", "--input", str(clean), "--replay", str(english), "--model", str(base)]
        args += ["--tokenizer", str(tokenizer), "--output", str(folder / "out"), *sets("pretrain", settings)]
        cli("ko-pretrain", args, folder, env)

    key = {
        "base": file_sha(base / "model.safetensors"),
        "tokenizer": file_sha(tokenizer),
        "clean": file_sha(clean),
    }
    name = "arm-" + arm.name.replace("'", "2")
    folder = cached_step(work, name, {**key, **settings}, run)
    metrics = json.loads((folder / "out" / "metrics.json").read_text())
    return ArmRun(arm, folder, tokenizer, fpt, (stage1, total - stage1), metrics)


# ---- measures ----


def generation_speed(model_dir: Path, prompts: list[str], new_tokens: int, repeats: int = 3) -> dict:
    """What the model writes per second (greedy, batch 1, exactly new_tokens each; the fastest of
    `repeats` runs per prompt, so a busy machine's stalls count less): tokens, characters, and
    Korean (Hangul) characters, which a model writing stray bytes does not produce."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    chars = hangul = 0
    seconds = 0.0
    for prompt in prompts:
        ids = tokenizer(prompt, return_tensors="pt")
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            with torch.no_grad():
                out = model.generate(
                    **ids, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False
                )
            times.append(time.perf_counter() - start)
        seconds += min(times)
        text = tokenizer.decode(out[0, ids["input_ids"].shape[1] :], skip_special_tokens=True)
        chars += len(text)
        hangul += sum("\uac00" <= ch <= "\ud7a3" for ch in text)
    return {
        "tokens_per_s": round(new_tokens * len(prompts) / seconds, 1),
        "chars_per_s": round(chars / seconds, 1),
        "hangul_share": round(hangul / max(chars, 1), 3),
    }


def held_out_prompts(clean: Path, fraction: float, count: int = 4) -> list[str]:
    """The opening of the first Korean held-out documents (pretrain's validation split)."""
    from data_prep.corpus import is_heldout

    prompts = []
    for path in sorted(clean.rglob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                doc = json.loads(line)
                if is_heldout(doc["id"], fraction) and len(doc["text"]) > 60:
                    prompts.append(doc["text"][:40])
                    if len(prompts) == count:
                        return prompts
    return prompts


def tokens_per_char(run: ArmRun, vocab_metrics: dict) -> float:
    if run.arm.boundaries is None:
        return vocab_metrics["morpheme"]["tokens_per_char"]["base"]
    return vocab_metrics[run.arm.boundaries]["tokens_per_char"]["extended"]


def summarize(runs: list[ArmRun], vocab_metrics: dict, speeds: dict, budget: float, scale: Scale) -> dict:
    arms = {}
    for run in runs:
        curve = [
            {"flops": p["tokens"] * run.flops_per_token, **{k: p[k] for k in ("stage", "ko", "en") if k in p}}
            for p in run.metrics["bits_per_char_curve"]
        ]
        arms[run.arm.name] = {
            **asdict(run.arm),
            "steps": run.steps,
            "flops_per_token": run.flops_per_token,
            "flops": run.metrics["bits_per_char_curve"][-1]["tokens"] * run.flops_per_token,
            "ko_bpc_after_resize": curve[0]["ko"],
            "ko_bpc_final": curve[-1]["ko"],
            "en_bpc_final": curve[-1].get("en"),
            "tokens_per_char": tokens_per_char(run, vocab_metrics),
            **speeds[run.arm.name],
            # Korean text written per second: the measured token rate over the tokens real Korean
            # takes (held-out); the greedy output itself says little of a small model's Korean.
            "korean_chars_per_s": round(
                speeds[run.arm.name]["tokens_per_s"] / tokens_per_char(run, vocab_metrics), 1
            ),
            "curve": curve,
        }
    return {"scale": asdict(scale), "budget_flops": budget, "arms": arms, "findings": findings(arms)}


def flops_to_reach(curve: list[dict], target: float) -> float | None:
    """FLOPs at which a Korean BPC curve first reaches `target` (linear between points)."""
    for before, after in zip(curve, curve[1:], strict=False):
        if after["ko"] <= target:
            if before["ko"] <= target:
                return before["flops"]
            share = (before["ko"] - target) / (before["ko"] - after["ko"])
            return before["flops"] + share * (after["flops"] - before["flops"])
    return None


def findings(arms: dict) -> dict:
    """The issue's three expectations, and the seed noise they are read against."""
    a, c = arms.get("a"), arms.get("c")
    out = {}
    if a and c:
        reach = flops_to_reach(c["curve"], a["ko_bpc_final"])
        out["c_flops_to_a_final_share"] = None if reach is None else round(reach / a["flops"], 3)
    if "b" in arms and c:
        out["c_minus_b_after_resize"] = round(c["ko_bpc_after_resize"] - arms["b"]["ko_bpc_after_resize"], 4)
    base_en = a["curve"][0].get("en") if a else None
    if base_en:
        out["base_en_bpc"] = base_en
        for name in ("c", "d"):
            if name in arms and arms[name]["en_bpc_final"]:
                out[f"{name}_en_vs_base"] = round(arms[name]["en_bpc_final"] / base_en - 1, 4)
    for name in ("a", "c"):
        if name in arms and f"{name}'" in arms:
            out[f"{name}_seed_spread"] = round(
                abs(arms[name]["ko_bpc_final"] - arms[f"{name}'"]["ko_bpc_final"]), 4
            )
    return out


def print_table(result: dict) -> None:
    print(f"budget: {result['budget_flops']:.3g} training FLOPs per arm")
    header = (
        "| arm | what | ko bpc after resize | ko bpc final | en bpc final | tokens/char | generated "
        "tokens/s | Korean chars/s | Hangul share of greedy output |"
    )
    print(header)
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, arm in result["arms"].items():
        en = f"{arm['en_bpc_final']:.3f}" if arm["en_bpc_final"] else "-"
        print(
            f"| {name} | {arm['label']} | {arm['ko_bpc_after_resize']:.3f} | {arm['ko_bpc_final']:.3f} "
            f"| {en} | {arm['tokens_per_char']:.3f} | {arm['tokens_per_s']:.0f} "
            f"| {arm['korean_chars_per_s']:.0f} | {arm['hangul_share']:.2f} |"
        )
    print(json.dumps(result["findings"], indent=1))


def plot(result: dict, path: Path) -> None:
    """Korean BPC against training FLOPs, a line per arm (all arms, then the extended ones up close);
    English BPC beside it."""
    try:
        import matplotlib
    except ImportError:
        sys.exit('plotting needs matplotlib: pip install -e ".[dev]"')
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ko, close, en) = plt.subplots(1, 3, figsize=(17, 4.8))
    for name, arm in result["arms"].items():
        flops = [p["flops"] for p in arm["curve"]]
        style = "--" if name.endswith("'") else "-"
        korean = [p["ko"] for p in arm["curve"]]
        ko.plot(flops, korean, style, marker=".", label=f"({name}) {arm['label']}")
        if arm["boundaries"] is not None:
            close.plot(flops, korean, style, marker=".", label=f"({name})")
        else:
            close.plot([], [], style, marker=".", label=f"({name}) off the scale")
        if all("en" in p for p in arm["curve"]):
            en.plot(flops, [p["en"] for p in arm["curve"]], style, marker=".", label=f"({name})")
    ko.set_yscale("log")
    for axis, title in (
        (ko, "Korean, held-out (log scale)"),
        (close, "Korean, extended tokenizers"),
        (en, "English, held-out"),
    ):
        axis.set_xlabel("training FLOPs")
        axis.set_ylabel("bits per character")
        axis.set_title(title)
        axis.grid(alpha=0.3)
    ko.legend(fontsize=7)
    close.legend(fontsize=7, ncol=2)
    en.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workdir", default=str(REPO / ".bench-adapt"))
    parser.add_argument("--scale", choices=sorted(SCALES), default="cpu")
    parser.add_argument("--arms", default=",".join(a.name for a in ARMS), help="comma-separated arm names")
    parser.add_argument("--korean-share", type=float, default=0.003, help="of the English base's tokens")
    parser.add_argument("--report-only", action="store_true", help="read finished steps; train nothing new")
    parser.add_argument("--plot", help="PNG to write (Korean and English BPC against FLOPs)")
    parser.add_argument("--out", help="results JSON (default: WORKDIR/results.json)")
    args = parser.parse_args()
    scale = SCALES[args.scale]
    work = Path(args.workdir).resolve() / args.scale
    work.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "KO_CACHE_DIR": str(work / "cache"),
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    chosen = [a for a in ARMS if a.name in args.arms.split(",")]
    global REPORT_ONLY
    REPORT_ONLY = args.report_only
    start = time.perf_counter()
    data = prepare_data(work, scale, args.korean_share)
    clean = clean_corpus(work, data["korean_raw"], env)
    base = english_base(work, scale, data, env) / "model"
    tokenizers = {None: base}
    vocab_metrics = {}
    for boundaries in sorted({a.boundaries for a in chosen} - {None} | {"morpheme"}):
        tokenizers[boundaries] = extend_tokenizer(work, scale, base, clean, boundaries, env)
        vocab_metrics[boundaries] = json.loads((tokenizers[boundaries] / "metrics.json").read_text())
    budget = flops_per_token(scale, pieces_of(tokenizers["morpheme"])) * scale.arm_tokens
    runs = [
        run_arm(work, scale, arm, base, tokenizers[arm.boundaries], clean, data["english"], budget, env)
        for arm in chosen
    ]
    prompts = held_out_prompts(clean, scale.validation_fraction)
    speeds = {
        run.arm.name: generation_speed(run.folder / "out" / "model", prompts, scale.generate_tokens)
        for run in runs
    }
    result = summarize(runs, vocab_metrics, speeds, budget, scale)
    result["seconds"] = round(time.perf_counter() - start, 1)
    result["steps_seconds"] = {
        p.parent.name: json.loads(p.read_text())["seconds"] for p in sorted(work.glob(f"*/{DONE}"))
    }
    out = Path(args.out) if args.out else work / "results.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    print_table(result)
    if args.plot:
        plot(result, Path(args.plot))
    log(f"results in {out}")


if __name__ == "__main__":
    main()

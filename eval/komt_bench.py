"""KoMT-Bench: two-turn Korean questions answered by each model, judged by an LLM (FastChat's MT-Bench).

The folder holds FastChat's files in Korean: question_ko.jsonl (80 questions, 8 categories, two
turns each), reference_answer_ko_gpt-4.jsonl (reference answers; ten of them, ids 161-170, have no
question and are left out) and judge_prompts_ko.jsonl (the judge's system prompts and templates).

`generate_answers` answers both turns, the second with the first answer in the conversation,
through the tokenizer's chat template (a model without one, a base model, gets "### 사용자:" /
"### 어시스턴트:" turns), at FastChat's temperature for the question's category (greedy for math,
reasoning, coding and extraction, 0.1 for STEM and humanities, 0.7 for writing and roleplay;
sampling seeded by the question id), and stores them in FastChat's model-answer format. It runs
through transformers' generate in eval.dtype whatever eval.backend says (one conversation at a
time, as FastChat's gen_model_answer does).
`judge_answers` sends each turn to an OpenAI-compatible chat endpoint with the benchmark's own
single-answer grading prompts, as FastChat's gen_judgment does: single-v1 for turn 1,
single-v1-multi-turn for turn 2, the -math- prompts with the reference answer for math, reasoning
and coding; temperature 0; the rating is the number in "[[N]]" (or "[N]"), and a judgment without
one scores -1 and is left out of the mean, as FastChat's show_result does.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
import urllib.error
import urllib.request
from pathlib import Path

from pipeline.cli import StageError

log = logging.getLogger("ko.eval")

QUESTIONS = "question_ko.jsonl"
REFERENCES = "reference_answer_ko_gpt-4.jsonl"
JUDGE_PROMPTS = "judge_prompts_ko.jsonl"
# FastChat's NEED_REF_CATS: judged against the reference answer.
NEED_REFERENCE = ("math", "reasoning", "coding")
# FastChat's temperature_config for answering (gen_model_answer); 0 is greedy.
TEMPERATURE = {
    "writing": 0.7,
    "roleplay": 0.7,
    "extraction": 0.0,
    "math": 0.0,
    "coding": 0.0,
    "reasoning": 0.0,
    "stem": 0.1,
    "humanities": 0.1,
}
RATING = (re.compile(r"\[\[(\d+\.?\d*)\]\]"), re.compile(r"\[(\d+\.?\d*)\]"))
# The judge's key comes from the environment only.
KEY_VARIABLES = ("KO_EVAL_JUDGE_API_KEY", "OPENAI_API_KEY")


def read_jsonl(path: Path) -> list[dict]:
    if not path.is_file():
        raise StageError(f"{path}: no such file (KoMT-Bench's FastChat files go in that folder)")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]


def load_bench(directory: Path) -> tuple[list[dict], dict[int, list[str]], dict[str, dict]]:
    """Questions, reference answers by question id (turns), judge prompts by name."""
    questions = read_jsonl(directory / QUESTIONS)
    for n, q in enumerate(questions):
        if not {"question_id", "category", "turns"} <= set(q) or len(q["turns"]) != 2:
            raise StageError(f"{directory / QUESTIONS}: record {n} is not a two-turn question")
    ids = {q["question_id"] for q in questions}
    references = {}
    for record in read_jsonl(directory / REFERENCES):
        if record["question_id"] in ids:
            references[record["question_id"]] = record["choices"][0]["turns"]
    for q in questions:  # a reference in the question file fills in where the answer file has none
        if q.get("reference") and q["question_id"] not in references:
            references[q["question_id"]] = q["reference"]
    missing = [
        q["question_id"]
        for q in questions
        if q["category"] in NEED_REFERENCE and q["question_id"] not in references
    ]
    if missing:
        raise StageError(f"{directory}: no reference answer for questions {missing}")
    prompts = {p["name"]: p for p in read_jsonl(directory / JUDGE_PROMPTS)}
    return questions, references, prompts


def conversation_prompt(tokenizer, messages: list[dict]) -> str:
    """The model's prompt for a conversation ending with a user turn."""
    if tokenizer.chat_template:
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    names = {"user": "### 사용자:", "assistant": "### 어시스턴트:"}
    return "".join(f"{names[m['role']]}\n{m['content']}\n\n" for m in messages) + "### 어시스턴트:\n"


def generate_answers(
    model_dir: Path,
    model_id: str,
    questions: list[dict],
    output: Path,
    max_new_tokens: int,
    dtype: str = "auto",
) -> Path:
    """Both turns of every question at its category's temperature; stored as FastChat model answers
    in `output`.

    Answers already stored for the same model files, questions, length and dtype are kept (seeded
    generation gives them again).
    """
    import torch
    from tqdm import tqdm
    from transformers import AutoModelForCausalLM, AutoTokenizer

    key = answers_key(model_dir, questions, max_new_tokens, dtype)
    path = output / f"{model_id}.jsonl"
    if path.is_file():
        stored = read_jsonl(path)
        if stored and all(a.get("settings_sha256") == key for a in stored) and len(stored) == len(questions):
            log.info("KoMT-Bench: %s's answers kept from %s", model_id, path)
            return path
    device = "cuda" if torch.cuda.is_available() else "cpu"
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype).to(device).eval()
    records = []
    for q in tqdm(questions, desc=f"KoMT-Bench {model_id}", unit="question"):
        messages, turns = [], []
        for turn in q["turns"]:
            messages.append({"role": "user", "content": turn})
            prompt = conversation_prompt(tokenizer, messages)
            ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=not tokenizer.chat_template).to(
                device
            )
            temperature = TEMPERATURE.get(q["category"], 0.7)
            sampling = {"do_sample": temperature > 1e-4}
            if sampling["do_sample"]:
                sampling["temperature"] = temperature
            torch.manual_seed(int(q["question_id"]))
            with torch.no_grad():
                out = model.generate(
                    **ids, max_new_tokens=max_new_tokens, pad_token_id=tokenizer.eos_token_id, **sampling
                )
            answer = tokenizer.decode(out[0, ids["input_ids"].shape[1] :], skip_special_tokens=True).strip()
            turns.append(answer)
            messages.append({"role": "assistant", "content": answer})
        records.append(
            {
                "question_id": q["question_id"],
                "answer_id": hashlib.sha256(f"{model_id}{q['question_id']}{turns}".encode()).hexdigest()[:22],
                "model_id": model_id,
                "choices": [{"index": 0, "turns": turns}],
                "tstamp": time.time(),
                "settings_sha256": key,
            }
        )
    output.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def answers_key(model_dir: Path, questions: list[dict], max_new_tokens: int, dtype: str = "auto") -> str:
    digest = hashlib.sha256(
        json.dumps([questions, max_new_tokens, dtype, TEMPERATURE], ensure_ascii=False).encode()
    )
    for file in sorted(model_dir.glob("*.safetensors")) + sorted(model_dir.glob("*.json")):
        digest.update(file.name.encode() + str(file.stat().st_size).encode() + file.read_bytes()[-4096:])
    return digest.hexdigest()[:16]


def judge_prompt(prompts: dict, question: dict, answers: list[str], reference: list[str] | None, turn: int):
    """(prompt name, system prompt, user prompt) for one turn, as FastChat builds them."""
    math = question["category"] in NEED_REFERENCE
    name = ("single-math-v1" if math else "single-v1") + ("-multi-turn" if turn == 2 else "")
    template = prompts[name]
    fields = {}
    if turn == 1:
        fields.update(question=question["turns"][0], answer=answers[0])
        if math:
            fields["ref_answer_1"] = reference[0]
    else:
        fields.update(
            question_1=question["turns"][0],
            question_2=question["turns"][1],
            answer_1=answers[0],
            answer_2=answers[1],
        )
        if math:
            fields.update(ref_answer_1=reference[0], ref_answer_2=reference[1])
    return name, template["system_prompt"], template["prompt_template"].format(**fields)


def call_judge(url: str, judge_model: str, system: str, user: str, retries: int = 3) -> str:
    """One chat completion from an OpenAI-compatible endpoint (URL up to /v1), temperature 0."""
    body = {
        "model": judge_model,
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
        "temperature": 0,
        "max_tokens": 2048,
    }
    headers = {"Content-Type": "application/json"}
    key = next((os.environ[v] for v in KEY_VARIABLES if os.environ.get(v)), None)
    if key:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(
        url.rstrip("/") + "/chat/completions", json.dumps(body).encode(), headers, method="POST"
    )
    for attempt in range(retries):
        try:
            with urllib.request.urlopen(request, timeout=300) as response:
                return json.loads(response.read())["choices"][0]["message"]["content"]
        except urllib.error.HTTPError as exc:
            if exc.code < 500 and exc.code != 429:
                raise StageError(f"judge {url}: HTTP {exc.code}: {exc.read()[:300]!r}") from None
            error = exc
        except (urllib.error.URLError, TimeoutError, KeyError, json.JSONDecodeError) as exc:
            error = exc
        time.sleep(2**attempt)
    raise StageError(f"judge {url}: no answer after {retries} tries ({error})")


def rating(judgment: str) -> float:
    """The judge's [[N]] (or [N]); -1 when it gave none."""
    for pattern in RATING:
        found = pattern.search(judgment)
        if found:
            return float(found.group(1))
    return -1.0


def judge_answers(
    url: str, judge_model: str, directory: Path, answer_files: dict[str, Path], output: Path
) -> dict[str, dict]:
    """Judge every model's stored answers (the questions they answer); judgments.jsonl in FastChat's
    format; scores per model."""
    from tqdm import tqdm

    questions, references, prompts = load_bench(directory)
    judgments, scores = [], {}
    for model_id, path in answer_files.items():
        answers = {a["question_id"]: a["choices"][0]["turns"] for a in read_jsonl(path)}
        per_turn = {1: [], 2: []}
        answered = [q for q in questions if q["question_id"] in answers]
        for q in tqdm(answered, desc=f"judging {model_id}", unit="question"):
            for turn in (1, 2):
                name, system, user = judge_prompt(
                    prompts, q, answers[q["question_id"]], references.get(q["question_id"]), turn
                )
                judgment = call_judge(url, judge_model, system, user)
                score = rating(judgment)
                per_turn[turn].append(score)
                judgments.append(
                    {
                        "question_id": q["question_id"],
                        "model": model_id,
                        "judge": [judge_model, name],
                        "user_prompt": user,
                        "judgment": judgment,
                        "score": score,
                        "turn": turn,
                        "tstamp": time.time(),
                    }
                )
        scores[model_id] = summarize(per_turn)
    output.mkdir(parents=True, exist_ok=True)
    (output / "judgments.jsonl").write_text(
        "".join(json.dumps(j, ensure_ascii=False) + "\n" for j in judgments), encoding="utf-8"
    )
    return scores


def summarize(per_turn: dict[int, list[float]]) -> dict:
    """Mean rating per turn and over both, without the unrated (-1) judgments, as FastChat."""
    rated = {t: [s for s in v if s != -1] for t, v in per_turn.items()}
    every = rated[1] + rated[2]
    return {
        "score": round(sum(every) / len(every), 4) if every else None,
        "turn_1": round(sum(rated[1]) / len(rated[1]), 4) if rated[1] else None,
        "turn_2": round(sum(rated[2]) / len(rated[2]), 4) if rated[2] else None,
        "unrated": sum(len(v) for v in per_turn.values()) - len(every),
    }

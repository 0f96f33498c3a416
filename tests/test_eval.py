"""ko-eval: tasks lm-eval defines run from its installed YAMLs over our data; the others from ours;
lm-eval scores them exactly; the table compares models in Korean and English."""

from __future__ import annotations

import bz2
import json
from pathlib import Path

import numpy as np
import pytest

from eval.evaluate import caveat
from eval.harness import prepare_task, score_tasks, task_manager, task_manager_with
from eval.tasks import Defined, TaskDataError, all_tasks
from tests.conftest import REPO, SHARED, shared_path

EVAL = SHARED / "eval"


@pytest.fixture(autouse=True)
def fresh_datasets_cache(tmp_path, monkeypatch):
    """Each test's own `datasets` cache: a mirror rewritten at a reused pytest path must not be
    answered from the cache of an earlier run."""
    import datasets

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf-datasets-cache")


def byte_count_lm():
    """An lm-eval LM whose log-likelihood of a continuation is minus its UTF-8 byte count, and
    greedy (for LAMBADA's acc) when that count is even."""
    from lm_eval.api.model import LM

    class ByteCountLM(LM):
        def loglikelihood(self, requests, disable_tqdm=False):
            out = []
            for r in requests:
                n = len(r.args[1].encode("utf-8"))
                out.append((-float(n), n % 2 == 0))
            return out

        def loglikelihood_rolling(self, requests, disable_tqdm=False):
            raise NotImplementedError

        def generate_until(self, requests, disable_tqdm=False):
            raise NotImplementedError

    return ByteCountLM()


def scripted_lm(answer):
    """An lm-eval LM that generates answer(prompt) and scores no likelihoods."""
    from lm_eval.api.model import LM

    class ScriptedLM(LM):
        def generate_until(self, requests, disable_tqdm=False):
            return [answer(r.args[0]) for r in requests]

        def loglikelihood(self, requests, disable_tqdm=False):
            raise NotImplementedError

        def loglikelihood_rolling(self, requests, disable_tqdm=False):
            raise NotImplementedError

    return ScriptedLM()


def lines(path) -> int:
    return sum(1 for _ in open(path, encoding="utf-8"))


def data_for(name: str) -> Path:
    return DEMO if name in ("haerae", "click") else EVAL


def built(prepared, tasks_dir: Path) -> dict:
    """The lm-eval Task objects our prepared spec builds, by lm-eval task name."""
    return task_manager_with(tasks_dir).load([prepared.spec["group"]])["tasks"]


def rendered(task, n: int = 3) -> list[tuple]:
    """The first documents as lm-eval renders them: prompt, choices, target."""
    docs = list(task.eval_docs)[:n]
    choices = (lambda d: task.doc_to_choice(d)) if task.OUTPUT_TYPE == "multiple_choice" else (lambda d: None)
    return [(task.doc_to_text(d), choices(d), task.doc_to_target(d)) for d in docs]


def written_rows(prepared, leaf: str) -> dict[str, list[dict]]:
    member = next(m for m in prepared.spec["task"] if m["task"] == leaf)
    files = member["dataset_kwargs"]["data_files"]
    text = {s: Path(f).read_text(encoding="utf-8") for s, f in files.items()}  # "\u2028" is in rows
    return {s: [json.loads(x) for x in t.split("\n") if x] for s, t in text.items()}


SHARED_DEFINED = (
    "kobest_boolq",
    "kobest_copa",
    "kobest_hellaswag",
    "kobest_sentineg",
    "kobest_wic",
    "kmmlu",
    "kmmlu_direct",
    "haerae",
    "click",
    "ko_gsm8k",
    "lambada_openai",
    "piqa",
    "hellaswag",
    "arc_easy",
    "arc_challenge",
    "winogrande",
    "mmlu",
)


def test_every_defined_task_renders_as_the_installed_lm_eval_task(tmp_path, monkeypatch):
    """Through our path (installed task + dataset override) and through the installed task itself
    (its own dataset_path and name, which `datasets` is made to answer with the same rows): the
    first documents' prompts, choices and targets are equal, and the dataset asked for is the Hub
    id the task names."""
    import datasets

    shared_path("eval", "english")
    tasks = all_tasks()
    assert {n for n, t in tasks.items() if isinstance(t, Defined)} >= set(SHARED_DEFINED)
    ours, rows = {}, {}
    for name in SHARED_DEFINED:
        prepared = prepare_task(tasks[name], data_for(name), tmp_path)
        for leaf, task in built(prepared, tmp_path).items():
            ours[leaf] = (name, rendered(task))
            rows[leaf] = written_rows(prepared, leaf)
    asked = []

    def hub(path, name=None, **kwargs):
        asked.append((path, name))
        splits = {s: datasets.Dataset.from_list(r) for s, r in rows[current].items()}
        # a split the installed task names and our files lack (KMMLU's dev): any rows do, for
        # rendering the scored documents
        filler = next(iter(splits.values()))
        return datasets.DatasetDict(
            {s: splits.get(s, filler) for s in {*splits, "train", "validation", "dev"}}
        )

    monkeypatch.setattr(datasets, "load_dataset", hub)
    for current, (name, mine) in ours.items():
        theirs = task_manager().load([current])["tasks"][current]
        assert rendered(theirs) == mine, current
        if tasks[name].hub_id:
            assert asked[-1][0] == tasks[name].hub_id, current
    # kobest 5, kmmlu and kmmlu_direct 1 subject each, haerae 2 subsets, click 6 categories, gsm8k,
    # lambada, piqa, hellaswag, arc 2, winogrande, mmlu 29 subjects
    assert len(ours) == 5 + 1 + 1 + 2 + 6 + 1 + (1 + 1 + 1 + 2 + 1) + 29


def test_files_become_the_hub_schema_with_their_quirks(tmp_path):
    """Readers against the files themselves: every row kept, answers in the Hub's coding, and the
    prompts lm-eval renders from them equal to what the converted files hold."""
    from lm_eval.tasks.hellaswag.utils import preprocess

    tasks = all_tasks()
    shared_path("eval", "kobest")
    for name, folder in (("kobest_boolq", "BoolQ"), ("kobest_copa", "COPA"), ("kobest_wic", "WiC")):
        got = tasks[name].rows(EVAL / "kobest" / folder)
        (config,) = got
        for split, file in (("train", "train.tsv"), ("validation", "dev.tsv"), ("test", "test.tsv")):
            assert len(got[config][split]) == lines(EVAL / "kobest" / folder / file) - 1, (name, split)
    copa = tasks["kobest_copa"].rows(EVAL / "kobest" / "COPA")["copa"]["test"]
    assert copa[0]["label"] == 1 and {r["label"] for r in copa} == {0, 1}  # the file's 1/2
    senti = tasks["kobest_sentineg"].rows(EVAL / "kobest" / "SentiNeg")["sentineg"]["test"][0]
    assert senti == {"sentence": "택배사 정말 마음에 듬", "label": 1}  # the negated sentence
    render = {}
    for name in ("kobest_copa", "arc_easy", "winogrande", "hellaswag", "piqa", "kmmlu"):
        prepared = prepare_task(tasks[name], EVAL, tmp_path)
        render[name] = {leaf: rendered(t, 5) for leaf, t in built(prepared, tmp_path).items()}
    assert render["kobest_copa"]["kobest_copa"][0][0].endswith("  그래서")  # lm-eval's two spaces
    icl = EVAL / "english" / "llmfoundry_icl"
    arc = [json.loads(x) for x in (icl / "arc_easy.jsonl").read_text().splitlines()[:5]]
    assert [r[0] for r in render["arc_easy"]["arc_easy"]] == [a["query"] + "\nAnswer:" for a in arc]
    assert [r[2] for r in render["arc_easy"]["arc_easy"]] == [a["gold"] for a in arc]
    wino = [json.loads(x) for x in (icl / "winogrande.jsonl").read_text().splitlines()[:5]]
    assert [r[1] for r in render["winogrande"]["winogrande"]] == [w["context_options"] for w in wino]
    assert [r[2] for r in render["winogrande"]["winogrande"]] == [w["continuation"] for w in wino]
    assert [r[0] for r in render["winogrande"]["winogrande"]] == [w["gold"] for w in wino]
    raw = bz2.open(EVAL / "english/hellaswag_converted/hellaswag_val_full.txt.bz2", "rt").read().split("\n")
    assert [r[0] for r in render["hellaswag"]["hellaswag"]] == [preprocess(raw[6 * i]) for i in range(5)]
    assert render["hellaswag"]["hellaswag"][0][1] == [preprocess(x) for x in raw[2:6]]
    piqa = [json.loads(x) for x in (EVAL / "english/piqa/valid.jsonl").read_text().splitlines()[:5]]
    labels = (EVAL / "english/piqa/valid-labels.lst").read_text().split()[:5]
    assert render["piqa"]["piqa"] == [
        (f"Question: {q['goal']}\nAnswer:", [q["sol1"], q["sol2"]], int(n))
        for q, n in zip(piqa, labels, strict=True)
    ]
    kmmlu = json.loads((EVAL / "kmmlu" / "criminal_law_test.json").read_text(encoding="utf-8"))
    first = render["kmmlu"]["kmmlu_criminal_law"][0]
    assert first[0].startswith(kmmlu[0]["question"].strip()) and first[0].endswith("\n정답：")
    assert first[2] == kmmlu[0]["answer"] - 1


def test_ko_gsm8k_drops_the_leaked_questions_and_scores_lm_evals_gsm8k_match(tmp_path):
    """The leak rule finds exactly the eight translated questions that carry an answer line; the
    rest score through lm-eval's gsm8k (strict "#### N" and flexible last-number matching)."""
    from eval.tasks import ko_gsm8k

    path = shared_path("eval", "ko_gsm8k_mt", "kor-gsm8k-test.jsonl")
    records = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
    assert ko_gsm8k.leaked(records) == [0, 48, 116, 196, 448, 845, 949, 1104]
    kept = ko_gsm8k.rows(path.parent)["main"]["test"]
    assert len(kept) == len(records) - 8 and not any(ko_gsm8k.LEAK.search(r["question"]) for r in kept)
    # one final answer line each, though 23 translations already end in "#### N"
    assert sum(r["kor_answer"].rstrip().rsplit("\n", 1)[-1].startswith("####") for r in records) == 23
    sources = [r for n, r in enumerate(records) if n not in ko_gsm8k.leaked(records)]
    for row, source in zip(kept, sources, strict=True):
        assert row["answer"].count("####") == 1 and row["answer"].endswith(f"\n#### {source['answer_s']}")
    prepared = prepare_task(all_tasks()["ko_gsm8k"], EVAL, tmp_path)
    # the dropped ids travel to results.json, with the rule
    assert prepared.dropped["ids"] == [0, 48, 116, 196, 448, 845, 949, 1104]
    assert caveat(prepared, 1311, 0).endswith("8 questions dropped by rule (ids in results.json)")
    answers = {r["question"].strip(): r["answer"].split("#### ")[-1] for r in kept}
    styles = []

    def answer(prompt):
        question = prompt.rsplit("Question: ", 1)[1].rsplit("\nAnswer:", 1)[0].strip()
        n = len(styles)
        styles.append(n % 3)
        right = answers[question]
        return [f" 계산하면 #### {right}", f" 답은 {right}입니다", " #### 0.5"][n % 3]

    got = score_tasks(scripted_lm(answer), [prepared], tmp_path, seed=1234, limit=30)["ko_gsm8k"]
    assert got["n_shot"] == 5 and got["documents"] == 30
    assert got["exact_match_strict_match"] == pytest.approx(styles.count(0) / 30, abs=1e-6)
    assert got["exact_match_flexible_extract"] == pytest.approx(
        (styles.count(0) + styles.count(1)) / 30, abs=1e-6
    )


def test_a_partial_file_is_said_not_to_give_the_published_number(tmp_path):
    """The shared LAMBADA is the first 2,576 of 5,153 passages and MMLU has 29 of 57 subjects: the
    results say neither can equal a published score; KoBEST's full test files carry no such caveat."""
    tasks = all_tasks()
    lambada = prepare_task(tasks["lambada_openai"], EVAL, tmp_path)
    assert caveat(lambada, 2576, 0) == (
        "2,576 of the published 5,153 questions scored, so the number cannot equal a published one"
    )
    assert caveat(lambada, 100, 100) == ""  # eval.limit: the table says so once for all tasks
    assert caveat(prepare_task(tasks["kobest_copa"], EVAL, tmp_path), 1000, 0) == ""
    arc = prepare_task(tasks["arc_easy"], EVAL, tmp_path)
    assert caveat(arc, 2376, 0).startswith("llm-foundry's conversion gives every question four choices")


def test_a_missing_or_malformed_file_is_a_clear_error(tmp_path):
    tasks = all_tasks()
    with pytest.raises(TaskDataError, match="no such file"):
        prepare_task(tasks["kobest_copa"], tmp_path, tmp_path / "out")
    (tmp_path / "kobest" / "COPA").mkdir(parents=True)
    (tmp_path / "kobest" / "COPA" / "test.tsv").write_text(
        "ID\tsentence\tquestion\t1\t2\tAnswer\n1\t문장\t이유\t가\t나\t3\n", encoding="utf-8"
    )
    with pytest.raises(TaskDataError, match=r"test\.tsv:2"):
        prepare_task(tasks["kobest_copa"], tmp_path, tmp_path / "out")
    (tmp_path / "kmmlu").mkdir()
    (tmp_path / "kmmlu" / "criminal_lawz_test.json").write_text(
        (DEMO / "kmmlu" / "criminal_law_test.json").read_text(encoding="utf-8"), encoding="utf-8"
    )
    with pytest.raises(TaskDataError, match="criminal_lawz match none of lm-eval's kmmlu datasets"):
        prepare_task(tasks["kmmlu"], tmp_path, tmp_path / "out")


def test_scores_equal_a_hand_computation_for_known_loglikelihoods(tmp_path):
    """The byte-count LM makes every prediction known in advance, so acc, acc_norm (characters),
    macro F1 and LAMBADA's greedy acc are checked exactly against lm-eval's output, on lm-eval's
    definitions (KoBEST, PIQA, LAMBADA) and on ours (Ko-CommonGen v2, with acc_bytes)."""
    from sklearn.metrics import f1_score

    tasks = all_tasks()
    names = ("kobest_copa", "kobest_hellaswag", "piqa", "lambada_openai", "ko_commongen_v2")
    prepared = [prepare_task(tasks[n], EVAL, tmp_path) for n in names]
    scores = score_tasks(byte_count_lm(), prepared, tmp_path, seed=1234, limit=60)
    for p in prepared:
        if p.spec:
            (task,) = built(p, tmp_path).values()
            docs = [
                (
                    task.doc_to_text(d),
                    task.doc_to_choice(d) if task.OUTPUT_TYPE == "multiple_choice" else None,
                    task.doc_to_target(d),
                )
                for d in list(task.eval_docs)[:60]
            ]
        else:
            raw = [
                json.loads(x) for x in (tmp_path / p.task.name / "test.jsonl").read_text().split("\n") if x
            ][:60]
            docs = [(d["query"], d["choices"], d["gold"]) for d in raw]
        got = scores[p.task.name]
        assert got["documents"] == 60, p.task.name
        if p.task.name == "lambada_openai":
            greedy = [len((" " + target.lstrip(" ")).encode()) % 2 == 0 for _, _, target in docs]
            assert got["acc"] == pytest.approx(np.mean(greedy), abs=1e-6)
            assert 0 < got["acc"] < 1
            continue
        gold = np.array([c.index(g) if isinstance(g, str) else g for _, c, g in docs])  # COPA: its text
        ll = [np.array([-len((" " + c).encode()) for c in choices], dtype=float) for _, choices, _ in docs]
        acc = np.array([np.argmax(x) for x in ll])
        norm = np.array([np.argmax(x / [len(c) for c in d[1]]) for x, d in zip(ll, docs, strict=True)])
        assert got["acc"] == pytest.approx((acc == gold).mean(), abs=1e-6), p.task.name
        if "acc_norm" in got:
            assert got["acc_norm"] == pytest.approx((norm == gold).mean(), abs=1e-6), p.task.name
        if p.task.headline == "f1":
            assert got["f1"] == pytest.approx(f1_score(gold, acc, average="macro"), abs=1e-6)
        assert got["n_shot"] == (p.task.num_fewshot or 0)


@pytest.mark.slow
def test_table_compares_two_tiny_models(tmp_path, demo_base):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from eval.config import EvalConfig
    from eval.evaluate import evaluate_models, flat_metrics, parse_models

    other = tmp_path / "other"
    model = AutoModelForCausalLM.from_pretrained(demo_base)
    for param in model.parameters():
        param.data.mul_(0.5)
    model.save_pretrained(other)
    AutoTokenizer.from_pretrained(demo_base).save_pretrained(other)
    tasks = ("kobest_copa", "kmmlu", "kmmlu_direct", "piqa", "winogrande", "mmlu")
    config = EvalConfig(data_dir=str(REPO / "data" / "eval_demo"), tasks=tasks, limit=4)
    models = parse_models([f"base={demo_base}", str(other)])
    texts = {"ko": DEMO / "bpc_ko.txt", "en": DEMO / "bpc_en.txt"}
    record = evaluate_models(config, models, tmp_path / "out", texts)
    table = (tmp_path / "out" / "leaderboard.md").read_text().splitlines()
    assert table[0] == (
        "| model | kobest_copa (f1) | kmmlu (acc) | kmmlu_direct (exact_match) | piqa (acc_norm) "
        "| winogrande (acc) | mmlu (acc) | ko average | en average | bits/char | en bits/char |"
    )
    base, half = record["models"]["base"], record["models"]["other"]
    for key, ko_tasks in (("average", tasks[:3]), ("average_en", tasks[3:])):
        for m in (base, half):
            assert m[key] == pytest.approx(
                sum(m["tasks"][t][record["tasks"][t]["headline"]] for t in ko_tasks) / 3, abs=1e-5
            )
    cells = [c.strip() for c in table[3].strip("|").split("|")]
    assert cells[0] == "other" and len(cells) == 11
    assert cells[7] == f"{100 * half['average']:.2f} ({100 * (half['average'] - base['average']):+.2f})"
    assert (
        cells[8] == f"{100 * half['average_en']:.2f} ({100 * (half['average_en'] - base['average_en']):+.2f})"
    )
    assert (
        cells[10]
        == f"{half['bits_per_char_en']:.3f} ({half['bits_per_char_en'] - base['bits_per_char_en']:+.3f})"
    )
    assert half["bits_per_char"] != base["bits_per_char"]  # the halved weights score differently
    assert record["tasks"]["kmmlu"]["n_shot"] == 5 and record["tasks"]["mmlu"]["n_shot"] == 5
    assert record["tasks"]["piqa"]["language"] == "en" and record["models"]["other"]["path"] == str(other)
    metrics = flat_metrics(record)
    assert set(metrics) == {"base", "other"} and metrics["base"]["bits_per_char_en"] > 0
    assert metrics["other"]["average_en"] == half["average_en"]
    assert {"exact_match", "exact_match_macro", "documents"} <= set(base["tasks"]["kmmlu_direct"])
    # KMMLU's two demo subjects: macro and micro said out loud, the table's column named as micro
    kmmlu = record["families"]["kmmlu"]
    assert kmmlu["models"]["other"] == {
        "acc_macro": half["tasks"]["kmmlu"]["acc_macro"],
        "acc_micro": half["tasks"]["kmmlu"]["acc"],
    }
    assert kmmlu["headline"].startswith(
        "acc_micro, lm-eval's kmmlu group over all questions (the table's column)"
    )
    notes = "\n".join(table)
    macro, micro = (100 * half["tasks"]["kmmlu"][k] for k in ("acc_macro", "acc"))
    assert "kmmlu (acc_macro / acc_micro): base " in notes and f"other {macro:.2f} / {micro:.2f}." in notes
    assert "eval.limit 4: only the first 4 questions of each task" in notes


ASSETS = REPO / "tests" / "assets" / "ko_h5"
DEMO = REPO / "data" / "eval_demo"


def test_leaderboard_formats_parse(tmp_path):
    tasks = all_tasks()
    arc = tasks["ko_arc"].read(ASSETS / "ko_arc" / "test.jsonl")
    assert [d["gold"] for d in arc] == [0, 1, 2, 2]  # answerKey "3" among labels 1-3 too
    assert arc[0]["query"] == "Question: 물이 얼음으로 바뀌는 온도는 섭씨 몇 도인가?\nAnswer:"
    mmlu = tasks["ko_mmlu"].read(ASSETS / "ko_mmlu" / "test.jsonl")
    assert mmlu[0]["query"] == "2 + 3 × 4의 값은?\nA. 20\nB. 14\nC. 24\nD. 9\nAnswer:"
    assert mmlu[0]["gold"] == 1
    mc1 = tasks["ko_truthfulqa_mc1"].read(ASSETS / "ko_truthfulqa" / "validation.jsonl")
    mc2 = tasks["ko_truthfulqa_mc2"].read(ASSETS / "ko_truthfulqa" / "validation.jsonl")
    assert mc1[1]["gold"] == 0 and mc1[0]["query"].endswith("Q: 수박씨를 삼키면 어떻게 됩니까?\nA:")
    assert mc2[1]["labels"] == [1, 1, 0] and mc2[1]["choices"][2] == "10퍼센트만 사용합니다."
    bad = tmp_path / "bad_arc.jsonl"
    record = {"question": "q", "choices": {"text": ["a"], "label": ["A"]}, "answerKey": "B"}
    bad.write_text(json.dumps(record))
    with pytest.raises(TaskDataError, match="answerKey 'B' is not among labels"):
        tasks["ko_arc"].read(bad)


def test_leaderboard_formats_score_as_a_hand_computation_mc2_included(tmp_path):
    """The leaderboard formats (our YAMLs) through lm-eval with the byte-count LM: acc by hand,
    and MC2 as lm-eval's own truthfulqa process_results_mc2 computes it."""
    import dataclasses
    import math

    from lm_eval.tasks.truthfulqa.utils import process_results_mc2

    tasks = all_tasks()
    prepared = []
    for name in ("ko_arc", "ko_hellaswag", "ko_mmlu", "ko_truthfulqa_mc1", "ko_truthfulqa_mc2"):
        task = dataclasses.replace(tasks[name], num_fewshot=min(tasks[name].num_fewshot, 2))
        prepared.append(prepare_task(task, ASSETS, tmp_path))
    scores = score_tasks(byte_count_lm(), prepared, tmp_path, seed=1234)
    for p in prepared:
        docs = [json.loads(line) for line in (tmp_path / p.task.name / "test.jsonl").read_text().splitlines()]
        ll = [[-len((" " + c).encode()) for c in d["choices"]] for d in docs]
        got = scores[p.task.name]
        if p.task.scoring == "mc2":
            theirs = [
                process_results_mc2({"mc2_targets": {"labels": d["labels"]}}, [(x, False) for x in lls])
                for d, lls in zip(docs, ll, strict=True)
            ]
            ours = [
                sum(math.exp(x) for x, t in zip(lls, d["labels"], strict=True) if t) / sum(map(math.exp, lls))
                for d, lls in zip(docs, ll, strict=True)
            ]
            # lm-eval names its MC2 value "acc"; ours is called what it is.
            assert got["mc2"] == pytest.approx(np.mean([t["acc"] for t in theirs]), abs=1e-6)
            assert got["mc2"] == pytest.approx(np.mean(ours), abs=1e-6) and "acc" not in got
            continue
        acc = np.mean([int(np.argmax(x)) == d["gold"] for x, d in zip(ll, docs, strict=True)])
        assert got["acc"] == pytest.approx(acc, abs=1e-6), p.task.name
        assert got["n_shot"] == p.task.num_fewshot


def test_kmmlu_subjects_get_their_own_dev_shots_and_micro_and_macro_means(tmp_path):
    """Two demo subjects (one with a dev file) and the Hub copy's CSV layout; the byte-count LM
    makes every subject's accuracy known, so micro (lm-eval's group) and macro are checked exactly."""
    import csv

    kmmlu = all_tasks()["kmmlu"]
    data = tmp_path / "data" / "kmmlu"
    data.mkdir(parents=True)
    for name in ("criminal_law_test.json", "korean_history_test.json", "korean_history_dev.json"):
        (data / name).write_bytes((DEMO / "kmmlu" / name).read_bytes())
    rows = json.loads((DEMO / "kmmlu" / "korean_history_test.json").read_text(encoding="utf-8"))
    for split, chunk in (("test", rows[:4]), ("dev", rows[:5])):  # the Hub copy's layout and columns
        with open(data / f"Law-{split}.csv", "w", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(chunk[0]))
            writer.writeheader()
            writer.writerows(chunk)
    prepared = prepare_task(kmmlu, tmp_path / "data", tmp_path / "tasks")
    assert prepared.members == ("kmmlu_criminal_law", "kmmlu_korean_history", "kmmlu_law")
    objects = built(prepared, tmp_path / "tasks")
    assert len(list(objects["kmmlu_korean_history"].fewshot_docs())) == 5  # the dev file
    assert objects["kmmlu_criminal_law"].config.fewshot_split is None  # no dev: other test questions
    got = score_tasks(byte_count_lm(), [prepared], tmp_path / "tasks", seed=1234)["kmmlu"]
    per_subject, total, right = [], 0, 0
    for member in prepared.members:
        docs = list(objects[member].eval_docs)
        hits = [
            int(np.argmax([-len((" " + c).encode()) for c in objects[member].doc_to_choice(d)]))
            == objects[member].doc_to_target(d)
            for d in docs
        ]
        per_subject.append(np.mean(hits))
        total, right = total + len(hits), right + sum(hits)
    assert got["documents"] == total == 7 + 4 + 6
    assert got["acc"] == pytest.approx(right / total, abs=1e-6)
    assert got["acc_macro"] == pytest.approx(np.mean(per_subject), abs=1e-6)
    assert got["acc"] != got["acc_macro"]  # the two means differ here, so each is checked
    assert got["n_shot"] == 5 and got["subjects"] == 3


def test_generated_answers_score_by_lm_evals_exact_match(tmp_path):
    """kmmlu_direct (lm-eval's own: exact match ignoring case, punctuation and spaces): a scripted
    LM answers in four ways and exactly the expected ones count."""
    task = all_tasks()["kmmlu_direct"]
    data = tmp_path / "data" / "kmmlu"
    data.mkdir(parents=True)
    for name in ("korean_history_test.json", "korean_history_dev.json", "criminal_law_test.json"):
        (data / name).write_bytes((DEMO / "kmmlu" / name).read_bytes())
    prepared = prepare_task(task, tmp_path / "data", tmp_path / "tasks")
    objects = built(prepared, tmp_path / "tasks")
    targets = {t.doc_to_text(d): t.doc_to_target(d) for t in objects.values() for d in t.eval_docs}
    styles, expected = ("bare", "sentence", "wrong", "lower", "dotted"), []

    def answer(prompt):
        question = next(q for q in targets if prompt.endswith(q))
        right = targets[question]
        style = styles[len(expected) % len(styles)]
        expected.append(style in ("bare", "lower", "dotted"))
        wrong = "ABCD"[("ABCD".index(right) + 1) % 4]
        return {
            "bare": f" {right}",
            "sentence": f" 정답은 {right}입니다",
            "wrong": f" {wrong}",
            "lower": f" {right.lower()}",
            "dotted": f" ({right})",
        }[style]

    got = score_tasks(scripted_lm(answer), [prepared], tmp_path / "tasks", seed=1234)["kmmlu_direct"]
    assert got["exact_match"] == pytest.approx(np.mean(expected), abs=1e-6)
    assert 0 < sum(expected) < len(expected) == got["documents"] == 13
    assert got["n_shot"] == 5 and got["subjects"] == 2


def write_hub_copy(root: Path, repo: str, configs: dict[str | None, dict[str, list[dict]]]) -> None:
    """A local dataset in a Hub repository's layout: JSONL per config and split, README configs."""
    lines = ["---", "configs:"]
    for config, splits in configs.items():
        folder = config or "default"
        lines += [f"- config_name: {folder}", "  data_files:"]
        for split, rows in splits.items():
            path = root / repo / folder / f"{split}.jsonl"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
            lines += [f"  - split: {split}", f"    path: {folder}/{split}.jsonl"]
    (root / repo / "README.md").write_text("\n".join([*lines, "---", ""]), encoding="utf-8")


def test_hub_copies_render_as_the_files(tmp_path):
    """The files' rows written as a local mirror of their Hub datasets and read back through
    `datasets` (eval.source hub): every task's documents render as they do from the files."""
    tasks = all_tasks()
    mirror = tmp_path / "mirror"
    names = ("kobest_copa", "kobest_wic", "kmmlu", "haerae", "click", "arc_easy", "winogrande", "piqa")
    repos: dict[str, dict] = {}
    for name in names:
        task = tasks[name]
        rows = task.rows(data_for(name) / task.files)
        repos.setdefault(task.hub_id, {}).update(
            {k: {s: r[:20] for s, r in v.items()} for k, v in rows.items()}
        )
    for repo, configs in repos.items():
        write_hub_copy(mirror, repo, configs)
    commongen = EVAL / "ko_commongen_v2"
    write_hub_copy(
        mirror,
        "nlpai-lab/ko_commongen_v2",
        {
            "default": {
                s: [json.loads(x) for x in (commongen / f).read_text().splitlines()[:20]]
                for s, f in (("test", "korean_commongen_v2_847_shuffled.jsonl"), ("train", "v2_5shot.jsonl"))
            }
        },
    )
    for name in names:
        files = prepare_task(tasks[name], data_for(name), tmp_path / "files")
        hub = prepare_task(tasks[name], data_for(name), tmp_path / "hub", hub=str(mirror))
        assert all(m["dataset_path"].startswith(str(mirror)) for m in hub.spec["task"]), name
        from_files = {k: rendered(t, 20) for k, t in built(files, tmp_path / "files").items()}
        from_hub = {k: rendered(t, 20) for k, t in built(hub, tmp_path / "hub").items() if k in from_files}
        assert from_hub == from_files, name
    own = [
        prepare_task(tasks["ko_commongen_v2"], EVAL, tmp_path / d, limit=20, hub=h)
        for d, h in (("files", None), ("hub", str(mirror)))
    ]
    assert own[0].data_sha256 == own[1].data_sha256
    with pytest.raises(TaskDataError, match="no public Hub copy|has no Hub copy"):
        prepare_task(tasks["ko_arc"], EVAL, tmp_path / "hub", hub=str(mirror))


HUB_ONLY = ("hrm8k", "kormedmcqa", "csatqa", "kmmlu_hard")


def test_hub_only_tasks_run_from_a_copy_of_their_hub_repository(tmp_path, monkeypatch):
    """HRM8K, KorMedMCQA, CSAT-QA and KMMLU-HARD have no files here: a few rows written in their
    Hub schemas, laid out as the Hub repositories (a copy under eval.data_dir, and a mirror of
    OWNER/NAME folders for eval.source hub), render as the installed tasks render them from the Hub
    and score through lm-eval's own definitions exactly as the scripted or byte-count LM makes them."""
    import datasets

    math = [{"question": f"{a} 더하기 {b}는?", "answer": a + b} for a, b in ((1, 2), (3, 4), (10, 5), (7, 7))]
    med = [
        {"question": f"질문 {n}", **{k: f"보기 {k}{n}" for k in "ABCDE"}, "answer": n % 5 + 1, "cot": ""}
        for n in range(6)
    ]
    csat = [
        {
            "context": "지문",
            "question": f"물음 {n}",
            **{f"option#{i}": "가" * (i + n % 3) for i in range(1, 6)},
            "gold": n % 5 + 1,
        }
        for n in range(5)
    ]
    hard = [
        {"question": f"문항 {n}", **{k: f"답 {k}{n}" for k in "ABCD"}, "answer": n % 4 + 1, "Category": "x"}
        for n in range(6)
    ]
    copies = {
        "hrm8k": {c: {"test": math} for c in ("GSM8K", "KSM", "MATH", "MMMLU", "OMNI_MATH")},
        "kormedmcqa": {c: {"test": med, "fewshot": med[:3]} for c in ("doctor", "nurse", "pharm", "dentist")},
        "csatqa": {c: {"test": csat} for c in ("GR", "LI", "RCH", "RCS", "RCSS", "WR")},
        "kmmlu_hard": {c: {"test": hard, "dev": hard[:5]} for c in ("accounting", "biology")},
    }
    tasks = all_tasks()
    data, mirror = tmp_path / "data", tmp_path / "mirror"
    for name, configs in copies.items():
        write_hub_copy(data, tasks[name].files, configs)
        write_hub_copy(mirror, tasks[name].hub_id, configs)
    prepared = {n: prepare_task(tasks[n], data, tmp_path / "tasks") for n in HUB_ONLY}
    from_mirror = {n: prepare_task(tasks[n], data, tmp_path / "mtasks", hub=str(mirror)) for n in HUB_ONLY}
    real_load = datasets.load_dataset
    asked = []

    def hub(path, name=None, **kwargs):  # the Hub, answered from the mirror's OWNER/NAME folder
        asked.append(path)
        return real_load(str(mirror / path), name, **kwargs)

    for name in HUB_ONLY:
        ours = built(prepared[name], tmp_path / "tasks")
        mirrored = built(from_mirror[name], tmp_path / "mtasks")
        assert ours.keys() == mirrored.keys() and len(ours) == len(copies[name]), name
        monkeypatch.setattr(datasets, "load_dataset", hub)
        for leaf, task in ours.items():
            theirs = task_manager().load([leaf])["tasks"][leaf]
            assert rendered(task) == rendered(mirrored[leaf]) == rendered(theirs), leaf
            assert asked[-1] == tasks[name].hub_id, leaf
        monkeypatch.setattr(datasets, "load_dataset", real_load)
    # the mirror's files are the data hash: a changed row changes it
    csat_file = mirror / tasks["csatqa"].hub_id / "GR" / "test.jsonl"
    csat_file.write_text(csat_file.read_text(encoding="utf-8").replace("물음 0", "물음 영"), encoding="utf-8")
    again = prepare_task(tasks["csatqa"], data, tmp_path / "again", hub=str(mirror))
    assert again.data_sha256 != from_mirror["csatqa"].data_sha256

    def answer(prompt):
        if "문제:" in prompt:  # HRM8K: the sum, boxed, for all but the 10 + 5 problem
            a, b = (int(x) for x in prompt.rsplit("문제: ", 1)[1].split("는?")[0].split(" 더하기 "))
            return f" 풀이... $\\boxed{{{a + b if a != 10 else 0}}}$"
        n = int(prompt.rsplit("질문 ", 1)[1].split("\n")[0])
        return " " + "ABCDE"[n % 5] if n % 2 == 0 else " A"  # KorMedMCQA: right for even n

    generated = score_tasks(
        scripted_lm(answer), [prepared["hrm8k"], prepared["kormedmcqa"]], tmp_path / "tasks", 1234
    )
    assert generated["hrm8k"]["exact_match"] == pytest.approx(0.75) and generated["hrm8k"]["subjects"] == 5
    right = np.mean([n % 2 == 0 or n % 5 == 0 for n in range(6)])
    assert generated["kormedmcqa"]["exact_match_extract_answer"] == pytest.approx(right, abs=1e-6)
    scored = score_tasks(
        byte_count_lm(), [from_mirror["csatqa"], from_mirror["kmmlu_hard"]], tmp_path / "mtasks", 1234
    )
    # every choice is "(i)": equal bytes, so the likeliest is the first; gold 1 for n = 0 only
    assert scored["csatqa"]["acc"] == pytest.approx(1 / 5) and scored["csatqa"]["documents"] == 30
    # KMMLU-HARD's choices are the letters A-D, equal bytes: the first wins; answer 1 for n = 0, 4
    assert scored["kmmlu_hard"]["acc"] == pytest.approx(2 / 6) and scored["kmmlu_hard"]["n_shot"] == 5
    assert scored["kmmlu_hard"]["documents"] == 12 and scored["kmmlu_hard"]["subjects"] == 2


@pytest.mark.gpu
def test_vllm_backend_scores_as_the_hf_backend(tmp_path, demo_base):
    """eval.backend vllm (lm-eval's VLLM) against hf on the same model, task and questions, both in
    float32: the scores may differ only where two choices' log-likelihoods tie within kernel noise
    (at most one question of 50)."""
    pytest.importorskip("vllm")
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    from eval.config import EvalConfig
    from eval.harness import run_lm_eval

    prepared = [prepare_task(all_tasks()["kobest_copa"], EVAL, tmp_path)]
    scores = {}
    for backend in ("hf", "vllm"):
        config = EvalConfig(
            tasks=("kobest_copa",), data_dir=str(EVAL), limit=50, dtype="float32", backend=backend
        )
        scores[backend] = run_lm_eval(demo_base, prepared, tmp_path, config)["kobest_copa"]
    assert scores["vllm"]["documents"] == scores["hf"]["documents"] == 50
    assert abs(scores["vllm"]["acc"] - scores["hf"]["acc"]) <= 1 / 50
    # the headline, macro F1: one flipped answer of 50 (about 25 a class) moves it by under 0.05
    assert abs(scores["vllm"]["f1"] - scores["hf"]["f1"]) <= 0.05


def test_komt_bench_answers_are_stored_and_judged_with_its_own_prompts(tmp_path, demo_base, monkeypatch):
    """ko-eval --judge against a stand-in OpenAI-compatible server on 127.0.0.1: both turns of a
    writing, a reasoning and a math question answered and stored in FastChat's format; every turn
    judged with KoMT-Bench's own single-answer prompts (the math and reasoning ones with the
    reference answer); ratings parsed, the unrated one left out of the mean; without a judge the
    answers are kept and reused."""
    from eval.evaluate import main
    from eval.komt_bench import NEED_REFERENCE, read_jsonl
    from tests.judge_server import KEY, JudgeServer, judgment_for

    source = shared_path("eval", "komt_bench")
    bench = tmp_path / "komt"
    bench.mkdir()
    questions = [q for q in read_jsonl(source / "question_ko.jsonl") if q["question_id"] in (81, 101, 111)]
    (bench / "question_ko.jsonl").write_text(
        "".join(json.dumps(q, ensure_ascii=False) + "\n" for q in questions)
    )
    for name in ("reference_answer_ko_gpt-4.jsonl", "judge_prompts_ko.jsonl"):
        (bench / name).write_bytes((source / name).read_bytes())
    prompts = {p["name"]: p for p in read_jsonl(source / "judge_prompts_ko.jsonl")}
    references = {
        r["question_id"]: r["choices"][0]["turns"]
        for r in read_jsonl(source / "reference_answer_ko_gpt-4.jsonl")
    }
    params = tmp_path / "params.yaml"
    params.write_text(
        (REPO / "params.yaml")
        .read_text(encoding="utf-8")
        .replace('komt_bench: ""', f"komt_bench: {bench}")
        .replace("komt_max_new_tokens: 1024", "komt_max_new_tokens: 6")
    )
    args = [
        "--params",
        str(params),
        "--model",
        f"base={demo_base}",
        "--tasks",
        "kobest_copa",
        "--output",
        str(tmp_path / "out"),
        "--metrics",
        str(tmp_path / "m.json"),
    ]
    monkeypatch.setenv("KO_EVAL_JUDGE_API_KEY", KEY)
    assert main(args) == 0  # no judge: answers only
    answers = read_jsonl(tmp_path / "out" / "komt_bench" / "base.jsonl")
    assert [a["question_id"] for a in answers] == [81, 101, 111]
    assert all(len(a["choices"][0]["turns"]) == 2 for a in answers)
    record = json.loads((tmp_path / "out" / "results.json").read_text())
    assert record["komt_bench"]["judge"] is None and "komt_bench" not in record["models"]["base"]
    stamp = (tmp_path / "out" / "komt_bench" / "base.jsonl").stat().st_mtime_ns

    unrated = questions[1]["turns"][1][:20]  # the reasoning question's second turn gets no rating
    with JudgeServer(unrated=unrated, rate_limit_once=True) as server:
        assert main([*args, "--judge", server.url]) == 0
    assert (tmp_path / "out" / "komt_bench" / "base.jsonl").stat().st_mtime_ns == stamp  # reused
    assert len(server.requests) == 6 and {r["temperature"] for r in server.requests} == {0}
    turns = {a["question_id"]: a["choices"][0]["turns"] for a in answers}
    expected = {1: [], 2: []}
    for n, request in enumerate(server.requests):
        q, turn = questions[n // 2], n % 2 + 1
        system, user = request["messages"][0]["content"], request["messages"][1]["content"]
        math = q["category"] in NEED_REFERENCE
        name = ("single-math-v1" if math else "single-v1") + ("-multi-turn" if turn == 2 else "")
        assert system == prompts[name]["system_prompt"], (q["question_id"], turn)
        assert q["turns"][turn - 1] in user and turns[q["question_id"]][turn - 1] in user
        if math:
            assert references[q["question_id"]][turn - 1] in user
        if unrated not in user:
            expected[turn].append(len(user) % 10 + 1)
        assert judgment_for(user, unrated).endswith("]]") != (unrated in user)
    got = json.loads((tmp_path / "out" / "results.json").read_text())["models"]["base"]["komt_bench"]
    assert got["unrated"] == 1 and len(expected[2]) == 2
    assert got["turn_1"] == pytest.approx(np.mean(expected[1]), abs=1e-4)
    assert got["turn_2"] == pytest.approx(np.mean(expected[2]), abs=1e-4)
    assert got["score"] == pytest.approx(np.mean(expected[1] + expected[2]), abs=1e-4)
    judged = read_jsonl(tmp_path / "out" / "komt_bench" / "judgments.jsonl")
    assert [j["score"] for j in judged].count(-1) == 1 and judged[0]["judge"] == ["gpt-4", "single-v1"]
    assert "KoMT-Bench (3 questions" in (tmp_path / "out" / "leaderboard.md").read_text()
    monkeypatch.delenv("KO_EVAL_JUDGE_API_KEY")
    with JudgeServer() as server:
        assert main([*args, "--judge", server.url]) != 0  # 401: a clear error, not a score


def test_komt_bench_reads_the_80_questions_and_leaves_the_orphan_references_out():
    """The shared folder: 80 two-turn questions in FastChat's 8 categories, each answered at
    FastChat's temperature for it; the ten reference answers without a question (161-170) are
    not taken."""
    from eval.komt_bench import TEMPERATURE, load_bench, read_jsonl

    source = shared_path("eval", "komt_bench")
    questions, references, prompts = load_bench(source)
    ids = {q["question_id"] for q in questions}
    assert len(questions) == 80 and all(len(q["turns"]) == 2 for q in questions)
    stored = {r["question_id"] for r in read_jsonl(source / "reference_answer_ko_gpt-4.jsonl")}
    assert stored - ids == set(range(161, 171)) and set(references) == ids
    assert {q["category"] for q in questions} == set(TEMPERATURE)
    assert {"single-v1", "single-v1-multi-turn", "single-math-v1", "single-math-v1-multi-turn"} <= set(
        prompts
    )

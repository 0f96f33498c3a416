"""ko-eval: tasks read the real benchmark files; lm-eval scores them exactly; the table compares models."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from eval.harness import prepare_task, score_tasks
from eval.tasks import TaskDataError, all_tasks
from tests.conftest import REPO, SHARED, shared_path

EVAL = SHARED / "eval"


def byte_count_lm():
    """An lm-eval LM whose log-likelihood of a continuation is minus its UTF-8 byte count."""
    from lm_eval.api.model import LM

    class ByteCountLM(LM):
        def loglikelihood(self, requests, disable_tqdm=False):
            return [(-float(len(r.args[1].encode("utf-8"))), False) for r in requests]

        def loglikelihood_rolling(self, requests, disable_tqdm=False):
            raise NotImplementedError

        def generate_until(self, requests, disable_tqdm=False):
            raise NotImplementedError

    return ByteCountLM()


def lines(path) -> int:
    return sum(1 for _ in open(path, encoding="utf-8"))


def test_kobest_tasks_read_every_row_with_their_quirks():
    tasks = all_tasks()
    shared_path("eval", "kobest")
    for name in ("kobest_boolq", "kobest_copa", "kobest_hellaswag", "kobest_sentineg", "kobest_wic"):
        task = tasks[name]
        docs = task.read(EVAL / task.test)
        assert len(docs) == lines(EVAL / task.test) - 1, name  # QUOTE_NONE: one document per line
        assert {d["gold"] for d in docs} == set(range(len(docs[0]["choices"]))), name
    # BoolQ and WiC answers come in several spellings; all of them parse.
    raw = (EVAL / "kobest/BoolQ/test.tsv").read_text(encoding="utf-8")
    assert "\tTRUE" in raw or "\tTrue" in raw
    # COPA's 1/2 answers become 0/1; SentiNeg scores the negated sentence, not the original.
    copa = tasks["kobest_copa"].read(EVAL / "kobest/COPA/test.tsv")
    assert copa[0]["gold"] == 1 and copa[0]["query"].endswith(" 그래서")
    senti = tasks["kobest_sentineg"].read(EVAL / "kobest/SentiNeg/test.tsv")
    assert senti[0] == {
        "query": "문장: 택배사 정말 마음에 듬 긍부정:",
        "choices": ["부정", "긍정"],
        "gold": 1,
    }


def test_kmmlu_and_commongen_read_the_shared_files():
    tasks = all_tasks()
    kmmlu = tasks["kmmlu"].read(shared_path("eval", "kmmlu", "criminal_law_test.json"))
    raw = json.loads((EVAL / "kmmlu/criminal_law_test.json").read_text(encoding="utf-8"))
    assert len(kmmlu) == len(raw) == 200
    assert kmmlu[0]["gold"] == raw[0]["answer"] - 1 and kmmlu[0]["query"].endswith("\n정답：")
    commongen = tasks["ko_commongen_v2"].read(EVAL / "ko_commongen_v2/korean_commongen_v2_847_shuffled.jsonl")
    assert len(commongen) == 847 and {d["gold"] for d in commongen} == {0, 1, 2, 3}


def test_a_missing_or_malformed_file_is_a_clear_error(tmp_path):
    task = all_tasks()["kobest_copa"]
    with pytest.raises(TaskDataError, match="no such file"):
        task.read(tmp_path / "test.tsv")
    bad = tmp_path / "test.tsv"
    bad.write_text("ID\tsentence\tquestion\t1\t2\tAnswer\n1\t문장\t이유\t가\t나\t3\n", encoding="utf-8")
    with pytest.raises(TaskDataError, match=r"test\.tsv:2"):
        task.read(bad)


def test_prepared_task_records_fewshot_source_and_hashes(tmp_path):
    tasks = all_tasks()
    kmmlu = prepare_task(tasks["kmmlu"], EVAL, tmp_path, limit=10)
    assert kmmlu.documents == 10 and kmmlu.members == ("kmmlu_criminal_law",)
    assert "own dev pools for 0" in kmmlu.fewshot_source  # no dev file in the sample
    pool = (tmp_path / "kmmlu" / "kmmlu_criminal_law" / "fewshot.jsonl").read_text().splitlines()
    assert len(pool) == 200  # the whole test file; lm-eval leaves out the question asked
    commongen = prepare_task(tasks["ko_commongen_v2"], EVAL, tmp_path, limit=10)
    assert commongen.fewshot_source == "ko_commongen_v2/v2_5shot.jsonl"
    again = prepare_task(tasks["ko_commongen_v2"], EVAL, tmp_path / "again", limit=10)
    assert (again.prompt_sha256, again.data_sha256) == (commongen.prompt_sha256, commongen.data_sha256)


def test_scores_equal_a_hand_computation_for_known_loglikelihoods(tmp_path):
    """An LM whose log-likelihood of a continuation is minus its UTF-8 byte count: every metric's
    prediction is then known in advance, so acc, acc_norm (characters), acc_bytes and macro F1 are
    checked exactly against lm-eval's output."""
    from sklearn.metrics import f1_score

    tasks = all_tasks()
    names = ("kobest_copa", "kobest_hellaswag", "ko_commongen_v2")
    prepared = [prepare_task(tasks[n], EVAL, tmp_path, limit=60) for n in names]
    scores = score_tasks(byte_count_lm(), prepared, tmp_path, seed=1234)
    for p in prepared:
        docs = [json.loads(line) for line in (tmp_path / p.task.name / "test.jsonl").read_text().splitlines()]
        gold = np.array([d["gold"] for d in docs])
        ll = [np.array([-len((" " + c).encode()) for c in d["choices"]], dtype=float) for d in docs]
        acc = np.array([np.argmax(x) for x in ll])
        norm = np.array(
            [np.argmax(x / [len(c) for c in d["choices"]]) for x, d in zip(ll, docs, strict=True)]
        )
        by_bytes = np.array(
            [np.argmax(x / [len(c.encode()) for c in d["choices"]]) for x, d in zip(ll, docs, strict=True)]
        )
        got = scores[p.task.name]
        assert got["acc"] == pytest.approx((acc == gold).mean(), abs=1e-6), p.task.name
        assert got["acc_norm"] == pytest.approx((norm == gold).mean(), abs=1e-6), p.task.name
        assert got["acc_bytes"] == pytest.approx((by_bytes == gold).mean(), abs=1e-6), p.task.name
        if p.task.macro_f1:
            assert got["f1"] == pytest.approx(f1_score(gold, acc, average="macro"), abs=1e-6)
        assert got["n_shot"] == p.task.num_fewshot


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
    tasks = ("kobest_copa", "kmmlu", "kmmlu_direct")
    config = EvalConfig(data_dir=str(REPO / "data" / "eval_demo"), tasks=tasks, limit=4)
    models = parse_models([f"base={demo_base}", str(other)])
    record = evaluate_models(
        config, models, tmp_path / "out", {"ko": REPO / "data" / "eval_demo" / "bpc_ko.txt"}
    )
    table = (tmp_path / "out" / "leaderboard.md").read_text().splitlines()
    assert table[0].startswith(
        "| model | kobest_copa (f1) | kmmlu (acc) | kmmlu_direct (exact_match) | average | bits/char |"
    )
    assert table[2].startswith("| base |") and table[3].startswith("| other |")
    assert "(+" in table[3] or "(-" in table[3]
    assert record["tasks"]["kmmlu"]["n_shot"] == 5 and record["models"]["other"]["path"] == str(other)
    metrics = flat_metrics(record)
    assert set(metrics) == {"base", "other"} and metrics["base"]["bits_per_char"] > 0
    assert metrics["base"]["average"] == pytest.approx(sum(metrics["base"][t] for t in tasks) / 3, abs=1e-5)
    direct = record["models"]["base"]["tasks"]["kmmlu_direct"]
    assert {"exact_match", "exact_match_extracted", "exact_match_macro"} <= set(direct)


ASSETS = REPO / "tests" / "assets" / "ko_h5"
DEMO = REPO / "data" / "eval_demo"


def test_click_and_hellaswag_prompts_are_lm_evals_own():
    """Our readers against lm-eval's own prompt functions, record by record."""
    import datasets
    from lm_eval.tasks.click.click_cul import utils as click_utils
    from lm_eval.tasks.hellaswag import utils as hellaswag_utils

    tasks = all_tasks()
    records = json.loads((DEMO / "click" / "click_demo.json").read_text(encoding="utf-8"))
    docs = tasks["click"].read(DEMO / "click")
    assert len(docs) == len(records) == 6
    for record, doc in zip(records, docs, strict=True):
        assert doc["query"] == click_utils.get_context(record)
        assert doc["choices"] == click_utils.get_choices(record)
        assert doc["choices"][doc["gold"]] == click_utils.get_target(record)
    rows = [json.loads(line) for line in (ASSETS / "ko_hellaswag" / "test.jsonl").read_text().splitlines()]
    theirs = hellaswag_utils.process_docs(datasets.Dataset.from_list(rows))
    ours = tasks["ko_hellaswag"].read(ASSETS / "ko_hellaswag" / "test.jsonl")
    assert [{k: d[k] for k in ("query", "choices", "gold")} for d in theirs] == ours
    assert "[title]" not in ours[0]["choices"][2]


def test_haerae_reads_every_subset_file_and_leaderboard_formats_parse(tmp_path):
    tasks = all_tasks()
    haerae = tasks["haerae"].read(DEMO / "haerae")
    subsets = sorted((DEMO / "haerae").glob("*.jsonl"))
    assert len(subsets) == 2 and len(haerae) == sum(len(p.read_text().splitlines()) for p in subsets)
    assert {d["choices"][d["gold"]] for d in haerae} <= {"(A)", "(B)", "(C)", "(D)", "(E)"}
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


def test_new_tasks_score_as_a_hand_computation_mc2_included(tmp_path):
    """HAE-RAE, CLIcK and the leaderboard formats through lm-eval with the byte-count LM: acc by hand,
    and MC2 as lm-eval's own truthfulqa process_results_mc2 computes it."""
    import dataclasses
    import math

    from lm_eval.tasks.truthfulqa.utils import process_results_mc2

    tasks = all_tasks()
    prepared = [prepare_task(tasks[n], DEMO, tmp_path) for n in ("haerae", "click")]
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
        with open(data / f"Korean-Geography-{split}.csv", "w", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(chunk[0]))
            writer.writeheader()
            writer.writerows(chunk)
    assert {k: (t.name, d.name if d else None) for k, (t, d) in kmmlu.subjects(data).items()} == {
        "criminal_law": ("criminal_law_test.json", None),
        "korean_history": ("korean_history_test.json", "korean_history_dev.json"),
        "Korean-Geography": ("Korean-Geography-test.csv", "Korean-Geography-dev.csv"),
    }
    prepared = prepare_task(kmmlu, tmp_path / "data", tmp_path / "tasks")
    assert prepared.members == ("kmmlu_korean_geography", "kmmlu_criminal_law", "kmmlu_korean_history")
    pool = tmp_path / "tasks" / "kmmlu" / "kmmlu_korean_history" / "fewshot.jsonl"
    assert len(pool.read_text().splitlines()) == 5  # the dev file, not the test file
    got = score_tasks(byte_count_lm(), [prepared], tmp_path / "tasks", seed=1234)["kmmlu"]
    per_subject, total, right = [], 0, 0
    for member in prepared.members:
        docs = [json.loads(line) for line in (tmp_path / "tasks" / "kmmlu" / member / "test.jsonl").open()]
        hits = [int(np.argmax([-len((" " + c).encode()) for c in d["choices"]])) == d["gold"] for d in docs]
        per_subject.append(np.mean(hits))
        total, right = total + len(hits), right + sum(hits)
    assert prepared.documents == total == 7 + 6 + 4
    assert got["acc"] == pytest.approx(right / total, abs=1e-6)
    assert got["acc_macro"] == pytest.approx(np.mean(per_subject), abs=1e-6)
    assert got["n_shot"] == 5 and got["subjects"] == 3


def test_generated_answers_score_by_exact_match_and_extracted_letter(tmp_path):
    """A scripted LM answers in four ways; lm-eval's exact match (case, punctuation and spaces
    ignored) and the extracted letter must count exactly the expected ones."""
    from lm_eval.api.model import LM

    task = all_tasks()["kmmlu_direct"]
    data = tmp_path / "data" / "kmmlu"
    data.mkdir(parents=True)
    for name in ("korean_history_test.json", "korean_history_dev.json", "criminal_law_test.json"):
        (data / name).write_bytes((DEMO / "kmmlu" / name).read_bytes())
    prepared = prepare_task(task, tmp_path / "data", tmp_path / "tasks")
    docs = [
        json.loads(line)
        for member in prepared.members
        for line in (tmp_path / "tasks" / "kmmlu_direct" / member / "test.jsonl").open(encoding="utf-8")
    ]
    styles = ("bare", "sentence", "wrong", "lower", "sentence")
    answers, expected = {}, {"strict": 0, "extracted": 0}
    for n, doc in enumerate(docs):
        right = doc["choices"][doc["gold"]]
        wrong = doc["choices"][(doc["gold"] + 1) % 4]
        style = styles[n % len(styles)]
        answers[doc["query"]] = {
            "bare": f" {right}",  # both
            "sentence": f" 정답은 {right}입니다",  # the extracted letter only
            "wrong": f" {wrong}",  # neither
            "lower": f" {right.lower()}",  # exact match ignores case; the letter pattern is A-D only
        }[style]
        expected["strict"] += style in ("bare", "lower")
        expected["extracted"] += style in ("bare", "sentence")

    class ScriptedLM(LM):
        def generate_until(self, requests, disable_tqdm=False):
            return [next(a for q, a in answers.items() if r.args[0].endswith(q)) for r in requests]

        def loglikelihood(self, requests, disable_tqdm=False):
            raise NotImplementedError

        def loglikelihood_rolling(self, requests, disable_tqdm=False):
            raise NotImplementedError

    member = prepared.members[0]
    yaml_text = (tmp_path / "tasks" / "kmmlu_direct" / member / f"{member}.yaml").read_text()
    assert "output_type: generate_until" in yaml_text and "ignore_punctuation: true" in yaml_text
    got = score_tasks(ScriptedLM(), [prepared], tmp_path / "tasks", seed=1234)["kmmlu_direct"]
    assert got["exact_match"] == pytest.approx(expected["strict"] / len(docs), abs=1e-6)
    assert got["exact_match_extracted"] == pytest.approx(expected["extracted"] / len(docs), abs=1e-6)
    assert 0 < expected["strict"] < len(docs) and expected["strict"] != expected["extracted"]
    assert got["n_shot"] == 5 and got["subjects"] == 2


def write_hub_copy(root: Path, repo: str, configs: dict[str, dict[str, list[dict]]]) -> None:
    """A local dataset in a Hub repository's layout: JSONL per config and split, README configs."""
    lines = ["---", "configs:"]
    for config, splits in configs.items():
        lines += [f"- config_name: {config}", "  data_files:"]
        for split, rows in splits.items():
            path = root / repo / config / f"{split}.jsonl"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
            lines += [f"  - split: {split}", f"    path: {config}/{split}.jsonl"]
    (root / repo / "README.md").write_text("\n".join([*lines, "---", ""]), encoding="utf-8")


def test_hub_copies_give_the_same_documents_as_the_files(tmp_path):
    """The real files rewritten in their Hub datasets' schemas (KoBEST's differs: label 0/1, other
    columns) and read back through `datasets` from a local mirror: every task's documents, few-shot
    pools included, equal the ones read from the files."""
    import csv

    from eval.tasks import parse_bool

    def tsv(name):
        with open(EVAL / "kobest" / name / "test.tsv", encoding="utf-8", newline="") as f:
            return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[:40]

    mirror = tmp_path / "mirror"
    write_hub_copy(
        mirror,
        "skt/kobest_v1",
        {
            "boolq": {
                "test": [
                    {"paragraph": r["Text"], "question": r["Question"], "label": parse_bool(r["Answer"], "")}
                    for r in tsv("BoolQ")
                ]
            },
            "copa": {
                "test": [
                    {
                        "premise": r["sentence"],
                        "question": r["question"],
                        "alternative_1": r["1"],
                        "alternative_2": r["2"],
                        "label": int(r["Answer"]) - 1,
                    }
                    for r in tsv("COPA")
                ]
            },
            "hellaswag": {
                "test": [
                    {
                        "context": r["context"],
                        **{f"ending_{i}": r[f"choice{i}"] for i in range(1, 5)},
                        "label": int(r["label"]),
                    }
                    for r in tsv("HellaSwag")
                ]
            },
            "sentineg": {
                "test": [{"sentence": r["Text"], "label": int(r["Label"])} for r in tsv("SentiNeg")]
            },
            "wic": {
                "test": [
                    {
                        "word": r["Target"],
                        "context_1": r["SENTENCE1"],
                        "context_2": r["SENTENCE2"],
                        "label": parse_bool(r["ANSWER"], ""),
                    }
                    for r in tsv("WiC")
                ]
            },
        },
    )
    kmmlu = json.loads((EVAL / "kmmlu" / "criminal_law_test.json").read_text(encoding="utf-8"))[:30]
    history = {
        s: json.loads((DEMO / "kmmlu" / f"korean_history_{s}.json").read_text()) for s in ("test", "dev")
    }
    write_hub_copy(
        mirror,
        "HAERAE-HUB/KMMLU",
        {"Criminal-Law": {"test": kmmlu, "dev": kmmlu[:5]}, "Korean-History": history},
    )
    commongen = EVAL / "ko_commongen_v2"
    write_hub_copy(
        mirror,
        "nlpai-lab/ko_commongen_v2",
        {
            "default": {
                s: [json.loads(x) for x in (commongen / f).read_text().splitlines()[:40]]
                for s, f in (("test", "korean_commongen_v2_847_shuffled.jsonl"), ("train", "v2_5shot.jsonl"))
            }
        },
    )
    haerae = [
        json.loads(x) for p in sorted((DEMO / "haerae").glob("*.jsonl")) for x in p.read_text().splitlines()
    ]
    subsets = ("general_knowledge", "history", "loan_words", "rare_words", "standard_nomenclature")
    write_hub_copy(
        mirror, "HAERAE-HUB/HAE_RAE_BENCH", {c: {"test": haerae[i::5]} for i, c in enumerate(subsets)}
    )
    click = json.loads((DEMO / "click" / "click_demo.json").read_text(encoding="utf-8"))
    write_hub_copy(mirror, "EunsuKim/CLIcK", {"default": {"train": click}})

    def docs(directory: Path, name: str) -> list[dict]:
        return [json.loads(x) for x in (directory / name).read_text(encoding="utf-8").splitlines()]

    tasks = all_tasks()
    for name in (
        "kobest_boolq",
        "kobest_copa",
        "kobest_hellaswag",
        "kobest_sentineg",
        "kobest_wic",
        "ko_commongen_v2",
        "click",
    ):
        data = DEMO if name == "click" else EVAL
        from_files = prepare_task(tasks[name], data, tmp_path / "files", limit=40)
        from_hub = prepare_task(tasks[name], data, tmp_path / "hub", limit=40, hub=str(mirror))
        for split in ("test.jsonl", *(("fewshot.jsonl",) if tasks[name].num_fewshot else ())):
            assert docs(tmp_path / "hub" / name, split) == docs(tmp_path / "files" / name, split), (
                name,
                split,
            )
        assert from_hub.data_sha256 == from_files.data_sha256, name
    hub = prepare_task(tasks["haerae"], DEMO, tmp_path / "hub", hub=str(mirror))
    assert hub.documents == len(haerae) == 6
    assert sorted(map(json.dumps, docs(tmp_path / "hub" / "haerae", "test.jsonl"))) == sorted(
        map(json.dumps, tasks["haerae"].read(DEMO / "haerae"))
    )
    group = prepare_task(tasks["kmmlu"], EVAL, tmp_path / "hub", hub=str(mirror))
    assert group.members == ("kmmlu_criminal_law", "kmmlu_korean_history") and group.documents == 30 + 6
    pool = docs(tmp_path / "hub" / "kmmlu" / "kmmlu_korean_history", "fewshot.jsonl")
    assert pool == tasks["kmmlu"].read(DEMO / "kmmlu" / "korean_history_dev.json")
    with pytest.raises(TaskDataError, match="no public Hub copy|has no Hub copy"):
        prepare_task(tasks["ko_arc"], EVAL, tmp_path / "hub", hub=str(mirror))

"""ko-eval: tasks read the real benchmark files; lm-eval scores them exactly; the table compares models."""

from __future__ import annotations

import json

import numpy as np
import pytest

from eval.harness import prepare_task, score_tasks
from eval.tasks import TaskDataError, all_tasks
from tests.conftest import REPO, SHARED, shared_path

EVAL = SHARED / "eval"


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
    assert kmmlu.documents == 10 and "not found" in kmmlu.fewshot_source  # no dev file in the sample
    pool = (tmp_path / "kmmlu" / "fewshot.jsonl").read_text().splitlines()
    assert len(pool) == 200  # the whole test file; lm-eval leaves out the question asked
    commongen = prepare_task(tasks["ko_commongen_v2"], EVAL, tmp_path, limit=10)
    assert commongen.fewshot_source == "ko_commongen_v2/v2_5shot.jsonl"
    again = prepare_task(tasks["ko_commongen_v2"], EVAL, tmp_path / "again", limit=10)
    assert (again.prompt_sha256, again.data_sha256) == (commongen.prompt_sha256, commongen.data_sha256)


def test_scores_equal_a_hand_computation_for_known_loglikelihoods(tmp_path):
    """An LM whose log-likelihood of a continuation is minus its UTF-8 byte count: every metric's
    prediction is then known in advance, so acc, acc_norm (characters), acc_bytes and macro F1 are
    checked exactly against lm-eval's output."""
    from lm_eval.api.model import LM
    from sklearn.metrics import f1_score

    class ByteCountLM(LM):
        def loglikelihood(self, requests, disable_tqdm=False):
            return [(-float(len(r.args[1].encode("utf-8"))), False) for r in requests]

        def loglikelihood_rolling(self, requests, disable_tqdm=False):
            raise NotImplementedError

        def generate_until(self, requests, disable_tqdm=False):
            raise NotImplementedError

    tasks = all_tasks()
    names = ("kobest_copa", "kobest_hellaswag", "ko_commongen_v2")
    prepared = [prepare_task(tasks[n], EVAL, tmp_path, limit=60) for n in names]
    scores = score_tasks(ByteCountLM(), prepared, tmp_path, seed=1234)
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
    config = EvalConfig(data_dir=str(REPO / "data" / "eval_demo"), tasks=("kobest_copa", "kmmlu"), limit=4)
    models = parse_models([f"base={demo_base}", str(other)])
    record = evaluate_models(config, models, tmp_path / "out", REPO / "data" / "eval_demo" / "bpc_ko.txt")
    table = (tmp_path / "out" / "leaderboard.md").read_text().splitlines()
    assert table[0].startswith("| model | kobest_copa (f1) | kmmlu (acc) | average | bits/char |")
    assert table[2].startswith("| base |") and table[3].startswith("| other |")
    assert "(+" in table[3] or "(-" in table[3]
    assert record["tasks"]["kmmlu"]["n_shot"] == 5 and record["models"]["other"]["path"] == str(other)
    metrics = flat_metrics(record)
    assert set(metrics) == {"base", "other"} and metrics["base"]["bits_per_char"] > 0
    assert metrics["base"]["average"] == pytest.approx(
        (metrics["base"]["kobest_copa"] + metrics["base"]["kmmlu"]) / 2
    )

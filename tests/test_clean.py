"""ko-clean end to end on real corpora plus every kind of bad input, through datatrove's executors."""

from __future__ import annotations

import dataclasses
import gzip
import json
import random
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from data_prep.clean import clean_corpus
from data_prep.config import CleanConfig
from data_prep.pii import find_pii
from tests.conftest import REPO, shared_path

pytestmark = pytest.mark.integration


def edited_copy(text: str, fraction: float, seed: int) -> str:
    rng = random.Random(seed)
    words = text.split()
    for _ in range(max(1, int(fraction * len(words)))):
        words[rng.randrange(len(words))] = "수정된"
    return " ".join(words)


@pytest.fixture(scope="module")
def mixed_input(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("raw")
    for name in sorted(p.name for p in shared_path("corpus", "nsmc_raw").glob("*.json"))[:20]:
        shutil.copy(shared_path("corpus", "nsmc_raw", name), root / name)
    comments = shared_path("corpus", "kocohub_comments", "unlabeled_unlabeled_comments_5.txt")
    (root / "comments.txt").write_text(
        "\n\n".join(comments.read_text().splitlines()[:3000]), encoding="utf-8"
    )
    shutil.copy(shared_path("corpus", "petitions_2019", "petitions_2019-08.jsonl"), root / "petitions.jsonl")
    articles = [
        a
        for a in shared_path("corpus", "boddari_wikinews", "wikinews.txt").read_text().split("\n\n")
        if len(a) > 1500
    ]
    with open(root / "news.jsonl", "w", encoding="utf-8") as f:
        for i, article in enumerate(articles[:30]):
            f.write(json.dumps({"id": f"news{i}", "text": article}, ensure_ascii=False) + "\n")
        f.write(
            json.dumps({"id": "copy0", "text": edited_copy(articles[0], 0.05, 0)}, ensure_ascii=False) + "\n"
        )
        f.write(
            json.dumps({"id": "pii", "text": articles[-1] + " 담당자 010-2345-6789, kim@naver.com"}) + "\n"
        )
        f.write('{"text": "unterminated\n')
    (root / "blob.txt").write_bytes(b"\x00\x01\x02" * 1000)
    whole = gzip.compress("".join(json.dumps({"text": a}) + "\n" for a in articles[30:45]).encode())
    (root / "cut.jsonl.gz").write_bytes(whole[: len(whole) * 2 // 3])
    return root


def run(inputs: Path, output: Path, **overrides):
    config = dataclasses.replace(CleanConfig(), **overrides)
    return clean_corpus(config, [str(inputs)], output)


def read_gz(folder: Path, pattern: str = "*.jsonl.gz") -> list[dict]:
    rows = []
    for path in sorted(folder.glob(pattern)):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            rows += [json.loads(line) for line in f]
    return rows


@pytest.fixture(scope="module")
def cleaned(mixed_input, tmp_path_factory):
    out = tmp_path_factory.mktemp("clean") / "out"
    return run(mixed_input, out, workers=1), out


def test_accounting_identity_and_files_agree(cleaned):
    report, out = cleaned
    assert report.read == report.kept + report.dropped + report.quarantined
    clean, dropped = read_gz(out / "clean"), read_gz(out / "dropped")
    quarantined = [
        json.loads(x)
        for p in sorted((out / "quarantine").glob("*.jsonl"))
        for x in p.read_text().splitlines()
    ]
    assert len(clean) == report.kept > 300
    assert Counter(d["reason"] for d in dropped) == report.dropped_by_reason
    assert len(quarantined) == report.quarantined
    errors = {(Path(q["source"]).name, q["error"].split(" ")[0]) for q in quarantined}
    assert {("news.jsonl", "malformed"), ("blob.txt", "binary"), ("cut.jsonl.gz", "truncated")} <= errors
    assert not (out / ".work").exists()


def test_duplicates_and_pii_are_gone(cleaned):
    report, out = cleaned
    clean = read_gz(out / "clean")
    texts = [row["text"] for row in clean]
    assert len(texts) == len(set(texts))
    ids = {row["id"].split("#")[-1] for row in clean}
    assert ("news0" in ids) != ("copy0" in ids), "one of an article and its 5%-edited copy survives"
    near = [d for d in read_gz(out / "dropped", "near-*") if d["id"].split("#")[-1] in ("news0", "copy0")]
    assert len(near) == 1
    assert all(find_pii(t) == [] for t in texts)
    pii_doc = next(row for row in clean if row["id"].endswith("#pii"))
    assert pii_doc["text"].endswith("담당자 <|phone|>, <|email|>")
    assert report.pii_replaced["phone"] >= 1 and report.pii_replaced["email"] >= 1


def test_short_documents_do_not_collapse(mixed_input, tmp_path):
    # Reviews and comments are short: without quality filters, near-dedup must not sweep them up.
    report = run(mixed_input, tmp_path / "out", quality_filters=False, workers=1)
    assert report.kept > 5000
    assert report.dropped_by_reason["exact_duplicate"] > 100
    assert report.dropped_by_reason.get("near_duplicate", 0) < 0.01 * report.kept


def test_same_input_gives_byte_identical_output_with_any_worker_count(cleaned, mixed_input, tmp_path):
    _, first = cleaned
    second = tmp_path / "out"
    run(mixed_input, second, workers=2)
    for sub in ("clean", "dropped", "quarantine"):
        names = sorted(p.name for p in (first / sub).iterdir())
        assert names == sorted(p.name for p in (second / sub).iterdir())
        for name in names:
            assert (first / sub / name).read_bytes() == (second / sub / name).read_bytes(), f"{sub}/{name}"


def test_one_jsonl_file_is_shared_by_every_task(tmp_path, mixed_input, caplog):
    """Fewer files than tasks: the lines of a JSONL file are dealt to all tasks, with the same
    ids, outcomes and quarantine as one task reading it whole; a paragraph text file, which
    cannot be cut at any line, is read by one task and warned about."""
    caplog.set_level("WARNING", logger="ko.clean")
    news = mixed_input / "news.jsonl"
    one = run(news, tmp_path / "one", tasks=1, workers=1)
    four = run(news, tmp_path / "four", tasks=4, workers=2)
    # Every task read some of the file: each wrote kept documents to its own shard.
    shards = sorted((tmp_path / "four" / "clean").glob("*.jsonl.gz"))
    assert [p.name for p in shards] == [f"{rank:05d}.jsonl.gz" for rank in range(4)]
    assert all(read_gz(shard.parent, shard.name) for shard in shards)
    assert (four.read, four.kept, four.quarantined) == (one.read, one.kept, one.quarantined)
    assert four.dropped_by_reason == one.dropped_by_reason
    for sub in ("clean", "dropped"):
        ids = [{row["id"] for row in read_gz(tmp_path / out / sub)} for out in ("one", "four")]
        assert ids[0] == ids[1], sub
    assert "cannot be shared" not in caplog.text
    text = tmp_path / "comments.txt"
    text.write_text((mixed_input / "comments.txt").read_text(encoding="utf-8"), encoding="utf-8")
    run(text, tmp_path / "text", tasks=4, workers=2)
    assert "comments.txt cannot be shared between tasks" in caplog.text


def test_cli_writes_metrics_and_fails_cleanly_on_missing_input(tmp_path, mixed_input):
    metrics = tmp_path / "m.json"
    cmd = [sys.executable, "-m", "data_prep.clean", "--input", str(mixed_input / "news.jsonl")]
    args = ["--output", str(tmp_path / "o"), "--metrics", str(metrics), "--set", "clean.workers=1"]
    done = subprocess.run([*cmd, *args], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    data = json.loads(metrics.read_text())
    assert data["read"] == data["kept"] + data["dropped"] + data["quarantined"] == 33
    missing = subprocess.run([*cmd[:-1], str(tmp_path / "nope"), "--output", str(tmp_path / "o2")],
                             cwd=REPO, capture_output=True, text=True)  # fmt: skip
    assert missing.returncode == 1
    assert "no such file or directory" in missing.stderr

"""The corpus stage: sources named in params, pinned, read in place or copied, with English replay."""

from __future__ import annotations

import gzip
import hashlib
import json
import subprocess
import sys

import pytest
import yaml

from data_prep import sources as src
from data_prep.config import CorpusConfig
from data_prep.demo_corpus import konlpy_documents
from pipeline.source_entry import SourceEntry
from tests.conftest import REPO, shared_path


def read_shards(folder):
    rows = []
    for shard in sorted(folder.glob("part-*.jsonl.gz")):
        with gzip.open(shard, "rt", encoding="utf-8") as f:
            rows += [json.loads(line) for line in f]
    return rows


def run_corpus(tmp_path, params: dict, *extra: str) -> subprocess.CompletedProcess:
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params, allow_unicode=True), encoding="utf-8")
    cmd = [
        sys.executable,
        "-m",
        "data_prep.sources",
        "--params",
        str(path),
        "--output",
        str(tmp_path / "raw"),
    ]
    cmd += ["--metrics", str(tmp_path / "m.json"), "-q", *extra]
    return subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)


def test_documents_are_the_konlpy_texts_verbatim():
    from konlpy.corpus import kobill, kolaw

    docs = konlpy_documents(split_constitution=True)
    constitution = [d for d in docs if d.source == "konlpy/kolaw/constitution.txt"]
    # Split by chapter, nothing lost or reordered.
    assert "".join(d.text for d in constitution) == kolaw.open("constitution.txt").read()
    assert len(constitution) == 11  # the preamble, then chapters 1-10 (부칙 stays in chapter 10)
    assert [d.text.split()[0] for d in constitution[1:]] == [f"제{n}장" for n in range(1, 11)]
    bills = [d for d in docs if d.source.startswith("konlpy/kobill/")]
    assert sorted(d.text for d in bills) == sorted(kobill.open(f).read() for f in kobill.fileids())
    assert len({d.id for d in docs}) == len(docs)


def test_unsplit_constitution_is_one_document():
    docs = konlpy_documents(split_constitution=False)
    assert sum(d.source.startswith("konlpy/kolaw") for d in docs) == 1
    assert len(docs) == 11


def test_demo_stage_writes_shards_metrics_and_replay(tmp_path):
    replay = tmp_path / "replay"
    params = {
        "pretrain": {"replay_sources": [{"builtin": "python-docs", "language": "en"}], "replay_fraction": 0.1}
    }
    done = run_corpus(tmp_path, params, "--replay-output", str(replay))
    assert done.returncode == 0, done.stderr
    rows = read_shards(tmp_path / "raw" / "konlpy-demo")
    assert [r["text"] for r in rows] == [d.text for d in konlpy_documents()]
    report = json.loads((tmp_path / "m.json").read_text())
    assert report["documents"] == len(rows) == 21
    assert report["characters"] == sum(len(r["text"]) for r in rows)
    ko, en = report["sources"]
    assert ko["name"] == "konlpy-demo" and ko["mode"] == "copied" and ko["language_ok"]
    assert ko["hangul_share"] > 0.9 and ko["pin"]["package"] == "konlpy"
    # The default replay is CPython's English docs: deduplicated, length-bounded, not Korean.
    from pydoc_data.topics import topics

    texts = [t.strip() for t in topics.values()]
    long_enough = {t for t in texts if len(t) >= 200}
    replayed = read_shards(replay / "python-docs")
    assert {r["text"] for r in replayed} == long_enough and len(replayed) == len(long_enough)
    assert en["dropped"].get("too_short", 0) == sum(len(t) < 200 for t in texts)
    assert en["dropped"].get("duplicate", 0) == sum(len(t) >= 200 for t in texts) - len(long_enough)
    assert en["role"] == "replay" and en["hangul_share"] == 0.0 and en["language_ok"]
    resolved = yaml.safe_load((tmp_path / "raw" / "resolved_params.yaml").read_text(encoding="utf-8"))
    assert resolved["corpus"]["sources"] == [{"builtin": "konlpy-demo"}]
    # A second run reuses the finished copy and writes the same bytes.
    first = {p.name: p.read_bytes() for p in (tmp_path / "raw" / "konlpy-demo").iterdir()}
    assert run_corpus(tmp_path, params, "--replay-output", str(replay)).returncode == 0
    assert {p.name: p.read_bytes() for p in (tmp_path / "raw" / "konlpy-demo").iterdir()} == first


def test_local_sources_in_place_capped_and_weighted(tmp_path):
    precedents = shared_path("corpus", "ko_precedents")
    petitions = shared_path("corpus", "petitions_2019", "petitions_2019-08.jsonl")
    boddari = shared_path("corpus", "boddari_more")
    params = {
        "corpus": {
            "sources": [
                {"path": str(precedents), "max_chars": 400_000},
                {"path": str(boddari) + "/*.txt"},
                {"path": str(petitions), "text_field": "content", "weight": 0.5, "name": "petitions"},
            ]
        }
    }
    done = run_corpus(tmp_path, params)
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "m.json").read_text())
    by_name = {s["name"]: s for s in report["sources"]}
    # Capped: copied, stops before the cap, and is the start of the source in order.
    capped = read_shards(tmp_path / "raw" / "ko_precedents")
    assert by_name["ko_precedents"]["capped"] and by_name["ko_precedents"]["mode"] == "copied"
    assert sum(len(r["text"]) for r in capped) <= 400_000
    with gzip.open(next(precedents.glob("*.jsonl.gz")), "rt", encoding="utf-8") as f:
        first = [json.loads(next(f))["text"] for _ in range(3)]
    assert [r["text"] for r in capped[:3]] == first
    # In place: not copied; the manifest lists the files with ids named by source, and the pin
    # is a sha256 of the files' bytes.
    assert by_name["boddari_more"]["mode"] == "in_place" and not (tmp_path / "raw" / "boddari_more").exists()
    listed = src.read_manifest(tmp_path / "raw")
    txt = sorted(boddari.glob("*.txt"))
    assert [m[0] for m in listed] == txt
    assert [m[1] for m in listed] == [f"boddari_more/{p.name}" for p in txt]
    digest = hashlib.sha256()
    for p in txt:
        digest.update(f"{p.name}\0{hashlib.sha256(p.read_bytes()).hexdigest()}\n".encode())
    assert by_name["boddari_more"]["pin"]["sha256"] == digest.hexdigest()
    assert by_name["boddari_more"]["bytes"] == sum(p.stat().st_size for p in txt)
    # Weighted: about half of the rows, chosen by a seeded hash of the id.
    rows = [json.loads(line) for line in petitions.read_text(encoding="utf-8").splitlines() if line.strip()]
    kept = read_shards(tmp_path / "raw" / "petitions")
    assert 0.4 * len(rows) < len(kept) < 0.6 * len(rows)
    expected = [f"petitions/{petitions.name}:{n}" for n in range(1, len(rows) + 1)]
    expected = [i for i in expected if src.kept_by_weight(i, 0.5, 0)]
    assert [r["id"] for r in kept] == expected
    assert report["language_mismatches"] == []


def test_clean_reads_in_place_sources_with_stable_ids(tmp_path):
    from data_prep.clean import clean_corpus
    from data_prep.config import CleanConfig

    boddari = shared_path("corpus", "boddari_more")
    params = {"corpus": {"sources": [{"path": str(boddari / "boddari_txt_fairytale01.txt")}]}}
    assert run_corpus(tmp_path, params).returncode == 0
    config = CleanConfig(quality_filters=False, near_dedup=False, tasks=2, workers=1)
    report = clean_corpus(config, [str(tmp_path / "raw")], tmp_path / "clean")
    assert report.read > 0 and report.quarantined == 0
    ids = []
    for shard in (tmp_path / "clean" / "clean").glob("*.jsonl.gz"):
        with gzip.open(shard, "rt", encoding="utf-8") as f:
            ids += [json.loads(line)["id"] for line in f]
    # Named by source and file, not by where the file lies on this machine.
    assert ids and all(i.startswith("boddari_txt_fairytale01/boddari_txt_fairytale01.txt:") for i in ids)
    assert not any(str(boddari) in i for i in ids)
    assert not any(".sources.manifest" in f for f in report.ignored_files)


def test_resume_after_a_kill_gives_the_same_shards(tmp_path, monkeypatch):
    precedents = shared_path("corpus", "ko_precedents")
    entry = SourceEntry(path=str(precedents), max_documents=250)
    config = CorpusConfig(sources=(entry,), shard_documents=40)
    whole = tmp_path / "whole"
    src.gather_sources(config, whole, progress=False)
    original = src.iter_source
    read = []

    def dies_after(n):
        def iterate(entry, config):
            for i, item in enumerate(original(entry, config)):
                read.append(i)
                if i == n:
                    raise KeyboardInterrupt  # a kill in the middle of the fourth shard
                yield item

        return iterate

    killed = tmp_path / "killed"
    monkeypatch.setattr(src, "iter_source", dies_after(130))
    with pytest.raises(KeyboardInterrupt):
        src.gather_sources(config, killed, progress=False)
    assert len(list((killed / "ko_precedents").glob("part-*.jsonl.gz"))) == 3
    monkeypatch.setattr(src, "iter_source", original)
    report = src.gather_sources(config, killed, progress=False)
    names = sorted(p.name for p in (whole / "ko_precedents").glob("part-*"))
    assert names == sorted(p.name for p in (killed / "ko_precedents").glob("part-*")) and len(names) == 7
    for name in names:
        assert (whole / "ko_precedents" / name).read_bytes() == (killed / "ko_precedents" / name).read_bytes()
    assert report.documents == 250


def test_language_check_reports_english_given_as_korean(tmp_path):
    gutenberg = shared_path("english", "gutenberg")
    params = {"corpus": {"sources": [{"path": str(gutenberg), "max_documents": 2}]}}
    done = run_corpus(tmp_path, params)
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "m.json").read_text())
    assert report["language_mismatches"] == ["corpus:gutenberg"]
    assert report["sources"][0]["hangul_share"] < 0.01 and not report["sources"][0]["language_ok"]
    assert "given as ko" in done.stderr


def test_hub_source_streams_from_a_mirror_and_a_url_source_is_copied(tmp_path):
    rows = [{"id": f"r{n}", "body": f"한국어 문장 {n}번입니다."} for n in range(30)]
    mirror = tmp_path / "mirror"
    (mirror / "someone" / "ko-text").mkdir(parents=True)
    (mirror / "someone" / "ko-text" / "train.jsonl").write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8"
    )
    url_file = tmp_path / "remote.jsonl.gz"
    with gzip.open(url_file, "wt", encoding="utf-8") as f:
        f.write(
            "\n".join(json.dumps({"text": f"원격 문서 {n}"}, ensure_ascii=False) for n in range(5)) + "\n"
        )
    params = {
        "corpus": {
            "hub_mirror": str(mirror),
            "sources": [
                {"hub": "someone/ko-text", "text_field": "body", "max_documents": 12},
                {"path": url_file.as_uri(), "name": "remote"},
            ],
        }
    }
    done = run_corpus(tmp_path, params)
    assert done.returncode == 0, done.stderr
    hub_rows = read_shards(tmp_path / "raw" / "someone__ko-text")
    assert [r["text"] for r in hub_rows] == [r["body"] for r in rows[:12]]
    assert [r["id"] for r in hub_rows] == [f"someone__ko-text#r{n}" for n in range(12)]
    assert [r["text"] for r in read_shards(tmp_path / "raw" / "remote")] == [
        f"원격 문서 {n}" for n in range(5)
    ]
    report = json.loads((tmp_path / "m.json").read_text())
    assert report["sources"][0]["pin"]["revision"].startswith("mirror:")
    assert report["sources"][1]["kind"] == "url" and report["sources"][1]["pin"]["etags"]


@pytest.mark.parametrize(
    "sources, message, status",
    [
        ([{"path": "/nonexistent/corpus"}], r"corpus.sources\[0\] \(corpus\): path '/nonexistent/corpus'", 1),
        (
            [{"hub": "nobody/not-a-dataset-here"}],
            r"corpus.sources\[0\] \(nobody__not-a-dataset-here\).*resolved",
            1,
        ),
        ([{"path": "x.jsonl", "weight": 1.5}], r"weight = 1.5", 2),
        ([{"path": "x.jsonl", "langauge": "ko"}], r"langauge \(did you mean .*language\?\)", 2),
        ([{"path": "x.jsonl", "hub": "a/b"}], r"exactly one of path, hub or builtin", 2),
        ([{"path": "a/x.jsonl"}, {"path": "b/x.jsonl"}], r"two sources are named \['x'\]", 2),
        (
            [{"path": str(REPO / "data" / "instructions" / "demo_ko.jsonl"), "text_field": "body"}],
            r"corpus.sources\[0\] \(demo_ko\): text_field = 'body', but the first record has none",
            1,
        ),
    ],
)
def test_bad_sources_stop_before_work_with_the_key_named(tmp_path, monkeypatch, sources, message, status):
    import re

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    done = run_corpus(tmp_path, {"corpus": {"sources": sources}})
    assert done.returncode == status
    assert re.search(message, done.stderr), done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "raw").exists() or not any((tmp_path / "raw").iterdir())


def test_pins_name_missing_sft_and_eval_inputs(tmp_path):
    demo = REPO / "data" / "instructions" / "demo_ko.jsonl"
    params = {"sft": {"inputs": [{"path": str(demo), "license": "apache-2.0"}]},
              "eval": {"bpc_texts": {"ko": str(REPO / "data" / "eval_demo" / "bpc_ko.txt")}}}  # fmt: skip
    assert run_corpus(tmp_path, params, "--pins", str(tmp_path / "pins")).returncode == 0
    sft = json.loads((tmp_path / "pins" / "sft.json").read_text())["inputs"]
    assert sft == [{"path": str(demo), "sha256": src.hash_files([demo]), "license": "apache-2.0"}]
    params["eval"]["bpc_texts"]["en"] = "/nonexistent/en.txt"
    done = run_corpus(tmp_path, params, "--pins", str(tmp_path / "pins"))
    assert (
        done.returncode == 1 and "eval.bpc_texts.en: path '/nonexistent/en.txt' does not exist" in done.stderr
    )


def test_sigkill_mid_copy_then_rerun_gives_the_same_output(tmp_path):
    import os
    import signal
    import time

    precedents = shared_path("corpus", "ko_precedents")
    params = {
        "corpus": {"shard_documents": 300, "sources": [{"path": str(precedents), "max_documents": 6000}]}
    }
    whole = tmp_path / "whole"
    whole.mkdir()
    assert run_corpus(whole, params).returncode == 0
    killed = tmp_path / "killed"
    killed.mkdir()
    (killed / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    cmd = [sys.executable, "-m", "data_prep.sources", "--params", "params.yaml", "--output", "raw", "-q"]
    process = subprocess.Popen(cmd, cwd=killed, start_new_session=True)
    progress = killed / "raw" / "ko_precedents" / ".progress.json"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if progress.is_file() and json.loads(progress.read_text() or "{}").get("shards", 0) >= 3:
            os.killpg(process.pid, signal.SIGKILL)
            break
        time.sleep(0.01)
    assert process.wait() == -signal.SIGKILL, "the copy finished before it could be killed"
    done_before = json.loads(progress.read_text())["shards"]
    assert 3 <= done_before < 20 and not (killed / "raw" / "ko_precedents" / ".done.json").exists()
    assert run_corpus(killed, params).returncode == 0
    a, b = whole / "raw" / "ko_precedents", killed / "raw" / "ko_precedents"
    names = sorted(p.name for p in a.glob("part-*"))
    assert names == sorted(p.name for p in b.glob("part-*")) and len(names) == 20
    assert all((a / n).read_bytes() == (b / n).read_bytes() for n in names)
    assert json.loads((a / ".done.json").read_text()) == json.loads((b / ".done.json").read_text())

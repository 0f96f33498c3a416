"""The demo raw corpus is konlpy's shipped Korean text, verbatim, with stable ids."""

from __future__ import annotations

import json

import yaml

from data_prep.config import CorpusConfig
from data_prep.demo_corpus import OUTPUT_NAME, build_demo_corpus, konlpy_documents, main
from pipeline.config import load_params


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


def test_stage_writes_jsonl_and_metrics(tmp_path):
    out = tmp_path / "raw"
    metrics = tmp_path / "m.json"
    assert main(["--output", str(out), "--metrics", str(metrics), "-q"]) == 0
    rows = [json.loads(line) for line in (out / OUTPUT_NAME).read_text(encoding="utf-8").splitlines()]
    report = json.loads(metrics.read_text())
    assert report["documents"] == len(rows) == 21
    assert report["characters"] == sum(len(r["text"]) for r in rows)
    assert report["sources"] == {"kolaw": 11, "kobill": 10}
    assert set(rows[0]) == {"id", "text", "source"}
    # Mostly Korean: more than half of all characters are Hangul syllables.
    assert report["hangul_syllables"] > report["characters"] / 2
    resolved = yaml.safe_load((out / "resolved_params.yaml").read_text(encoding="utf-8"))
    assert resolved["corpus"] == {"source": "konlpy-demo", "split_constitution": True}


def test_output_is_deterministic(tmp_path):
    build_demo_corpus(CorpusConfig(), tmp_path / "a")
    build_demo_corpus(load_params(None).corpus, tmp_path / "b")
    assert (tmp_path / "a" / OUTPUT_NAME).read_bytes() == (tmp_path / "b" / OUTPUT_NAME).read_bytes()

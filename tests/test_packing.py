"""Packing for pretraining: exact blocks of the `<s> doc </s>` stream, held-out split, keyed cache."""

from __future__ import annotations

import json

import pytest

from pipeline.packing import _documents, pack_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, korean_lines):
    path = tmp_path_factory.mktemp("pack") / "docs.jsonl"
    with open(path, "w", encoding="utf-8") as f:
        for n, line in enumerate(korean_lines[:400]):
            f.write(json.dumps({"id": f"doc-{n}", "text": line}, ensure_ascii=False) + "\n")
    return path


def test_blocks_are_the_exact_document_stream(corpus, demo_base, tmp_path):
    from transformers import AutoTokenizer

    splits, report = pack_corpus([corpus], demo_base, tmp_path, block_size=64, validation_fraction=0.1)
    tok = AutoTokenizer.from_pretrained(demo_base)
    for split in ("train", "validation"):
        docs = list(_documents([str(corpus)], "text", 0.1, split == "validation"))
        stream = [i for d in docs for i in tok(d["text"])["input_ids"] + [tok.eos_token_id]]
        blocks = splits[split]["input_ids"]
        assert all(len(b) == 64 for b in blocks)
        flat = [i for b in blocks for i in b]
        assert flat == stream[: len(flat)] and len(stream) - len(flat) < 64  # one batch: one dropped tail
    assert report.train_tokens == len(splits["train"]) * 64
    assert report.train_documents + report.validation_documents == 400
    assert report.validation_characters == sum(
        len(d["text"]) for d in _documents([str(corpus)], "text", 0.1, True)
    )
    assert 10 < report.validation_documents < 80  # ~10% held out


def test_held_out_documents_never_reach_training(corpus):
    train = {d["id"] for d in _documents([str(corpus)], "text", 0.1, False)}
    validation = {d["id"] for d in _documents([str(corpus)], "text", 0.1, True)}
    assert train and validation and not train & validation
    assert len(train | validation) == 400


def test_cache_is_keyed_on_content(corpus, demo_base, tmp_path):
    _, first = pack_corpus([corpus], demo_base, tmp_path, block_size=32)
    marker = tmp_path / first.cache_key / "report.json"
    stamp = marker.stat().st_mtime_ns
    _, again = pack_corpus([corpus], demo_base, tmp_path, block_size=32)
    assert again == first and marker.stat().st_mtime_ns == stamp  # served from the cache
    changed = tmp_path / "changed.jsonl"
    changed.write_text(corpus.read_text(encoding="utf-8").replace("doc-0", "doc-x", 1), encoding="utf-8")
    _, other = pack_corpus([changed], demo_base, tmp_path, block_size=32)
    assert other.cache_key != first.cache_key
    _, bigger = pack_corpus([corpus], demo_base, tmp_path, block_size=64)
    assert bigger.cache_key != first.cache_key


def test_parallel_tokenization_gives_the_same_blocks(corpus, demo_base, tmp_path):
    serial, _ = pack_corpus([corpus], demo_base, tmp_path / "a", block_size=64, num_proc=1)
    parallel, _ = pack_corpus([corpus], demo_base, tmp_path / "b", block_size=64, num_proc=2)
    assert parallel["train"]["input_ids"] == serial["train"]["input_ids"]


def test_a_tiny_corpus_still_holds_out_one_document(tmp_path, demo_base):
    from data_prep.corpus import is_heldout

    path = tmp_path / "tiny.jsonl"
    ids = [f"t{n}" for n in range(200) if not is_heldout(f"t{n}", 0.1)][:5]  # none held out by hash
    with open(path, "w", encoding="utf-8") as f:
        for n, doc_id in enumerate(ids):
            f.write(
                json.dumps({"id": doc_id, "text": f"작은 문서 {n}번입니다. " * 40}, ensure_ascii=False) + "\n"
            )
    splits, report = pack_corpus(
        [path], demo_base, tmp_path / "cache", block_size=32, validation_fraction=0.1
    )
    assert report.validation_documents == 1 and report.train_documents == 4
    assert len(splits["validation"]) > 0 and len(splits["train"]) > 0


def test_the_parallel_pack_map_cuts_shards_where_one_process_cuts_batches(tmp_path, monkeypatch):
    """Several shards (batches of 7 here), each batch dropping its own tail: the same blocks and
    tails as one process, not those of datasets' own num_proc split (which cuts anywhere)."""
    import random

    from datasets import Dataset, Features, Sequence, Value

    from pipeline import packing

    monkeypatch.setattr(packing, "PACK_BATCH", 7)
    rng = random.Random(0)
    docs = [[rng.randrange(5, 500) for _ in range(rng.randrange(3, 40))] for _ in range(100)]
    tokenized = Dataset.from_dict({"ids": docs, "chars": [len(d) for d in docs]})
    features = Features({"input_ids": Sequence(Value("uint16")), "dropped": Value("int64")})

    def pack(batch):
        stream = [i for doc in batch["ids"] for i in doc]
        usable = len(stream) - len(stream) % 16
        blocks = [stream[i : i + 16] for i in range(0, usable, 16)]
        return {
            "input_ids": blocks,
            "dropped": [len(stream) - usable] + [0] * (len(blocks) - 1) if blocks else [],
        }

    serial = packing.pack_in_parallel(tokenized, pack, features, 1, tmp_path / "one")
    parallel = packing.pack_in_parallel(tokenized, pack, features, 3, tmp_path / "three")
    assert len(list((tmp_path / "three").glob("*.arrow"))) == 3  # three shards really ran
    assert [list(b) for b in parallel["input_ids"]] == [list(b) for b in serial["input_ids"]]
    assert sum(parallel["dropped"]) == sum(serial["dropped"]) > 0
    unaligned = tokenized.map(pack, batched=True, batch_size=7, num_proc=3, remove_columns=["ids", "chars"])
    assert sum(unaligned["dropped"]) != sum(serial["dropped"])  # what the aligned shards avoid

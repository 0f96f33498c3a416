"""Tokenize a corpus with the extended tokenizer and pack it into fixed-length blocks for pretraining.

Documents stream from disk into memory-mapped Arrow tables (Hugging Face `datasets`), are
tokenized in parallel as `<s> text </s>`, and are concatenated and cut into `block_size` blocks,
so a block can span documents, separated by EOS. Documents are held out for validation by a hash
of their id, the same way as in the vocab stage. The result is cached on disk under a key made of
the input bytes, the tokenizer files and the settings: a changed corpus or tokenizer is never
served from a stale cache.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from pipeline.deps import require_module

PACK_BATCH = 1000  # documents per packing batch; each batch drops its last partial block


@dataclass(frozen=True)
class PackReport:
    """Sizes of the packed splits: what bits per character and tokens/s are computed from."""

    train_documents: int
    validation_documents: int
    train_characters: int
    validation_characters: int
    train_tokens: int  # tokens in the train blocks
    validation_tokens: int
    dropped_tokens: int  # tail of each packing batch shorter than a block
    validation_dropped_tokens: int
    block_size: int
    cache_key: str


def cache_key(inputs: Sequence[Path], tokenizer_dir: Path, settings: dict) -> str:
    """A digest of the input files' bytes, the tokenizer files and the packing settings."""
    from data_prep.corpus import corpus_files
    from tokenizer.hf_export import HF_FILES

    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    for path in corpus_files(inputs):  # exactly the files whose documents are read
        digest.update(str(path.name).encode())
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
    for name in HF_FILES:
        path = tokenizer_dir / name
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()[:24]


def _documents(
    paths: list[str], text_field: str, validation_fraction: float, want_validation: bool, moved: tuple = ()
):
    from data_prep.corpus import is_heldout, iter_documents

    for doc_id, text in iter_documents(paths, text_field):
        held_out = is_heldout(doc_id, validation_fraction) or doc_id in moved
        if held_out == want_validation and text.strip():
            yield {"id": doc_id, "text": text}


def fallback_heldout(paths: list[str], text_field: str, validation_fraction: float) -> tuple[str, ...]:
    """[] when the hash holds out some document; else the last document's id (a tiny corpus still
    gets one validation document, as in the vocab stage). Stops at the first held-out document,
    so a real corpus is barely read."""
    from data_prep.corpus import is_heldout, iter_documents

    last = None
    for doc_id, text in iter_documents(paths, text_field):
        if not text.strip():
            continue
        if is_heldout(doc_id, validation_fraction):
            return ()
        last = doc_id
    return (last,) if last is not None else ()


def pack_corpus(
    inputs: Sequence[str | Path],
    tokenizer_dir: str | Path,
    cache_dir: str | Path,
    *,
    block_size: int,
    validation_fraction: float = 0.05,
    text_field: str = "text",
    num_proc: int = 1,
):
    """Return ({"train": Dataset, "validation": Dataset} of `input_ids` blocks, PackReport), cached."""
    require_module("datasets", extra="model")
    require_module("transformers", extra="model")
    from datasets import Dataset, Features, Sequence, Value, load_from_disk
    from transformers import AutoTokenizer

    tokenizer_dir, cache_dir = Path(tokenizer_dir), Path(cache_dir)
    inputs = [Path(p) for p in inputs]
    settings = {
        "block_size": block_size,
        "validation_fraction": validation_fraction,
        "text_field": text_field,
        "pack_batch": PACK_BATCH,
        "version": 4,  # 4: a tiny corpus with nothing held out by hash holds out its last document
    }
    key = cache_key(inputs, tokenizer_dir, settings)
    target = cache_dir / key
    if (target / "report.json").is_file():
        report = PackReport(**json.loads((target / "report.json").read_text()))
        return {split: load_from_disk(str(target / split)) for split in ("train", "validation")}, report

    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    if tok.eos_token_id is None:
        raise ValueError(f"{tokenizer_dir}: the tokenizer has no EOS token to separate documents")
    eos = tok.eos_token_id
    tok.model_max_length = 1 << 62  # whole documents are tokenized before packing: no length warning

    def tokenize(batch):
        ids = tok(batch["text"], add_special_tokens=True)["input_ids"]  # <s> text
        return {"ids": [doc + [eos] for doc in ids], "chars": [len(t) for t in batch["text"]]}

    def pack(batch):
        stream = [i for doc in batch["ids"] for i in doc]
        usable = len(stream) - len(stream) % block_size
        blocks = [stream[i : i + block_size] for i in range(0, usable, block_size)]
        # The dropped tail is recorded on the batch's first block (none if the batch made no block).
        dropped = [len(stream) - usable] + [0] * (len(blocks) - 1) if blocks else []
        return {"input_ids": blocks, "dropped": dropped}

    splits, sizes = {}, {}
    work = cache_dir / f"{key}.tmp"
    paths = [str(p) for p in inputs]
    moved = fallback_heldout(paths, text_field, validation_fraction)
    for split in ("train", "validation"):
        gen_kwargs = {
            "paths": paths,
            "text_field": text_field,
            "validation_fraction": validation_fraction,
            "want_validation": split == "validation",
            "moved": moved,  # a tuple: datasets shards generators over list arguments
        }
        if next(_documents(**gen_kwargs), None) is None:
            docs = []  # datasets cannot build a dataset from an empty generator
        else:
            docs = Dataset.from_generator(
                _documents,
                gen_kwargs=gen_kwargs,
                cache_dir=str(work / "hf"),
                fingerprint=f"{key}-{split}-docs",
                features=Features({"id": Value("string"), "text": Value("string")}),
            )
        if len(docs) == 0:  # nothing to train on: an empty split, for the caller to judge
            empty = Dataset.from_dict(
                {"input_ids": []}, features=Features({"input_ids": Sequence(Value("int64"))})
            )
            sizes[split] = (0, 0, 0, 0)
            empty.save_to_disk(str(target / split))
            splits[split] = load_from_disk(str(target / split))
            continue
        tokenized = docs.map(
            tokenize,
            batched=True,
            num_proc=num_proc if len(docs) > num_proc else None,
            remove_columns=docs.column_names,
            desc=f"tokenizing {split}",
        )
        packed = tokenized.map(
            pack,
            batched=True,
            batch_size=PACK_BATCH,
            remove_columns=["ids", "chars"],
            desc=f"packing {split}",
        )
        sizes[split] = (len(docs), sum(tokenized["chars"]), len(packed) * block_size, sum(packed["dropped"]))
        packed.remove_columns(["dropped"]).save_to_disk(str(target / split))
        splits[split] = load_from_disk(str(target / split))

    report = PackReport(
        train_documents=sizes["train"][0],
        validation_documents=sizes["validation"][0],
        train_characters=sizes["train"][1],
        validation_characters=sizes["validation"][1],
        train_tokens=sizes["train"][2],
        validation_tokens=sizes["validation"][2],
        dropped_tokens=sizes["train"][3] + sizes["validation"][3],
        validation_dropped_tokens=sizes["validation"][3],
        block_size=block_size,
        cache_key=key,
    )
    (target / "report.json").write_text(json.dumps(asdict(report), indent=2))
    shutil.rmtree(work, ignore_errors=True)
    return splits, report


@dataclass(frozen=True)
class ReplayMix:
    """How English replay blocks were mixed into the Korean training blocks."""

    korean_blocks: int
    replay_blocks: int
    replay_available: int  # replay train blocks packed; fewer used when the share asks for fewer
    replay_fraction: float  # asked for
    replay_token_share: float  # reached: replay blocks over all training blocks


def mix_replay(korean, replay, fraction: float, seed: int):
    """Korean train blocks plus a seeded choice of replay blocks making up `fraction` of all blocks,
    in a seeded interleaved order. With too few replay blocks, all are used and the share reached
    is reported (and warned about) rather than repeating them."""
    import logging

    from datasets import concatenate_datasets

    n_ko = len(korean)
    if replay is None or fraction <= 0.0 or len(replay) == 0:
        return korean, ReplayMix(n_ko, 0, len(replay) if replay is not None else 0, fraction, 0.0)
    wanted = round(n_ko * fraction / (1.0 - fraction))
    used = min(wanted, len(replay))
    if used < wanted:
        logging.getLogger("ko.packing").warning(
            "replay_fraction %.3f needs %d replay blocks, the replay text packs into %d: using all of them",
            fraction,
            wanted,
            len(replay),
        )
    chosen = replay.shuffle(seed=seed).select(range(used))
    mixed = concatenate_datasets([korean, chosen]).shuffle(seed=seed)
    share = used / max(n_ko + used, 1)
    return mixed, ReplayMix(n_ko, used, len(replay), fraction, round(share, 4))

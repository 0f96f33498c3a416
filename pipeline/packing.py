"""Tokenize a corpus with the extended tokenizer and pack it into fixed-length blocks for pretraining.

Documents stream from disk into memory-mapped Arrow tables (Hugging Face `datasets`), are
tokenized in parallel as `<s> text </s>`, and are concatenated and cut into `block_size` blocks,
so a block can span documents, separated by EOS (pretrain.document_attention decides whether
attention crosses them: BlockCollator). Documents are held out for validation by a hash of their
id, the same way as in the vocab stage. Token ids are stored in the smallest integer type that
holds the vocabulary (uint16 up to 65,536 pieces).

The result is cached on disk under a key made of the input bytes, the tokenizer files and the
settings: a changed corpus or tokenizer is never served from a stale cache. One process packs
(a file lock per cache key; the other ranks of the node wait, then memory-map what it wrote). A
cache hit reads no corpus: the files' names, sizes and modification times index the content key,
which is only computed, from every byte, on a miss.
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

    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    for path in corpus_files(inputs):  # exactly the files whose documents are read
        digest.update(str(path.name).encode())
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
    digest.update(_tokenizer_bytes(tokenizer_dir))
    return digest.hexdigest()[:24]


def stat_key(inputs: Sequence[Path], tokenizer_dir: Path, settings: dict) -> str:
    """A digest of the input files' paths, sizes and modification times (no content read), the
    tokenizer files and the settings: what finds the content key of an unchanged corpus."""
    from data_prep.corpus import corpus_files

    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    for path in corpus_files(inputs):
        stat = path.stat()
        digest.update(f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    digest.update(_tokenizer_bytes(tokenizer_dir))
    return digest.hexdigest()[:24]


def _tokenizer_bytes(tokenizer_dir: Path) -> bytes:
    from tokenizer.hf_export import HF_FILES

    return b"".join((tokenizer_dir / n).read_bytes() for n in HF_FILES if (tokenizer_dir / n).is_file())


def token_dtype(vocabulary: int) -> str:
    """The smallest Arrow integer type that holds every token id."""
    return "uint16" if vocabulary <= 1 << 16 else "int32"


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
    from pipeline.training import file_lock

    tokenizer_dir, cache_dir = Path(tokenizer_dir), Path(cache_dir)
    inputs = [Path(p) for p in inputs]
    settings = {
        "block_size": block_size,
        "validation_fraction": validation_fraction,
        "text_field": text_field,
        "pack_batch": PACK_BATCH,
        "version": 5,  # 5: ids in the smallest integer type (4: a tiny corpus holds out its last document)
    }
    fast = stat_key(inputs, tokenizer_dir, settings)
    index = cache_dir / "index" / f"{fast}.json"
    with file_lock(cache_dir / "index" / f".{fast}.lock"):  # one process packs; the others wait here
        if index.is_file():
            key = json.loads(index.read_text())["key"]
            if (cache_dir / key / "report.json").is_file():
                return load_packed(cache_dir / key)
        key = cache_key(inputs, tokenizer_dir, settings)
        if not (cache_dir / key / "report.json").is_file():
            _pack(inputs, tokenizer_dir, cache_dir, key, settings, num_proc)
        index.write_text(json.dumps({"key": key}))
    return load_packed(cache_dir / key)


def load_packed(target: Path):
    """The cached splits (memory-mapped Arrow) and their report."""
    from datasets import load_from_disk

    report = PackReport(**json.loads((target / "report.json").read_text()))
    return {split: load_from_disk(str(target / split)) for split in ("train", "validation")}, report


def _pack(inputs: list[Path], tokenizer_dir: Path, cache_dir: Path, key: str, settings: dict, num_proc: int):
    """Tokenize and pack both splits into cache_dir/key; report.json, written last, marks it complete."""
    from datasets import Dataset, Features, Sequence, Value
    from transformers import AutoTokenizer

    block_size, validation_fraction = settings["block_size"], settings["validation_fraction"]
    text_field = settings["text_field"]
    target = cache_dir / key
    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    if tok.eos_token_id is None:
        raise ValueError(f"{tokenizer_dir}: the tokenizer has no EOS token to separate documents")
    eos = tok.eos_token_id
    ids_type = token_dtype(len(tok))
    block_features = Features({"input_ids": Sequence(Value(ids_type)), "dropped": Value("int64")})
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

    sizes = {}
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
                {"input_ids": []}, features=Features({"input_ids": Sequence(Value(ids_type))})
            )
            sizes[split] = (0, 0, 0, 0)
            empty.save_to_disk(str(target / split))
            continue
        tokenized = docs.map(
            tokenize,
            batched=True,
            num_proc=num_proc if len(docs) > num_proc else None,
            remove_columns=docs.column_names,
            desc=f"tokenizing {split}",
        )
        packed = pack_in_parallel(tokenized, pack, block_features, num_proc, work / f"pack-{split}")
        sizes[split] = (len(docs), sum(tokenized["chars"]), len(packed) * block_size, sum(packed["dropped"]))
        packed.remove_columns(["dropped"]).save_to_disk(str(target / split))

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


def pack_in_parallel(tokenized, pack, features, num_proc: int, work: Path):
    """tokenized.map(pack) in batches of PACK_BATCH, on up to num_proc processes, giving the same
    blocks as one process: the shards are cut at multiples of PACK_BATCH (datasets' own num_proc
    cuts anywhere, which would move each batch's dropped tail)."""
    from datasets import concatenate_datasets

    n = len(tokenized)
    per_shard = -(-n // max(num_proc, 1) // PACK_BATCH) * PACK_BATCH or PACK_BATCH
    bounds = [(a, min(a + per_shard, n)) for a in range(0, n, per_shard)]
    work.mkdir(parents=True, exist_ok=True)

    def run(index: int):
        a, b = bounds[index]
        return tokenized.select(range(a, b)).map(
            pack,
            batched=True,
            batch_size=PACK_BATCH,
            remove_columns=["ids", "chars"],
            features=features,
            cache_file_name=str(work / f"{index:05d}.arrow"),
            desc=f"packing {index + 1}/{len(bounds)}",
        )

    if len(bounds) == 1:
        return run(0)
    from multiprocess import Pool  # datasets' own dependency: pickles the closures with dill

    with Pool(min(num_proc, len(bounds))) as pool:
        pool.map(run, range(len(bounds)))  # each writes its shard's cache file
    return concatenate_datasets([run(i) for i in range(len(bounds))])  # read back from those files


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


class BlockCollator:
    """Batches packed blocks for causal-LM training: labels are the inputs (the model shifts them).

    Under `within` (pretrain.document_attention), position ids restart at every document's <s>;
    with no attention mask, transformers turns that into a block-diagonal causal mask (sdpa,
    eager) or varlen attention (flash_attention_2), so no token attends to another document.
    The <s> itself is still predicted, from the end of the document before it, which keeps the
    count of predicted tokens (and so bits per character) the same as under `cross`.
    """

    def __init__(self, bos_id: int | None, within: bool):
        if within and bos_id is None:
            raise ValueError("document_attention=within needs a tokenizer with a BOS token to find documents")
        self.bos_id, self.within = bos_id, within

    def __call__(self, rows: list[dict]) -> dict:
        import torch

        ids = torch.tensor([list(r["input_ids"]) for r in rows], dtype=torch.long)
        batch = {"input_ids": ids, "labels": ids.clone()}
        if self.within:
            index = torch.arange(ids.shape[1]).expand_as(ids)
            starts = (ids == self.bos_id) | (index == 0)
            last_start = torch.where(starts, index, torch.zeros_like(index)).cummax(dim=1).values
            batch["position_ids"] = index - last_start
        return batch

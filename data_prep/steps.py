"""The clean stage's blocks as datatrove pipeline steps.

datatrove runs them: LocalPipelineExecutor on one machine, its Slurm or Ray executors on a
cluster, with the same steps and per-task resume. Task `rank` of `world_size` reads every
world_size-th input file (or, with fewer files than tasks, its share of one file's lines: see
task_inputs) and writes its own numbered shard at each step, so a shard's documents keep one
order from stage to stage and the output does not depend on timing.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import numpy as np
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.dedup.minhash import MinhashDedupSignature
from datatrove.utils.text import simplify_text
from datatrove.utils.word_tokenizers import WordTokenizer

from data_prep.config import CleanConfig
from data_prep.filters import QualityFilters
from data_prep.normalize import NormalizeOptions, normalize_text, remove_boilerplate
from data_prep.pii import redact_pii
from data_prep.readers import FileReader, Quarantined
from data_prep.storage import GzipJsonl, folder, read_jsonl_gz, write_json


def shard_name(rank: int, prefix: str = "", suffix: str = ".jsonl.gz") -> str:
    return f"{prefix}{rank:05d}{suffix}"


def doc_record(doc: Document, reason: str | None = None) -> dict[str, Any]:
    record: dict[str, Any] = {"id": doc.id, "text": doc.text}
    if reason is not None:
        record["reason"] = reason
    record["metadata"] = doc.metadata
    return record


def read_shard(where: str, rank: int) -> Iterator[Document]:
    for data in read_jsonl_gz(folder(where), shard_name(rank)):
        yield Document(text=data["text"], id=data["id"], metadata=data["metadata"])


def write_counts(where: str, step: str, rank: int, counts: Counter[str]) -> None:
    """One task's counts of one step: COUNTS/<step>-<rank>.json, summed into the report."""
    write_json(folder(where), f"{step}-{rank:05d}.json", dict(sorted(counts.items())))


def task_inputs(files: list[str], rank: int, world_size: int) -> list[tuple[str, int, int]]:
    """(file, part, parts) that task `rank` reads: every world_size-th file when there are enough
    files; otherwise task r reads part r // F of file r % F (F files), so no task idles."""
    if len(files) >= world_size:
        return [(name, 0, 1) for name in files[rank::world_size]]
    n = rank % len(files)
    return [(files[n], rank // len(files), len(range(n, world_size, len(files))))]


def source_config(config: CleanConfig, text_field: str, text_unit: str) -> CleanConfig:
    """The clean config with an in-place source's own text field first and its text unit."""
    if text_field and text_field not in config.text_fields:
        config = replace(config, text_fields=(text_field, *config.text_fields))
    if text_unit:
        config = replace(config, text_unit=text_unit)
    return config


class ReadInputs(PipelineStep):
    """Input files to Documents; unreadable records go to quarantine/<rank>.jsonl."""

    name = "read inputs"
    type = "📖 - READER"

    def __init__(
        self,
        files: list[str],
        config: CleanConfig,
        quarantine_dir: str,
        counts_dir: str,
        names: dict[str, tuple[str, str, str]] | None = None,
    ):
        super().__init__()
        self.files = files
        self.config = config
        # file -> (id name, text field, text unit) for the corpus stage's in-place sources.
        self.names = names or {}
        self.quarantine_dir = quarantine_dir
        self.counts_dir = counts_dir

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        counts: Counter[str] = Counter()
        where = folder(self.quarantine_dir)
        with where.open(shard_name(rank, suffix=".jsonl"), "wt", encoding="utf-8") as quarantine:
            for name, part, parts in task_inputs(self.files, rank, world_size):
                label, text_field, text_unit = self.names.get(name, (None, "", ""))
                config = source_config(self.config, text_field, text_unit)
                for item in FileReader(name, config, part, parts, name=label):
                    if isinstance(item, Quarantined):
                        counts["quarantined"] += 1
                        self.stat_update("quarantined")
                        quarantine.write(json.dumps(item.to_json(), ensure_ascii=False) + "\n")
                        continue
                    counts["read"] += 1
                    counts["bytes_in"] += len(item.text.encode("utf-8"))
                    self.stat_update("read")
                    yield Document(text=item.text, id=item.id, metadata=item.metadata)
        write_counts(self.counts_dir, "read", rank, counts)


class CleanDocuments(PipelineStep):
    """Normalize, cut boilerplate, replace PII, then keep or drop by the quality blocks.

    PII goes before the filters so that dropped documents, written for audit, carry no PII.
    """

    name = "normalize, PII, quality"
    type = "🔻 - FILTER"

    def __init__(self, config: CleanConfig, dropped_dir: str, counts_dir: str):
        super().__init__()
        self.config = config
        self.dropped_dir = dropped_dir
        self.counts_dir = counts_dir

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        c = self.config
        options = NormalizeOptions(c.max_char_repeat, c.strip_html, c.site_mask_token)
        filters = QualityFilters(c)
        counts: Counter[str] = Counter()
        with GzipJsonl(folder(self.dropped_dir), shard_name(rank, "filtered-")) as dropped:
            for doc in data:
                with self.track_time():
                    text = normalize_text(doc.text, options)
                    if c.remove_boilerplate:
                        text, touched = remove_boilerplate(text)
                        counts["boilerplate_lines"] += touched
                    if c.pii_kinds:
                        text, found = redact_pii(text, c.pii_kinds)
                        counts.update({f"pii.{kind}": n for kind, n in found.items()})
                    doc.text = text
                    reason = filters.check(text) if text else "empty_after_normalization"
                if reason is not None:
                    counts[f"dropped.{reason}"] += 1
                    self.stat_update(f"dropped.{reason}")
                    dropped.write(doc_record(doc, reason))
                    continue
                counts["passed"] += 1
                self.stat_update("passed")
                yield doc
        write_counts(self.counts_dir, "clean", rank, counts)


def text_hash(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")


class WriteShard(PipelineStep):
    """Writes the task's documents to <folder>/<rank>.jsonl.gz and passes them on."""

    name = "write shard"
    type = "💽 - WRITER"

    def __init__(self, folder: str):
        super().__init__()
        self.folder = folder

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        with GzipJsonl(folder(self.folder), shard_name(rank)) as out:
            for doc in data:
                out.write(doc_record(doc))
                yield doc


class ReadShard(PipelineStep):
    """Reads back what WriteShard wrote for this rank, in the same order."""

    name = "read shard"
    type = "📖 - READER"

    def __init__(self, folder: str):
        super().__init__()
        self.folder = folder

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        yield from read_shard(self.folder, rank)


class CharShingles(WordTokenizer):
    """datatrove word tokenizer whose "words" are the characters of the text, spaces removed.

    With it datatrove's MinHash hashes character n-grams. Its own Korean word tokenizer, after
    NFD, yields whole eojeol, so copies that differ by a particle or in spacing share little.
    """

    def __init__(self):
        super().__init__("ko")

    def word_tokenize(self, text: str) -> list[str]:
        return [ch for ch in text if not ch.isspace()]

    def sent_tokenize(self, text: str) -> list[str]:
        return [text]

    def span_tokenize(self, text: str) -> list[tuple[int, int]]:
        return [(i, i + 1) for i, ch in enumerate(text) if not ch.isspace()]


class KoreanMinhashSignature(MinhashDedupSignature):
    """datatrove's MinHash signature stage on distinct character n-grams of the simplified text.

    A document with fewer than `min_shingles` distinct n-grams gets no signature: a handful of
    shingles makes unrelated short texts collide; exact dedup still covers them.
    """

    def __init__(self, *args, min_shingles: int = 1, **kwargs):
        super().__init__(*args, **kwargs)
        self.min_shingles = min_shingles

    def get_shingles(self, text: str) -> np.ndarray:
        import xxhash

        chars = "".join(self.word_tokenizer.word_tokenize(simplify_text(text, self.config.norm_config)))
        n = self.config.n_grams
        grams = {chars[i : i + n] for i in range(len(chars) - n + 1)}
        if len(grams) < self.min_shingles:
            return np.zeros((0, 1), dtype=np.uint64)
        # xxhash on bytes: datatrove's own str hashing breaks on xxhash >= 3.6, which wants bytes.
        hashes = (xxhash.xxh64_intdigest(g.encode("utf-8")) for g in grams)
        return np.fromiter(hashes, dtype=np.uint64, count=len(grams)).reshape((-1, 1))


class AuditWriter:
    """The exclusion_writer interface datatrove's dedup filters call, writing with a reason.

    One instance serves every task of a process, so the shard opens on the first write, when
    the rank is known.
    """

    def __init__(self, folder: str, prefix: str, reason: str, counts_dir: str, step: str):
        self.folder = folder
        self.prefix = prefix
        self.reason = reason
        self.counts_dir = counts_dir
        self.step = step
        self._out: GzipJsonl | None = None
        self._rank = 0
        self._count = 0

    def __enter__(self) -> AuditWriter:
        self._out, self._count = None, 0
        return self

    def write(self, doc: Document, rank: int = 0, **_: Any) -> None:
        if self._out is None:
            self._rank = rank
            self._out = GzipJsonl(folder(self.folder), shard_name(rank, self.prefix))
        self._count += 1
        self._out.write(doc_record(doc, self.reason))

    def __exit__(self, *exc) -> None:
        if self._out is not None:
            self._out.close()
            write_counts(
                self.counts_dir, self.step, self._rank, Counter({f"dropped.{self.reason}": self._count})
            )
        self._out = None


class WriteClean(PipelineStep):
    """Writes the kept documents to clean/<rank>.jsonl.gz and counts them."""

    name = "write clean"
    type = "💽 - WRITER"

    def __init__(self, folder: str, counts_dir: str):
        super().__init__()
        self.folder = folder
        self.counts_dir = counts_dir

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        counts: Counter[str] = Counter()
        with GzipJsonl(folder(self.folder), shard_name(rank)) as out:
            for doc in data:
                counts["kept"] += 1
                counts["bytes_out"] += len(doc.text.encode("utf-8"))
                out.write(doc_record(doc))
                yield doc
        write_counts(self.counts_dir, "write", rank, counts)

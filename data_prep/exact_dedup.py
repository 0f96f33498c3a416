"""Exact deduplication sharded by hash, with memory that does not grow with the corpus.

The shape of datatrove's own exact-dedup blocks, on our text hashes and with our audit files:
  1. each filtering task hashes its documents and writes (hash, index) runs of at most RUN_RECORDS,
     sorted, one file per hash bucket: HASHES/<bucket>/<rank>-<run>.bin;
  2. one task per bucket merges that bucket's runs (heapq.merge: one read buffer per run) and
     lists, for each filtering task, the indexes whose text an earlier (rank, index) already had:
     REMOVE/<rank>/<bucket>-<run>.bin, sorted runs again;
  3. each filtering task merges its removal runs while it walks its shard and drops those indexes.
No step holds more than RUN_RECORDS records plus one buffer per open run: the first document of
every text is kept, wherever the bucket boundaries fall.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterator

import numpy as np
from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from data_prep.steps import doc_record, shard_name, text_hash, write_counts
from data_prep.storage import GzipJsonl, folder

RECORD = np.dtype([("hash", "<u8"), ("index", "<u8")])
INDEX = np.dtype("<u8")
RUN_RECORDS = 1 << 20  # records sorted in memory at once (16 MiB)
READ_RECORDS = 1 << 14  # records read at a time from each run while merging


class HashRuns:
    """Collects one task's (hash, index) pairs and writes them as sorted runs per bucket."""

    def __init__(self, where: str, rank: int, buckets: int):
        self.where = folder(where)
        self.rank, self.buckets = rank, buckets
        self.hashes: list[int] = []
        self.runs = 0
        self.index = 0

    def add(self, text: str) -> None:
        self.hashes.append(text_hash(text))
        if len(self.hashes) >= RUN_RECORDS:
            self.flush()

    def flush(self) -> None:
        records = np.empty(len(self.hashes), dtype=RECORD)
        records["hash"] = np.array(self.hashes, dtype=np.uint64)
        records["index"] = np.arange(self.index, self.index + len(self.hashes), dtype=np.uint64)
        self.index += len(self.hashes)
        self.hashes = []
        bucket = (records["hash"] >> np.uint64(40)) % np.uint64(self.buckets)
        for b in range(self.buckets):
            part = np.sort(records[bucket == b], order=("hash", "index"))
            with self.where.open(f"{b:05d}/{self.rank:05d}-{self.runs:04d}.bin", "wb") as f:
                f.write(part.tobytes())
        self.runs += 1

    def close(self) -> None:
        if self.hashes or self.runs == 0:  # an empty task still writes its (empty) runs
            self.flush()


class HashDocuments(PipelineStep):
    """Passes the task's documents on, writing their text hashes as sorted runs per bucket."""

    name = "hash texts"
    type = "🫂 - DEDUP"

    def __init__(self, hashes: str, buckets: int):
        super().__init__()
        self.hashes, self.buckets = hashes, buckets

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        runs = HashRuns(self.hashes, rank, self.buckets)
        for doc in data:
            runs.add(doc.text)
            yield doc
        runs.close()


def read_run(where, name: str, dtype: np.dtype) -> Iterator:
    """The records of one run file, READ_RECORDS at a time."""
    with where.open(name, "rb") as f:
        while chunk := f.read(READ_RECORDS * dtype.itemsize):
            yield from np.frombuffer(chunk, dtype=dtype).tolist()


class FindExactDuplicates(PipelineStep):
    """Task b of `buckets`: the repeats among bucket b's hashes, listed per filtering task."""

    name = "find exact duplicates"
    type = "🫂 - DEDUP"

    def __init__(self, hashes: str, remove: str, tasks: int):
        super().__init__()
        self.hashes, self.remove, self.tasks = hashes, remove, tasks

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        source, out = folder(self.hashes), folder(self.remove)
        names = source.list_files(f"{rank:05d}", recursive=False)

        def keyed(name: str) -> Iterator[tuple[int, int, int]]:
            task = int(name.rsplit("/", 1)[-1].split("-")[0])
            return ((h, task, i) for h, i in read_run(source, name, RECORD))

        pending: dict[int, list[int]] = {t: [] for t in range(self.tasks)}
        runs = dict.fromkeys(range(self.tasks), 0)
        buffered = 0

        def flush() -> None:
            nonlocal buffered
            for task, indexes in pending.items():
                if indexes or runs[task] == 0:
                    with out.open(f"{task:05d}/{rank:05d}-{runs[task]:04d}.bin", "wb") as f:
                        f.write(np.sort(np.array(indexes, dtype=INDEX)).tobytes())
                    runs[task] += 1
                    indexes.clear()
            buffered = 0

        previous = None
        # (hash, rank, index) order: the first copy of a text is its earliest (rank, index).
        for digest, task, index in heapq.merge(*(keyed(n) for n in names)):
            if digest == previous:
                pending[task].append(index)
                self.stat_update("duplicates")
                buffered += 1
                if buffered >= RUN_RECORDS:
                    flush()
            previous = digest
        flush()
        return
        yield


class DropExactDuplicates(PipelineStep):
    """Drops the documents FindExactDuplicates listed for this task, writing them for audit."""

    name = "drop exact duplicates"
    type = "🫂 - DEDUP"

    def __init__(self, remove: str, dropped_dir: str, counts_dir: str):
        super().__init__()
        self.remove, self.dropped_dir, self.counts_dir = remove, dropped_dir, counts_dir

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        source = folder(self.remove)
        names = source.list_files(f"{rank:05d}", recursive=False) if source.exists(f"{rank:05d}") else []
        doomed = heapq.merge(*(read_run(source, n, INDEX) for n in names))
        next_doomed = next(doomed, None)
        counts: Counter[str] = Counter()
        with GzipJsonl(folder(self.dropped_dir), shard_name(rank, "exact-")) as dropped:
            for index, doc in enumerate(data):
                if index == next_doomed:
                    next_doomed = next(doomed, None)
                    counts["dropped.exact_duplicate"] += 1
                    self.stat_update("dropped.exact_duplicate")
                    dropped.write(doc_record(doc, "exact_duplicate"))
                    continue
                yield doc
        write_counts(self.counts_dir, "exact", rank, counts)

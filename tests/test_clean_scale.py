"""The clean stage's steps that must not grow with the corpus: byte-range splits and sharded exact dedup."""

from __future__ import annotations

import gzip
import json
import random
from collections import Counter

import pytest
from datatrove.data import Document

from data_prep import exact_dedup
from data_prep.config import CleanConfig
from data_prep.readers import FileReader, Record
from data_prep.steps import task_inputs
from tests.conftest import shared_path


@pytest.fixture(scope="module")
def petitions_jsonl(tmp_path_factory):
    """A real JSONL file (petition posts, some without an id field) written uncompressed."""
    path = tmp_path_factory.mktemp("split") / "petitions.jsonl"
    rows = [
        json.loads(line) for line in shared_path("corpus", "petitions_2019", "petitions_2019-08.jsonl").open()
    ]
    with open(path, "w", encoding="utf-8") as f:
        for i, row in enumerate(rows[:600]):
            if i % 3 == 0:  # some records carry an id of their own
                row["id"] = f"p{i}"
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
        f.write('{"content": "broken\n')  # quarantined by whichever part owns it
    return path


@pytest.mark.parametrize("parts", [2, 3, 7])
def test_byte_ranges_give_every_line_to_exactly_one_part(petitions_jsonl, parts):
    config = CleanConfig()
    whole = list(FileReader(petitions_jsonl, config))
    size = petitions_jsonl.stat().st_size
    seen: list = []
    for part in range(parts):
        reader = FileReader(petitions_jsonl, config, part, parts)
        assert reader.by_range
        items = list(reader)
        start, end = part * size // parts, (part + 1) * size // parts
        # A part reads only its own range: every record starts inside it.
        assert all(start <= i.metadata["byte_offset"] < end for i in items if isinstance(i, Record))
        seen += items
    texts = Counter(i.text for i in seen if isinstance(i, Record))
    assert texts == Counter(i.text for i in whole if isinstance(i, Record))
    assert sum(not isinstance(i, Record) for i in seen) == sum(not isinstance(i, Record) for i in whole) == 1
    # Records with their own id keep it; the others are named by byte offset instead of line.
    ids = [i.id for i in seen if isinstance(i, Record)]
    assert len(set(ids)) == len(ids)
    assert sum("#p" in i for i in ids) == 200
    assert all(":@" in i for i in ids if "#p" not in i)


def test_byte_ranges_cut_anywhere_lose_nothing(tmp_path):
    """Random lines (some empty, some long) and random part counts: no line lost or doubled."""
    rng = random.Random(3)
    lines = ["가" * rng.choice([0, 1, 5, 300]) + f"줄{i}" for i in range(400)]
    path = tmp_path / "lines.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = CleanConfig(text_unit="line")
    for parts in (2, 5, 13, 64):
        got = [r.text for part in range(parts) for r in FileReader(path, config, part, parts)]
        assert got == lines, parts


def test_compressed_files_shared_by_tasks_still_split_by_line(tmp_path):
    path = tmp_path / "docs.jsonl.gz"
    path.write_bytes(
        gzip.compress("".join(json.dumps({"text": f"문서 {i}"}) + "\n" for i in range(50)).encode())
    )
    readers = [FileReader(path, CleanConfig(), part, 3) for part in range(3)]
    assert not any(r.by_range for r in readers)
    got = sorted(int(r.text.split()[1]) for reader in readers for r in reader)
    assert got == list(range(50))
    assert task_inputs([str(path)], 2, 3) == [(str(path), 2, 3)]


def _docs(rng: random.Random, n: int, pool: list[str]) -> list[Document]:
    return [Document(text=rng.choice(pool), id=str(i)) for i in range(n)]


def test_sharded_exact_dedup_keeps_the_first_copy_with_bounded_runs(tmp_path, monkeypatch):
    """Tiny run and read sizes force many sorted runs per bucket; the result must equal a global
    first-occurrence pass over (task, index), the order the one-task version used."""
    monkeypatch.setattr(exact_dedup, "RUN_RECORDS", 7)
    monkeypatch.setattr(exact_dedup, "READ_RECORDS", 3)
    rng = random.Random(0)
    pool = [f"텍스트 {i}" for i in range(40)]
    tasks = 4
    shards = [_docs(rng, n, pool) for n in (30, 0, 55, 21)]  # an empty task too
    hashes, remove = str(tmp_path / "hashes"), str(tmp_path / "remove")
    for rank, docs in enumerate(shards):
        passed = list(exact_dedup.HashDocuments(hashes, tasks).run(iter(docs), rank, tasks))
        assert passed == docs
    for bucket in range(tasks):
        list(exact_dedup.FindExactDuplicates(hashes, remove, tasks).run(None, bucket, tasks))
    runs = list((tmp_path / "hashes").rglob("*.bin"))
    assert len(runs) > tasks * tasks  # more than one run per (task, bucket): memory was capped
    seen: set[str] = set()
    expected = []
    for docs in shards:
        keep = []
        for doc in docs:
            if doc.text not in seen:
                keep.append(doc.id)
            seen.add(doc.text)
        expected.append(keep)
    for rank, docs in enumerate(shards):
        step = exact_dedup.DropExactDuplicates(remove, str(tmp_path / "dropped"), str(tmp_path / "counts"))
        kept = [d.id for d in step.run(iter(docs), rank, tasks)]
        assert kept == expected[rank]
        counts = json.loads((tmp_path / "counts" / f"exact-{rank:05d}.json").read_text())
        assert counts.get("dropped.exact_duplicate", 0) == len(docs) - len(kept)


def test_ray_actors_run_a_stage_s_tasks_in_even_shares():
    from dataclasses import replace

    from data_prep.config import RayConfig
    from data_prep.executors import ray_tasks_per_job
    from pipeline.params import ParamsError

    config = replace(CleanConfig(), workers=2)
    assert [ray_tasks_per_job(n, config) for n in (0, 1, 2, 4, 5, 20)] == [1, 1, 1, 2, 3, 10]
    assert ray_tasks_per_job(20, replace(config, workers=0)) == 1  # every task at once
    assert ray_tasks_per_job(20, replace(config, ray=RayConfig(tasks_per_job=3))) == 3
    with pytest.raises(ParamsError, match="tasks_per_job = -1"):
        RayConfig(tasks_per_job=-1)


def test_ray_rank_worker_runs_its_ranks_in_turn_in_its_own_process(tmp_path):
    """No forked pool inside the Ray worker (datatrove's own forks one; its terminate can hang)."""
    import os

    from datatrove.executor import RayPipelineExecutor
    from datatrove.pipeline.base import PipelineStep

    from data_prep.executors import InProcessRankWorker

    class Step(PipelineStep):
        name = "record"

        def run(self, data, rank: int = 0, world_size: int = 1):
            self.stat_update("ran")
            if rank == 5:
                raise OSError("disk full")
            with open(tmp_path / "ran.txt", "a") as f:
                f.write(f"{rank} {os.getpid()}\n")
            yield from ()

    executor = RayPipelineExecutor(pipeline=[Step()], tasks=6, logging_dir=str(tmp_path / "logs"))
    InProcessRankWorker().run_for_rank(executor, [2, 0, 1], ["127.0.0.1"], 0)
    assert (tmp_path / "ran.txt").read_text().split("\n")[:-1] == [f"{r} {os.getpid()}" for r in (2, 0, 1)]
    assert sorted(os.listdir(tmp_path / "logs" / "completions")) == ["00000", "00001", "00002"]
    for rank in range(3):  # each rank's stats are its own (a fresh pipeline per rank), not a running total
        stats = json.loads((tmp_path / "logs" / "stats" / f"{rank:05d}.json").read_text())
        assert stats[0]["stats"] == {"ran": 1}
    # A failing rank does not stop the others of its job; its error is raised after them.
    with pytest.raises(OSError, match="disk full"):
        InProcessRankWorker().run_for_rank(executor, [5, 3], ["127.0.0.1"], 0)
    assert (tmp_path / "ran.txt").read_text().split("\n")[-2] == f"3 {os.getpid()}"
    assert sorted(os.listdir(tmp_path / "logs" / "completions")) == ["00000", "00001", "00002", "00003"]

"""Benchmarks of the clean stage: near-duplicate recall, throughput vs datatrove, memory, engines.
(PII against datatrove and Presidio: bench/pii.py.)

    python bench/clean.py neardup      # injected copies edited by 1-10% of their words
    python bench/clean.py throughput   # ko-clean vs datatrove's stock pipeline, same files, same run
    python bench/clean.py memory       # peak RSS of ko-clean on a ~1 GB corpus (--gb)
    python bench/clean.py engines      # local vs Ray executor, same workers; local 1 vs 2 workers

datatrove's Korean word tokenizer asks kiwi for its "sbg" model, which kiwipiepy_model ships only
up to 0.21 (later models cannot load it). For the throughput anchor, install that pair beside the
project and point --kiwi at it:

    pip install --target .bench-kiwi --no-deps kiwipiepy==0.21.0 kiwipiepy_model==0.21.0
    python bench/clean.py throughput --kiwi .bench-kiwi

Each prints its figures and a JSON line; record them in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import json
import os
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from data_prep.config import CleanConfig  # noqa: E402

SHARED = Path(os.environ.get("KO_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def base_documents(limit: int) -> list[str]:
    """Distinct multi-sentence Korean documents: Wikinews articles and petitions."""
    docs = []
    wiki = (SHARED / "corpus/boddari_wikinews/wikinews.txt").read_text(encoding="utf-8")
    docs += [d.strip() for d in wiki.split("\n\n") if len(d.strip()) >= 300]
    with open(SHARED / "corpus/petitions_2019/petitions_2019-08.jsonl", encoding="utf-8") as f:
        docs += [json.loads(line)["content"] for line in f]
    docs = [d for d in docs if len(d) >= 300]
    random.Random(0).shuffle(docs)
    return docs[:limit]


def edit_words(text: str, fraction: float, rng: random.Random, donor: list[str]) -> str:
    """Delete, replace or insert `fraction` of the eojeol, and respace a few (Korean spacing varies)."""
    words = text.split(" ")
    for _ in range(max(1, round(fraction * len(words)))):
        i = rng.randrange(len(words))
        op = rng.random()
        if op < 0.33 and len(words) > 1:
            del words[i]
        elif op < 0.66:
            words[i] = rng.choice(donor)
        else:
            words.insert(i, rng.choice(donor))
    return " ".join(words)


def dedup_only(config: CleanConfig) -> CleanConfig:
    return dataclasses.replace(config, quality_filters=False, pii_kinds=())


def run_clean(config: CleanConfig, docs: list[tuple[str, str]], workdir: Path):
    from data_prep.clean import clean_corpus

    inp = workdir / "in"
    inp.mkdir(parents=True, exist_ok=True)
    with open(inp / "docs.jsonl", "w", encoding="utf-8") as f:
        for doc_id, text in docs:
            f.write(json.dumps({"id": doc_id, "text": text}, ensure_ascii=False) + "\n")
    out = workdir / "out"
    report = clean_corpus(config, [str(inp)], out)
    kept = set()
    for path in sorted((out / "clean").glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            kept.update(json.loads(line)["id"].split("#")[-1] for line in f)
    return report, kept


def neardup(args) -> dict:
    config = dataclasses.replace(dedup_only(CleanConfig()), **json.loads(args.config))
    docs = base_documents(args.docs)
    with tempfile.TemporaryDirectory() as tmp:
        # The base corpus has its own (natural) duplicates: keep only what survives dedup alone.
        _, kept = run_clean(config, [(f"b{i}", t) for i, t in enumerate(docs)], Path(tmp) / "base")
        base = [(f"b{i}", t) for i, t in enumerate(docs) if f"b{i}" in kept]
    rng = random.Random(1)
    donor = [w for _, t in base[:50] for w in t.split()]
    copied = rng.sample(range(len(base)), len(base) // 5)
    corpus = list(base)
    group = {doc_id: doc_id for doc_id, _ in base}
    for i in copied:
        doc_id, text = base[i]
        fraction = rng.uniform(0.01, 0.10)
        copy_id = f"{doc_id}c"
        corpus.append((copy_id, edit_words(text, fraction, rng, donor)))
        group[copy_id] = doc_id
    rng.shuffle(corpus)
    with tempfile.TemporaryDirectory() as tmp:
        report, kept = run_clean(config, corpus, Path(tmp))
    removed = defaultdict(int)
    copies = Counter(group[d] for d, _ in corpus if d.endswith("c"))
    for doc_id, _ in corpus:
        if doc_id not in kept:
            removed[group[doc_id]] += 1
    found = sum(min(removed[g], n) for g, n in copies.items())
    false = sum(max(0, removed[g] - copies.get(g, 0)) for g in {group[d] for d, _ in corpus})
    result = {
        "bench": "neardup",
        "base_docs": len(base),
        "injected_copies": sum(copies.values()),
        "recall": round(found / sum(copies.values()), 4),
        "false_removal_rate": round(false / len(base), 5),
        "false_removals": false,
        "shingle_chars": config.shingle_chars,
        "bands_x_rows": f"{config.num_bands}x{config.rows_per_band}",
        "seconds": report.seconds,
    }
    print(json.dumps(result))
    return result


def shared_documents() -> list[str]:
    """The texts of all four shared corpora, in a fixed order."""
    docs = []
    for path in sorted((SHARED / "corpus/nsmc_raw").glob("*.json")):
        docs += [r["review"] for r in json.loads(path.read_text(encoding="utf-8"))]
    docs += (SHARED / "corpus/kocohub_comments/unlabeled_unlabeled_comments_5.txt").read_text().splitlines()
    docs += (SHARED / "corpus/boddari_wikinews/wikinews.txt").read_text().split("\n\n")
    with open(SHARED / "corpus/petitions_2019/petitions_2019-08.jsonl", encoding="utf-8") as f:
        docs += [json.loads(line)["content"] for line in f]
    return [text for text in docs if text.strip()]


def write_parts(folder: Path, records, parts: int) -> list[Path]:
    """Deals RECORDS ({"id", "text"}) round-robin into PARTS JSONL files: both pipelines give
    each task whole files, so one file would keep all but one worker idle."""
    paths = [folder / f"part-{k:03d}.jsonl" for k in range(parts)]
    files = [open(path, "w", encoding="utf-8") for path in paths]
    try:
        for n, record in enumerate(records):
            files[n % parts].write(json.dumps(record, ensure_ascii=False) + "\n")
    finally:
        for f in files:
            f.close()
    return paths


def measure_files(paths: list[Path]) -> tuple[int, int]:
    """(bytes, lines) of JSONL files: their size and their documents."""
    size = sum(path.stat().st_size for path in paths)
    lines = 0
    for path in paths:
        with open(path, encoding="utf-8") as f:
            lines += sum(1 for _ in f)
    return size, lines


def throughput_corpus(folder: Path, repeat: int, parts: int) -> list[Path]:
    """All four shared corpora, `repeat` times with distinct ids, in PARTS files."""
    docs = shared_documents()
    records = ({"id": f"{r}-{i}", "text": text} for r in range(repeat) for i, text in enumerate(docs))
    return write_parts(folder, records, parts)


def run_datatrove_stock(corpus: Path, work: Path, tasks: int, workers: int) -> float:
    """datatrove's own blocks for Korean: Gopher repetition + quality (kiwi word tokenizer), PII
    formatter, MinHash with its defaults (sha1: its xxhash path breaks on xxhash >= 3.6)."""
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup.minhash import (
        MinhashConfig,
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
        MinhashDedupSignature,
    )
    from datatrove.pipeline.filters import GopherQualityFilter, GopherRepetitionFilter
    from datatrove.pipeline.formatters import PIIFormatter
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter
    from datatrove.utils.hashing import HashConfig
    from datatrove.utils.typeshelper import Languages

    minhash = MinhashConfig(hash_config=HashConfig(hash_fc="sha1"))
    lang = Languages.korean
    started = time.perf_counter()

    def ex(name, pipeline, n, depends=None):
        return LocalPipelineExecutor(
            pipeline=pipeline,
            tasks=n,
            workers=min(workers, n),
            logging_dir=str(work / "logs" / name),
            depends=depends,
            start_method="spawn",
        )

    a = ex(
        "filter",
        [
            JsonlReader(str(corpus)),
            GopherRepetitionFilter(language=lang),
            GopherQualityFilter(language=lang),
            PIIFormatter(),
            JsonlWriter(str(work / "filtered")),
        ],
        tasks,
    )
    b = ex(
        "sig",
        [
            JsonlReader(str(work / "filtered")),
            MinhashDedupSignature(str(work / "sig"), config=minhash, language=lang),
        ],
        tasks,
        a,
    )
    c = ex(
        "buckets",
        [MinhashDedupBuckets(str(work / "sig"), str(work / "buckets"), config=minhash)],
        minhash.num_buckets,
        b,
    )
    d = ex(
        "cluster", [MinhashDedupCluster(str(work / "buckets"), str(work / "remove"), config=minhash)], 1, c
    )
    e = ex(
        "write",
        [
            JsonlReader(str(work / "filtered")),
            MinhashDedupFilter(str(work / "remove")),
            JsonlWriter(str(work / "out")),
        ],
        tasks,
        d,
    )
    e.run()
    return time.perf_counter() - started


def use_side_packages(folder: str) -> None:
    """Put FOLDER first on the import path of this process and of the spawned workers."""
    folder = str(Path(folder).resolve())
    if not Path(folder, "kiwipiepy").is_dir():
        sys.exit(f"--kiwi {folder}: no kiwipiepy in it (see this script's docstring)")
    sys.path.insert(0, folder)  # spawn workers receive the parent's sys.path
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [folder, os.environ.get("PYTHONPATH")]))


def throughput(args) -> dict:
    from data_prep.clean import clean_corpus

    if args.kiwi:
        use_side_packages(args.kiwi)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "in").mkdir()
        corpus = throughput_corpus(tmp / "in", args.repeat, args.tasks)
        size, n_docs = measure_files(corpus)
        config = dataclasses.replace(CleanConfig(), tasks=args.tasks, workers=args.workers)
        ours = clean_corpus(config, [str(path) for path in corpus], tmp / "ours").seconds
        try:
            stock = run_datatrove_stock(tmp / "in", tmp / "stock", args.tasks, args.workers)
            stock_error = None
        except Exception as exc:  # the anchor could not run: report ours and why
            stock, stock_error = None, f"{type(exc).__name__}: {exc}"
    result = {
        "bench": "throughput",
        "docs": n_docs,
        "mb": round(size / 1e6, 2),
        "ko_clean_s": round(ours, 2),
        "datatrove_stock_s": round(stock, 2) if stock else None,
        "datatrove_stock_error": stock_error,
        "ko_clean_mb_per_s": round(size / 1e6 / ours, 3),
        "datatrove_mb_per_s": round(size / 1e6 / stock, 3) if stock else None,
        "ko_clean_docs_per_s": round(n_docs / ours),
        "speedup_vs_datatrove": round(stock / ours, 2) if stock else None,
    }
    print(json.dumps(result))
    return result


def memory_corpus(folder: Path, gigabytes: float, parts: int) -> list[Path]:
    """About GIGABYTES of distinct documents from the shared corpora, in PARTS JSONL files.

    Each document joins 8 shared documents drawn at random (seeded), one per line: long enough
    for the quality filters, and new text every time, so the corpus is not a pile of exact or
    near duplicates that the dedup stages would thin out before the signatures are counted.
    """
    docs = shared_documents()
    rng = random.Random(0)

    def records():
        written, n = 0, 0
        while written < gigabytes * 1e9:
            text = "\n".join(rng.choice(docs) for _ in range(8))
            written += len(text.encode("utf-8")) + 30  # the JSON around it, roughly
            yield {"id": f"m-{n}", "text": text}
            n += 1

    return write_parts(folder, records(), parts)


def memory(args) -> dict:
    """Peak memory of one ko-clean run: the whole process tree sampled every 0.2 s, and the
    largest single process (ru_maxrss of this process and of its finished children)."""
    import resource
    import threading

    import psutil

    from data_prep.clean import clean_corpus

    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        tmp = Path(tmp)
        (tmp / "in").mkdir()
        corpus = memory_corpus(tmp / "in", args.gb, args.tasks)
        size, n_docs = measure_files(corpus)
        peak, done = [0], threading.Event()

        def sample() -> None:
            me = psutil.Process()
            while not done.is_set():
                total = 0
                for proc in [me, *me.children(recursive=True)]:
                    try:
                        total += proc.memory_info().rss
                    except psutil.Error:
                        pass
                peak[0] = max(peak[0], total)
                done.wait(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        config = dataclasses.replace(CleanConfig(), tasks=args.tasks, workers=args.workers)
        report = clean_corpus(config, [str(path) for path in corpus], tmp / "out")
        done.set()
        sampler.join()
    largest = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    )
    result = {
        "bench": "memory",
        "docs": n_docs,
        "gb": round(size / 1e9, 3),
        "tasks": args.tasks,
        "workers": args.workers,
        "kept": report.kept,
        "dropped_by_reason": report.dropped_by_reason,
        "near_duplicate_rate": report.near_duplicate_rate,
        "seconds": round(report.seconds, 1),
        "mb_per_s": round(size / 1e6 / report.seconds, 3),
        "peak_rss_tree_gb": round(peak[0] / 1e9, 3),
        "peak_rss_largest_process_gb": round(largest * 1024 / 1e9, 3),  # ru_maxrss is in KiB
    }
    print(json.dumps(result))
    return result


def precedents_corpus(folder: Path, repeat: int, parts: int) -> list[Path]:
    """The Supreme Court decisions (../shared/data/corpus/ko_precedents), `repeat` times with
    distinct ids, in PARTS uncompressed JSONL files."""
    path = SHARED / "corpus/ko_precedents/ko_supreme_court_precedents_sample.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as f:
        docs = [row["text"] for row in map(json.loads, f) if row.get("text")]
    records = ({"id": f"p{r}-{i}", "text": text} for r in range(repeat) for i, text in enumerate(docs))
    return write_parts(folder, records, parts)


def output_digest(out: Path) -> str:
    """One SHA-256 over every output file (kept, dropped with reasons, quarantine), by name."""
    import hashlib

    digest = hashlib.sha256()
    for sub in ("clean", "dropped", "quarantine"):
        for path in sorted((out / sub).glob("*")):
            digest.update(f"{sub}/{path.name}\0".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def engines(args) -> dict:
    """The same corpus, tasks and params through the local executor with 1 and 2 workers and
    through datatrove's Ray executor with 2 workers on a private cluster of this machine. The
    cluster is started before the Ray run and its start-up timed apart; the Ray run's seconds
    (clean_corpus's own clock, as for the local runs) include each stage's actor scheduling."""
    import ray

    from data_prep.clean import clean_corpus
    from data_prep.config import RayConfig

    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        tmp = Path(tmp)
        (tmp / "in").mkdir()
        corpus = precedents_corpus(tmp / "in", args.repeat, args.tasks)
        size, n_docs = measure_files(corpus)
        paths = [str(path) for path in corpus]
        base = dataclasses.replace(CleanConfig(), tasks=args.tasks)
        runs = {}

        def clean(name: str, **overrides) -> None:
            report = clean_corpus(dataclasses.replace(base, **overrides), paths, tmp / name)
            runs[name] = {"seconds": report.seconds, "kept": report.kept, "digest": output_digest(tmp / name)}
            print(f"{name}: {report.seconds:.1f} s, kept {report.kept:,} of {report.read:,}", flush=True)

        clean("local_2", workers=args.workers)
        started = time.perf_counter()
        ray.init(num_cpus=args.workers, include_dashboard=False)
        startup = time.perf_counter() - started
        try:
            ray_config = RayConfig(address="auto", tasks_per_job=args.ray_tasks_per_job)
            clean("ray_2", workers=args.workers, executor="ray", ray=ray_config)
        finally:
            ray.shutdown()
        if not args.skip_single:
            clean("local_1", workers=1)
    local, on_ray = runs["local_2"], runs["ray_2"]
    single = runs.get("local_1")
    result = {
        "bench": "engines",
        "docs": n_docs,
        "mb": round(size / 1e6, 1),
        "tasks": args.tasks,
        "workers": args.workers,
        "local_s": round(local["seconds"], 1),
        "ray_s": round(on_ray["seconds"], 1),
        "ray_cluster_startup_s": round(startup, 1),
        "ray_tasks_per_job": args.ray_tasks_per_job,
        "local_1_worker_s": round(single["seconds"], 1) if single else None,
        "local_mb_per_s": round(size / 1e6 / local["seconds"], 3),
        "ray_mb_per_s": round(size / 1e6 / on_ray["seconds"], 3),
        "ray_vs_local_throughput": round(local["seconds"] / on_ray["seconds"], 3),
        "target_ray_vs_local": 0.9,
        "scaling_2_vs_1_worker": round(single["seconds"] / local["seconds"], 3) if single else None,
        "outputs_identical": all(run["digest"] == local["digest"] for run in runs.values()),
        "kept": local["kept"],
    }
    print(json.dumps(result))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("bench", choices=["neardup", "throughput", "memory", "engines"])
    parser.add_argument("--docs", type=int, default=2000, help="base documents for neardup")
    parser.add_argument(
        "--config", default="{}", help="JSON of clean params to override, e.g. '{\"num_bands\": 20}'"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="copies of the corpus (throughput: the shared corpora; engines: the court decisions)",
    )
    parser.add_argument("--tasks", type=int, default=4, help="tasks of every run compared")
    parser.add_argument("--workers", type=int, default=2, help="tasks at once (engines: of local and Ray)")
    parser.add_argument(
        "--kiwi", help="throughput: folder with kiwipiepy + kiwipiepy_model 0.21 for datatrove's anchor"
    )
    parser.add_argument("--gb", type=float, default=1.0, help="memory: corpus size in GB")
    parser.add_argument(
        "--workdir", help="memory, engines: folder for the corpus and outputs (default: system temp)"
    )
    parser.add_argument(
        "--ray-tasks-per-job", type=int, default=0, help="engines: clean.ray.tasks_per_job (0: even split)"
    )
    parser.add_argument("--skip-single", action="store_true", help="engines: no local run on 1 worker")
    args = parser.parse_args()
    benches = {"neardup": neardup, "throughput": throughput, "memory": memory, "engines": engines}
    benches[args.bench](args)


if __name__ == "__main__":
    main()

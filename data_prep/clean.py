"""ko-clean: raw Korean text in; normalized, quality-filtered, deduplicated, PII-free text out.

Stages, each run by a datatrove executor (clean.executor: local processes, Ray or Slurm; the same
steps everywhere, and a killed run skips the tasks it finished):
  1. read -> normalize -> boilerplate -> PII -> quality filters -> shard + sorted text-hash runs
  2. exact duplicates: one task per hash bucket (data_prep/exact_dedup.py)
  3. drop exact duplicates -> shard -> MinHash signatures (character n-grams)
  4-5. datatrove MinHash buckets and clusters
  6. drop near-duplicates (one kept per cluster) -> OUTPUT/clean/*.jsonl.gz

Inputs, OUTPUT and clean.work_dir may be local paths or fsspec URLs (s3://, gs://, hf://).

OUTPUT/dropped/*.jsonl.gz holds every dropped document with its reason, OUTPUT/quarantine/
every unreadable record with file, line and error; the report always satisfies
read = kept + dropped + quarantined.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from data_prep.config import CleanConfig
from data_prep.storage import file_size, file_stamp, folder, is_url, join, read_json, remove_tree

log = logging.getLogger("ko.clean")

CLEAN_DIR, DROPPED_DIR, QUARANTINE_DIR, WORK_DIR = "clean", "dropped", "quarantine", ".work"


@dataclass
class CleanReport:
    """What ko-clean did: counts per outcome and reason, bytes, dedup rates, PII, speed."""

    read: int
    kept: int
    dropped: int
    quarantined: int
    dropped_by_reason: dict[str, int]
    exact_duplicate_rate: float
    near_duplicate_rate: float
    pii_replaced: dict[str, int]
    boilerplate_lines: int
    input_files: int
    input_file_bytes: int
    bytes_in: int
    bytes_out: int
    seconds: float
    docs_per_s: float
    mb_per_s: float
    lsh_jaccard_threshold: float
    # Files under input directories without a data suffix (not read; listed so none goes unseen).
    ignored_files: list[str] = field(default_factory=list)
    executor: str = "local"
    # Per stage, the tasks a killed earlier run had finished, which this run skipped.
    resumed_tasks: dict[str, int] = field(default_factory=dict)


class CleanError(RuntimeError):
    """The inputs cannot be cleaned as given (nothing to read, a broken accounting)."""


# Params that say where and how fast the tasks run, not what they produce: a killed local run
# may resume on Ray or Slurm.
NOT_IN_FINGERPRINT = ("executor", "ray", "slurm", "workers", "work_dir")


def _fingerprint(config: CleanConfig, files: list[Path | str]) -> str:
    settings = {k: v for k, v in asdict(config).items() if k not in NOT_IN_FINGERPRINT}
    h = hashlib.sha256(json.dumps(settings, sort_keys=True, default=list).encode())
    for path in files:
        h.update(f"{file_stamp(path)}\n".encode())
    return h.hexdigest()


def work_folder(config: CleanConfig, output: Path | str) -> str:
    """OUTPUT/.work, or a folder of its own under clean.work_dir (one per output)."""
    if not config.work_dir:
        return join(output, WORK_DIR)
    name = str(output) if is_url(output) else str(Path(output).resolve())
    return join(config.work_dir, "ko-clean-" + hashlib.sha256(name.encode()).hexdigest()[:12])


def open_work(config: CleanConfig, files: list[Path | str], output: Path | str) -> str:
    """Resume a killed run with the same inputs and params; otherwise start from empty."""
    work = work_folder(config, output)
    fingerprint = _fingerprint(config, files)
    where = folder(work)
    if not (where.exists("fingerprint") and where.read_text("fingerprint") == fingerprint):
        for name in (CLEAN_DIR, DROPPED_DIR, QUARANTINE_DIR):
            remove_tree(join(output, name))
        remove_tree(work)
        with folder(work).open("fingerprint", "wt") as f:
            f.write(fingerprint)
    else:
        log.info("resuming the run in %s: finished tasks are skipped", work)
    return work


def _sum_counts(counts: str) -> Counter[str]:
    where = folder(counts)
    total: Counter[str] = Counter()
    for name in where.list_files(glob_pattern="*.json") if where.exists("") else []:
        total.update(read_json(where, name))
    return total


def collect_inputs(inputs: list[str]) -> tuple[list[Path | str], list[Path | str], dict]:
    """(files, ignored files, in-place sources by file) behind the --input paths and URLs."""
    from data_prep.readers import InputError, find_input_files
    from data_prep.sources import read_manifest

    try:
        files, ignored = find_input_files(inputs)
    except InputError as exc:
        raise CleanError(str(exc)) from exc
    # The corpus stage's in-place sources: read where they are, named by source (stable ids).
    names: dict[str, tuple[str, str, str]] = {}
    for item in inputs:
        in_place = read_manifest(Path(item)) if not is_url(item) and Path(item).is_dir() else []
        for path, name, text_field, text_unit in in_place:
            if not path.is_file():
                raise CleanError(f"{item}: in-place source file {path} is gone; re-run the corpus stage")
            files.append(path)
            names[str(path)] = (name, text_field, text_unit)
    if not files:
        raise CleanError(f"no input files under {inputs}")
    return files, ignored, names


def warn_unshared(files: list[Path | str], config: CleanConfig, names: dict) -> None:
    """With fewer files than tasks, say which files the tasks cannot share cheaply."""
    from data_prep.readers import source_name

    if len(files) >= config.tasks:
        return
    readers = [(f, _reader(f, config, names)) for f in files]

    def listed(paths: list) -> str:
        return ", ".join(source_name(f) for f in paths[:3]) + (" ..." if len(paths) > 3 else "")

    whole = [f for f, r in readers if not r.splittable]
    if whole:
        log.warning(
            "%d input file(s) for %d tasks, and %s cannot be shared between tasks (JSONL and "
            "one-document-per-line text can): the first stage (normalize, PII, filters) runs those "
            "in one task each; split them into at least %d files",
            len(files),
            config.tasks,
            listed(whole),
            config.tasks,
        )
    packed = [f for f, r in readers if r.splittable and r.compression]
    if packed:
        log.warning(
            "%s: a compressed file cannot be entered in the middle, so each of the tasks sharing it "
            "decompresses all of it and keeps every k-th line; shard it into at least %d files (or "
            "give it uncompressed: those are split by byte range)",
            listed(packed),
            config.tasks,
        )


def build_stages(config: CleanConfig, files: list, names: dict, output: Path | str, work: str) -> list:
    """The datatrove pipelines of the clean stage, in order (see the module docstring)."""
    from datatrove.pipeline.dedup.minhash import (
        MinhashConfig,
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
    )
    from datatrove.utils.hashing import HashConfig
    from datatrove.utils.text import TextNormConfig

    from data_prep import exact_dedup, steps
    from data_prep.executors import Stage

    tasks = config.tasks
    counts, dropped = join(work, "counts"), join(output, DROPPED_DIR)
    folders = ("prepared", "hashes", "remove", "deduped", "signatures", "buckets", "clusters")
    s = {k: join(work, k) for k in folders}
    minhash = MinhashConfig(
        n_grams=config.shingle_chars,
        num_buckets=config.num_bands,
        hashes_per_bucket=config.rows_per_band,
        seed=config.seed,
        # No NFD (it splits Hangul into jamo), no number folding: "2019년" and "2020년" differ.
        norm_config=TextNormConfig(norm_unicode_diacritics=False, norm_numbers=False),
        hash_config=HashConfig(precision=64),
    )
    read = steps.ReadInputs([str(f) for f in files], config, join(output, QUARANTINE_DIR), counts, names)
    first = [read, steps.CleanDocuments(config, dropped, counts), steps.WriteShard(s["prepared"])]
    if config.exact_dedup:
        first.append(exact_dedup.HashDocuments(s["hashes"], tasks))
    stages = [Stage("1-filter", first, tasks)]
    third: list = [steps.ReadShard(s["prepared"])]
    if config.exact_dedup:
        find = exact_dedup.FindExactDuplicates(s["hashes"], s["remove"], tasks)
        stages.append(Stage("2-exact", [find], tasks))
        third.append(exact_dedup.DropExactDuplicates(s["remove"], dropped, counts))
    third.append(steps.WriteShard(s["deduped"]))
    last: list = [steps.ReadShard(s["deduped"])]
    if config.near_dedup:
        third.append(
            steps.KoreanMinhashSignature(
                s["signatures"],
                config=minhash,
                language=steps.CharShingles(),
                min_shingles=config.min_shingles,
            )
        )
        audit = steps.AuditWriter(dropped, "near-", "near_duplicate", counts, "near")
        last.append(MinhashDedupFilter(s["clusters"], exclusion_writer=audit))
    stages.append(Stage("3-signatures", third, tasks))
    if config.near_dedup:
        buckets = MinhashDedupBuckets(s["signatures"], s["buckets"], config=minhash)
        stages.append(Stage("4-buckets", [buckets], config.num_bands))
        clusters = MinhashDedupCluster(s["buckets"], s["clusters"], config=minhash)
        stages.append(Stage("5-clusters", [clusters], 1))
    last.append(steps.WriteClean(join(output, CLEAN_DIR), counts))
    stages.append(Stage("6-write", last, tasks))
    return stages


def clean_corpus(config: CleanConfig, inputs: list[str], output: Path | str) -> CleanReport:
    """Clean the documents in `inputs` (files, directories, globs, URLs) into `output` (a path or URL)."""
    from data_prep.executors import ExecutorError, run_stages
    from data_prep.readers import source_name

    started = time.perf_counter()
    files, ignored, names = collect_inputs(inputs)
    work = open_work(config, files, output)
    warn_unshared(files, config, names)
    try:
        resumed = run_stages(build_stages(config, files, names, output, work), config, join(work, "logs"))
    except ExecutorError as exc:
        raise CleanError(str(exc)) from exc
    report = _report(config, _sum_counts(join(work, "counts")), files, time.perf_counter() - started)
    report.ignored_files = [source_name(p) for p in ignored]
    report.executor, report.resumed_tasks = config.executor, resumed
    remove_tree(work)
    return report


def _reader(path: Path | str, config: CleanConfig, names: dict):
    from data_prep.readers import FileReader
    from data_prep.steps import source_config

    label, text_field, text_unit = names.get(str(path), (None, "", ""))
    return FileReader(path, source_config(config, text_field, text_unit), name=label)


def _report(config: CleanConfig, counts: Counter[str], files: list, seconds: float) -> CleanReport:
    by_reason = {k.split(".", 1)[1]: v for k, v in sorted(counts.items()) if k.startswith("dropped.")}
    read = counts["read"] + counts["quarantined"]
    dropped = sum(by_reason.values())
    kept = counts["kept"]
    if read != kept + dropped + counts["quarantined"]:
        raise CleanError(
            f"accounting broken: read {read} != kept {kept} + dropped {dropped} "
            f"+ quarantined {counts['quarantined']}"
        )
    exact = by_reason.get("exact_duplicate", 0)
    near = by_reason.get("near_duplicate", 0)
    into_dedup = counts["passed"]
    input_bytes = sum(map(file_size, files))
    return CleanReport(
        read=read,
        kept=kept,
        dropped=dropped,
        quarantined=counts["quarantined"],
        dropped_by_reason=by_reason,
        exact_duplicate_rate=round(exact / into_dedup, 6) if into_dedup else 0.0,
        near_duplicate_rate=round(near / max(into_dedup - exact, 1), 6) if into_dedup else 0.0,
        pii_replaced={k.split(".", 1)[1]: v for k, v in sorted(counts.items()) if k.startswith("pii.")},
        boilerplate_lines=counts["boilerplate_lines"],
        input_files=len(files),
        input_file_bytes=input_bytes,
        bytes_in=counts["bytes_in"],
        bytes_out=counts["bytes_out"],
        seconds=round(seconds, 3),
        docs_per_s=round(counts["read"] / seconds, 1),
        mb_per_s=round(counts["bytes_in"] / 1e6 / seconds, 3),
        lsh_jaccard_threshold=round(config.jaccard_threshold(), 3),
    )


def main(argv: list[str] | None = None) -> int:
    """Console entry point of `ko-clean`."""
    from pipeline.cli import StageError, run_stage, stage_parser, write_metrics, write_resolved

    parser = stage_parser("clean", __doc__, CleanConfig, output_default="data/clean", inputs=True)

    def body(args, params):
        output = args.output if is_url(args.output) else Path(args.output)
        try:
            report = clean_corpus(params.clean, args.input, output)
        except CleanError as exc:
            raise StageError(str(exc)) from exc
        run = {"input": args.input, "output": str(output)}
        metrics = args.metrics or join(output, "metrics.json")
        if not is_url(output):
            write_resolved(output, "clean", params, "clean", run)
        else:  # written here, then copied next to the outputs
            with tempfile.TemporaryDirectory() as tmp:
                resolved = write_resolved(Path(tmp), "clean", params, "clean", run)
                folder(output).put_file(str(resolved), resolved.name)
        if is_url(metrics):
            with folder(metrics.rsplit("/", 1)[0]).open(metrics.rsplit("/", 1)[1], "wt") as f:
                f.write(json.dumps(asdict(report), indent=2, ensure_ascii=False) + "\n")
        else:
            write_metrics(Path(metrics), asdict(report))
        print(
            f"read {report.read}: kept {report.kept}, dropped {report.dropped}, "
            f"quarantined {report.quarantined} "
            f"({report.docs_per_s:.0f} docs/s) -> {output / CLEAN_DIR}"
        )

    return run_stage(parser, argv, body)


if __name__ == "__main__":
    raise SystemExit(main())

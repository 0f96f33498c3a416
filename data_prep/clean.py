"""ko-clean: raw Korean text in; normalized, quality-filtered, deduplicated, PII-free text out.

Stages, each a datatrove executor (per-task resume; a Slurm or Ray executor runs the same steps):
  1. read -> normalize -> boilerplate -> PII -> quality filters -> shard + text hashes
  2. exact duplicates: one task over the hashes
  3. drop exact duplicates -> shard -> MinHash signatures (character n-grams)
  4-5. datatrove MinHash buckets and clusters
  6. drop near-duplicates (one kept per cluster) -> OUTPUT/clean/*.jsonl.gz

OUTPUT/dropped/*.jsonl.gz holds every dropped document with its reason, OUTPUT/quarantine/
every unreadable record with file, line and error; the report always satisfies
read = kept + dropped + quarantined.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from data_prep.config import CleanConfig

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


class CleanError(RuntimeError):
    """The inputs cannot be cleaned as given (nothing to read, a broken accounting)."""


def _fingerprint(config: CleanConfig, files: list[Path]) -> str:
    h = hashlib.sha256(json.dumps(asdict(config), sort_keys=True, default=list).encode())
    for path in files:
        stat = path.stat()
        h.update(f"{path.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return h.hexdigest()


def _prepare_output(output: Path, fingerprint: str) -> Path:
    """Resume a killed run with the same inputs and params; otherwise start from empty."""
    work = output / WORK_DIR
    stamp = work / "fingerprint"
    if not (stamp.exists() and stamp.read_text() == fingerprint):
        for name in (CLEAN_DIR, DROPPED_DIR, QUARANTINE_DIR, WORK_DIR):
            shutil.rmtree(output / name, ignore_errors=True)
        work.mkdir(parents=True)
        stamp.write_text(fingerprint)
    return work


def _sum_counts(folder: Path) -> Counter[str]:
    total: Counter[str] = Counter()
    for path in sorted(folder.glob("*.json")):
        total.update(json.loads(path.read_text()))
    return total


def clean_corpus(config: CleanConfig, inputs: list[str], output: Path) -> CleanReport:
    """Clean the documents in `inputs` (files, directories, globs) into `output`."""
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup.minhash import (
        MinhashConfig,
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
    )
    from datatrove.utils.hashing import HashConfig
    from datatrove.utils.text import TextNormConfig

    from data_prep import steps
    from data_prep.readers import InputError, find_input_files, source_name
    from data_prep.sources import read_manifest

    started = time.perf_counter()
    try:
        files, ignored = find_input_files(inputs)
    except InputError as exc:
        raise CleanError(str(exc)) from exc
    # The corpus stage's in-place sources: read where they are, named by source (stable ids).
    names: dict[str, tuple[str, str, str]] = {}
    for item in inputs:
        for path, name, text_field, text_unit in read_manifest(Path(item)) if Path(item).is_dir() else []:
            if not path.is_file():
                raise CleanError(f"{item}: in-place source file {path} is gone; re-run the corpus stage")
            files.append(path)
            names[str(path)] = (name, text_field, text_unit)
    if not files:
        raise CleanError(f"no input files under {inputs}")
    output.mkdir(parents=True, exist_ok=True)
    work = _prepare_output(output, _fingerprint(config, files))
    counts_dir, logs = work / "counts", work / "logs"
    dropped_dir = output / DROPPED_DIR
    tasks, workers = config.tasks, config.workers or None
    whole = [f for f in files if not _reader(f, config, names).splittable] if len(files) < tasks else []
    if whole:
        log.warning(
            "%d input file(s) for %d tasks, and %s cannot be shared between tasks (JSONL and "
            "one-document-per-line text can): the first stage (normalize, PII, filters) runs those "
            "in one task each; split them into at least %d files",
            len(files),
            tasks,
            ", ".join(source_name(f) for f in whole[:3]) + (" ..." if len(whole) > 3 else ""),
            tasks,
        )

    def executor(name: str, pipeline: list, n_tasks: int, depends=None) -> LocalPipelineExecutor:
        return LocalPipelineExecutor(
            pipeline=pipeline,
            tasks=n_tasks,
            workers=min(workers or n_tasks, n_tasks),
            logging_dir=str(logs / name),
            depends=depends,
            start_method="spawn",
        )

    minhash = MinhashConfig(
        n_grams=config.shingle_chars,
        num_buckets=config.num_bands,
        hashes_per_bucket=config.rows_per_band,
        seed=config.seed,
        # No NFD (it splits Hangul into jamo), no number folding: "2019년" and "2020년" differ.
        norm_config=TextNormConfig(norm_unicode_diacritics=False, norm_numbers=False),
        hash_config=HashConfig(precision=64),
    )
    s = {k: str(work / k) for k in ("prepared", "deduped", "signatures", "buckets", "clusters")}

    stage1 = executor(
        "1-filter",
        [
            steps.ReadInputs(
                [str(f) for f in files], config, str(output / QUARANTINE_DIR), str(counts_dir), names
            ),
            steps.CleanDocuments(config, str(dropped_dir), str(counts_dir)),
            steps.WriteShard(s["prepared"], hashes=config.exact_dedup),
        ],
        tasks,
    )
    last = stage1
    if config.exact_dedup:
        last = executor("2-exact", [steps.FindExactDuplicates(s["prepared"], tasks)], 1, depends=last)
    stage3: list = [steps.ReadShard(s["prepared"])]
    if config.exact_dedup:
        stage3.append(steps.DropExactDuplicates(s["prepared"], str(dropped_dir), str(counts_dir)))
    stage3.append(steps.WriteShard(s["deduped"]))
    if config.near_dedup:
        stage3.append(
            steps.KoreanMinhashSignature(
                s["signatures"],
                config=minhash,
                language=steps.CharShingles(),
                min_shingles=config.min_shingles,
            )
        )
    last = executor("3-signatures", stage3, tasks, depends=last)
    stage6: list = [steps.ReadShard(s["deduped"])]
    if config.near_dedup:
        last = executor(
            "4-buckets",
            [MinhashDedupBuckets(s["signatures"], s["buckets"], config=minhash)],
            config.num_bands,
            depends=last,
        )
        last = executor(
            "5-clusters", [MinhashDedupCluster(s["buckets"], s["clusters"], config=minhash)], 1, depends=last
        )
        audit = steps.AuditWriter(str(dropped_dir), "near-", "near_duplicate", str(counts_dir), "near")
        stage6.append(MinhashDedupFilter(s["clusters"], exclusion_writer=audit))
    stage6.append(steps.WriteClean(str(output / CLEAN_DIR), str(counts_dir)))
    executor("6-write", stage6, tasks, depends=last).run()

    counts = _sum_counts(counts_dir)
    seconds = time.perf_counter() - started
    report = _report(config, counts, files, seconds)
    report.ignored_files = [source_name(p) for p in ignored]
    shutil.rmtree(work)
    return report


def _reader(path: Path, config: CleanConfig, names: dict):
    from data_prep.readers import FileReader
    from data_prep.steps import source_config

    label, text_field, text_unit = names.get(str(path), (None, "", ""))
    return FileReader(path, source_config(config, text_field, text_unit), name=label)


def _report(config: CleanConfig, counts: Counter[str], files: list[Path], seconds: float) -> CleanReport:
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
    input_bytes = sum(f.stat().st_size for f in files)
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
        output = Path(args.output)
        try:
            report = clean_corpus(params.clean, args.input, output)
        except CleanError as exc:
            raise StageError(str(exc)) from exc
        write_resolved(output, "clean", params, "clean", {"input": args.input, "output": str(output)})
        write_metrics(Path(args.metrics or output / "metrics.json"), asdict(report))
        print(
            f"read {report.read}: kept {report.kept}, dropped {report.dropped}, "
            f"quarantined {report.quarantined} "
            f"({report.docs_per_s:.0f} docs/s) -> {output / CLEAN_DIR}"
        )

    return run_stage(parser, argv, body)


if __name__ == "__main__":
    raise SystemExit(main())

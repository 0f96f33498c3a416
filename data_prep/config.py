"""Typed params for the data stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

from pipeline.params import require
from pipeline.source_entry import SourceEntry, check_source_names


@dataclass(frozen=True)
class CorpusConfig:
    """params.yaml `corpus`: the raw Korean text that the clean stage receives."""

    SECTION: ClassVar[str] = "corpus"

    # Where the Korean text comes from (see SourceEntry). Local sources without a cap or weight
    # are read in place by the clean stage (no copy); Hub, URL, builtin and capped sources are
    # streamed into data/raw/<name>/ as compressed JSONL shards.
    sources: tuple[SourceEntry, ...] = (SourceEntry(builtin="konlpy-demo"),)
    # konlpy-demo: one document per constitution chapter (제N장; 11 documents) or the whole
    # constitution as one. Chapters give later stages more, shorter documents.
    split_constitution: bool = True
    # A local mirror of the Hub: hub: OWNER/NAME reads MIRROR/OWNER/NAME through `datasets`
    # ("": the Hub itself; HF_HUB_OFFLINE=1 then reads the cache only).
    hub_mirror: str = ""
    # Documents per written shard: a killed run resumes after its last finished shard.
    shard_documents: int = 20000
    # Seed of the `weight` sampling.
    seed: int = 0

    def __post_init__(self):
        s = self.SECTION
        require(len(self.sources) > 0, f"{s}.sources is empty: name at least one source of Korean text")
        check_source_names(self.sources, f"{s}.sources")
        require(self.shard_documents > 0, f"{s}.shard_documents = {self.shard_documents}: must be positive")


@dataclass(frozen=True)
class RayConfig:
    """params.yaml `clean.ray`: datatrove's RayPipelineExecutor (clean.executor: ray)."""

    # Cluster to join: "auto" (a running `ray start` cluster on this machine or RAY_ADDRESS),
    # "ray://host:10001", or "local" (start a private cluster on this machine for the run).
    address: str = "auto"
    # CPUs and memory Ray reserves for each task; tasks beyond the free CPUs wait.
    cpus_per_task: int = 1
    mem_per_cpu_gb: float = 2.0
    # Tasks each Ray actor runs, one after another. Starting an actor costs a second or two, which
    # short stages (20 MinHash bucket tasks of milliseconds each) pay per task. 0: a stage's
    # tasks dealt evenly over clean.workers actors (fewest start-ups; a slow task is not
    # rebalanced; with clean.workers 0, one actor per task); 1: one actor per task, as datatrove.
    tasks_per_job: int = 0

    def __post_init__(self):
        s = "clean.ray"
        require(self.tasks_per_job >= 0, f"{s}.tasks_per_job = {self.tasks_per_job}: negative")
        require(self.cpus_per_task > 0, f"{s}.cpus_per_task = {self.cpus_per_task}: must be positive")
        require(self.mem_per_cpu_gb > 0, f"{s}.mem_per_cpu_gb = {self.mem_per_cpu_gb}: must be positive")


@dataclass(frozen=True)
class SlurmConfig:
    """params.yaml `clean.slurm`: datatrove's SlurmPipelineExecutor (clean.executor: slurm)."""

    partition: str = ""
    # Time limit of each job, as sbatch reads it (HH:MM:SS or D-HH:MM:SS).
    time: str = "24:00:00"
    cpus_per_task: int = 1
    mem_per_cpu_gb: int = 2
    # Extra #SBATCH lines, e.g. {account: myproject, constraint: cpu}.
    sbatch_args: dict[str, str | int] = field(default_factory=dict)
    # The environment each job activates: a venv's activate script, or a conda env name.
    venv_path: str = ""
    condaenv: str = ""
    # Seconds between squeue polls while ko-clean waits for its last job.
    poll_seconds: float = 30.0

    def __post_init__(self):
        s = "clean.slurm"
        require(self.cpus_per_task > 0, f"{s}.cpus_per_task = {self.cpus_per_task}: must be positive")
        require(self.mem_per_cpu_gb > 0, f"{s}.mem_per_cpu_gb = {self.mem_per_cpu_gb}: must be positive")
        require(not (self.venv_path and self.condaenv), f"{s}: set venv_path or condaenv, not both")
        require(self.poll_seconds > 0, f"{s}.poll_seconds = {self.poll_seconds}: must be positive")


TOP_NGRAM_SIZES = (2, 3, 4)
DUP_NGRAM_SIZES = (5, 6, 7, 8, 9, 10)
PII_KINDS = ("rrn", "crn", "phone", "email", "card", "account", "brn", "passport", "licence", "ip")


@dataclass(frozen=True)
class CleanConfig:
    """params.yaml `clean`: raw Korean text in, normalized, filtered, deduplicated, PII-free text out."""

    SECTION: ClassVar[str] = "clean"

    # --- reading
    # JSON/JSONL/Parquet/CSV field with the text: the first one a record has wins. A record with
    # none of them is quarantined, not skipped.
    text_fields: tuple[str, ...] = ("text", "content", "review", "body")
    # Field with the record's own id; without it a document's id is file:line (or file:row).
    id_field: str = "id"
    # Plain text files: one document per line, or per block of lines between blank lines.
    text_unit: Literal["line", "paragraph"] = "paragraph"
    # "auto" reads UTF-8 and falls back to CP949 (a superset of EUC-KR) for a whole file that is
    # not UTF-8 but is valid CP949; otherwise undecodable lines are quarantined.
    encoding: Literal["auto", "utf-8", "cp949"] = "auto"

    # --- normalization (NFC always; never NFKC)
    # Runs of one repeated non-digit character are cut to this length (ㅋㅋㅋㅋㅋ -> ㅋㅋㅋ); 0 keeps them.
    max_char_repeat: int = 3
    strip_html: bool = True
    # Replacement for a site's asterisk masking ("**님"); "" keeps the asterisks.
    site_mask_token: str = "<|masked|>"
    # Drop news and portal boilerplate lines ("무단 전재 및 재배포 금지", "입력 2022. 11. 19.", bylines)
    # and cut "(서울=연합뉴스) 홍길동 기자 =" datelines.
    remove_boilerplate: bool = True

    # --- quality filters (defaults: FineWeb-2's kor_Hang values where it has one, else Gopher's)
    # false skips every quality block below (normalization, PII and dedup still run).
    quality_filters: bool = True
    # Length bounds. Words are whitespace-delimited eojeol (~3.5 characters in Korean) with a
    # character outside datatrove's punctuation set (Gopher's count). Lower min_words for
    # short-form corpora such as reviews or comments.
    min_chars: int = 0
    max_chars: int = 1_000_000
    min_words: int = 50
    # Hangul syllables + jamo over non-space characters. Higher drops code-switched text.
    min_hangul_ratio: float = 0.4
    # Spam, adult and gambling phrases (출장안마, 바카라, 토토사이트...) needed to drop; 0 disables.
    # 1 also drops news that mentions one once.
    spam_min_hits: int = 2
    min_avg_word_length: float = 1.0
    max_avg_word_length: float = 6.0
    # Share of words with at least one letter (FineWeb-2 kor_Hang: 0.791).
    min_alpha_words_ratio: float = 0.791
    # Eojeol that are or end with a Korean stopword morpheme (의, 다, 는, 에서...) needed to keep.
    # A Korean choice: Gopher/datatrove count distinct whole words, which on eojeol finds almost
    # none (bench/filters.py: on kiwi's morphemes datatrove's count is the one to compare).
    min_stop_words: int = 2
    # '#' per word and ellipses per word (each against the limit), and shares of all lines that
    # start with a bullet / end with an ellipsis. Bullets include ■□○●▶※ (a Korean choice;
    # datatrove's are • and -).
    max_symbol_word_ratio: float = 0.1
    max_bullet_lines_ratio: float = 0.9
    max_ellipsis_lines_ratio: float = 0.3
    # Gopher repetition: duplicate paragraphs/lines (count share and character share).
    dup_para_frac: float = 0.3
    dup_para_char_frac: float = 0.2
    dup_line_frac: float = 0.374
    dup_line_char_frac: float = 0.2
    # Characters of the most frequent word 2-, 3-, 4-gram (when it occurs more than once: a
    # choice, datatrove also scores a single one) over all characters of the text.
    top_ngram_frac: tuple[float, ...] = (0.282, 0.228, 0.185)
    # Characters of word 5-, 6-, 7-, 8-, 9-, 10-grams that repeat an earlier one (left to right,
    # no overlap) over all characters: datatrove's statistic, the one FineWeb-2 tuned these on,
    # over kiwi's morphemes. On eojeol the same values drop fewer repetitive texts (of 300 court
    # rulings, datatrove with kiwi drops 93 more: bench/filters.py); lower them to match.
    dup_ngram_frac: tuple[float, ...] = (0.201, 0.184, 0.168, 0.154, 0.14, 0.127)
    # FineWeb: share of lines ending in terminal punctuation (or 다/요), short lines, duplicated
    # line characters, newlines per word.
    min_line_punct_ratio: float = 0.062
    short_line_chars: int = 30
    max_short_line_ratio: float = 0.67
    max_char_dup_ratio: float = 0.1
    max_newline_ratio: float = 0.196

    # --- PII: kinds replaced with <|kind|> placeholders; [] keeps all PII.
    pii_kinds: tuple[str, ...] = PII_KINDS

    # --- deduplication
    exact_dedup: bool = True
    near_dedup: bool = True
    # Shingles: character n-grams of the text with whitespace removed (Korean spacing varies
    # between copies). Smaller n finds more heavily edited copies and more false pairs.
    shingle_chars: int = 5
    # Documents with fewer shingles are left to exact dedup: a handful of shingles makes
    # unrelated short texts collide.
    min_shingles: int = 20
    # LSH: bands x rows hashes. Pairs with Jaccard above about (1/bands)^(1/rows) (20 x 6: 0.61)
    # become duplicates. More bands find more edited copies and more false pairs; more rows, fewer.
    # datatrove's 14 x 8 (0.72) finds 91% of copies with 1-10% of words edited, 20 x 6 99.6%
    # (bench/clean.py neardup).
    num_bands: int = 20
    rows_per_band: int = 6
    seed: int = 1

    # --- execution (datatrove executors)
    # Where the tasks run: this machine's processes, a Ray cluster or Slurm jobs. The same steps
    # and the same outputs on each; Ray and Slurm need every folder (inputs, output, work_dir)
    # on storage all nodes see: a shared file system or a URL (s3://, gs://, hf://).
    executor: Literal["local", "ray", "slurm"] = "local"
    ray: RayConfig = RayConfig()
    slurm: SlurmConfig = SlurmConfig()
    # Shards of the input; fixed so that output does not depend on the machine. Files are
    # dealt to tasks in sorted order; with fewer files than tasks, the lines of JSONL and
    # one-document-per-line files are dealt among the tasks (other formats: one task per file).
    # Also the hash buckets of exact dedup: more tasks, less memory per task.
    tasks: int = 4
    # Tasks running at once (0: one per CPU core locally; all of them on Ray and Slurm).
    workers: int = 2
    # Intermediate shards, hashes and datatrove's task logs (which let a killed run resume):
    # "" keeps them in OUTPUT/.work; a local path or URL puts them elsewhere (removed when done).
    work_dir: str = ""

    def __post_init__(self):
        s = self.SECTION
        require(len(self.text_fields) > 0, f"{s}.text_fields is empty: name at least one field")
        require(
            len(self.top_ngram_frac) == len(TOP_NGRAM_SIZES),
            f"{s}.top_ngram_frac needs {len(TOP_NGRAM_SIZES)} values (n = 2, 3, 4)",
        )
        require(
            len(self.dup_ngram_frac) == len(DUP_NGRAM_SIZES),
            f"{s}.dup_ngram_frac needs {len(DUP_NGRAM_SIZES)} values (n = 5 ... 10)",
        )
        unknown = sorted(set(self.pii_kinds) - set(PII_KINDS))
        require(not unknown, f"{s}.pii_kinds: unknown {unknown}; known: {list(PII_KINDS)}")
        for name in (
            "max_char_repeat",
            "min_chars",
            "min_words",
            "min_stop_words",
            "spam_min_hits",
            "workers",
        ):
            require(getattr(self, name) >= 0, f"{s}.{name} = {getattr(self, name)}: must be >= 0")
        for name in ("max_chars", "shingle_chars", "num_bands", "rows_per_band", "tasks", "short_line_chars"):
            require(getattr(self, name) > 0, f"{s}.{name} = {getattr(self, name)}: must be positive")
        require(
            self.min_avg_word_length <= self.max_avg_word_length,
            f"{s}.min_avg_word_length > {s}.max_avg_word_length",
        )

    def top_ngram_limits(self) -> list[tuple[int, float]]:
        return list(zip(TOP_NGRAM_SIZES, self.top_ngram_frac, strict=True))

    def dup_ngram_limits(self) -> list[tuple[int, float]]:
        return list(zip(DUP_NGRAM_SIZES, self.dup_ngram_frac, strict=True))

    def jaccard_threshold(self) -> float:
        """Similarity at which a pair becomes an LSH candidate with probability ~1/2."""
        return (1 / self.num_bands) ** (1 / self.rows_per_band)

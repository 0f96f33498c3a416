"""A source of text named in params: one entry of `corpus.sources` or `pretrain.replay_sources`.

A params type shared by the corpus and pretrain sections, so it lives with the plumbing; reading
a source is the corpus stage's work (data_prep/sources.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar, Literal

from pipeline.params import require

BUILTIN_SOURCES = ("konlpy-demo", "python-docs")
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
URL = re.compile(r"^[a-z][a-z0-9+.-]*://")


@dataclass(frozen=True)
class SourceEntry:
    """One entry of `corpus.sources` or `pretrain.replay_sources`: where text comes from, how much.

    Exactly one of path, hub and builtin names the text.
    """

    SECTION: ClassVar[str] = "source"

    # A local file, directory or glob (JSONL, JSON, Parquet, CSV/TSV, text; .gz/.zst/.bz2/.xz),
    # or an fsspec URL (s3://, gs://, hf://datasets/OWNER/NAME/FILE, https://, file://).
    path: str = ""
    # A Hugging Face dataset OWNER/NAME, streamed through `datasets` (never loaded whole).
    hub: str = ""
    # Text that ships with a package: konlpy-demo (Korean statutes and bills) or python-docs
    # (CPython's English pydoc topics; the demo's English replay).
    builtin: Literal["", "konlpy-demo", "python-docs"] = ""
    # Label in ids, metrics and the model card ("": the file or dataset name).
    name: str = ""
    # Hub only: dataset config, split and revision (branch, tag or commit; pin a commit).
    config: str = ""
    split: str = "train"
    revision: str = "main"
    # Field with the text (JSON-like formats and Hub rows).
    text_field: str = "text"
    # Plain text files: one document per line or per block between blank lines ("": clean.text_unit).
    text_unit: Literal["", "line", "paragraph"] = ""
    # What the text should be: checked against its share of Hangul, reported in the metrics.
    language: Literal["ko", "en"] = "ko"
    # Caps: documents or characters taken from the start of the source (0: no cap). A capped
    # local source is copied (its capped part) instead of read in place.
    max_documents: int = 0
    max_chars: int = 0
    # Share of documents kept, chosen by a seeded hash of the id (1: all). Below 1 a local
    # source is copied (its kept part); duplicates would not survive dedup, so no weight above 1.
    weight: float = 1.0
    # Licence of the text, for the model card ("": unknown).
    license: str = ""

    def __post_init__(self):
        s = self.SECTION
        given = [k for k in ("path", "hub", "builtin") if getattr(self, k)]
        require(len(given) == 1, f"{s}: give exactly one of path, hub or builtin (got {given or 'none'})")
        require(not self.hub or HUB_ID.match(self.hub) is not None, f"{s}.hub = {self.hub!r}: not OWNER/NAME")
        require(self.max_documents >= 0, f"{s}.max_documents = {self.max_documents}: must be >= 0")
        require(self.max_chars >= 0, f"{s}.max_chars = {self.max_chars}: must be >= 0")
        require(0.0 < self.weight <= 1.0, f"{s}.weight = {self.weight}: a share of documents in (0, 1]")
        require(self.text_field.strip() != "", f"{s}.text_field is empty")
        require(self.revision.strip() != "", f"{s}.revision is empty: use a branch, tag or commit")

    @property
    def kind(self) -> str:
        """builtin, hub, url or local."""
        if self.builtin:
            return "builtin"
        if self.hub:
            return "hub"
        return "url" if URL.match(self.path) else "local"

    @property
    def label(self) -> str:
        """The name given, else the builtin, dataset or file name (without data suffixes)."""
        if self.name:
            return self.name
        if self.builtin or self.hub:
            return (self.builtin or self.hub).replace("/", "__")
        tail = [p for p in re.split(r"[/\\]", self.path.rstrip("/*")) if p and "*" not in p]
        name = tail[-1] if tail else "source"
        return re.sub(r"(\.(jsonl|ndjson|json|parquet|csv|tsv|txt|gz|zst|bz2|xz))+$", "", name) or "source"

    @property
    def subsampled(self) -> bool:
        """Whether only part of the source is taken (a cap or a weight below 1)."""
        return bool(self.max_documents or self.max_chars or self.weight < 1.0)


def check_source_names(entries, where: str) -> None:
    """Source labels name folders and ids: they must be unique and plain."""
    labels = [e.label for e in entries]
    dupes = sorted({x for x in labels if labels.count(x) > 1})
    require(not dupes, f"{where}: two sources are named {dupes}; give one a `name`")
    for label in labels:
        require(
            re.fullmatch(r"[\w.@+-]+", label) is not None,
            f"{where}: source name {label!r} may hold letters, digits and . _ - @ + only",
        )

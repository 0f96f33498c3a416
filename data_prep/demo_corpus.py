"""`ko-corpus`: assemble the demo's raw Korean corpus from the texts that ship inside konlpy.

The Korean constitution (kolaw) and ten 2010 National Assembly bills (kobill) are written out
verbatim, one JSONL document each (the constitution split by chapter), so that the whole
pipeline runs offline. Nothing is cleaned here: that is the clean stage's job.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from data_prep.config import CorpusConfig
from pipeline.deps import require_module

OUTPUT_NAME = "konlpy_demo.jsonl"
# Chapter headings of the constitution ("       제1장 총강"); the preamble comes before the first.
_CHAPTER = re.compile(r"^\s*제\d+장", re.MULTILINE)


@dataclass(frozen=True)
class Document:
    """One raw document: a stable id, its text, and where it came from."""

    id: str
    text: str
    source: str


@dataclass(frozen=True)
class CorpusReport:
    """What the corpus stage wrote: the stage's metrics."""

    documents: int
    characters: int
    hangul_syllables: int
    sources: dict[str, int]
    seconds: float


def konlpy_documents(split_constitution: bool = True) -> list[Document]:
    """The kolaw and kobill texts shipped with konlpy, as documents in a fixed order."""
    require_module("konlpy", extra="data")
    from konlpy.corpus import kobill, kolaw

    documents = []
    for fileid in sorted(kolaw.fileids()):
        text = kolaw.open(fileid).read()
        parts = _split_chapters(text) if split_constitution else [text]
        for n, part in enumerate(parts):
            documents.append(Document(f"kolaw/{fileid}#{n:02d}", part, f"konlpy/kolaw/{fileid}"))
    for fileid in sorted(kobill.fileids()):
        documents.append(Document(f"kobill/{fileid}", kobill.open(fileid).read(), f"konlpy/kobill/{fileid}"))
    return documents


def _split_chapters(text: str) -> list[str]:
    starts = [0] + [m.start() for m in _CHAPTER.finditer(text)]
    bounds = zip(starts, starts[1:] + [len(text)], strict=True)
    return [text[a:b] for a, b in bounds if text[a:b].strip()]


def build_demo_corpus(config: CorpusConfig, output: Path) -> CorpusReport:
    """Write `output/konlpy_demo.jsonl` ({"id", "text", "source"} per line); return its report."""
    start = time.perf_counter()
    documents = konlpy_documents(config.split_constitution)
    output.mkdir(parents=True, exist_ok=True)
    sources: dict[str, int] = {}
    with open(output / OUTPUT_NAME, "w", encoding="utf-8") as out:
        for doc in documents:
            out.write(json.dumps(asdict(doc), ensure_ascii=False) + "\n")
            corpus = doc.source.split("/")[1]
            sources[corpus] = sources.get(corpus, 0) + 1
    return CorpusReport(
        documents=len(documents),
        characters=sum(len(d.text) for d in documents),
        hangul_syllables=sum(1 for d in documents for ch in d.text if "\uac00" <= ch <= "\ud7a3"),
        sources=sources,
        seconds=round(time.perf_counter() - start, 3),
    )


def main(argv: list[str] | None = None) -> int:
    """Console entry point of `ko-corpus`."""
    from pipeline.cli import run_stage, stage_parser, write_metrics, write_resolved

    parser = stage_parser("corpus", __doc__, CorpusConfig, output_default="data/raw")

    def body(args, params):
        output = Path(args.output)
        report = build_demo_corpus(params.corpus, output)
        write_resolved(output, "corpus", params, "corpus", {"output": str(output)})
        write_metrics(Path(args.metrics or output / "metrics.json"), asdict(report))
        print(
            f"wrote {report.documents} documents ({report.characters} characters) to {output / OUTPUT_NAME}"
        )

    return run_stage(parser, argv, body)


if __name__ == "__main__":
    raise SystemExit(main())

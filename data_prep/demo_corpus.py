"""The demo's Korean text, built in: what ships inside konlpy (`builtin: konlpy-demo`).

The Korean constitution (kolaw) and ten 2010 National Assembly bills (kobill), verbatim, one
document each (the constitution split by chapter), so that the whole pipeline runs offline.
The corpus stage (data_prep/sources.py) writes them out; nothing is cleaned here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.deps import require_module

# Chapter headings of the constitution ("       제1장 총강"); the preamble comes before the first.
_CHAPTER = re.compile(r"^\s*제\d+장", re.MULTILINE)


@dataclass(frozen=True)
class Document:
    """One raw document: a stable id, its text, and where it came from."""

    id: str
    text: str
    source: str


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

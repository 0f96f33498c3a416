"""Typed params for the data stages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal


@dataclass(frozen=True)
class CorpusConfig:
    """params.yaml `corpus`: the raw Korean text that the clean stage receives in the demo."""

    SECTION: ClassVar[str] = "corpus"

    # "konlpy-demo": the Korean constitution and ten National Assembly bills that ship inside
    # konlpy (~65k characters), verbatim, so the demo needs no download. Your own corpus does not
    # go through this stage: give its files to the clean stage.
    source: Literal["konlpy-demo"] = "konlpy-demo"
    # One document per constitution chapter (제N장; 11 documents) or the whole constitution as one
    # document. Chapters give later stages more, shorter documents to filter, dedup and pack.
    split_constitution: bool = True

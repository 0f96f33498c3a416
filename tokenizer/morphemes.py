"""Morpheme boundaries from konlpy, marked inside eojeols with an invisible delimiter.

`segment_line("대한민국은 민주공화국이다")` gives "대한민국⁣은 민주⁣공화국⁣이⁣다": the text is
unchanged except for DELIMITER between two morphemes of one eojeol. SentencePiece's
`pretokenization_delimiter` then keeps every learned piece inside a morpheme. Only training needs
this: the merged tokenizer runs without any analyzer.

segment_lines(unit="eojeol") analyses each distinct eojeol once, between two fixed neighbours
(segment_words), and reuses its split wherever it occurs.

With `boundaries="lexical"` (MeCab only) fewer boundaries are marked: those before and after
content words stay, while endings and particles may fuse with a verb stem, a bound noun, a
pronoun or each other, and a verb-forming suffix with its noun: "정부⁣가 사용하였다", not
"정부⁣가 사용⁣하⁣였⁣다". See fuses().
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from multiprocessing import get_context
from pathlib import Path
from typing import Literal

from pipeline.deps import require_module

Boundaries = Literal["morpheme", "lexical"]
DELIMITER = "\u2063"  # INVISIBLE SEPARATOR: absent from ordinary text, one code point
# konlpy class of each analyzer; mecab is driven through konlpy's MeCab tagger directly.
KONLPY_CLASSES = {"komoran": "Komoran", "okt": "Okt", "hannanum": "Hannanum", "kkma": "Kkma"}
Unit = Literal["eojeol", "line"]
CHUNK_LINES = 2000
CHUNK_WORDS = 4000
BLOCK_LINES = 200_000  # "eojeol" unit: lines read per block (bounds the token list's memory)
# "eojeol" unit: most distinct words whose split is kept (~200 bytes each). Past it, after a block,
# only the splits of that block's words stay: a word's split depends on the word alone, so the
# output is the same, and a word seen again is analysed again.
MEMO_WORDS = 1_000_000
WORDS_PER_PARSE = 256
# The neighbour each distinct eojeol is analysed between in "eojeol" mode: an adverb ("again"),
# which MeCab reads as the same one morpheme whatever its neighbours (꼭 is sometimes a noun),
# and among the frames tried one of those that leave the words' splits closest to their
# in-sentence splits (bench/vocab.py measures how close).
FRAME = "또"

_SEGMENT: Callable[[str], str] | None = None  # per process, set by _init_worker

# Sejong tags (mecab-ko-dic's) of the morphemes that fuse in "lexical" mode: particles (J*), endings
# (E*), suffixes (XS*) and the copula; the hosts they may fuse with; suffixes that fuse with anything.
FUNCTIONAL_PREFIXES = ("J", "E", "XS", "VCP")
HOST_TAGS = ("NNB", "NNBC", "NP")  # bound nouns (것, 수, 명) and pronouns (그, 이들)
VERB_SUFFIXES = ("XSV", "XSA")  # 사용+하다, 중요+하다: the noun and suffix make one verb
# mecab_lexical_segmenter's output, where a boundary reads "\x1d<tag before>\x1c<whitespace>
# \x1f<tag after>\x1e". _FUSED is fuses() on that text: a functional tag right after a host's
# (V*, functional, NNB*, NP), or a verb-forming suffix after any tag.
_SEPARATORS = re.compile("[\x1c-\x1f]")
# Matched as prefixes of the whole tag: on mecab-ko-dic's tags that is fuses()' answer.
_HOSTS = "|".join(("V", *FUNCTIONAL_PREFIXES, *HOST_TAGS))
_FUSED = re.compile(
    f"\x1d(?:{_HOSTS})[^\x1c]*\x1c\x1f(?:{'|'.join(FUNCTIONAL_PREFIXES)})[^\x1e]*\x1e"
    f"|\x1d[^\x1c]*\x1c\x1f(?:{'|'.join(VERB_SUFFIXES)})[^\x1e]*\x1e"
)
_TAG_AFTER = re.compile("\x1d[^\x1c]*\x1c")
_BOUNDARY = re.compile("\x1f[^\x1e]*\x1e")


def konlpy_mecab():
    """konlpy's Mecab on python-mecab-ko-dic's dictionary (no system MeCab install needed)."""
    require_module("konlpy", extra="data")
    require_module("MeCab", extra="data", pip_name="mecab-python3")
    require_module("mecab_ko_dic", extra="data", pip_name="python-mecab-ko-dic")
    os.environ.setdefault("MECABRC", "/dev/null")  # the dictionary path is given; no system mecabrc
    import mecab_ko_dic
    from konlpy.tag import Mecab

    return Mecab(dicpath=str(mecab_ko_dic.dictionary_path))


def mecab_surfaces() -> Callable[[str], list[str]]:
    """Surface strings of MeCab's morphemes for a line, on konlpy's Mecab dictionary.

    Same dictionary and morphemes as konlpy's `Mecab.pos`, but through MeCab's wakati output
    (surfaces only): ~15% faster once aligned to the line (bench/vocab.py). Surfaces are split on
    " " only, so a morpheme made of other whitespace (U+2006, ...) survives.
    """
    import MeCab

    wakati = MeCab.Tagger(f"-Owakati -d {konlpy_mecab().dicpath}").parse

    def surfaces(line: str) -> list[str]:
        return [s for s in wakati(line).rstrip("\n").split(" ") if s]

    return surfaces


def mecab_parser(node_format: str) -> Callable[[str], str]:
    """MeCab's parse on konlpy's Mecab dictionary, printing every morpheme (known or not) as
    `node_format` and nothing at the end of a line."""
    import MeCab

    formats = f"--node-format={node_format} --unk-format={node_format} --eos-format="
    return MeCab.Tagger(f"-d {konlpy_mecab().dicpath} {formats}").parse


def _unmark_word_starts(out: str) -> str:
    """Drop the DELIMITERs that a printed morpheme carries at the line's start or after an ASCII
    space: SentencePiece starts a word there anyway."""
    out = out.replace(" " + DELIMITER, " ")
    return out[1:] if out.startswith(DELIMITER) else out


def mecab_segmenter() -> Callable[[str], str]:
    """segment_line for MeCab with the marking done inside MeCab: every morpheme is printed as
    its leading whitespace, DELIMITER, its surface; the DELIMITERs at the line's start or after an
    ASCII space are then removed. Same result as segment_line on mecab_surfaces (a test pins it
    on the shared corpora), without the Python alignment, which was a fifth of the time. A line
    the output does not reproduce exactly (trailing whitespace, which MeCab drops, or a DELIMITER
    already in the text) goes through segment_line instead.
    """
    parse = mecab_parser(f"%pS{DELIMITER}%m")
    surfaces = mecab_surfaces()

    def segment(line: str) -> str:
        out = _unmark_word_starts(parse(line))
        if DELIMITER in line or out.replace(DELIMITER, "") != line:
            return segment_line(line, surfaces)
        return out

    return segment


def fuses(previous_tag: str, tag: str) -> bool:
    """Whether a morpheme tagged `tag` joins the one before it (same eojeol) in "lexical" mode.

    It does when it is functional (particle, ending, suffix, copula) and follows a predicate
    (V*), another functional morpheme, a bound noun or a pronoun; a verb-forming suffix (XSV,
    XSA) also joins a noun. So a content noun keeps its boundary before a particle (정부|가), the
    thing morpheme-aware tokenizers exist for, while a verb keeps its endings (있다, 하였다).
    Inflected nodes ("VV+EP" for 했) count by their first tag.
    """
    tag, previous = tag.split("+")[0], previous_tag.split("+")[0]
    if not tag.startswith(FUNCTIONAL_PREFIXES):
        return False
    return (
        tag in VERB_SUFFIXES
        or previous.startswith("V")
        or previous.startswith(FUNCTIONAL_PREFIXES)
        or previous in HOST_TAGS
    )


def lexical_units(nodes: Sequence[tuple[str, str, str]]) -> list[str]:
    """Surfaces of (leading whitespace, surface, tag) nodes, each joined to the one before it
    when fuses() says so and no whitespace separates them."""
    units: list[str] = []
    previous_tag = ""
    for space, surface, tag in nodes:
        if units and not space and fuses(previous_tag, tag):
            units[-1] += surface
        else:
            units.append(surface)
        previous_tag = tag
    return units


def mecab_nodes() -> Callable[[str], list[tuple[str, str, str]] | None]:
    """(leading whitespace, surface, tag) of MeCab's morphemes for a line, None when the line
    holds one of the separators the output uses (U+001C to U+001F)."""
    parse = mecab_parser("%pS\x1f%m\x1f%f[0]\x1e")

    def nodes(line: str) -> list[tuple[str, str, str]] | None:
        if _SEPARATORS.search(line):
            return None
        return [tuple(node.split("\x1f")) for node in parse(line).split("\x1e") if node]  # type: ignore[misc]

    return nodes


def mecab_lexical_segmenter() -> Callable[[str], str]:
    """segment_line in "lexical" mode, with the marking done by MeCab and three regexes.

    MeCab prints every morpheme as: leading whitespace, its tag, its surface, its tag again. A
    regex deletes the tags of every boundary where fuses() joins the two morphemes; the other
    boundaries become DELIMITERs, and the rest is as in mecab_segmenter. The result equals
    segment_line on lexical_units of mecab_nodes (a test pins it on the shared corpora), which
    is the fallback for lines the output does not reproduce exactly.
    """
    parse = mecab_parser("%pS\x1f%f[0]\x1e%m\x1d%f[0]\x1c")
    nodes, surfaces = mecab_nodes(), mecab_surfaces()

    def reference(line: str) -> str:
        tagged = nodes(line)
        if tagged is None:
            return segment_line(line, surfaces)
        units = lexical_units(tagged)
        return segment_line(line, lambda _: units)

    def segment(line: str) -> str:
        if _SEPARATORS.search(line):
            return reference(line)
        out = _FUSED.sub("", parse(line))
        out = _unmark_word_starts(_BOUNDARY.sub(DELIMITER, _TAG_AFTER.sub("", out)))
        if out.replace(DELIMITER, "") != line:
            return reference(line)
        return out

    return segment


def konlpy_surfaces(name: str) -> Callable[[str], list[str]]:
    """Morphemes from one of konlpy's Java taggers (they may restore base forms; see segment_line)."""
    require_module("konlpy", extra="data")
    require_module("jpype", extra="data", pip_name="JPype1")
    import konlpy.tag

    try:
        tagger = getattr(konlpy.tag, KONLPY_CLASSES[name])()
    except Exception as exc:  # JVM missing or failing to start
        raise RuntimeError(f"konlpy's {KONLPY_CLASSES[name]} could not start (it needs Java): {exc}") from exc
    return tagger.morphs


def make_surfaces(analyzer: str) -> Callable[[str], list[str]]:
    """The morpheme function of `analyzer` (mecab, komoran, okt, hannanum or kkma)."""
    if analyzer == "mecab":
        return mecab_surfaces()
    if analyzer in KONLPY_CLASSES:
        return konlpy_surfaces(analyzer)
    raise ValueError(f"unknown analyzer {analyzer!r}; choose mecab, {', '.join(KONLPY_CLASSES)}")


def segment_line(line: str, surfaces: Callable[[str], list[str]]) -> str:
    """`line` with DELIMITER between adjacent morphemes of the same eojeol; otherwise unchanged.

    Morphemes are located in the line in order; an eojeol is what SentencePiece calls a word (text
    between ASCII spaces). A morpheme that is not found within the current eojeol
    (Java taggers return base forms such as 하+였 for 했) adds no boundary: the line is never
    altered, only marked.
    """
    out: list[str] = []
    pos = 0
    for surface in surfaces(line):
        if not surface:
            continue
        space = line.find(" ", pos)
        eojeol_end = len(line) if space < 0 else space
        if pos == eojeol_end:  # at a space: the next morpheme starts a new eojeol
            found = line.find(surface, pos)
        else:
            found = line.find(surface, pos, eojeol_end)
        if found < 0:
            continue
        out.append(line[pos:found])
        # SentencePiece starts a word only after an ASCII space; anything else (the previous
        # morpheme, or whitespace MeCab skipped such as U+00A0) must not merge with this morpheme.
        if found > 0 and line[found - 1] != " ":
            out.append(DELIMITER)
        out.append(surface)
        pos = found + len(surface)
    out.append(line[pos:])
    return "".join(out)


def make_segmenter(analyzer: str, boundaries: Boundaries = "morpheme") -> Callable[[str], str]:
    """segment_line for `analyzer`, MeCab's through mecab_segmenter (or mecab_lexical_segmenter)."""
    if boundaries == "lexical":
        if analyzer != "mecab":
            raise ValueError(f"lexical boundaries read MeCab's part-of-speech tags; analyzer is {analyzer!r}")
        return mecab_lexical_segmenter()
    if analyzer == "mecab":
        return mecab_segmenter()
    surfaces = make_surfaces(analyzer)
    return lambda line: segment_line(line, surfaces)


def _init_worker(analyzer: str, boundaries: Boundaries) -> None:
    global _SEGMENT
    _SEGMENT = make_segmenter(analyzer, boundaries)


def _segment_chunk(lines: Sequence[str]) -> list[str]:
    assert _SEGMENT is not None
    return [_SEGMENT(line) if line.strip() else line for line in lines]


def _segment_word_chunk(words: Sequence[str]) -> list[str]:
    assert _SEGMENT is not None
    return segment_words(words, _SEGMENT)


def segment_words(words: Sequence[str], segment: Callable[[str], str]) -> list[str]:
    """`segment` of each eojeol (no ASCII space inside) with FRAME on either side: MeCab reads
    "또 w1 또 w2 또 ... 또", WORDS_PER_PARSE words a call. MeCab takes the frame for the same
    adverb whatever its neighbours, so its best path splits at every frame and a word's split
    depends on the word alone, not on the batch it came in. A batch whose output does not give
    back its text goes word by word (a word alone if its frames fail too)."""
    out: list[str] = []
    for i in range(0, len(words), WORDS_PER_PARSE):
        batch = words[i : i + WORDS_PER_PARSE]
        split = _split_framed(batch, segment)
        if split is None:
            split = [(_split_framed([word], segment) or [segment(word)])[0] for word in batch]
        out.extend(split)
    return out


def _split_framed(words: Sequence[str], segment: Callable[[str], str]) -> list[str] | None:
    """`segment` of "또 w1 또 ... wn 또", cut back into the words' splits; None if the output does
    not give back its text."""
    text = f"{FRAME} " + f" {FRAME} ".join(words) + f" {FRAME}"
    segmented = segment(text)
    # Segmenters only insert DELIMITERs, never next to a space: equal text means every part
    # between spaces is its word or frame.
    if segmented.replace(DELIMITER, "") != text:
        return None
    return segmented.split(" ")[1::2]


def analyzer_version(analyzer: str) -> str:
    """Versions that change the analysis: konlpy, and MeCab's binding and dictionary for mecab."""
    names = ["konlpy"] + (["mecab-python3", "python-mecab-ko-dic"] if analyzer == "mecab" else [])
    versions = []
    for name in names:
        try:
            versions.append(f"{name}={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{name}=missing")
    return f"{analyzer};" + ";".join(versions)


def segment_lines(
    lines: Sequence[str],
    analyzer: str = "mecab",
    *,
    boundaries: Boundaries = "morpheme",
    unit: Unit = "line",
    processes: int = 1,
    cache_dir: str | Path | None = None,
    progress: bool = True,
    stats: dict | None = None,
) -> list[str]:
    """Segment every line (see segment_line), in `processes` processes, cached on disk when asked.

    `boundaries`: "morpheme" marks every boundary; "lexical" (MeCab) only those fuses() keeps.
    `unit`: "line" analyses each line in full; "eojeol" analyses each distinct eojeol once
    (segment_words) and rebuilds the lines from those splits, so repeated words cost nothing;
    it keeps one split per distinct eojeol in memory, at most MEMO_WORDS of them.
    The cache key covers the text, analyzer_version(), the boundaries, the unit and this module's
    source, so a changed corpus, dictionary or segmentation rule never reuses stale boundaries.
    `stats["cached"]` tells whether the cache answered; `stats["analyzed_chars"]` counts the
    characters handed to the analyzer (frames included).
    """
    stats = {} if stats is None else stats
    stats["cached"] = False
    key = None
    if cache_dir:
        # This file's own bytes too: a change to the segmentation rules must not reuse old output.
        code = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
        head = f"{analyzer_version(analyzer)}|{boundaries}|{unit}|{code}|{len(lines)}"
        digest = hashlib.sha256(head.encode())
        for line in lines:
            digest.update(line.encode("utf-8", "surrogatepass"))
            digest.update(b"\n")
        key = Path(cache_dir) / f"{analyzer}-{boundaries}-{unit}-{digest.hexdigest()[:24]}.txt"
        if key.is_file():
            with open(key, encoding="utf-8", newline="\n") as f:  # one line each, "\n" ended
                cached = [line[:-1] for line in f]
            if len(cached) == len(lines):
                stats["cached"] = True
                return cached

    processes = processes or os.cpu_count() or 1
    if len(lines) <= CHUNK_LINES:
        processes = 1  # a few lines: starting workers would cost more than it saves
    result: list[str] = []
    # The workers start (import, dictionary load) while this process finds the distinct words.
    with _chunk_mapper(analyzer, boundaries, processes) as mapper:
        if unit == "line":
            chunks = [lines[i : i + CHUNK_LINES] for i in range(0, len(lines), CHUNK_LINES)]
            stats["analyzed_chars"] = sum(map(len, lines))
            for part in _progress(mapper(_segment_chunk, chunks), len(chunks), progress):
                result.extend(part)
        else:
            result = _segment_by_eojeol(lines, mapper, progress, stats)

    if key is not None:
        key.parent.mkdir(parents=True, exist_ok=True)
        tmp = key.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:  # streamed, not one joined string
            for line in result:
                f.write(line + "\n")
        tmp.replace(key)
    return result


def _segment_by_eojeol(lines: Sequence[str], mapper: Callable, progress: bool, stats: dict) -> list[str]:
    """segment_lines with unit="eojeol": BLOCK_LINES lines at a time, the block's words that no
    earlier block had go to the workers. Memory holds one block's tokens and one split per
    distinct word, not a token list of the whole corpus."""
    from tqdm import tqdm

    memo: dict[str, str] = {}
    result: list[str] = []
    stats["analyzed_chars"] = 0
    total = sum(map(len, lines))
    with tqdm(
        total=total, disable=not progress, desc="morpheme analysis by eojeol", unit="char", unit_scale=True
    ) as bar:
        for start in range(0, len(lines), BLOCK_LINES):
            block = lines[start : start + BLOCK_LINES]
            # One token stream for the block, "\n" standing between lines as a word of its own:
            # finding the new words and rebuilding the lines are then C-level calls.
            tokens = " \n ".join(block).split(" ")
            new = [w for w in dict.fromkeys(tokens) if w.strip() and w not in memo]
            stats["analyzed_chars"] += sum(map(len, new)) + (len(FRAME) + 1) * len(new)
            chunks = [new[i : i + CHUNK_WORDS] for i in range(0, len(new), CHUNK_WORDS)]
            block_chars, shown = sum(map(len, block)), 0
            for words, split in zip(chunks, mapper(_segment_word_chunk, chunks), strict=True):
                memo.update(zip(words, split, strict=True))
                step = block_chars * len(words) // len(new)
                bar.update(step)
                shown += step
            bar.update(block_chars - shown)
            rebuilt = " ".join(map(memo.get, tokens, tokens)).split(" \n ")
            if len(rebuilt) != len(block):  # a line holds " \n " itself: rebuild line by line
                rebuilt = [" ".join(map(memo.get, parts, parts)) for parts in (x.split(" ") for x in block)]
            result.extend(rebuilt)
            if len(memo) > MEMO_WORDS:
                memo = {w: memo[w] for w in dict.fromkeys(tokens) if w in memo}
    return result


@contextmanager
def _chunk_mapper(analyzer: str, boundaries: Boundaries, processes: int) -> Iterator[Callable]:
    """An ordered map over chunks: in this process, or in a pool of `processes` started now."""
    if processes == 1:
        _init_worker(analyzer, boundaries)
        yield map
        return
    # spawn: MeCab and the JVM are not fork-safe once loaded in the parent.
    with get_context("spawn").Pool(
        processes, initializer=_init_worker, initargs=(analyzer, boundaries)
    ) as pool:
        yield pool.imap


def _progress(iterable, total: int, enabled: bool):
    if not enabled:
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc="morpheme analysis by line", unit="chunk")


def morpheme_boundaries(segmented: str) -> set[int]:
    """Character offsets (in the unsegmented line) of the morpheme boundaries inside eojeols."""
    bounds, offset = set(), 0
    for ch in segmented:
        if ch == DELIMITER:
            bounds.add(offset)
        else:
            offset += 1
    return bounds

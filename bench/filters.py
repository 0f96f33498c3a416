"""Filter parity: each of ko-clean's Gopher/FineWeb blocks against datatrove's, same documents,
same thresholds, in one run.

    python bench/filters.py                                 # our word splitting only
    python bench/filters.py --kiwi .bench-kiwi              # and datatrove's own Korean words
    python bench/filters.py --per-source 1000 --out bench-filters

Documents: up to --per-source documents of each shared Korean corpus (reviews, comments,
Wikinews, petitions, book reviews and reports, court decisions), normalized and stripped of
boilerplate the way the clean stage does before its filters, so both sides see the text our
blocks see. Thresholds: `clean`'s defaults (params.yaml's), handed to datatrove's filters.

Pairs compared (keep/drop per document; each block run alone, not after the others):
- gopher_quality: our `length` (word count) + `gopher_quality` + `symbols` blocks against
  datatrove's GopherQualityFilter (stop words: ours, max_doc_words off: we bound characters).
- gopher_repetition: ours against GopherRepetitionFilter.
- fineweb_quality: ours against FineWebQualityFilter (stop_chars: our line endings).

Word splitting, the one thing that may differ: `eojeol` gives datatrove our whitespace words
(a WordTokenizer returning str.split()), so a difference is in a rule's implementation; `kiwi`
gives it its own Korean tokenizer (kiwipiepy 0.21 with the sbg model: see bench/clean.py for the
side folder), so the difference is what word splitting does. Each pair is also run with the two
Korean choices neutralised on both sides (stop words counted on eojeol suffixes, Korean bullet
characters), so the implementation is compared apart from them.

Prints agreement per block and the reason pairs of the documents where the two differ; --out
writes those documents (JSONL) and the JSON summary. Record in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from data_prep.config import CleanConfig  # noqa: E402
from data_prep.filter_parity import (  # noqa: E402
    BLOCKS,
    EojeolWords,
    datatrove_block,
    our_block,
    without_korean_choices,
)
from data_prep.filters import DocStats  # noqa: E402
from data_prep.normalize import NormalizeOptions, normalize_text, remove_boilerplate  # noqa: E402

SHARED = Path(os.environ.get("KO_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def corpus_documents(per_source: int) -> list[tuple[str, str]]:
    """(source, raw text) pairs: the first `per_source` non-empty documents of each corpus."""
    c = SHARED / "corpus"
    sources: dict[str, list[str]] = {}
    reviews = []
    for path in sorted((c / "nsmc_raw").glob("*.json")):
        reviews += [r["review"] for r in json.loads(path.read_text(encoding="utf-8"))]
        if len(reviews) >= per_source:
            break
    sources["nsmc"] = reviews
    sources["kocohub"] = (c / "kocohub_comments/unlabeled_unlabeled_comments_5.txt").read_text().splitlines()
    sources["wikinews"] = (c / "boddari_wikinews/wikinews.txt").read_text().split("\n\n")
    with open(c / "petitions_2019/petitions_2019-08.jsonl", encoding="utf-8") as f:
        sources["petitions"] = [json.loads(line)["content"] for line in f]
    more = []
    for path in sorted((c / "boddari_more").glob("*.txt")):
        more += path.read_text(encoding="utf-8").split("\n")
    with open(c / "boddari_more/boddari_csv_book_review02.csv", encoding="utf-8", newline="") as f:
        more += [" ".join(row) for row in csv.reader(f)]
    sources["boddari_more"] = more
    rulings = []
    with gzip.open(c / "ko_precedents/ko_supreme_court_precedents_sample.jsonl.gz", "rt") as f:
        for line in f:
            rulings.append(json.loads(line)["text"])
            if len(rulings) >= per_source:
                break
    sources["ko_precedents"] = rulings
    docs = []
    for name, texts in sources.items():
        docs += [(name, t) for t in texts if t.strip()][:per_source]
    return docs


def prepared(text: str, config: CleanConfig) -> str:
    """The text as the clean stage hands it to its filters."""
    text = normalize_text(
        text, NormalizeOptions(config.max_char_repeat, config.strip_html, config.site_mask_token)
    )
    return remove_boilerplate(text)[0] if config.remove_boilerplate else text


def memoized(inner):
    """The tokenizer's words computed once per text: the six comparisons share them."""
    from datatrove.utils.word_tokenizers import WordTokenizer

    class Memo(WordTokenizer):
        def __init__(self):
            super().__init__()
            self.cache: dict[str, list[str]] = {}

        def word_tokenize(self, text: str) -> list[str]:
            if text not in self.cache:
                self.cache[text] = inner.word_tokenize(text)
            return self.cache[text]

        def sent_tokenize(self, text: str) -> list[str]:
            return inner.sent_tokenize(text)

        def span_tokenize(self, text: str) -> list[tuple[int, int]]:
            return inner.span_tokenize(text)

    return Memo()


def compare(docs, block, config, words, name) -> tuple[dict, list[dict]]:
    mine, other = our_block(config, block), datatrove_block(config, block, words)
    pairs: Counter[str] = Counter()
    differing = []
    agree = agree_long = long = 0
    t = time.perf_counter()
    for i, (source, text) in enumerate(tqdm(docs, desc=f"{block} {name}", unit="doc", mininterval=10)):
        a, b = mine(text), other(text)
        # Documents with min_words words: the only ones our later blocks see in the stage.
        is_long = len(DocStats(text).non_symbol_words) >= config.min_words
        long += is_long
        if (a is None) == (b is None):
            agree += 1
            agree_long += is_long
            continue
        pairs[f"{a or 'keep'} / {b or 'keep'}"] += 1
        differing.append({"i": i, "source": source, "ours": a, "datatrove": b, "text": text[:2000]})
    summary = {
        "block": block, "words": name, "documents": len(docs), "agreement": round(agree / len(docs), 4),
        "documents_min_words": long, "agreement_min_words": round(agree_long / max(long, 1), 4),
        "differ": len(differing), "dropped_ours": sum(mine(t) is not None for _, t in docs),
        "reason_pairs": dict(pairs.most_common()), "seconds": round(time.perf_counter() - t, 1),
    }  # fmt: skip
    return summary, differing


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--per-source", type=int, default=2000, help="documents per shared corpus")
    parser.add_argument(
        "--kiwi", help="folder with kiwipiepy + kiwipiepy_model 0.21 (datatrove's Korean words)"
    )
    parser.add_argument("--out", type=Path, help="folder for the summary and the differing documents")
    args = parser.parse_args()
    config = CleanConfig()
    docs = [(s, prepared(t, config)) for s, t in corpus_documents(args.per_source)]
    docs = [(s, t) for s, t in docs if t]
    print(f"{len(docs)} documents: {dict(Counter(s for s, _ in docs))}")
    splittings = [("eojeol", EojeolWords())]
    if args.kiwi:
        sys.path.insert(0, str(Path(args.kiwi).resolve()))
        from datatrove.utils.word_tokenizers import KiwiTokenizer

        splittings.append(("kiwi", memoized(KiwiTokenizer())))
    results, differing = [], {}
    variants = (("as configured", config), ("Korean choices off", without_korean_choices(config)))
    for name, words in splittings:
        for variant, cfg in variants:
            for block in BLOCKS:
                summary, diff = compare(docs, block, cfg, words, name)
                summary["variant"] = variant
                results.append(summary)
                differing[f"{block}.{name}.{variant.replace(' ', '_')}"] = diff
                top = "; ".join(f"{k}: {v}" for k, v in list(summary["reason_pairs"].items())[:4])
                print(
                    f"{block:18s} {name:6s} {variant:18s} agreement {summary['agreement']:.4f} "
                    f"(>= min_words: {summary['agreement_min_words']:.4f}) "
                    f"({summary['differ']} differ; ours drop {summary['dropped_ours']}) {top}"
                )
    out = {"bench": "filters", "documents": len(docs), "results": results}
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "summary.json").write_text(
            json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8"
        )
        for key, rows in differing.items():
            with open(args.out / f"differ.{key}.jsonl", "w", encoding="utf-8") as f:
                f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()

"""Bench: vocabulary extension of the real Llama-2 tokenizer on ../shared corpora.

Part 1, fertility. Train on the informal and mixed corpora (NSMC reviews, news comments,
petitions, 4/5 of Wikinews articles); measure on held-out formal text: the other 1/5 of Wikinews
articles plus konlpy's constitution and bills (legal and government text). Rows: Llama-2 as is,
the Polyglot-Ko anchor, and extensions of Llama-2 by ko-vocab (default, lexical boundaries and
ablations) with the same number of added pieces; then each kind of boundary (morpheme, lexical,
none) at the --target-added budget.

Part 2, segmentation throughput (chars/s) per analyzer and process count, against konlpy's own
`Mecab.pos` call as the anchor.

Part 4, byte-level bases (only when asked, issue 22): Llama-3 and Qwen2 extended by ko-vocab
beside Llama-2, trained on the same shared corpora plus the Supreme Court rulings
(corpus/ko_precedents, 57M characters), at the same added-token budgets (--budgets, default 16k
and 32k), measured on the same held-out formal text as part 1 with Polyglot-Ko as the anchor;
each row with its proofs (English and code unchanged, HF = tiktoken or SentencePiece,
reachability of the added tokens).

Part 3, scale (only when asked): `ko-vocab` as a user runs it, with the vocab section of the
Llama-2-7B recipe (recipes/llama2-7b-ko.yaml, or --params; what --set overrides aside), on a
--gb corpus of JSONL built from all shared Korean corpora (documents repeat, with distinct ids),
base Llama-2; wall time and peak RSS of its process tree (target: at most 4 GB), and how many
lines the seeded sample kept.

    python bench/vocab.py [--added 14336] [--target-added 16000] [--skip-java]
                          [--part fertility|segmentation]
    python bench/vocab.py --part scale [--gb 1.0] [--workdir DIR] [--params FILE]
                          [--set vocab.KEY=VALUE ...]
    python bench/vocab.py --part byte-level [--budgets 16000 32000] [--workdir DIR]
                          [--bases Llama-3 Qwen2 Llama-2] [--boundaries morpheme|lexical|none]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("KO_SHARED_DATA", REPO.parent / "shared" / "data"))


def load_corpora() -> tuple[list[str], list[str]]:
    """(training documents, held-out formal lines)."""
    train, by_source = load_sources()
    return train, [line for lines in by_source.values() for line in lines]


def write_training(workdir: Path, train: list[str], heldout: list[str]) -> Path:
    """The training documents as JSONL (ids train-N) for ko-vocab; says how much there is of each."""
    train_file = workdir / "train.jsonl"
    with open(train_file, "w", encoding="utf-8") as f:
        for i, text in enumerate(train):
            f.write(json.dumps({"id": f"train-{i}", "text": text}, ensure_ascii=False) + "\n")
    print(
        f"training documents: {len(train):,} ({sum(map(len, train)):,} chars); held-out formal lines: "
        f"{len(heldout):,} ({sum(map(len, heldout)):,} chars)",
        flush=True,
    )
    return train_file


def load_sources() -> tuple[list[str], dict[str, list[str]]]:
    """(training documents, held-out formal lines by source: news, law)."""
    from data_prep.demo_corpus import konlpy_documents

    corpus = SHARED / "corpus"
    train: list[str] = []
    for path in sorted((corpus / "nsmc_raw").glob("*.json")):
        train += [
            row["review"] for row in json.loads(path.read_text(encoding="utf-8")) if row["review"].strip()
        ]
    comments = corpus / "kocohub_comments" / "unlabeled_unlabeled_comments_5.txt"
    train += [line for line in comments.read_text(encoding="utf-8").splitlines() if line.strip()]
    for path in sorted((corpus / "petitions_2019").glob("*")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                train.append(row["title"] + "\n" + row["content"])
    articles = (corpus / "boddari_wikinews" / "wikinews.txt").read_text(encoding="utf-8").split("\n\n")
    articles = [a for a in articles if a.strip()]
    heldout_docs = [a for i, a in enumerate(articles) if i % 5 == 0]
    train += [a for i, a in enumerate(articles) if i % 5 != 0]
    law_docs = [d.text for d in konlpy_documents()]

    def lines(docs: list[str]) -> list[str]:
        return [line.strip() for doc in docs for line in doc.split("\n") if line.strip()]

    return train, {"news": lines(heldout_docs), "law": lines(law_docs)}


def fertility(count_tokens, lines: list[str]) -> tuple[float, float]:
    tokens = sum(count_tokens(line) for line in lines)
    return tokens / sum(map(len, lines)), tokens / sum(len(line.split()) for line in lines)


def bench_fertility(added: int, target_added: int, workdir: Path) -> list[dict]:
    import sentencepiece as spm
    from tokenizers import Tokenizer

    from tokenizer.config import VocabConfig
    from tokenizer.morphemes import segment_lines
    from tokenizer.vocab import extend_vocab, measure

    llama2 = SHARED / "tokenizers" / "llama2" / "tokenizer.model"
    train, by_source = load_sources()
    heldout = [line for lines in by_source.values() for line in lines]
    train_file = write_training(workdir, train, heldout)
    seg_heldout = segment_lines(heldout, progress=False)

    rows = []

    def fertility_row(label: str, count_tokens) -> dict:
        per_char, per_eojeol = fertility(count_tokens, heldout)
        row = {"tokenizer": label, "tokens/char": per_char, "tokens/eojeol": per_eojeol}
        for source, lines in by_source.items():
            row[f"{source} tokens/char"] = fertility(count_tokens, lines)[0]
        return row

    base_sp = spm.SentencePieceProcessor(model_file=str(llama2))
    rows.append(fertility_row("Llama-2 (32,000)", lambda s: len(base_sp.encode(s))))
    polyglot = Tokenizer.from_file(str(SHARED / "tokenizers" / "polyglot-ko" / "tokenizer.json"))
    rows.append(
        fertility_row(
            "Polyglot-Ko anchor (30,003)", lambda s: len(polyglot.encode(s, add_special_tokens=False).ids)
        )
    )

    default = VocabConfig(
        target_vocab_size=32000 + added,
        heldout_fraction=0.01,
        cache_dir=str(workdir / "cache"),
    )
    at_target = replace(default, target_vocab_size=32000 + target_added)
    variants = {
        "ko-vocab default (morpheme-bounded, syllables first, by usage)": default,
        "boundaries=lexical (content words' boundaries only)": replace(default, boundaries="lexical"),
        "ablation: every line analyzed in full (analysis_unit=line)": replace(default, analysis_unit="line"),
        "ablation: pieces in model order, not by usage": replace(default, selection="model_order"),
        "ablation: syllables not first": replace(default, syllables_first=False),
        "ablation: unconstrained BPE (boundaries=none)": replace(default, boundaries="none"),
        "ablation: score 0 for new pieces (Chinese-LLaMA)": replace(default, score_mode="zero"),
    }
    if target_added != added:
        variants |= {
            f"{target_added:,} added, boundaries={mode}": replace(at_target, boundaries=mode)
            for mode in ("morpheme", "lexical", "none")
        }
        variants[f"{target_added:,} added, boundaries=lexical, analysis_unit=line"] = replace(
            at_target, boundaries="lexical", analysis_unit="line"
        )
        for size in (32000, 48000, 80000):
            variants[f"{target_added:,} added, boundaries=lexical, train_vocab_size={size:,}"] = replace(
                at_target, boundaries="lexical", train_vocab_size=size
            )
    for label, config in variants.items():
        out = workdir / "tokenizers" / str(len(rows))
        start = time.perf_counter()
        report = extend_vocab(config, [train_file], str(llama2), out, progress=False)
        seconds = time.perf_counter() - start
        proofs = measure(out / "tokenizer.model", llama2, out, heldout, seg_heldout, {})
        extended = spm.SentencePieceProcessor(model_file=str(out / "tokenizer.model"))
        name = f"{label} ({report.vocab_size:,})"
        rows.append(
            {
                **fertility_row(name, lambda s, sp=extended: len(sp.encode(s))),
                "tokens/char": proofs["tokens_per_char"]["extended"],
                "tokens/eojeol": proofs["tokens_per_eojeol"]["extended"],
                "morpheme precision": proofs["morpheme_boundary_precision"],
                "HF parity mismatches": proofs["parity_mismatched_lines"],
                "English changed": proofs["english_changed_lines"],
                "added": report.added_pieces,
                "seconds": round(seconds, 1),
            }
        )
    return rows


def precedent_texts() -> list[str]:
    """The texts of the shared Supreme Court rulings (corpus/ko_precedents)."""
    import gzip

    path = SHARED / "corpus/ko_precedents/ko_supreme_court_precedents_sample.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [row["text"] for row in map(json.loads, f) if row.get("text")]


def bench_byte_level(
    budgets: list[int], workdir: Path, names: list[str], boundaries: str = "morpheme"
) -> list[dict]:
    """Part 4: Llama-2, Llama-3 and Qwen2 (`names`) extended on the same text at the same budgets,
    with vocab.boundaries = `boundaries`."""
    import sentencepiece as spm
    from tokenizers import Tokenizer

    from tokenizer.byte_level import load_byte_level, save_byte_level
    from tokenizer.config import VocabConfig
    from tokenizer.vocab import extend_vocab

    train, by_source = load_sources()
    train += precedent_texts()
    heldout = [line for lines in by_source.values() for line in lines]
    # The held-out formal lines are measured by every row: ko-vocab's own held-out share is
    # 1% of the training documents, its metrics report the proofs on it.
    train_file = write_training(workdir, train, heldout)
    bases = {"Llama-2": SHARED / "tokenizers/llama2/tokenizer.model"}
    for name, source, flavour in (
        ("Llama-3", SHARED / "tokenizers/llama3/tokenizer.model", "3.1"),
        ("Qwen2", SHARED / "tokenizers/qwen2", "qwen2"),
    ):
        bases[name] = save_byte_level(load_byte_level(source, flavour), workdir / name, model_max_length=8192)
    english = [str(SHARED / "english/gutenberg/en_gutenberg_pd_sample.jsonl.gz")]

    def row(label: str, count_tokens, extra: dict | None = None) -> dict:
        per_char, per_eojeol = fertility(count_tokens, heldout)
        out = {"tokenizer": label, "tokens/char": per_char, "tokens/eojeol": per_eojeol}
        for source, lines in by_source.items():
            out[f"{source} tokens/char"] = fertility(count_tokens, lines)[0]
        return out | (extra or {})

    def hf_counter(path: Path):
        tok = Tokenizer.from_file(str(path / "tokenizer.json" if path.is_dir() else path))
        return lambda s: len(tok.encode(s, add_special_tokens=False).ids)

    llama2 = spm.SentencePieceProcessor(model_file=str(bases["Llama-2"]))
    rows = [row("Llama-2 (32,000)", lambda s: len(llama2.encode(s)))]
    rows.append(row("Polyglot-Ko anchor (30,003)", hf_counter(SHARED / "tokenizers/polyglot-ko")))
    rows.append(row("Llama-3 (128,256)", hf_counter(bases["Llama-3"])))
    rows.append(row("Qwen2 (151,646)", hf_counter(bases["Qwen2"])))
    print_table(rows)
    from tokenizer.probes import read_english

    english_lines = read_english(english)
    for budget in budgets:
        for name in names:
            size = {"Llama-2": 32000, "Llama-3": 128256, "Qwen2": 151646}[name]
            config = VocabConfig(
                target_vocab_size=size + budget,
                heldout_fraction=0.01,
                cache_dir=str(workdir / "cache"),
                boundaries=boundaries,  # type: ignore[arg-type]
            )
            out = workdir / "out" / f"{name}-{budget}"
            start = time.perf_counter()
            report = extend_vocab(
                config, [train_file], str(bases[name]), out, progress=False, english=english_lines
            )
            seconds = time.perf_counter() - start
            if name == "Llama-2":
                extended = spm.SentencePieceProcessor(model_file=str(out / "tokenizer.model"))
                count = lambda s, sp=extended: len(sp.encode(s))  # noqa: E731
                proofs = {"HF parity mismatches": report.parity_mismatched_lines}
            else:
                count = hf_counter(out)
                proofs = {
                    "HF/tiktoken mismatches": report.parity_mismatched_lines,
                    "reachability": report.reachability,
                    "dropped unreachable": report.dropped_unreachable,
                }
            extra = {
                "added": report.added_pieces,
                "morpheme precision (ko-vocab held-out)": report.morpheme_boundary_precision,
                "English+code changed": report.english_changed_lines,
                **proofs,
                "round-trip failures": report.roundtrip_failures,
                "seconds": round(seconds, 1),
            }
            label = f"{name} + {budget:,}" + (
                f", boundaries={boundaries}" if boundaries != "morpheme" else ""
            )
            rows.append(row(f"{label} ({report.vocab_size:,})", count, extra))
            print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
    return rows


def bench_segmentation(skip_java: bool) -> list[dict]:
    from tokenizer.morphemes import (
        konlpy_mecab,
        make_segmenter,
        make_surfaces,
        mecab_segmenter,
        mecab_surfaces,
        segment_line,
        segment_lines,
    )

    train, _ = load_corpora()
    lines = [line for doc in train for line in doc.split("\n") if line.strip()]
    sample = lines[:20000]
    chars = sum(map(len, sample))
    rows = []

    pos = konlpy_mecab().pos
    start = time.perf_counter()
    for line in sample:
        pos(line)
    anchor = chars / (time.perf_counter() - start)
    rows.append({"analyzer": "konlpy Mecab.pos (anchor)", "processes": 1, "chars/s": anchor})

    def per_line(label: str, segment, text: list[str] = sample) -> None:
        start = time.perf_counter()
        for line in text:
            segment(line)
        seconds = time.perf_counter() - start
        rows.append({"analyzer": label, "processes": 1, "chars/s": sum(map(len, text)) / seconds})

    surfaces = mecab_surfaces()
    per_line("mecab, segment_line", lambda line: segment_line(line, surfaces))
    per_line("mecab, mecab_segmenter (MeCab prints the marks)", mecab_segmenter())
    per_line(
        "mecab, boundaries=lexical (MeCab prints tags, regexes mark)", make_segmenter("mecab", "lexical")
    )

    # The corpus once, start-up of the worker processes included, per boundaries, unit and
    # process count; lines also three times over (closer to the steady state of a large corpus;
    # not for eojeols, which would find every word of the repeats already split).
    outputs: dict[tuple[str, str], list[str]] = {}
    for boundaries, unit, processes, repeat in (
        *((b, u, p, 1) for b in ("morpheme", "lexical") for u in ("line", "eojeol") for p in (1, 2)),
        ("morpheme", "line", 2, 3),
    ):
        text = lines * repeat
        text_chars = sum(map(len, text))
        stats: dict = {}
        start = time.perf_counter()
        out = segment_lines(
            text, "mecab", boundaries=boundaries, unit=unit, processes=processes, progress=False, stats=stats
        )
        rows.append(
            {
                "analyzer": f"mecab, boundaries={boundaries}, unit={unit} ({text_chars:,} chars)",
                "processes": processes,
                "chars/s": text_chars / (time.perf_counter() - start),
                "chars analyzed": stats["analyzed_chars"] / text_chars,
            }
        )
        if repeat == 1:
            outputs[boundaries, unit] = out
    for boundaries in ("morpheme", "lexical"):
        occurrences = differ = 0
        for in_line, alone in zip(outputs[boundaries, "line"], outputs[boundaries, "eojeol"], strict=True):
            words = in_line.split(" ")
            occurrences += sum(1 for word in words if word.strip())
            if in_line != alone:
                differ += sum(a != b for a, b in zip(words, alone.split(" "), strict=True))
        print(
            f"boundaries={boundaries}: {differ:,} of {occurrences:,} eojeol occurrences "
            f"({differ / occurrences:.2%}) split otherwise by unit=eojeol than by unit=line"
        )
    if not skip_java:
        small = lines[:300]
        for name in ("komoran", "okt", "hannanum", "kkma"):
            surfaces = make_surfaces(name)
            surfaces(small[0])  # JVM and model warm-up outside the timing
            per_line(f"{name}, segment_line", lambda line, s=surfaces: segment_line(line, s), small)
    for row in rows:
        row["ratio to anchor"] = row["chars/s"] / anchor
    return rows


def print_table(rows: list[dict]) -> None:
    keys = list(dict.fromkeys(k for row in rows for k in row))
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for row in rows:
        cells = []
        for key in keys:
            value = row.get(key, "")
            cells.append(
                f"{value:,.0f}"
                if key == "chars/s"
                else f"{value:.3f}"
                if isinstance(value, float)
                else str(value)
            )
        print("| " + " | ".join(cells) + " |")


def scale_corpus(folder: Path, gigabytes: float) -> Path:
    """About GIGABYTES of JSONL: every shared Korean corpus's documents, over and over."""
    import gzip

    docs = list(load_sources()[0])
    with gzip.open(SHARED / "corpus/ko_precedents/ko_supreme_court_precedents_sample.jsonl.gz", "rt") as f:
        docs += [row["text"] for row in map(json.loads, f) if row.get("text")]
    path, written, n = folder / "corpus.jsonl", 0, 0
    with open(path, "w", encoding="utf-8") as out:
        while written < gigabytes * 1e9:
            line = json.dumps({"id": f"d{n}", "text": docs[n % len(docs)]}, ensure_ascii=False) + "\n"
            out.write(line)
            written += len(line.encode("utf-8"))
            n += 1
    return path


def bench_scale(gigabytes: float, workdir: str | None, params: str, overrides: list[str]) -> dict:
    """Run ko-vocab on a scale_corpus; sample its process tree's RSS every 0.2 s."""
    import subprocess

    import psutil

    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        tmp = Path(tmp)
        corpus = scale_corpus(tmp, gigabytes)
        size = corpus.stat().st_size
        base = SHARED / "tokenizers/llama2/tokenizer.model"
        args = [sys.executable, "-m", "tokenizer.vocab", "--input", str(corpus), "--base", str(base)]
        args += ["--output", str(tmp / "tok"), "--params", str(Path(params).resolve()), "--quiet"]
        args += ["--set", f"vocab.cache_dir={tmp / 'cache'}"] + [x for o in overrides for x in ("--set", o)]
        started = time.perf_counter()
        proc = subprocess.Popen(args, cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)))
        top, peak = psutil.Process(proc.pid), 0
        while proc.poll() is None:
            try:
                peak = max(peak, sum(p.memory_info().rss for p in [top, *top.children(recursive=True)]))
            except psutil.Error:
                pass
            time.sleep(0.2)
        seconds = time.perf_counter() - started
        if proc.returncode:
            raise SystemExit(f"ko-vocab failed with status {proc.returncode}")
        metrics = json.loads((tmp / "tok" / "metrics.json").read_text())
    result = {
        "bench": "vocab_scale",
        "gb": round(size / 1e9, 3),
        "params": params,
        "overrides": overrides,
        "wall_s": round(seconds, 1),
        "peak_rss_tree_gb": round(peak / 1e9, 3),
        "target_peak_gb": 4.0,
        "train_lines": metrics["train_lines"],
        "train_characters": metrics["train_characters"],
        "corpus_train_characters": metrics["corpus_train_characters"],
        "corpus_train_lines": metrics["corpus_train_lines"],
        "heldout_lines": metrics["heldout_lines"],
        "corpus_heldout_lines": metrics["corpus_heldout_lines"],
        "timings": metrics["timings"],
        "tokens_per_char": metrics["tokens_per_char"],
    }
    print(json.dumps(result))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--added", type=int, default=14336, help="pieces added to Llama-2 (default: Llama-2-Ko's)"
    )
    parser.add_argument(
        "--target-added",
        type=int,
        default=16000,
        help="also measure each kind of boundary at this budget (default: the issue's 16k ceiling)",
    )
    parser.add_argument("--skip-java", action="store_true", help="skip the Java taggers in part 2")
    parser.add_argument(
        "--part", choices=["all", "fertility", "segmentation", "scale", "byte-level"], default="all"
    )
    parser.add_argument(
        "--budgets", type=int, nargs="+", default=[16000, 32000], help="byte-level: added tokens per row"
    )
    parser.add_argument(
        "--bases",
        nargs="+",
        choices=["Llama-3", "Qwen2", "Llama-2"],
        default=["Llama-3", "Qwen2", "Llama-2"],
        help="byte-level: the bases extended (all three by default)",
    )
    parser.add_argument(
        "--boundaries",
        choices=["morpheme", "lexical", "none"],
        default="morpheme",
        help="byte-level: vocab.boundaries",
    )
    parser.add_argument("--gb", type=float, default=1.0, help="scale: corpus size in GB")
    parser.add_argument("--workdir", help="scale: folder for the corpus and outputs (default: system temp)")
    parser.add_argument(
        "--params", default=str(REPO / "recipes/llama2-7b-ko.yaml"), help="scale: params file (vocab section)"
    )
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="scale: vocab.KEY=VALUE")
    args = parser.parse_args()
    if args.part == "scale":
        bench_scale(args.gb, args.workdir, args.params, args.overrides)
        return
    if args.part == "byte-level":
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
        with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
            print_table(bench_byte_level(args.budgets, Path(tmp), args.bases, args.boundaries))
        return
    if args.part in ("all", "fertility"):
        with tempfile.TemporaryDirectory() as tmp:
            print_table(bench_fertility(args.added, args.target_added, Path(tmp)))
    if args.part in ("all", "segmentation"):
        print()
        print_table(bench_segmentation(args.skip_java))


if __name__ == "__main__":
    main()

"""`ko-vocab`: extend the base tokenizer with Korean pieces learned on morpheme boundaries.

Steps: draw a seeded sample of at most vocab.max_training_lines training lines and about
vocab.max_training_chars characters (a share of documents is held out by id, and measured on);
mark MeCab morpheme boundaries on the sample (every one, or with vocab.boundaries=lexical only
those of content words; each distinct eojeol is analysed once unless vocab.analysis_unit=line);
train a Korean BPE model whose pieces never cross a marked boundary; choose new pieces (Korean,
not in the base, no digits, emails or URLs); append them to the base model without moving any
original id; export the Hugging Face files. Then prove it on the held-out text: HF ids equal
SentencePiece's, English and code keep their base ids, decode(encode(x)) == x; and measure tokens
per character.

A byte-level BPE base (Llama-3's tiktoken tokenizer.model, Qwen2's or GPT-2's vocab.json +
merges.txt, or a byte-level tokenizer.json) gets Korean BPE merges learned on top of its own over
the same morpheme-bounded sample instead (tokenizer/bbpe_vocab.py): new tokens after every
existing id, merges appended at the end, each token produced when the training text is encoded;
the HF ids are proven against tiktoken's. The vocab.* keys of the SentencePiece trainer
(train_vocab_size, character_coverage, syllables_first, selection, score_mode, add_pad_token) do
not apply to it.
"""

from __future__ import annotations

import io
import json
import logging
import re
import struct
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from pipeline.cli import StageError
from tokenizer.config import VocabConfig
from tokenizer.morphemes import DELIMITER, morpheme_boundaries, segment_lines
from tokenizer.probes import anchor_token_count, english_probe
from tokenizer.sample import sample_corpus
from tokenizer.spm import CONTROL, NORMAL, USER_DEFINED, model_pb2, read_model, write_model

log = logging.getLogger("ko.vocab")

_URLISH = re.compile(r"https?|www|\.com|\.net|\.kr|://|@", re.IGNORECASE)


@dataclass(frozen=True)
class VocabReport:
    """The vocab stage's metrics."""

    base_pieces: int
    added_pieces: int
    vocab_size: int
    target_vocab_size: int
    target_reached: bool
    train_vocab_size_used: int
    placeholders: list[str]
    rejected: dict[str, int]
    train_lines: int  # the sample trained on (at most max_training_lines)
    train_characters: int  # about max_training_chars or fewer
    heldout_lines: int  # the sample measured on (at most max_heldout_lines)
    heldout_characters: int
    corpus_train_lines: int  # before sampling
    corpus_heldout_lines: int
    corpus_train_characters: int
    sample_seed: int
    tokens_per_char: dict[str, float]
    tokens_per_eojeol: dict[str, float]
    morpheme_boundary_precision: float  # share of intra-eojeol token boundaries on MeCab boundaries
    parity_mismatched_lines: int  # HF ids != SentencePiece ids (Korean held-out + English + code)
    english_changed_lines: int  # extended ids != base ids on English and code
    english_lines: int  # English lines checked: the built-in probe and --english files
    roundtrip_failures: int  # decode(encode(x)) != x on the Korean held-out text
    segmentation_chars_per_s: float | None  # None when the cache answered or nothing was analyzed
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)


# ---------------------------------------------------------------- training and selection


def is_korean(piece: str) -> bool:
    """Has a Hangul syllable or jamo (not CJK ideographs, which the common [ㄱ-힣] class lets in)."""
    return any(
        "\uac00" <= ch <= "\ud7a3" or "\u3131" <= ch <= "\u318e" or "\u1100" <= ch <= "\u11ff" for ch in piece
    )


def rejection_reason(piece: str, base_vocab: set[str]) -> str | None:
    """Why a candidate piece may not be added, or None."""
    if piece in base_vocab:
        return "in_base"
    if not is_korean(piece):
        return "not_korean"
    if any(ch.isdigit() for ch in piece):
        return "digit"
    if _URLISH.search(piece):
        return "email_or_url"
    if any(ch in piece for ch in "<|>"):
        return "placeholder_fragment"
    if DELIMITER in piece:
        return "delimiter"
    return None


def train_korean_bpe(segmented: Sequence[str], config: VocabConfig, placeholders: Sequence[str]):
    """Train the morpheme-bounded Korean BPE model; return (ModelProto, vocab size used)."""
    import sentencepiece as spm

    size = config.train_vocab_size
    for _ in range(3):
        buffer = io.BytesIO()
        try:
            spm.SentencePieceTrainer.train(
                sentence_iterator=iter(segmented),
                model_writer=buffer,
                model_type="bpe",
                vocab_size=size,
                character_coverage=config.character_coverage,
                max_sentencepiece_length=config.max_piece_length,
                pretokenization_delimiter=DELIMITER,
                user_defined_symbols=list(placeholders),
                # As in the base: whitespace kept, digits split, same dummy prefix.
                normalization_rule_name="identity",
                remove_extra_whitespaces=False,
                add_dummy_prefix=True,
                split_digits=True,
                byte_fallback=False,
                # Every line given: they are already the stage's sample (tokenizer.sample).
                input_sentence_size=0,
                num_threads=max(1, config.processes or 2),
                minloglevel=2,
            )
        except RuntimeError as exc:
            found = re.search(r"Please set it to a value <= (\d+)", str(exc))
            if not found:
                raise
            log.warning("the corpus supports at most %s Korean pieces; training that many", found.group(1))
            size = int(found.group(1))
            continue
        proto = model_pb2().ModelProto()
        proto.ParseFromString(buffer.getvalue())
        return proto, size
    raise StageError("SentencePiece kept refusing the Korean vocabulary size")


def select_pieces(korean, base, config: VocabConfig, budget: int) -> tuple[list[str], Counter]:
    """New pieces in the order they will be appended, and counts of rejected candidates by reason.

    Single characters first (when configured), then the Korean model's merges in its order. A
    multi-character piece is taken only if it can be built from two pieces already available,
    so that every new piece is reachable by BPE merges.
    """
    base_vocab = {p.piece for p in base.pieces}
    candidates = [p.piece for p in korean.pieces if p.type == NORMAL]
    if config.syllables_first:
        candidates = [p for p in candidates if len(p) == 1] + [p for p in candidates if len(p) > 1]
    available = set(base_vocab)
    chosen: list[str] = []
    rejected: Counter = Counter()
    for piece in candidates:
        if len(chosen) >= budget:
            break
        reason = rejection_reason(piece, base_vocab)
        if reason is None and len(piece) > 1:
            if not any(piece[:k] in available and piece[k:] in available for k in range(1, len(piece))):
                reason = "unreachable"
        if reason:
            rejected[reason] += 1
            continue
        chosen.append(piece)
        available.add(piece)
    return chosen, rejected


def count_usage(candidates: Sequence[str], base, lines: Sequence[str], config: VocabConfig) -> Counter:
    """How often each candidate is a token when SentencePiece encodes the training lines (the
    stage's sample, see tokenizer.sample) with the base model plus every candidate, scored in
    their order."""
    import sentencepiece as spm

    plain = replace(config, score_mode="decreasing", add_pad_token=False)
    merged = merge_into_base(base, candidates, plain, placeholders=())
    processor = spm.SentencePieceProcessor(model_proto=merged.SerializeToString())
    offset, counts = len(base.pieces), Counter()
    for start in range(0, len(lines), 10_000):
        for ids in processor.encode(list(lines[start : start + 10_000])):
            counts.update(i for i in ids if i >= offset)
    return Counter({candidates[i - offset]: n for i, n in counts.items()})


def select_by_usage(
    candidates: Sequence[str], usage: Counter, base_vocab: set[str], budget: int, config: VocabConfig
) -> list[str]:
    """The most used candidates, each with the shorter candidates it is built from, up to `budget`;
    then unused candidates in model order if room is left. Returned in candidate order, which
    sets their scores (and so the order BPE merges them in, as in the Korean model).

    `candidates` come from select_pieces: every multi-character one has a split into two
    earlier candidates or base pieces, so the building blocks always exist, and every chosen
    piece can be built from pieces chosen before it.
    """
    rank = {piece: k for k, piece in enumerate(candidates)}
    available = set(base_vocab)
    chosen: list[str] = []

    def blocks(piece: str, memo: dict, below: int) -> list[str] | None:
        """The fewest candidates to add so that `piece` is reachable from pieces that come before
        it (ranked under `below`), ending with `piece` itself; None if there is no way."""
        if piece in available:
            return []
        if rank.get(piece, below) >= below:
            return None
        if piece not in memo:
            best = [piece] if len(piece) == 1 else None
            for k in range(1, len(piece)):
                left = blocks(piece[:k], memo, rank[piece])
                right = blocks(piece[k:], memo, rank[piece])
                if left is not None and right is not None:
                    need = list(dict.fromkeys([*left, *right, piece]))
                    if best is None or len(need) < len(best):
                        best = need
            memo[piece] = best
        return memo[piece]

    def take(pieces: list[str]) -> None:
        chosen.extend(pieces)
        available.update(pieces)

    if config.syllables_first:
        take([p for p in candidates if len(p) == 1][:budget])
    by_usage = sorted((p for p in candidates if usage[p]), key=lambda p: (-usage[p], rank[p]))
    for piece in [*by_usage, *candidates]:  # then the unused, in model order
        if len(chosen) >= budget:
            break
        need = blocks(piece, {}, len(candidates))
        if need and len(chosen) + len(need) <= budget:
            take(need)
    return sorted(chosen, key=rank.__getitem__)


def decreasing_scores(below: float, count: int) -> list[float]:
    """`count` scores, strictly decreasing after float32 rounding (the proto's type), all below `below`.

    Llama-2 scores its first piece -1e9, where float32 steps are 64 apart: the step doubles until
    every score stays distinct.
    """
    step = 1.0
    while True:
        scores = [_float32(below - step * (i + 1)) for i in range(count)]
        if all(a > b for a, b in zip([below, *scores], scores, strict=False)):
            return scores
        step *= 2


def _float32(value: float) -> float:
    return struct.unpack("f", struct.pack("f", value))[0]


def merge_into_base(base, pieces: Sequence[str], config: VocabConfig, placeholders: Sequence[str]):
    """A copy of `base` with `pieces`, placeholders and <pad> (if asked) appended; old ids untouched."""
    merged = model_pb2().ModelProto()
    merged.CopyFrom(base)
    if config.score_mode == "decreasing":
        lowest = min((p.score for p in base.pieces if p.type == NORMAL), default=0.0)
        scores = decreasing_scores(lowest, len(pieces))
    else:
        scores = [0.0] * len(pieces)
    for text, score in zip(pieces, scores, strict=True):
        new = merged.pieces.add()
        new.piece, new.type, new.score = text, NORMAL, score
    present = {p.piece for p in merged.pieces}
    for text in placeholders:
        if text not in present:
            new = merged.pieces.add()
            new.piece, new.type, new.score = text, USER_DEFINED, 0.0
    if config.add_pad_token and merged.trainer_spec.pad_id < 0:
        new = merged.pieces.add()
        new.piece, new.type, new.score = "<pad>", CONTROL, 0.0
        merged.trainer_spec.pad_id = len(merged.pieces) - 1
        merged.trainer_spec.pad_piece = "<pad>"
    merged.trainer_spec.vocab_size = len(merged.pieces)
    return merged


# ---------------------------------------------------------------- proofs and measurements


def token_boundaries(pieces, line: str) -> set[int]:
    """Character offsets in `line` where one token ends and the next begins inside an eojeol.

    `pieces` are SentencePiece's (`encode(line, out_type="proto").pieces`, with byte offsets).
    Byte-fallback tokens of one character count as one token: only character ends are boundaries.
    """
    char_at = {}
    offset = 0
    for i, ch in enumerate(line):
        char_at[offset] = i
        offset += len(ch.encode("utf-8"))
    char_at[offset] = len(line)
    bounds = set()
    for piece in pieces:
        end = char_at.get(piece.end)
        if piece.end > piece.begin and end is not None and 0 < end < len(line):
            if not line[end - 1].isspace() and not line[end].isspace():
                bounds.add(end)
    return bounds


def measure(
    merged_path: Path,
    base_path: Path,
    hf_dir: Path,
    heldout: Sequence[str],
    segmented: Sequence[str],
    anchors: dict[str, Path],
    english_extra: Sequence[str] = (),
) -> dict:
    """The proofs and fertility numbers of VocabReport; `english_extra` joins the English probe."""
    import sentencepiece as spm

    ext = spm.SentencePieceProcessor(model_file=str(merged_path))
    base = spm.SentencePieceProcessor(model_file=str(base_path))
    hf = _hf_tokenizer(hf_dir)
    english = english_probe() + list(english_extra)
    chars = sum(len(line) for line in heldout)
    eojeols = sum(len(line.split()) for line in heldout)

    counts = {"base": sum(len(base.encode(line)) for line in heldout)}
    ext_pieces = [ext.encode(line, out_type="proto").pieces for line in heldout]
    ext_ids = [[p.id for p in pieces] for pieces in ext_pieces]
    counts["extended"] = sum(map(len, ext_ids))
    for name, path in anchors.items():
        counts[name] = anchor_token_count(path, heldout)

    ext_english = [ext.encode(line) for line in english]
    parity = sum(hf.encode(line).ids != ids for line, ids in zip(heldout, ext_ids, strict=True))
    parity += sum(hf.encode(line).ids != ids for line, ids in zip(english, ext_english, strict=True))
    english_changed = sum(ids != base.encode(line) for line, ids in zip(english, ext_english, strict=True))
    roundtrip = sum(ext.decode(ids) != line for line, ids in zip(heldout, ext_ids, strict=True))

    on_morpheme = total = 0
    for line, seg, pieces in zip(heldout, segmented, ext_pieces, strict=True):
        bounds = token_boundaries(pieces, line)
        on_morpheme += len(bounds & morpheme_boundaries(seg))
        total += len(bounds)
    return {
        "tokens_per_char": {k: round(v / max(chars, 1), 4) for k, v in counts.items()},
        "tokens_per_eojeol": {k: round(v / max(eojeols, 1), 4) for k, v in counts.items()},
        "morpheme_boundary_precision": round(on_morpheme / total, 4) if total else 1.0,
        "parity_mismatched_lines": parity,
        "english_changed_lines": english_changed,
        "english_lines": len(english),
        "roundtrip_failures": roundtrip,
    }


def _hf_tokenizer(directory: Path):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(directory / "tokenizer.json"))
    tok.no_truncation()
    tok.post_processor = None  # compare content ids; BOS is checked by the export tests
    return tok


# ---------------------------------------------------------------- stage


def resolve_base(base: str) -> tuple[str, Path]:
    """The base tokenizer of a file path, a Hugging Face directory or a Hub id, and its kind:
    ("sentencepiece", its tokenizer.model) or ("byte_level", the file or directory)."""
    from tokenizer.byte_level import tokenizer_kind

    path = Path(base).expanduser()
    if path.exists():
        try:
            kind = tokenizer_kind(path)
        except ValueError as exc:
            raise StageError(
                f"--base {base}: the directory has no tokenizer.model (a SentencePiece model) nor a "
                "byte-level BPE tokenizer (tokenizer.json, vocab.json + merges.txt)"
            ) from exc
        if kind == "sentencepiece" and path.is_dir():
            return kind, path / "tokenizer.model"
        return kind, path
    from pipeline.config import HUB_ID_PATTERN

    if not HUB_ID_PATTERN.match(base):
        raise StageError(f"--base {base}: not a file, a directory or a Hub id (owner/name)")
    from huggingface_hub import hf_hub_download

    errors = []
    for name in ("tokenizer.model", "tokenizer.json"):
        try:
            found = Path(hf_hub_download(base, name))
        except Exception as exc:
            errors.append(f"{name}: {exc}")
            continue
        kind = tokenizer_kind(found)
        if kind == "byte_level" and name == "tokenizer.json":
            try:  # its special-token names, when the repository has them
                hf_hub_download(base, "tokenizer_config.json")
            except Exception:
                pass
            return kind, found.parent
        if kind == "sentencepiece":
            return kind, found
    raise StageError(f"--base {base}: could not fetch a tokenizer from the Hub ({'; '.join(errors)})")


def extend_vocab(
    config: VocabConfig,
    inputs: Sequence[str | Path],
    base: str,
    output: Path,
    anchors: dict[str, Path] | None = None,
    progress: bool = True,
    english: Sequence[str] = (),
):
    """Run the whole stage: write tokenizer.model + HF files + pieces.txt to `output`; return metrics.

    A byte-level BPE base (Llama-3, Qwen2, GPT-2) goes to tokenizer.bbpe_vocab instead, which
    returns a ByteLevelVocabReport. `english`: more English lines whose ids must not change.
    """
    from tokenizer.hf_export import export_hf_tokenizer

    start = time.perf_counter()
    timings: dict[str, float] = {}
    kind, base_path = resolve_base(base)
    if kind == "byte_level":
        from tokenizer.bbpe_vocab import extend_byte_level_vocab

        max_length = _model_max_length(str(base_path if base_path.is_dir() else base_path.parent))
        return extend_byte_level_vocab(
            config, inputs, base_path, output, anchors or {}, english, max_length, progress
        )
    base_proto = read_model(base_path)
    budget = config.target_vocab_size - len(base_proto.pieces)
    if budget <= 0:
        raise StageError(
            f"vocab.target_vocab_size = {config.target_vocab_size} is not above the base's "
            f"{len(base_proto.pieces)} pieces"
        )

    t = time.perf_counter()
    sample = sample_corpus(inputs, config, progress)
    train, heldout, placeholders = sample.train, sample.heldout, sample.placeholders
    timings["sampling"] = round(time.perf_counter() - t, 2)
    if not train:
        raise StageError("no training text in the inputs")
    log.info(
        "training on %d of %d lines, measuring on %d of %d held out; placeholders: %s",
        len(train), sample.corpus_train_lines, len(heldout), sample.corpus_heldout_lines, placeholders,
    )  # fmt: skip

    t = time.perf_counter()
    cache = config.cache_dir or None
    seg_stats: dict = {"cached": True}  # nothing analyzed when training is not morpheme-bounded
    segmented_train = train
    if config.boundaries != "none":
        segmented_train = segment_lines(
            train,
            config.analyzer,
            boundaries=config.boundaries,
            unit=config.analysis_unit,
            processes=config.processes,
            cache_dir=cache,
            progress=progress,
            stats=seg_stats,
        )
    seg_seconds = time.perf_counter() - t
    segmented_heldout = segment_lines(heldout, config.analyzer, processes=1, cache_dir=None, progress=False)
    timings["segmentation"] = round(seg_seconds, 2)

    t = time.perf_counter()
    korean, used_size = train_korean_bpe(segmented_train, config, placeholders)
    timings["training"] = round(time.perf_counter() - t, 2)
    budget -= len(placeholders) + int(config.add_pad_token)
    t = time.perf_counter()
    if config.selection == "usage":
        candidates, rejected = select_pieces(korean, base_proto, config, len(korean.pieces))
        usage = count_usage(candidates, base_proto, train, config)
        base_vocab = {p.piece for p in base_proto.pieces}
        pieces = select_by_usage(candidates, usage, base_vocab, budget, config)
    else:
        pieces, rejected = select_pieces(korean, base_proto, config, budget)
    timings["selection"] = round(time.perf_counter() - t, 2)
    merged = merge_into_base(base_proto, pieces, config, placeholders)
    if [p.piece for p in merged.pieces[: len(base_proto.pieces)]] != [p.piece for p in base_proto.pieces]:
        raise AssertionError("an original id moved")  # merge_into_base only appends; keep it so

    output.mkdir(parents=True, exist_ok=True)
    merged_path = write_model(merged, output / "tokenizer.model")
    max_length = _model_max_length(base)
    export_hf_tokenizer(merged_path, output, model_max_length=max_length)
    (output / "pieces.txt").write_text("\n".join(pieces) + "\n", encoding="utf-8")

    t = time.perf_counter()
    proofs = measure(merged_path, base_path, output, heldout, segmented_heldout, anchors or {}, english)
    timings["proofs"] = round(time.perf_counter() - t, 2)
    train_chars = sum(map(len, train))
    return VocabReport(
        base_pieces=len(base_proto.pieces),
        added_pieces=len(merged.pieces) - len(base_proto.pieces),
        vocab_size=len(merged.pieces),
        target_vocab_size=config.target_vocab_size,
        target_reached=len(merged.pieces) >= config.target_vocab_size,
        train_vocab_size_used=used_size,
        placeholders=placeholders,
        rejected=dict(sorted(rejected.items())),
        train_lines=len(train),
        train_characters=train_chars,
        heldout_lines=len(heldout),
        heldout_characters=sum(map(len, heldout)),
        corpus_train_lines=sample.corpus_train_lines,
        corpus_heldout_lines=sample.corpus_heldout_lines,
        corpus_train_characters=sample.corpus_train_chars,
        sample_seed=config.seed,
        segmentation_chars_per_s=None if seg_stats["cached"] else round(train_chars / max(seg_seconds, 1e-9)),
        seconds=round(time.perf_counter() - start, 2),
        timings=timings,
        **proofs,
    )


def _model_max_length(base: str) -> int:
    """model_max_length of the base's HF tokenizer config when there is one, else Llama-2's 4096."""
    config = Path(base) / "tokenizer_config.json"
    if config.is_file():
        return int(json.loads(config.read_text()).get("model_max_length", 4096))
    return 4096


def main(argv: list[str] | None = None) -> int:
    """Console entry point of `ko-vocab`."""
    from pipeline.cli import run_stage, stage_parser, write_metrics, write_resolved
    from tokenizer.probes import read_english

    parser = stage_parser("vocab", __doc__, VocabConfig, output_default="models/tokenizer", inputs=True)
    parser.add_argument(
        "--base",
        metavar="TOKENIZER",
        default="models/base",
        help="base tokenizer: a tokenizer.model, a Hugging Face directory or a Hub id (default: models/base)",
    )
    parser.add_argument(
        "--anchor",
        metavar="NAME=PATH",
        action="append",
        default=[],
        help="also report tokens per character of another HF tokenizer (tokenizer.json or its directory)",
    )
    parser.add_argument(
        "--english",
        metavar="PATH",
        action="append",
        default=[],
        help="English JSONL(.gz)/text files whose ids must not change, besides the built-in probe "
        "(their first 5M characters)",
    )

    def body(args, params):
        anchors = {}
        for item in args.anchor:
            name, sep, path = item.partition("=")
            if not sep or not Path(path).exists():
                raise StageError(f"--anchor {item!r}: expected NAME=PATH to an existing tokenizer")
            anchors[name] = Path(path)
        output = Path(args.output)
        english = read_english(args.english) if args.english else []
        report = extend_vocab(
            params.vocab, args.input, args.base, output, anchors, progress=not args.quiet, english=english
        )
        write_resolved(
            output,
            "vocab",
            params,
            "vocab",
            {"input": list(args.input), "base": args.base, "output": str(output)}
            | ({"english": list(args.english)} if args.english else {}),
        )
        write_metrics(Path(args.metrics or output / "metrics.json"), asdict(report))
        unreachable = getattr(report, "unreachable_tokens", 0)  # byte-level bases count it
        if report.parity_mismatched_lines or report.english_changed_lines or report.roundtrip_failures:
            log.warning(
                "proofs failed: %d parity, %d English, %d round-trip lines",
                report.parity_mismatched_lines,
                report.english_changed_lines,
                report.roundtrip_failures,
            )
        if unreachable:
            log.warning("%d added tokens never come out of encoding the training text", unreachable)
        print(
            f"{report.added_pieces} pieces added ({report.vocab_size} in all); Korean tokens/char "
            f"{report.tokens_per_char['base']} -> {report.tokens_per_char['extended']}"
        )

    return run_stage(parser, argv, body)


if __name__ == "__main__":
    raise SystemExit(main())

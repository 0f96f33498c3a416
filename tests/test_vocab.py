"""The vocab stage on real Korean text and the real Llama-2 tokenizer: bounded pieces, fixed ids, proofs."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
import sentencepiece as spm

from pipeline.cli import StageError
from tokenizer import morphemes
from tokenizer.config import VocabConfig
from tokenizer.morphemes import (
    DELIMITER,
    lexical_units,
    make_segmenter,
    mecab_nodes,
    mecab_surfaces,
    morpheme_boundaries,
    segment_line,
    segment_lines,
    segment_words,
)
from tokenizer.spm import BYTE, CONTROL, NORMAL, USER_DEFINED, read_model
from tokenizer.vocab import extend_vocab, is_korean, main, select_by_usage, train_korean_bpe

LLAMA2_PIECES = 32000


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, korean_lines) -> Path:
    """The shared Korean lines as one-document-per-line text, with PII placeholders in a few documents."""
    path = tmp_path_factory.mktemp("corpus") / "korean.txt"
    lines = list(korean_lines)
    lines += [f"문의는 <|phone|>로 하시고 메일은<|email|> 입니다. 접수 {n}번" for n in range(30)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def config() -> VocabConfig:
    """Every morpheme boundary (not the lexical default): these tests prove the mechanism itself."""
    return VocabConfig(
        boundaries="morpheme",
        target_vocab_size=LLAMA2_PIECES + 4000,
        train_vocab_size=8000,
        cache_dir="",
        heldout_fraction=0.05,
        processes=1,
    )


@pytest.fixture(scope="module")
def extended(tmp_path_factory, corpus, config, llama2_sp_model):
    output = tmp_path_factory.mktemp("vocab") / "tokenizer"
    report = extend_vocab(config, [corpus], str(llama2_sp_model), output, progress=False)
    return output, report


def test_segmentation_only_marks_the_text(korean_lines):
    surfaces = mecab_surfaces()
    for line in korean_lines:
        assert segment_line(line, surfaces).replace(DELIMITER, "") == line
    assert segment_line("대한민국은 민주공화국이다.", surfaces) == "대한민국⁣은 민주⁣공화국⁣이⁣다⁣.".replace(
        "⁣", DELIMITER
    )
    # Particles attach without a space: the boundary is inside the eojeol, never at a space.
    assert morpheme_boundaries(segment_line("서울에서 만났다", surfaces)) >= {2}


@pytest.mark.parametrize("unit", ["line", "eojeol"])
def test_parallel_and_cached_segmentation_match_the_serial_result(korean_lines, tmp_path, unit):
    lines = korean_lines[:3000]
    serial = segment_lines(lines, unit=unit, processes=1, progress=False)
    stats: dict = {}
    parallel = segment_lines(lines, unit=unit, processes=2, cache_dir=tmp_path, progress=False, stats=stats)
    assert parallel == serial and not stats["cached"]
    again = segment_lines(lines, unit=unit, processes=2, cache_dir=tmp_path, progress=False, stats=stats)
    assert again == serial and stats["cached"]
    changed = [*lines[:-1], "다른 문장"]
    changed = segment_lines(changed, unit=unit, cache_dir=tmp_path, progress=False, stats=stats)
    assert not stats["cached"] and changed[-1] == "다른 문장"
    other = "eojeol" if unit == "line" else "line"
    segment_lines(lines, unit=other, processes=1, cache_dir=tmp_path, progress=False, stats=stats)
    assert not stats["cached"]  # the unit is part of the key


@pytest.mark.parametrize("boundaries", ["morpheme", "lexical"])
def test_eojeol_unit_splits_each_word_alone_and_rebuilds_the_lines(
    korean_lines, edge_lines, boundaries, monkeypatch
):
    odd = [" 앞 공백", "뒤 공백  ", "탭\t사이", "nbsp\u00a0사이", f"이미{DELIMITER}표시", "줄 \n 바꿈"]
    odd += ["구분자\x1f들어감", "또 또또 또"]
    lines = [*korean_lines[:4000], *edge_lines, *odd]
    stats: dict = {}
    by_word = segment_lines(lines, boundaries=boundaries, unit="eojeol", progress=False, stats=stats)
    by_line = segment_lines(lines, boundaries=boundaries, unit="line", progress=False)
    assert [s.replace(DELIMITER, "") for s in by_word] == [line.replace(DELIMITER, "") for line in lines]
    # Each line is its words' splits, and a word's split does not depend on its batch.
    words = list(dict.fromkeys(w for line in lines for w in line.split(" ") if w.strip()))
    segment = make_segmenter("mecab", boundaries)
    split = dict(zip(words, segment_words(words, segment), strict=True))
    rebatched = segment_words(words[::-1][:5000], segment)
    assert rebatched == [split[w] for w in words[::-1][:5000]]
    assert by_word == [" ".join(split.get(w, w) for w in line.split(" ")) for line in lines]
    # Most words split as they do in their own sentence, and MeCab reads far fewer characters.
    occurrences = differ = 0
    for alone, in_line in zip(by_word, by_line, strict=True):
        pairs = [(a, b) for a, b in zip(alone.split(" "), in_line.split(" "), strict=True) if a.strip()]
        occurrences, differ = occurrences + len(pairs), differ + sum(a != b for a, b in pairs)
    assert occurrences > 30000 and 0 < differ < 0.05 * occurrences
    assert stats["analyzed_chars"] < 0.8 * sum(map(len, lines))
    # Block by block (bounded memory), in two processes: the same lines, each word analysed once.
    monkeypatch.setattr(morphemes, "BLOCK_LINES", 700)
    blocks: dict = {}
    kwargs = {"boundaries": boundaries, "unit": "eojeol", "progress": False, "stats": blocks}
    assert segment_lines(lines, processes=2, **kwargs) == by_word
    assert blocks["analyzed_chars"] == stats["analyzed_chars"]


def test_no_korean_piece_crosses_a_morpheme_boundary(korean_lines, config):
    segmented = segment_lines(korean_lines, progress=False)
    korean, _ = train_korean_bpe(segmented, config, placeholders=[])
    # Every morpheme as SentencePiece sees it: words split at ASCII spaces, "▁" only at a word start.
    morphemes = "\n".join(
        ("\u2581" if i == 0 else "") + part
        for line in segmented
        for eojeol in line.split(" ")
        if eojeol
        for i, part in enumerate(eojeol.split(DELIMITER))
    )
    pieces = [p.piece for p in korean.pieces if p.type == NORMAL and len(p.piece) > 1]
    assert len(pieces) > 3000
    crossing = [p for p in pieces if p not in morphemes]
    assert crossing == []
    assert not any(DELIMITER in p for p in pieces)


def test_original_ids_and_specs_are_untouched(extended, llama2_sp_model):
    output, report = extended
    base, merged = read_model(llama2_sp_model), read_model(output / "tokenizer.model")
    assert len(merged.pieces) == report.vocab_size == LLAMA2_PIECES + 4000 and report.target_reached
    for old, new in zip(base.pieces, merged.pieces[:LLAMA2_PIECES], strict=False):
        assert (old.piece, old.score, old.type) == (new.piece, new.score, new.type)
    assert merged.normalizer_spec.SerializeToString() == base.normalizer_spec.SerializeToString()
    assert merged.trainer_spec.byte_fallback and merged.trainer_spec.vocab_size == len(merged.pieces)
    assert sum(p.type == BYTE for p in merged.pieces) == 256


def test_new_pieces_are_korean_safe_and_reachable(extended, llama2_sp_model):
    output, report = extended
    merged = read_model(output / "tokenizer.model")
    base_vocab = {p.piece for p in read_model(llama2_sp_model).pieces}
    new = [p for p in merged.pieces[LLAMA2_PIECES:] if p.type == NORMAL]
    texts = [p.piece for p in new]
    assert (output / "pieces.txt").read_text(encoding="utf-8").split() == texts
    assert all(is_korean(t) and t not in base_vocab for t in texts)
    assert not any(ch.isdigit() or ch in "@<>|" for t in texts for ch in t)
    # Strictly decreasing scores below every base score.
    scores = [p.score for p in new]
    assert all(a > b for a, b in zip(scores, scores[1:], strict=False))
    assert scores[0] < min(p.score for p in merged.pieces[:LLAMA2_PIECES] if p.type == NORMAL)
    available = set(base_vocab)
    for text in texts:
        assert len(text) == 1 or any(
            text[:k] in available and text[k:] in available for k in range(1, len(text))
        )
        available.add(text)
    assert report.rejected.get("in_base", 0) > 0  # Llama-2 already has some Hangul syllables


def test_proofs_hold_and_korean_gets_cheaper(extended):
    _, report = extended
    assert report.parity_mismatched_lines == 0
    assert report.english_changed_lines == 0
    assert report.roundtrip_failures == 0
    assert report.heldout_lines > 50
    # Llama-2: ~1.45 tokens per Korean character; 4,000 Korean pieces must cut that by more than half.
    assert report.tokens_per_char["base"] > 1.2
    assert report.tokens_per_char["extended"] < report.tokens_per_char["base"] / 2
    assert 0.5 < report.morpheme_boundary_precision <= 1.0


def test_placeholders_become_whole_tokens(extended):
    output, report = extended
    assert report.placeholders == ["<|email|>", "<|phone|>"]
    merged = read_model(output / "tokenizer.model")
    assert [p.piece for p in merged.pieces if p.type == USER_DEFINED] == ["<|email|>", "<|phone|>"]
    sp = spm.SentencePieceProcessor(model_file=str(output / "tokenizer.model"))
    assert "<|phone|>" in sp.encode("번호는<|phone|>입니다", out_type=str)


def test_export_loads_with_autotokenizer_and_matches(extended, korean_lines):
    from transformers import AutoTokenizer

    output, _ = extended
    tok = AutoTokenizer.from_pretrained(output)
    sp = spm.SentencePieceProcessor(model_file=str(output / "tokenizer.model"))
    samples = korean_lines[:500] + ["전화는 <|phone|>로, 메일은<|email|> 주세요", "<|phone|>"]
    assert all(tok(s, add_special_tokens=False)["input_ids"] == sp.encode(s) for s in samples)
    assert tok("안녕")["input_ids"][0] == 1 and len(tok) == LLAMA2_PIECES + 4000
    assert (
        tok.decode(tok("전화는 <|phone|>로")["input_ids"], skip_special_tokens=True) == "전화는 <|phone|>로"
    )


def test_pad_token_is_appended_and_exported(corpus, config, llama2_sp_model, tmp_path):
    from transformers import AutoTokenizer

    small = replace(config, target_vocab_size=LLAMA2_PIECES + 300, add_pad_token=True)
    extend_vocab(small, [corpus], str(llama2_sp_model), tmp_path, progress=False)
    merged = read_model(tmp_path / "tokenizer.model")
    assert merged.pieces[-1].piece == "<pad>" and merged.pieces[-1].type == CONTROL
    assert merged.trainer_spec.pad_id == len(merged.pieces) - 1
    tok = AutoTokenizer.from_pretrained(tmp_path)
    assert tok.pad_token == "<pad>" and tok.pad_token_id == len(merged.pieces) - 1


def test_cli_writes_metrics_and_resolved_params(corpus, llama2_sp_model, tmp_path):
    out, metrics = tmp_path / "tok", tmp_path / "m" / "vocab.json"
    polyglot = llama2_sp_model.parents[1] / "polyglot-ko"
    args = ["--input", str(corpus), "--base", str(llama2_sp_model), "--output", str(out)]
    args += ["--metrics", str(metrics), "-q", "--anchor", f"polyglot-ko={polyglot}"]
    args += ["--set", "vocab.target_vocab_size=32500", "--set", "vocab.cache_dir="]
    assert main(args) == 0
    data = json.loads(metrics.read_text())
    assert data["vocab_size"] == 32500 and data["parity_mismatched_lines"] == 0
    # Polyglot-Ko's own Korean tokenizer needs far fewer tokens than byte-falling-back Llama-2.
    assert data["tokens_per_char"]["polyglot-ko"] < data["tokens_per_char"]["base"] / 2
    assert "vocab:" in (out / "resolved_params.yaml").read_text()


@pytest.mark.parametrize(
    ("make_input", "base", "message"),
    [
        (lambda d: d / "missing", None, "input not found"),
        (
            lambda d: _write(d / "bad.jsonl", '{"text": "좋다"}\n{not json\n'),
            None,
            r"bad\.jsonl:2: no 'text' string",
        ),
        (lambda d: _write(d / "ok.txt", "좋은 문장\n"), "no-such-dir", "not a file, a directory or a Hub id"),
        (lambda d: _write(d / "ok.txt", "좋은 문장\n"), "EMPTY_DIR", "has no tokenizer.model"),
    ],
)
def test_bad_inputs_fail_clearly(make_input, base, message, config, llama2_sp_model, tmp_path):
    path = make_input(tmp_path)
    if base == "EMPTY_DIR":
        (tmp_path / "empty").mkdir()
        base = str(tmp_path / "empty")
    with pytest.raises(StageError, match=message):
        extend_vocab(config, [path], base or str(llama2_sp_model), tmp_path / "out", progress=False)


def test_target_below_base_size_is_refused(corpus, config, llama2_sp_model, tmp_path):
    with pytest.raises(StageError, match="not above the base's 32000 pieces"):
        extend_vocab(replace(config, target_vocab_size=32000), [corpus], str(llama2_sp_model), tmp_path)


@pytest.mark.slow
def test_java_analyzer_marks_boundaries_without_changing_text(korean_lines):
    from tokenizer.morphemes import make_surfaces

    surfaces = make_surfaces("komoran")
    lines = korean_lines[:50]
    segmented = [segment_line(line, surfaces) for line in lines]
    assert [s.replace(DELIMITER, "") for s in segmented] == lines
    assert sum(s.count(DELIMITER) for s in segmented) > 100


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_morpheme_bounded_pieces_align_better_than_plain_bpe(
    extended, corpus, config, llama2_sp_model, tmp_path
):
    _, bounded = extended
    lexical = extend_vocab(
        replace(config, boundaries="lexical"),
        [corpus],
        str(llama2_sp_model),
        tmp_path / "lexical",
        progress=False,
    )
    plain = extend_vocab(
        replace(config, boundaries="none"), [corpus], str(llama2_sp_model), tmp_path / "plain", progress=False
    )
    assert plain.segmentation_chars_per_s is None  # plain BPE analyzes only the held-out text
    assert bounded.morpheme_boundary_precision > plain.morpheme_boundary_precision + 0.05
    # Lexical boundaries sit between the two: fewer tokens than every-morpheme boundaries, better
    # aligned than plain BPE.
    assert lexical.tokens_per_char["extended"] < 0.97 * bounded.tokens_per_char["extended"]
    assert bounded.morpheme_boundary_precision > lexical.morpheme_boundary_precision
    assert lexical.morpheme_boundary_precision > plain.morpheme_boundary_precision + 0.03
    assert plain.parity_mismatched_lines == lexical.parity_mismatched_lines == 0


def test_lexical_units_keep_content_words_apart_and_fuse_the_rest():
    def units(tagged: str) -> list[str]:
        nodes = []
        for word in tagged.split(" "):
            for k, node in enumerate(word.split("+")):
                surface, tag = node.split("/")
                nodes.append((" " if k == 0 and nodes else "", surface, tag.replace("&", "+")))
        return lexical_units(nodes)

    # A noun keeps its particle apart; a verb-forming suffix joins its noun, endings join them.
    assert units("정부/NNG+가/JKS 사용/NNG+하/XSV+였/EP+다/EF") == ["정부", "가", "사용하였다"]
    # Bound nouns and pronouns take their particles; an inflected node counts by its first tag.
    assert units("것/NNB+으로/JKB 그/NP+는/JX 드러났/VV&EP+다/EF") == ["것으로", "그는", "드러났다"]
    # The copula joins a bound noun but not a content noun; a suffix chain joins its particle.
    assert units("공화국/NNG+이/VCP+다/EF 것/NNB+이/VCP+다/EF") == ["공화국", "이다", "것이다"]
    assert units("화학/NNG+적/XSN+으로/JKB") == ["화학", "적으로"]
    # Never across whitespace, even where the tags would fuse.
    assert units("있/VV 다/EF") == ["있", "다"]


def test_lexical_segmentation_marks_a_subset_of_the_morpheme_boundaries(korean_lines, edge_lines):
    lexical, strict = make_segmenter("mecab", "lexical"), make_segmenter("mecab")
    nodes = mecab_nodes()
    kept = dropped = 0
    for line in korean_lines + edge_lines + ["탭\t과\u00a0NBSP 와\u3000전각 ", "구분자\x1f들어감"]:
        marked = lexical(line)
        assert marked.replace(DELIMITER, "") == line
        # MeCab's regex marking is lexical_units' rule exactly (the rule lives in fuses()).
        if line.strip() and nodes(line) is not None and DELIMITER not in line:
            units = lexical_units(nodes(line))
            assert marked == segment_line(line, lambda _, units=units: units), line
        fewer, every = morpheme_boundaries(marked), morpheme_boundaries(strict(line))
        assert fewer <= every, line
        kept, dropped = kept + len(fewer), dropped + len(every - fewer)
    assert kept > 5000 and dropped > 5000  # both kinds are common in real text
    assert lexical("정부가 사용하였다") == f"정부{DELIMITER}가 사용하였다"
    with pytest.raises(ValueError, match="MeCab"):
        make_segmenter("komoran", "lexical")


def test_usage_selection_takes_used_pieces_with_their_building_blocks(config):
    candidates = ["가", "나", "다", "라", "가나", "다라", "가나다", "가나다라"]
    usage = Counter({"가나다라": 50, "다라": 3})
    # 4 syllables, then the most used piece with the two pieces it is built from.
    assert select_by_usage(candidates, usage, set(), 7, config) == [
        "가", "나", "다", "라", "가나", "다라", "가나다라"
    ]  # fmt: skip
    # No room for 가나다라 and its blocks: the next most used, then unused pieces in model order.
    assert select_by_usage(candidates, usage, set(), 6, config) == ["가", "나", "다", "라", "가나", "다라"]
    # A block the base already has costs nothing.
    with_block = select_by_usage(candidates, usage, {"가나"}, 6, config)
    assert with_block == ["가", "나", "다", "라", "다라", "가나다라"]


def test_both_selections_fill_the_budget_with_reachable_pieces(
    extended, corpus, config, llama2_sp_model, tmp_path
):
    output, by_usage = extended  # the default selection is "usage"
    by_order = extend_vocab(
        replace(config, selection="model_order"), [corpus], str(llama2_sp_model), tmp_path, progress=False
    )
    assert by_usage.added_pieces == by_order.added_pieces
    assert by_order.parity_mismatched_lines == by_usage.parity_mismatched_lines == 0
    usage_pieces = (output / "pieces.txt").read_text(encoding="utf-8").split()
    order_pieces = (tmp_path / "pieces.txt").read_text(encoding="utf-8").split()
    assert usage_pieces != order_pieces
    # Every single-syllable candidate comes first in both (syllables_first).
    singles = [p for p in order_pieces if len(p) == 1]
    assert usage_pieces[: len(singles)] == order_pieces[: len(singles)] == singles


def test_missing_analyzer_package_names_the_fix():
    from pipeline.deps import MissingDependency, require_module

    with pytest.raises(
        MissingDependency, match=r"pip install -e '\.\[data\]'.*pip install not-installed-pkg"
    ):
        require_module("not_installed_mod", extra="data", pip_name="not-installed-pkg")


def test_fast_mecab_path_equals_konlpy_pos(korean_lines):
    from tokenizer.morphemes import konlpy_mecab

    pos = konlpy_mecab().pos
    surfaces = mecab_surfaces()
    for line in korean_lines:
        assert segment_line(line, surfaces) == segment_line(line, lambda s: [m for m, _ in pos(s)])


def test_mecab_segmenter_equals_segment_line(korean_lines, edge_lines):
    from tokenizer.morphemes import mecab_segmenter

    segment, surfaces = mecab_segmenter(), mecab_surfaces()
    odd = [" 앞 공백", "뒤 공백  ", "탭\t사이", "nbsp\u00a0사이", f"이미{DELIMITER}표시"]
    lines = [*korean_lines, *edge_lines, *odd]
    for line in lines:
        assert segment(line) == segment_line(line, surfaces), line


def test_memo_bound_keeps_the_output_and_analyses_again(korean_lines, monkeypatch):
    kwargs = {"unit": "eojeol", "processes": 1, "progress": False}
    free: dict = {}
    unbounded = segment_lines(korean_lines, stats=free, **kwargs)
    monkeypatch.setattr(morphemes, "BLOCK_LINES", 300)
    monkeypatch.setattr(morphemes, "MEMO_WORDS", 200)
    bounded: dict = {}
    assert segment_lines(korean_lines, stats=bounded, **kwargs) == unbounded
    assert bounded["analyzed_chars"] > free["analyzed_chars"]  # forgotten words were read again


def test_cached_segmentation_streams_lines_with_odd_characters(tmp_path):
    lines = ["대한민국은\r민주공화국이다", "", "국민은 법 앞에 평등하다\u2028다음"]
    stats: dict = {}
    first = segment_lines(lines, cache_dir=tmp_path, progress=False, stats=stats)
    assert not stats["cached"] and [x.replace(DELIMITER, "") for x in first] == lines
    assert segment_lines(lines, cache_dir=tmp_path, progress=False, stats=stats) == first
    assert stats["cached"]


@pytest.fixture(scope="module")
def sampled_corpus(tmp_path_factory, korean_lines) -> Path:
    path = tmp_path_factory.mktemp("sample") / "korean.txt"
    path.write_text("\n".join(korean_lines) + "\n", encoding="utf-8")
    return path


def test_sample_is_seeded_capped_and_keeps_the_heldout_split(sampled_corpus, korean_lines):
    from data_prep.corpus import is_heldout
    from tokenizer.sample import sample_corpus

    config = VocabConfig(heldout_fraction=0.05, max_training_lines=400, max_heldout_lines=30, seed=1)
    numbered = [(f"korean.txt:{n}", line.strip()) for n, line in enumerate(korean_lines, 1) if line.strip()]
    train_all = [line for doc, line in numbered if not is_heldout(doc, 0.05)]
    heldout_all = [line for doc, line in numbered if is_heldout(doc, 0.05)]
    sample = sample_corpus([sampled_corpus], config, progress=False)
    assert (sample.corpus_train_lines, sample.corpus_heldout_lines) == (len(train_all), len(heldout_all))
    assert len(sample.train) == 400 and len(sample.heldout) == 30

    def in_order(part: list[str], whole: list[str]) -> bool:
        rest = iter(whole)
        return all(line in rest for line in part)

    assert in_order(sample.train, train_all) and in_order(sample.heldout, heldout_all)
    assert sample_corpus([sampled_corpus], config, progress=False) == sample
    other = sample_corpus([sampled_corpus], replace(config, seed=2), progress=False)
    assert other.train != sample.train and other.corpus_train_lines == sample.corpus_train_lines
    whole = sample_corpus([sampled_corpus], replace(config, max_training_lines=0, max_heldout_lines=0), False)
    assert (whole.train, whole.heldout) == (train_all, heldout_all)
    assert whole.corpus_train_chars == sum(map(len, train_all))


def test_character_cap_draws_fewer_lines(sampled_corpus):
    from tokenizer.sample import sample_corpus

    config = VocabConfig(heldout_fraction=0.05, max_training_lines=0, max_heldout_lines=10, seed=3)
    whole = sample_corpus([sampled_corpus], config, progress=False)
    assert len(whole.heldout) == 10 < whole.corpus_heldout_lines  # a drawn held-out sample
    cap = whole.corpus_train_chars // 4
    capped = sample_corpus([sampled_corpus], replace(config, max_training_chars=cap), progress=False)
    assert len(capped.train) == whole.corpus_train_lines * cap // whole.corpus_train_chars
    assert 0.8 * cap < sum(map(len, capped.train)) < 1.2 * cap  # a uniform draw: the mean length
    assert capped.heldout == whole.heldout  # the cap is on training text only, the draw its own
    # The line cap still holds where it is the smaller one; a cap above the corpus keeps it whole.
    both = sample_corpus(
        [sampled_corpus], replace(config, max_training_chars=cap, max_training_lines=50), False
    )
    assert len(both.train) == 50
    above = replace(config, max_training_chars=whole.corpus_train_chars)
    assert sample_corpus([sampled_corpus], above, progress=False).train == whole.train


def test_only_the_sample_is_analysed_and_trained_on(
    sampled_corpus, config, llama2_sp_model, tmp_path, monkeypatch
):
    from tokenizer import vocab

    analysed: list[int] = []

    def counting(lines, *args, **kwargs):
        analysed.append(len(lines))
        return segment_lines(lines, *args, **kwargs)

    monkeypatch.setattr(vocab, "segment_lines", counting)
    small = replace(
        config, max_training_lines=600, train_vocab_size=2000, target_vocab_size=LLAMA2_PIECES + 500
    )
    report = extend_vocab(small, [sampled_corpus], str(llama2_sp_model), tmp_path / "tok", progress=False)
    assert report.train_lines == 600 < report.corpus_train_lines
    assert analysed[0] == 600  # the training sample; then the held-out lines
    assert report.sample_seed == small.seed and report.added_pieces > 0
    assert report.parity_mismatched_lines == report.english_changed_lines == report.roundtrip_failures == 0

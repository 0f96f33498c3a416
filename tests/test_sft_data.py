"""ko-sft's data path on real instruction files: loaders, row rules, templates, masking, packing."""

from __future__ import annotations

import json

import pytest

from pipeline.cli import StageError
from pipeline.instructions import Conversation, Skipped, load_conversations, row_to_conversation
from pipeline.sft_data import IGNORE, PadCollator, encode_conversation, pack_examples
from pipeline.templates import KULLM_NO_INPUT, KULLM_WITH_INPUT, TEMPLATE_TOKENS, TEMPLATES, render
from tests.conftest import shared_path, tiny_llama

# The templates as the issue and KULLM's kullm_template.json spell them.
KULLM_PROMPT_INPUT = (
    "아래는 작업을 설명하는 명령어와 추가 컨텍스트를 제공하는 입력이 짝을 이루는 예제입니다. 요청을 적절히 "
    "완료하는 응답을 작성하세요.\n\n### 명령어:\n{instruction}\n\n### 입력:\n{input}\n\n### 응답:\n"
)
KULLM_PROMPT_NO_INPUT = (
    "아래는 작업을 설명하는 명령어입니다. 요청을 적절히 완료하는 응답을 작성하세요.\n\n### 명령어:\n"
    "{instruction}\n\n### 응답:\n"
)


@pytest.fixture(scope="module")
def koalpaca_path():
    return shared_path("instructions", "koalpaca", "ko_alpaca_data.fork_subset_12761.json")


@pytest.fixture(scope="module")
def koalpaca_rows(koalpaca_path):
    return json.loads(koalpaca_path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def llama2_tokenizer(tmp_path_factory, llama2_sp_model):
    """The real Llama-2 tokenizer, exported to Hugging Face format by the vocab stage's code."""
    from transformers import AutoTokenizer

    from tokenizer.hf_export import export_hf_tokenizer

    directory = export_hf_tokenizer(llama2_sp_model, tmp_path_factory.mktemp("llama2"), model_max_length=4096)
    return AutoTokenizer.from_pretrained(directory)


# The formats written in Llama-2's tokens or none; llama3-chat and qwen2-chat need their family's
# special tokens (tests/test_chat_templates.py runs them on those tokenizers).
LLAMA2_TEMPLATES = sorted(set(TEMPLATES) - set(TEMPLATE_TOKENS))


def with_template(tokenizer, name):
    tokenizer.chat_template = TEMPLATES[name]
    return tokenizer


def encode(tok, conversation, max_length=4096, overlength="drop", train_on_inputs=False):
    return encode_conversation(
        tok, conversation, train_on_inputs=train_on_inputs, max_length=max_length, overlength=overlength
    )


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


# --- loaders and row rules


def test_koalpaca_v1_0_array_loads_and_its_empty_output_is_skipped_at_its_line(koalpaca_path, koalpaca_rows):
    conversations, (report,), skipped = load_conversations([str(koalpaca_path)], (), dedup=False, seed=0)
    empty = [n for n, r in enumerate(koalpaca_rows) if not r["output"].strip()]
    assert report.read == len(koalpaca_rows) == 12761
    assert len(conversations) == report.kept == len(koalpaca_rows) - len(empty)
    assert [s.reason for s in skipped] == ["empty_output"] * len(empty)
    # The reported line is where that object starts in the file.
    line = int(skipped[0].source.rsplit(":", 1)[1])
    text = koalpaca_path.read_text(encoding="utf-8").splitlines()
    value, _ = json.JSONDecoder().raw_decode("\n".join(text[line - 1 :]).lstrip())
    assert value == koalpaca_rows[empty[0]]
    first = conversations[0]
    assert first.messages == (
        {"role": "user", "content": koalpaca_rows[0]["instruction"]},
        {"role": "assistant", "content": koalpaca_rows[0]["output"]},
    )
    with_input = next(c for c, r in zip(conversations, koalpaca_rows, strict=False) if r["input"])
    assert with_input.messages[0]["input"]


def test_koalpaca_v1_1_kullm_v2_and_chat_rows(tmp_path, koalpaca_rows):
    v11 = [
        {"instruction": r["instruction"], "output": r["output"], "url": "https://example.org"}
        for r in koalpaca_rows[:5]
    ]
    kullm = [{"id": f"k{n}", **r} for n, r in enumerate(koalpaca_rows[5:10])]
    turns = [
        ("system", "친절하게 답하세요."),
        ("user", "안녕?"),
        ("assistant", "안녕하세요!"),
        ("user", "이름이 뭐야?"),
        ("assistant", "저는 도우미입니다."),
    ]
    chat = [{"messages": [{"role": role, "content": content} for role, content in turns]}]
    paths = [write_jsonl(tmp_path / f"{n}.jsonl", rows) for n, rows in enumerate((v11, kullm, chat))]
    conversations, reports, skipped = load_conversations([str(p) for p in paths], (), dedup=True, seed=0)
    assert not skipped and [r.kept for r in reports] == [5, 5, 1]
    assert all("input" not in c.messages[0] for c in conversations[:5])
    assert conversations[5].id == "k0" and conversations[5].source.endswith("1.jsonl:1")
    assert [m["role"] for m in conversations[-1].messages] == [role for role, _ in turns]


def test_self_instruct_eval_set_reads_its_first_instance():
    path = shared_path("instructions", "kullm", "user_oriented_instructions_eval.ko.jsonl")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    conversations, (report,), skipped = load_conversations([str(path)], (), dedup=False, seed=0)
    assert report.read == len(rows) == 252
    assert len(conversations) + len(skipped) == 252
    first = rows[0]
    assert conversations[0].messages[0]["content"] == first["instruction"].strip()
    assert conversations[0].reference == first["instances"][0]["output"].strip()


def test_malformed_rows_are_skipped_with_line_numbers(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(
        "\n".join(
            [
                json.dumps({"instruction": "좋은 질문", "output": "좋은 답"}, ensure_ascii=False),
                '{"instruction": "깨진 줄", "output": ',
                "",
                json.dumps({"instruction": "답이 없음"}, ensure_ascii=False),
                json.dumps({"instruction": "빈 답", "output": "  "}, ensure_ascii=False),
                json.dumps({"instruction": "숫자 답", "output": 3}, ensure_ascii=False),
                json.dumps({"messages": [{"role": "assistant", "content": "먼저 답"}]}, ensure_ascii=False),
                json.dumps(["not", "an", "object"]),
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    conversations, (report,), skipped = load_conversations([str(path)], (), dedup=True, seed=0)
    assert len(conversations) == 1 and report.read == 7
    got = {(s.source.rsplit(":", 1)[1], s.reason) for s in skipped}
    assert got == {
        ("2", "malformed_json"),
        ("4", "missing_field"),
        ("5", "empty_output"),
        ("6", "bad_type"),
        ("7", "bad_messages"),
        ("8", "not_an_object"),
    }
    assert all(s.message().startswith(f"{path}:") for s in skipped)
    assert dict(report.skipped) == {r: 1 for _, r in got}


def test_a_broken_json_array_stops_with_its_line(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('[\n  {"instruction": "a", "output": "b"},\n  {"instruction": "c" "output": "d"}\n]\n')
    with pytest.raises(StageError, match=r"broken\.json:3: malformed JSON array"):
        load_conversations([str(path)], (), dedup=True, seed=0)


def test_missing_input_and_weight_count_are_clear_errors(tmp_path, koalpaca_path):
    with pytest.raises(StageError, match="no such file or directory"):
        load_conversations([str(tmp_path / "nope.json")], (), dedup=True, seed=0)
    with pytest.raises(StageError, match="sft.weights has 2 values for 1 inputs"):
        load_conversations([str(koalpaca_path)], (1.0, 2.0), dedup=True, seed=0)


def test_duplicates_are_dropped_across_sources_ignoring_spacing(tmp_path, koalpaca_rows):
    rows = koalpaca_rows[:20]
    spaced = [{**r, "output": r["output"].replace(" ", "  ")} for r in rows[:10]]
    a, b = write_jsonl(tmp_path / "a.jsonl", rows), write_jsonl(tmp_path / "b.jsonl", spaced)
    conversations, reports, skipped = load_conversations([str(a), str(b)], (), dedup=True, seed=0)
    assert len(conversations) == 20 and reports[1].skipped["duplicate"] == 10
    kept, _, _ = load_conversations([str(a), str(b)], (), dedup=False, seed=0)
    assert len(kept) == 30


def test_weights_mix_sources_by_share_and_are_seeded(tmp_path, koalpaca_rows):
    a = write_jsonl(tmp_path / "a.jsonl", koalpaca_rows[:100])
    b = write_jsonl(tmp_path / "b.jsonl", koalpaca_rows[100:140])
    mixed, reports, _ = load_conversations([str(a), str(b)], (0.5, 2.0), dedup=True, seed=0)
    assert [r.used for r in reports] == [50, 80] and len(mixed) == 130
    again, _, _ = load_conversations([str(a), str(b)], (0.5, 2.0), dedup=True, seed=0)
    other, _, _ = load_conversations([str(a), str(b)], (0.5, 2.0), dedup=True, seed=1)
    assert again == mixed and other != mixed


# --- templates


def test_kullm_and_koalpaca_templates_are_verbatim(llama2_tokenizer):
    tok = with_template(llama2_tokenizer, "kullm")
    assert KULLM_WITH_INPUT + "\n\n" == KULLM_PROMPT_INPUT.split("### 명령어")[0]
    assert KULLM_NO_INPUT + "\n\n" == KULLM_PROMPT_NO_INPUT.split("### 명령어")[0]
    template_file = json.loads(shared_path("instructions", "kullm", "kullm_template.json").read_text())
    assert template_file["prompt_input"] == KULLM_PROMPT_INPUT
    assert template_file["prompt_no_input"] == KULLM_PROMPT_NO_INPUT
    ask = {"role": "user", "content": "요약하세요.", "input": "긴 글"}
    assert render(tok, [ask]) == "<s>" + KULLM_PROMPT_INPUT.format(instruction="요약하세요.", input="긴 글")
    plain = {"role": "user", "content": "인사하세요."}
    assert render(tok, [plain]) == "<s>" + KULLM_PROMPT_NO_INPUT.format(instruction="인사하세요.")
    tok = with_template(llama2_tokenizer, "koalpaca")
    assert render(tok, [plain]) == "<s>### 질문: 인사하세요.\n\n### 답변:"
    assert render(tok, [ask]) == "<s>### 질문: 요약하세요.\n\n### 맥락: 긴 글\n\n### 답변:"
    tok = with_template(llama2_tokenizer, "llama2-chat")
    system = {"role": "system", "content": "짧게 답하세요."}
    assert render(tok, [system, plain, {"role": "assistant", "content": "안녕하세요."}, plain]) == (
        "<s>[INST] <<SYS>>\n짧게 답하세요.\n<</SYS>>\n\n인사하세요. [/INST] 안녕하세요. </s>"
        "<s>[INST] 인사하세요. [/INST]"
    )


@pytest.mark.parametrize("name", LLAMA2_TEMPLATES)
def test_template_round_trips_through_the_saved_tokenizer(llama2_tokenizer, tmp_path, name, koalpaca_rows):
    from transformers import AutoTokenizer

    tok = with_template(llama2_tokenizer, name)
    tok.save_pretrained(tmp_path)
    loaded = AutoTokenizer.from_pretrained(tmp_path)
    assert loaded.chat_template == TEMPLATES[name]
    for row in koalpaca_rows[:30]:
        conversation = row_to_conversation(row, "x:1")
        for messages in (list(conversation.messages), conversation.prompt_messages()):
            assert render(loaded, messages) == render(tok, messages)


# --- labels


@pytest.mark.parametrize("name", LLAMA2_TEMPLATES)
def test_loss_mask_is_exactly_the_answer_and_eos(llama2_tokenizer, koalpaca_rows, name):
    tok = with_template(llama2_tokenizer, name)
    for n, row in enumerate(koalpaca_rows[:200]):
        if not row["output"].strip():
            continue
        conversation = row_to_conversation(row, f"x:{n}")
        example = encode(tok, conversation)
        trained = [i for i, label in enumerate(example.labels) if label != IGNORE]
        # One contiguous run at the end: the answer, then EOS.
        assert trained == list(range(trained[0], len(example.input_ids))), n
        assert example.input_ids[-1] == tok.eos_token_id
        answer = tok.decode(example.input_ids[trained[0] : -1]).strip()
        assert answer == conversation.reference.strip(), n
        # The prompt tokens are exactly what inference feeds the model for this conversation.
        prompt = tok.apply_chat_template(conversation.prompt_messages(), add_generation_prompt=True)
        prompt_ids = prompt["input_ids"] if isinstance(prompt, dict) or hasattr(prompt, "keys") else prompt
        assert example.input_ids[: trained[0]] == list(prompt_ids), n


def test_train_on_inputs_labels_everything_but_the_first_token(llama2_tokenizer, koalpaca_rows):
    tok = with_template(llama2_tokenizer, "kullm")
    conversation = row_to_conversation(koalpaca_rows[0], "x:1")
    example = encode(tok, conversation, train_on_inputs=True)
    assert example.labels[0] == IGNORE and example.labels[1:] == example.input_ids[1:]


def test_multi_turn_masks_every_answer_and_no_question(llama2_tokenizer):
    tok = with_template(llama2_tokenizer, "llama2-chat")
    messages = (
        {"role": "user", "content": "하나"},
        {"role": "assistant", "content": "첫 답"},
        {"role": "user", "content": "둘"},
        {"role": "assistant", "content": "두번째 답"},
    )
    example = encode(tok, Conversation(messages, "x:1"))
    runs, current = [], []
    for token, label in zip(example.input_ids, example.labels, strict=True):
        if label != IGNORE:
            current.append(token)
        elif current:
            runs.append(current)
            current = []
    runs.append(current)
    assert [tok.decode(r, skip_special_tokens=True).strip() for r in runs] == ["첫 답", "두번째 답"]


def test_overlength_rows_are_dropped_or_truncated_by_rule(llama2_tokenizer, koalpaca_rows):
    tok = with_template(llama2_tokenizer, "kullm")
    long_row = max(koalpaca_rows, key=lambda r: len(r["output"]))
    conversation = row_to_conversation(long_row, "f.json:9")
    full = encode(tok, conversation)
    limit = len(full.input_ids) - 10
    dropped = encode(tok, conversation, limit)
    assert isinstance(dropped, Skipped) and dropped.reason == "too_long" and dropped.source == "f.json:9"
    cut = encode(tok, conversation, limit, "truncate")
    assert cut.input_ids == full.input_ids[:limit] and cut.labels == full.labels[:limit]
    tiny = encode(tok, conversation, 20, "truncate")
    assert isinstance(tiny, Skipped)  # the prompt alone is longer: nothing left to learn


def test_packed_rows_do_not_attend_or_predict_across_examples(llama2_tokenizer, koalpaca_rows):
    import torch

    tok = with_template(llama2_tokenizer, "kullm")
    examples = [encode(tok, row_to_conversation(r, "x:1")) for r in koalpaca_rows[:6]]
    rows = pack_examples(examples, max_length=sum(len(e.input_ids) for e in examples[:3]))
    assert len(rows[0]["input_ids"]) == sum(len(e.input_ids) for e in examples[:3])
    assert sum(len(r["input_ids"]) for r in rows) == sum(len(e.input_ids) for e in examples)
    model = tiny_llama(32000)
    model.config.use_cache = False  # as ko-sft trains
    model.eval()
    batch = PadCollator(0)(rows)
    assert "attention_mask" not in batch
    with torch.no_grad():
        ids, positions = batch["input_ids"], batch["position_ids"]
        packed = model(input_ids=ids, position_ids=positions, use_cache=False).logits
        start = 0
        for example in examples[:3]:
            alone = model(input_ids=torch.tensor([example.input_ids])).logits[0]
            end = start + len(example.input_ids)
            torch.testing.assert_close(packed[0, start:end], alone, atol=1e-5, rtol=1e-4)
            assert batch["labels"][0, start] == IGNORE  # never predicted from the previous example
            start = end


def test_pad_collator_pads_labels_with_ignore(llama2_tokenizer, koalpaca_rows):
    tok = with_template(llama2_tokenizer, "kullm")
    examples = [encode(tok, row_to_conversation(r, "x:1")) for r in koalpaca_rows[:3]]
    batch = PadCollator(0)([{"input_ids": e.input_ids, "labels": e.labels} for e in examples])
    for row, example in enumerate(examples):
        n = len(example.input_ids)
        assert batch["attention_mask"][row].sum() == n
        assert (batch["labels"][row, n:] == IGNORE).all()
        assert batch["labels"][row, :n].tolist() == example.labels

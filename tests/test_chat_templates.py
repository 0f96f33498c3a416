"""Llama-3 and Qwen2 chat formats as sft templates, on the real tokenizers (their special tokens)."""

from __future__ import annotations

import pytest

from pipeline.templates import answer_spans, apply_template
from tests.conftest import shared_path

CHAT = [
    {"role": "system", "content": "친절하게 답하세요."},
    {"role": "user", "content": "수도가 어디인가요?", "input": "대한민국"},
    {"role": "assistant", "content": "서울입니다."},
]


@pytest.fixture(scope="module")
def family_tokenizers(tmp_path_factory):
    from transformers import AutoTokenizer

    from tokenizer.byte_level import load_byte_level, save_byte_level

    root = tmp_path_factory.mktemp("chat")
    llama3 = load_byte_level(shared_path("tokenizers", "llama3", "tokenizer.model"))
    qwen2 = load_byte_level(shared_path("tokenizers", "qwen2"), "qwen2")
    save_byte_level(llama3, root / "llama3", model_max_length=8192)
    save_byte_level(qwen2, root / "qwen2", model_max_length=8192)
    return {name: AutoTokenizer.from_pretrained(root / name) for name in ("llama3", "qwen2")}


def test_llama3_chat_is_metas_format_in_its_own_tokens(family_tokenizers):
    tok = family_tokenizers["llama3"]
    apply_template(tok, "llama3-chat")
    text, spans = answer_spans(tok, CHAT)
    assert text == (
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n친절하게 답하세요.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\n수도가 어디인가요?\n\n대한민국<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n서울입니다.<|eot_id|>"
    )
    assert [text[a:b] for a, b in spans] == ["서울입니다.<|eot_id|>"]
    ids = tok(text, add_special_tokens=False)["input_ids"]
    assert ids[0] == 128000 and ids.count(128006) == 3 and ids.count(128009) == 3
    assert tok.eos_token == "<|eot_id|>" and tok.eos_token_id == 128009 and len(tok) == 128256
    assert tok.chat_template.count("<|eot_id|>") >= 2
    # Meta's template trims every message
    padded = [{"role": "user", "content": " 안녕? \n"}, {"role": "assistant", "content": "\n네. "}]
    assert tok.apply_chat_template(padded, tokenize=False).endswith(
        "user<|end_header_id|>\n\n안녕?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n네.<|eot_id|>"
    )


def test_qwen2_chat_is_chatml_with_its_default_system(family_tokenizers):
    tok = family_tokenizers["qwen2"]
    apply_template(tok, "qwen2-chat")
    text, spans = answer_spans(tok, CHAT[1:])
    assert text == (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\n수도가 어디인가요?\n\n대한민국<|im_end|>\n"
        "<|im_start|>assistant\n서울입니다.<|im_end|>"
    )
    assert [text[a:b] for a, b in spans] == ["서울입니다.<|im_end|>"]
    ids = tok(text, add_special_tokens=False)["input_ids"]
    assert ids.count(151644) == 3 and ids.count(151645) == 3 and tok.eos_token_id == 151645


@pytest.mark.parametrize(("family", "name"), [("llama3", "llama3-chat"), ("qwen2", "qwen2-chat")])
def test_loss_mask_is_the_answer_and_its_turn_end(family_tokenizers, family, name):
    from pipeline.instructions import row_to_conversation
    from pipeline.sft_data import IGNORE, encode_conversation

    tok = family_tokenizers[family]
    apply_template(tok, name)
    rows = [
        {"instruction": "수도가 어디인가요?", "input": "대한민국", "output": "서울입니다."},
        {"instruction": "인사하세요.", "input": "", "output": "안녕하세요, 반갑습니다!"},
    ]
    for n, row in enumerate(rows):
        conversation = row_to_conversation(row, f"x:{n}")
        example = encode_conversation(
            tok, conversation, train_on_inputs=False, max_length=512, overlength="drop"
        )
        trained = [i for i, label in enumerate(example.labels) if label != IGNORE]
        assert trained == list(range(trained[0], len(example.input_ids)))
        assert example.input_ids[-1] == tok.eos_token_id  # <|eot_id|> / <|im_end|>: generation stops there
        assert tok.decode(example.input_ids[trained[0] : -1]) == row["output"]


def test_a_family_template_on_another_tokenizer_is_refused(llama2_sp_model, family_tokenizers, tmp_path):
    from transformers import AutoTokenizer

    from tokenizer.hf_export import export_hf_tokenizer

    llama2 = AutoTokenizer.from_pretrained(
        export_hf_tokenizer(llama2_sp_model, tmp_path, model_max_length=4096)
    )
    with pytest.raises(ValueError, match="has no <\\|start_header_id\\|>"):
        apply_template(llama2, "llama3-chat")
    with pytest.raises(ValueError, match="has no <\\|im_start\\|>"):
        apply_template(family_tokenizers["llama3"], "qwen2-chat")
    apply_template(llama2, "kullm")  # the Korean formats fit any tokenizer
    assert llama2.eos_token == "</s>"


def test_new_rows_also_train_the_formats_own_tokens(family_tokenizers, tmp_path):
    """sft.embeddings new_rows with llama3-chat: the header rows and <|eot_id|> (the new EOS) are
    trainable tokens of the adapter, beside the rows the vocab stage added."""
    from transformers import LlamaConfig, LlamaForCausalLM

    from pipeline.config import SFTConfig
    from pipeline.sft import load_for_training, wrap_lora

    tok = family_tokenizers["llama3"]
    apply_template(tok, "llama3-chat")
    model_dir = tmp_path / "tiny-llama3"
    config = LlamaConfig(
        vocab_size=128256, hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2
    )
    LlamaForCausalLM(config).save_pretrained(model_dir)
    tok.save_pretrained(model_dir)
    sft = SFTConfig(template="llama3-chat", deepspeed="", embeddings="new_rows")
    model, rows = load_for_training(sft, model_dir, tok, None)
    assert rows == [128006, 128007, 128009]
    peft_model = wrap_lora(sft, model, rows)
    trainable = {n for n, p in peft_model.named_parameters() if p.requires_grad and "token_adapter" in n}
    assert trainable, "no trainable token rows in the adapter"
    _, none = load_for_training(SFTConfig(template="kullm", deepspeed=""), model_dir, tok, None)
    assert none == []

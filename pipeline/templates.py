"""Prompt templates of `ko-sft`, written as Hugging Face chat templates (Jinja).

The template trained on is saved as the tokenizer's `chat_template`, and training text is
rendered through that same template (`tokenizer.apply_chat_template`), so inference and eval see
exactly the training format. A user turn may carry an "input" (Alpaca's context field).

- kullm: KULLM's Alpaca-LoRA template, verbatim (with-input and no-input preambles); the answer
  follows "### 응답:\n". A system message replaces the preamble.
- koalpaca: KoAlpaca v1.1, "### 질문: {instruction}\n\n### 답변:" with "### 맥락: {input}" between;
  the answer follows after one space.
- llama2-chat: Llama-2-chat's [INST] format, with an optional <<SYS>> block; the input, if any,
  follows the instruction after a blank line.
- llama3-chat: Llama-3's header format (<|start_header_id|>role<|end_header_id|>, each turn ended
  by <|eot_id|>) with Llama-3's own special tokens; the input follows after a blank line.
- qwen2-chat: Qwen2's ChatML (<|im_start|>role ... <|im_end|>), with Qwen2's default system
  message when the row has none.

Every answer ends with the EOS token, so a tuned model learns to stop. Later turns of a
multi-turn row repeat the turn format after a blank line (Llama-2: after EOS, a new BOS). The
Llama-3 and Qwen2 formats end a turn with their own token, which apply_template makes the
tokenizer's EOS (as their instruct models' tokenizers do), so generation stops there; they need a
tokenizer that has those special tokens and add none.
"""

from __future__ import annotations

KULLM_WITH_INPUT = (
    "아래는 작업을 설명하는 명령어와 추가 컨텍스트를 제공하는 입력이 짝을 이루는 예제입니다. "
    "요청을 적절히 완료하는 응답을 작성하세요."
)
KULLM_NO_INPUT = "아래는 작업을 설명하는 명령어입니다. 요청을 적절히 완료하는 응답을 작성하세요."

# The head picks the system text (or none) and the turns after it; shared by all three templates.
_HEAD = (
    "{%- if messages[0]['role'] == 'system' -%}"
    "{%- set system = messages[0]['content'] -%}{%- set turns = messages[1:] -%}"
    "{%- else -%}{%- set system = none -%}{%- set turns = messages -%}{%- endif -%}"
)

KULLM = (
    _HEAD + "{{- bos_token -}}"
    "{%- if system is not none -%}{{- system + '\\n\\n' -}}"
    "{%- elif turns[0].get('input') -%}{{- '" + KULLM_WITH_INPUT + "\\n\\n' -}}"
    "{%- else -%}{{- '" + KULLM_NO_INPUT + "\\n\\n' -}}{%- endif -%}"
    "{%- for message in turns -%}"
    "{%- if message['role'] == 'user' -%}"
    "{%- if not loop.first -%}{{- '\\n\\n' -}}{%- endif -%}"
    "{{- '### 명령어:\\n' + message['content'] + '\\n\\n' -}}"
    "{%- if message.get('input') -%}{{- '### 입력:\\n' + message['input'] + '\\n\\n' -}}{%- endif -%}"
    "{{- '### 응답:\\n' -}}"
    "{%- else -%}{{- message['content'] + eos_token -}}{%- endif -%}"
    "{%- endfor -%}"
)

KOALPACA = (
    _HEAD + "{{- bos_token -}}"
    "{%- if system is not none -%}{{- system + '\\n\\n' -}}{%- endif -%}"
    "{%- for message in turns -%}"
    "{%- if message['role'] == 'user' -%}"
    "{%- if not loop.first -%}{{- '\\n\\n' -}}{%- endif -%}"
    "{{- '### 질문: ' + message['content'] + '\\n\\n' -}}"
    "{%- if message.get('input') -%}{{- '### 맥락: ' + message['input'] + '\\n\\n' -}}{%- endif -%}"
    "{{- '### 답변:' -}}"
    "{%- else -%}{{- ' ' + message['content'] + eos_token -}}{%- endif -%}"
    "{%- endfor -%}"
)

LLAMA2_CHAT = (
    _HEAD + "{%- for message in turns -%}"
    "{%- if message['role'] == 'user' -%}"
    "{%- set content = message['content'] -%}"
    "{%- if message.get('input') -%}{%- set content = content + '\\n\\n' + message['input'] -%}{%- endif -%}"
    "{%- if loop.first and system -%}"
    "{%- set content = '<<SYS>>\\n' + system + '\\n<</SYS>>\\n\\n' + content -%}{%- endif -%}"
    "{{- bos_token + '[INST] ' + content + ' [/INST]' -}}"
    "{%- else -%}{{- ' ' + message['content'] + ' ' + eos_token -}}{%- endif -%}"
    "{%- endfor -%}"
)

# Meta's format, its `| trim` of every message included.
LLAMA3_CHAT = (
    _HEAD + "{{- bos_token -}}"
    "{%- if system is not none -%}"
    "{{- '<|start_header_id|>system<|end_header_id|>\\n\\n' + system | trim + '<|eot_id|>' -}}{%- endif -%}"
    "{%- for message in turns -%}"
    "{%- if message['role'] == 'user' -%}"
    "{%- set content = message['content'] -%}"
    "{%- if message.get('input') -%}{%- set content = content + '\\n\\n' + message['input'] -%}{%- endif -%}"
    "{{- '<|start_header_id|>user<|end_header_id|>\\n\\n' + content | trim + '<|eot_id|>' -}}"
    "{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}"
    "{%- else -%}{{- message['content'] | trim + '<|eot_id|>' -}}{%- endif -%}"
    "{%- endfor -%}"
)

QWEN2_DEFAULT_SYSTEM = "You are a helpful assistant."
# Qwen2's "\n" after each <|im_end|> opens the next turn here, so that an answer ends with its
# EOS like every format's; a whole conversation renders as Qwen2's own less the last newline.
QWEN2_CHAT = (
    _HEAD + "{%- if system is none -%}{%- set system = '" + QWEN2_DEFAULT_SYSTEM + "' -%}{%- endif -%}"
    "{{- '<|im_start|>system\\n' + system + '<|im_end|>' -}}"
    "{%- for message in turns -%}"
    "{%- if message['role'] == 'user' -%}"
    "{%- set content = message['content'] -%}"
    "{%- if message.get('input') -%}{%- set content = content + '\\n\\n' + message['input'] -%}{%- endif -%}"
    "{{- '\\n<|im_start|>user\\n' + content + '<|im_end|>\\n<|im_start|>assistant\\n' -}}"
    "{%- else -%}{{- message['content'] + '<|im_end|>' -}}{%- endif -%}"
    "{%- endfor -%}"
)

TEMPLATES = {
    "kullm": KULLM,
    "koalpaca": KOALPACA,
    "llama2-chat": LLAMA2_CHAT,
    "llama3-chat": LLAMA3_CHAT,
    "qwen2-chat": QWEN2_CHAT,
}
# The base's own special tokens each format is written in, and the one that ends an answer.
TEMPLATE_TOKENS = {
    "llama3-chat": ("<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"),
    "qwen2-chat": ("<|im_start|>", "<|im_end|>"),
}
TURN_END = {"llama3-chat": "<|eot_id|>", "qwen2-chat": "<|im_end|>"}


def template_token_ids(tokenizer, name: str) -> list[int]:
    """Ids of the special tokens format `name` is written in (none for kullm, koalpaca, llama2-chat)."""
    return [tokenizer.convert_tokens_to_ids(token) for token in TEMPLATE_TOKENS.get(name, ())]


def apply_template(tokenizer, name: str) -> None:
    """Make TEMPLATES[name] the tokenizer's chat_template. Llama-3's and Qwen2's formats need their
    special tokens in the tokenizer (ValueError otherwise) and make its end-of-turn token the EOS."""
    for token in TEMPLATE_TOKENS.get(name, ()):
        token_id = tokenizer.convert_tokens_to_ids(token)
        if token_id is None or tokenizer.convert_ids_to_tokens(token_id) != token:
            raise ValueError(
                f"sft.template = {name} is written in the base's special tokens, and this tokenizer "
                f"has no {token}: use the template of its own family (kullm and koalpaca fit any)"
            )
    tokenizer.chat_template = TEMPLATES[name]
    if name in TURN_END:
        tokenizer.eos_token = TURN_END[name]


def render(tokenizer, messages: list[dict]) -> str:
    """`messages` in the tokenizer's chat template; after a user turn it ends where the answer begins."""
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def answer_spans(tokenizer, messages: list[dict]) -> tuple[str, list[tuple[int, int]]]:
    """The rendered text and the character span of each assistant answer in it (EOS included).

    Spans come from rendering each prefix of the conversation: the answer is what the template
    adds for the assistant message. A template whose renderings are not prefixes of each other
    cannot be masked this way and is refused.
    """
    full = render(tokenizer, messages)
    spans = []
    for index, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        before = render(tokenizer, messages[:index])
        through = render(tokenizer, messages[: index + 1])
        if not (through.startswith(before) and full.startswith(through)):
            raise ValueError("the chat template does not render conversations prefix by prefix; cannot mask")
        spans.append((len(before), len(through)))
    return full, spans

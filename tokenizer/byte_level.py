"""Byte-level BPE bases (Llama-3, Qwen2, GPT-2): read them as one Hugging Face tokenizer, and
build the same tokenizer in tiktoken as a second implementation.

A base comes as a `tokenizer.json` (any byte-level BPE: Llama-3.x and Qwen2.x on the Hub), as
vocab.json + merges.txt (Qwen2, GPT-2; OpenAI's encoder.json + vocab.bpe too), or as Llama-3's
tiktoken `tokenizer.model` (base64 ranks). The last two are converted here the way transformers
converts them: Qwen2 with its pre-tokenizer regex and NFC normalizer (Qwen2Tokenizer), GPT-2 with
ByteLevel's own regex, Llama-3 with Meta's regex, its 256 special tokens at 128000-128255 and
merges for every split of every rank (TikTokenConverter, ignore_merges). No torch is imported.
"""

from __future__ import annotations

import base64
import functools
import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.deps import require_module

# Meta's pre-tokenizer regex (meta-llama/llama3 llama/tokenizer.py), also the HF Llama-3 files'.
LLAMA3_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
# Qwen2's (transformers' tokenization_qwen2.py): Llama-3's with single digits.
QWEN2_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
# GPT-2's, which tokenizers' ByteLevel(use_regex=True) applies.
GPT2_PATTERN = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"

LLAMA3_BASE_RANKS = 128000
LLAMA3_SPECIAL_COUNT = 256
QWEN2_SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
GPT2_EOS = "<|endoftext|>"


def llama3_special_tokens(version: str) -> list[str]:
    """The 256 special tokens of Llama-3 ("3") or Llama-3.1 and later ("3.1"), in id order from 128000."""
    if version == "3":
        named = [
            "<|begin_of_text|>",
            "<|end_of_text|>",
            "<|reserved_special_token_0|>",
            "<|reserved_special_token_1|>",
            "<|reserved_special_token_2|>",
            "<|reserved_special_token_3|>",
            "<|start_header_id|>",
            "<|end_header_id|>",
            "<|reserved_special_token_4|>",
            "<|eot_id|>",
        ]
        return named + [f"<|reserved_special_token_{i}|>" for i in range(5, LLAMA3_SPECIAL_COUNT - 5)]
    named = [
        "<|begin_of_text|>",
        "<|end_of_text|>",
        "<|reserved_special_token_0|>",
        "<|reserved_special_token_1|>",
        "<|finetune_right_pad_id|>",
        "<|step_id|>",
        "<|start_header_id|>",
        "<|end_header_id|>",
        "<|eom_id|>",
        "<|eot_id|>",
        "<|python_tag|>",
        "<|image|>",
    ]
    return named + [f"<|reserved_special_token_{2 + i}|>" for i in range(LLAMA3_SPECIAL_COUNT - len(named))]


@functools.lru_cache(maxsize=1)
def byte_alphabet() -> tuple[str, ...]:
    """GPT-2's bytes_to_unicode: the printable character that stands for each byte 0..255."""
    printable = {
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    }
    chars, extra = {}, 0
    for b in range(256):
        if b in printable:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + extra)
            extra += 1
    return tuple(chars[b] for b in range(256))


@functools.lru_cache(maxsize=1)
def _byte_of() -> dict[str, int]:
    return {ch: b for b, ch in enumerate(byte_alphabet())}


def token_bytes(token: str) -> bytes:
    """The bytes a byte-level token string stands for ("Ġì" -> b" \\xec")."""
    table = _byte_of()
    return bytes(table[ch] for ch in token)


def token_string(data: bytes) -> str:
    """The byte-level spelling of `data` (inverse of token_bytes)."""
    alphabet = byte_alphabet()
    return "".join(alphabet[b] for b in data)


@dataclass
class ByteLevelBase:
    """A byte-level BPE tokenizer and what a second implementation needs to reproduce it."""

    tokenizer: object  # tokenizers.Tokenizer, with the base's post-processor (BOS) and added tokens
    kind: str  # llama3 (tiktoken file), qwen2 or gpt2 (vocab + merges), or tokenizer.json
    pattern: str  # the pre-tokenizer regex
    nfc: bool  # the normalizer is NFC (Qwen2)
    # tokenizer_config.json's special-token entries: bos_token, eos_token, pad_token, unk_token.
    special_names: dict[str, str] = field(default_factory=dict)
    add_bos: bool = False
    _parts: tuple | None = field(default=None, repr=False, compare=False)

    def vocab(self) -> dict[str, int]:
        """The BPE model's vocabulary (byte-level spellings to ids), without added tokens."""
        return dict(self.model_parts()[0])

    def model_parts(self) -> tuple[dict[str, int], list[tuple[str, str]]]:
        """The BPE model's vocabulary (added tokens left out, also where the file lists them in it,
        as GPT-2's <|endoftext|> and extended tokenizers do) and merges, read once from the JSON."""
        if self._parts is None:
            model = _component(self.tokenizer.model)
            added = {t.content: i for i, t in self.tokenizer.get_added_tokens_decoder().items()}
            vocab = {k: v for k, v in model["vocab"].items() if added.get(k) != v}
            merges = [tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m) for m in model["merges"]]
            self._parts = (vocab, merges, added)
        return self._parts[0], self._parts[1]

    def token_ids(self) -> dict[bytes, int]:
        """Every vocabulary entry's bytes and id (added tokens aside)."""
        return {token_bytes(token): token_id for token, token_id in self.model_parts()[0].items()}

    def special_tokens(self) -> dict[str, int]:
        """Added tokens (Llama-3's 256 specials, Qwen2's <|im_start|> ...) by content."""
        self.model_parts()
        return dict(self._parts[2])

    def size(self) -> int:
        """One past the highest id, added tokens included: where new tokens start."""
        vocab, _ = self.model_parts()
        return max([*vocab.values(), *self._parts[2].values()]) + 1


# ---------------------------------------------------------------- detection


def is_tiktoken_file(path: Path) -> bool:
    """A text file of `<base64 token> <rank>` lines (Llama-3's tokenizer.model), not a protobuf."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096).split(b"\n")[0]
    except OSError:
        return False
    return re.fullmatch(rb"[A-Za-z0-9+/=]+ \d+", head) is not None


def _component(part) -> dict:
    """The JSON of one part of a tokenizers.Tokenizer (its model, pre-tokenizer...), {} for none."""
    return json.loads(part.__getstate__()) if part is not None else {}


def is_byte_level_json(path: Path) -> bool:
    """A tokenizer.json whose model is BPE over GPT-2's byte alphabet (a ByteLevel pre-tokenizer)."""
    require_module("tokenizers", extra="tokenizer")
    from tokenizers import Tokenizer, models

    try:
        tok = Tokenizer.from_file(str(path))
    except Exception:  # not JSON, or not a tokenizer
        return False
    return isinstance(tok.model, models.BPE) and "ByteLevel" in json.dumps(_component(tok.pre_tokenizer))


def tokenizer_kind(path: str | Path) -> str:
    """'sentencepiece' or 'byte_level' for a tokenizer file or a model directory; ValueError otherwise."""
    path = Path(path)
    if path.is_file():
        if path.suffix == ".json":
            if is_byte_level_json(path):
                return "byte_level"
            raise ValueError(f"{path}: not a byte-level BPE tokenizer.json")
        return "byte_level" if is_tiktoken_file(path) else "sentencepiece"
    if (path / "tokenizer.model").is_file() and not is_tiktoken_file(path / "tokenizer.model"):
        return "sentencepiece"
    if (path / "tokenizer.json").is_file() and is_byte_level_json(path / "tokenizer.json"):
        return "byte_level"
    names = ("tokenizer.model", "vocab.json", "encoder.json")
    if any((path / name).is_file() for name in names):
        return "byte_level"
    raise ValueError(
        f"{path}: no tokenizer found (a SentencePiece tokenizer.model, a byte-level BPE tokenizer.json, "
        "vocab.json + merges.txt, or Llama-3's tiktoken tokenizer.model)"
    )


# ---------------------------------------------------------------- loading and conversion


def load_byte_level(path: str | Path, flavour: str = "") -> ByteLevelBase:
    """The byte-level BPE base at `path`: a tokenizer.json, a tiktoken file, or a directory with one
    of tokenizer.json, tokenizer.model (tiktoken), vocab.json + merges.txt, encoder.json + vocab.bpe.

    `flavour` (qwen2, gpt2, llama3, llama3.1) names the pre-tokenizer and special tokens of a
    vocab + merges pair or a tiktoken file; "" reads them from config.json's model_type or
    tokenizer_config.json's tokenizer_class.
    """
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    if path.is_file() and path.suffix == ".json":
        return _from_tokenizer_json(path, folder)
    if path.is_file():
        return convert_tiktoken(path, flavour or _llama3_version(folder))
    if (path / "tokenizer.json").is_file():
        return _from_tokenizer_json(path / "tokenizer.json", path)
    if (path / "tokenizer.model").is_file() and is_tiktoken_file(path / "tokenizer.model"):
        return convert_tiktoken(path / "tokenizer.model", flavour or _llama3_version(path))
    for vocab_name, merges_name in (("vocab.json", "merges.txt"), ("encoder.json", "vocab.bpe")):
        if (path / vocab_name).is_file() and (path / merges_name).is_file():
            if not flavour:
                flavour = "gpt2" if vocab_name == "encoder.json" else _model_family(path)
            return convert_vocab_merges(path / vocab_name, path / merges_name, flavour, folder=path)
    raise ValueError(f"{path}: no byte-level BPE tokenizer files")


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _model_family(folder: Path) -> str:
    """qwen2 or gpt2 from config.json's model_type or tokenizer_config.json's class; ValueError if neither."""
    model_type = str(_read_json(folder / "config.json").get("model_type", ""))
    tokenizer_class = str(_read_json(folder / "tokenizer_config.json").get("tokenizer_class", ""))
    for family in ("qwen2", "gpt2"):
        if model_type.startswith(family) or tokenizer_class.lower().startswith(family):
            return family
    raise ValueError(
        f"{folder}: vocab.json + merges.txt without a known model_type in config.json or tokenizer_class in "
        "tokenizer_config.json (qwen2 or gpt2): their pre-tokenizers differ, so the family must be named"
    )


def _llama3_version(folder: Path) -> str:
    """'3.1' when config.json has Llama-3.1's rope scaling (rope_type llama3) or none is there, else '3'."""
    config = _read_json(folder / "config.json")
    if not config:
        return "3.1"
    rope = config.get("rope_scaling") or config.get("rope_parameters") or {}
    return "3.1" if rope.get("rope_type") == "llama3" else "3"


def _byte_level_tokenizer(vocab: dict[str, int], merges: list[tuple[str, str]], pattern: str, *, gpt2: bool):
    """A tokenizers.Tokenizer: BPE over byte-level symbols, split by `pattern` (GPT-2: ByteLevel's own)."""
    require_module("tokenizers", extra="tokenizer")
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors

    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False, byte_fallback=False))
    if gpt2:
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    else:
        tok.pre_tokenizer = pre_tokenizers.Sequence(
            [
                pre_tokenizers.Split(Regex(pattern), behavior="isolated", invert=False),
                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
            ]
        )
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    return tok


def convert_tiktoken(path: Path, version: str = "3.1") -> ByteLevelBase:
    """Llama-3's tiktoken ranks as a Hugging Face tokenizer (transformers' TikTokenConverter, with
    ignore_merges) plus its 256 special tokens and BOS. `version`: "3" or "3.1" special names."""
    require_module("tokenizers", extra="tokenizer")
    from tokenizers import AddedToken, processors

    if version not in ("3", "3.1", "llama3", "llama3.1"):
        raise ValueError(f"{path}: a tiktoken file converts as Llama-3 or Llama-3.1, not {version!r}")
    version = version.removeprefix("llama")
    ranks = read_tiktoken_ranks(path)
    if len(ranks) != LLAMA3_BASE_RANKS:
        raise ValueError(f"{path}: {len(ranks)} ranks; Llama-3's tiktoken model has {LLAMA3_BASE_RANKS}")
    vocab = {token_string(b): rank for b, rank in ranks.items()}
    tok = _byte_level_tokenizer(vocab, tiktoken_merges(ranks), LLAMA3_PATTERN, gpt2=False)
    tok.model.ignore_merges = True
    specials = llama3_special_tokens(version)
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    bos = specials[0]
    tok.post_processor = processors.Sequence(
        [
            processors.ByteLevel(trim_offsets=False),
            processors.TemplateProcessing(
                single=f"{bos}:0 $A:0",
                pair=f"{bos}:0 $A:0 {bos}:1 $B:1",
                special_tokens=[(bos, LLAMA3_BASE_RANKS)],
            ),
        ]
    )
    names = {"bos_token": bos, "eos_token": specials[1]}
    return ByteLevelBase(tok, "llama3", LLAMA3_PATTERN, nfc=False, special_names=names, add_bos=True)


def read_tiktoken_ranks(path: Path) -> dict[bytes, int]:
    """`<base64 token> <rank>` lines into {token bytes: rank}."""
    ranks = {}
    for line in Path(path).read_bytes().splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


def tiktoken_merges(ranks: dict[bytes, int]) -> list[tuple[str, str]]:
    """Merges that make HF's BPE follow tiktoken's rank rule: for every token, each split into two
    tokens, ordered by the token's rank, then by the parts' ranks (as transformers converts)."""
    merges = []
    for token, rank in ranks.items():
        splits = [
            (ranks[token[:i]], ranks[token[i:]], token[:i], token[i:])
            for i in range(1, len(token))
            if token[:i] in ranks and token[i:] in ranks
        ]
        merges.extend((rank, a, b, left, right) for a, b, left, right in sorted(splits))
    merges.sort()
    return [(token_string(left), token_string(right)) for _, _, _, left, right in merges]


def convert_vocab_merges(vocab_path: Path, merges_path: Path, flavour: str, folder: Path | None = None):
    """vocab.json + merges.txt as transformers' Qwen2Tokenizer (flavour qwen2: its regex, NFC, specials
    after the vocabulary) or GPT2Tokenizer (gpt2: ByteLevel's regex, <|endoftext|> in the vocabulary)."""
    require_module("tokenizers", extra="tokenizer")
    from tokenizers import AddedToken, normalizers

    if flavour not in ("qwen2", "gpt2"):
        raise ValueError(f"{vocab_path}: vocab + merges convert as qwen2 or gpt2, not {flavour!r}")
    vocab = json.loads(Path(vocab_path).read_text(encoding="utf-8"))
    merges = []
    for line in Path(merges_path).read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#version"):
            left, right = line.split(" ")
            merges.append((left, right))
    if flavour == "gpt2":
        regular = {k: v for k, v in vocab.items() if k != GPT2_EOS}
        tok = _byte_level_tokenizer(regular, merges, GPT2_PATTERN, gpt2=True)
        tok.add_special_tokens([AddedToken(GPT2_EOS, special=True, normalized=False)])
        names = {"bos_token": GPT2_EOS, "eos_token": GPT2_EOS, "unk_token": GPT2_EOS}
        return ByteLevelBase(tok, "gpt2", GPT2_PATTERN, nfc=False, special_names=names)
    tok = _byte_level_tokenizer(vocab, merges, QWEN2_PATTERN, gpt2=False)
    tok.normalizer = normalizers.NFC()
    for content, token_id in _qwen2_specials(folder or Path(vocab_path).parent, len(vocab)):
        added = tok.add_special_tokens([AddedToken(content, special=True, normalized=False)])
        if added != 1 or tok.token_to_id(content) != token_id:
            raise ValueError(f"{vocab_path}: special token {content} must have id {token_id}")
    names = {"eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>"}
    return ByteLevelBase(tok, "qwen2", QWEN2_PATTERN, nfc=True, special_names=names)


def _qwen2_specials(folder: Path, vocab_size: int) -> list[tuple[str, int]]:
    """added_tokens.json's entries by id, or Qwen2's three (<|endoftext|> <|im_start|> <|im_end|>)."""
    added = _read_json(folder / "added_tokens.json")
    if added:
        return sorted(added.items(), key=lambda item: item[1])
    return [(content, vocab_size + i) for i, content in enumerate(QWEN2_SPECIALS)]


def _from_tokenizer_json(path: Path, folder: Path) -> ByteLevelBase:
    """A byte-level tokenizer.json as is; its regex and normalizer read for the second implementation."""
    require_module("tokenizers", extra="tokenizer")
    from tokenizers import Tokenizer, models

    try:
        tok = Tokenizer.from_file(str(path))
    except Exception as exc:  # tokenizers raises its own exception types
        raise ValueError(f"{path}: not a tokenizer.json ({exc})") from exc
    pre_tokenizer = _component(tok.pre_tokenizer)
    if not isinstance(tok.model, models.BPE) or "ByteLevel" not in json.dumps(pre_tokenizer):
        raise ValueError(f"{path}: not a byte-level BPE tokenizer.json")
    pattern = _split_pattern(pre_tokenizer) or GPT2_PATTERN
    nfc = _component(tok.normalizer).get("type") == "NFC"
    config = _read_json(folder / "tokenizer_config.json")
    names = {}
    for key in ("bos_token", "eos_token", "pad_token", "unk_token"):
        value = config.get(key)
        value = value.get("content") if isinstance(value, dict) else value
        if value:
            names[key] = value
    post = json.dumps(_component(tok.post_processor))
    add_bos = bool(names.get("bos_token")) and names["bos_token"] in post
    return ByteLevelBase(tok, "tokenizer.json", pattern, nfc, names, add_bos)


def _split_pattern(pre_tokenizer: dict) -> str:
    """The regex of the Split step of a pre-tokenizer (inside a Sequence or alone), or "".

    ValueError for a layout one regex cannot stand for (tiktoken, the second implementation, splits
    by one): several Splits, or a Split followed by a ByteLevel that splits again (use_regex)."""
    steps = pre_tokenizer.get("pretokenizers") or [pre_tokenizer]
    splits = [s for s in steps if s.get("type") == "Split" and isinstance(s.get("pattern"), dict)]
    regex_after = [s for s in steps if s.get("type") == "ByteLevel" and s.get("use_regex")]
    if len(splits) > 1 or (splits and regex_after):
        extra = " and a splitting ByteLevel" if regex_after else ""
        raise ValueError(
            f"a pre-tokenizer with {len(splits)} Split steps{extra}: not one regex, which the byte-level "
            "extension and its tiktoken proof need"
        )
    if splits:
        return splits[0]["pattern"].get("Regex", "") or re.escape(splits[0]["pattern"].get("String", ""))
    return ""


# ---------------------------------------------------------------- second implementation


def tiktoken_encoding(base: ByteLevelBase, name: str = "base"):
    """The same tokenizer in tiktoken: every vocabulary entry's bytes ranked by its id, the same
    regex and special tokens. Its ids must equal HF's on any (NFC, where the base normalizes) text."""
    require_module("tiktoken", extra="tokenizer")
    import tiktoken

    ranks = {token_bytes(token): token_id for token, token_id in base.vocab().items()}
    return tiktoken.Encoding(
        name, pat_str=base.pattern, mergeable_ranks=ranks, special_tokens=base.special_tokens()
    )


def encode_twin(encoding, base: ByteLevelBase, lines: list[str]) -> list[list[int]]:
    """tiktoken's ids for `lines`; special-token strings in the text become their ids, as HF's
    encode does (NFC first where the base normalizes so)."""
    texts = [unicodedata.normalize("NFC", line) for line in lines] if base.nfc else list(lines)
    return encoding.encode_batch(texts, allowed_special="all", num_threads=2)


# ---------------------------------------------------------------- writing


def save_byte_level(base: ByteLevelBase, output: Path, *, model_max_length: int) -> Path:
    """tokenizer.json, tokenizer_config.json and special_tokens_map.json into `output`; loads with
    AutoTokenizer.from_pretrained(output) (the generic fast class, which keeps tokenizer.json as is)."""
    output.mkdir(parents=True, exist_ok=True)
    base.tokenizer.save(str(output / "tokenizer.json"))
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        **base.special_names,
        "add_bos_token": base.add_bos,
        "add_eos_token": False,
        "model_max_length": model_max_length,
        "clean_up_tokenization_spaces": False,
    }
    (output / "tokenizer_config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n")
    (output / "special_tokens_map.json").write_text(
        json.dumps(base.special_names, indent=2, ensure_ascii=False) + "\n"
    )
    return output

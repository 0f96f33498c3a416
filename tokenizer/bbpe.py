"""Korean merges on top of a byte-level BPE base: learned, appended, and kept only when reachable.

Learning starts where the base stops. Each Korean pre-token of the training text (the base's own
regex split, so " 대한민국은" with its leading space as Llama-3 sees it) is encoded with the base's
merges; the base symbols are then cut at the marked morpheme boundaries (a base token that spans
one is left alone), and BPE goes on over those runs: the most frequent adjacent pair becomes a new
token with the next id. A pair is a candidate only if its bytes can occur in Korean text alone
(identifies_korean), so no new merge can fire on English, code or other scripts.

New tokens go after every existing id with merges at the end of the list, one for each split of a
new token into two tokens (as tiktoken's rank rule and transformers' tiktoken conversion do), so
HF and tiktoken give the same ids. A base merge always outranks a new one and new tokens are in no
base merge, so a text's base merges all fire before any new one: base encodings are untouched
where no new merge applies. Encoding runs without the morpheme boundaries, so some learned tokens
would never come out of the tokenizer; select_reachable drops them until every kept token is
produced on the training text.
"""

from __future__ import annotations

import bisect
import heapq
import json
import logging
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

from tokenizer.byte_level import ByteLevelBase, token_string
from tokenizer.morphemes import morpheme_boundaries

log = logging.getLogger("ko.vocab")

# Hangul syllables, jamo and compatibility jamo: the characters is_korean (tokenizer/probes.py) counts.
KOREAN_RANGES = ((0xAC00, 0xD7A3), (0x1100, 0x11FF), (0x3131, 0x318E))
_KOREAN = re.compile("[\uac00-\ud7a3\u1100-\u11ff\u3131-\u318e]")


def identifies_korean(data: bytes) -> bool:
    """Whether text can hold these bytes only where it holds a Korean character: they contain a
    Korean character's UTF-8, or a start of one (lead byte and what follows of it) that no other
    character shares (b"\\xeb", b"\\xea\\xb0"; not b"\\xea" alone, which Yi syllables start with too)."""
    for i, lead in enumerate(data):
        if lead & 0xF0 != 0xE0:  # Korean characters are all three UTF-8 bytes long
            continue
        tail = data[i + 1 : i + 3]
        if any(b & 0xC0 != 0x80 for b in tail):
            continue
        low = [lead, *tail, 0x80, 0x80][:3]
        high = [lead, *tail, 0xBF, 0xBF][:3]
        first, last = _code_point(low), _code_point(high)
        if any(lo <= first and last <= hi for lo, hi in KOREAN_RANGES):
            return True
    return False


def _code_point(three: Sequence[int]) -> int:
    return ((three[0] & 0x0F) << 12) | ((three[1] & 0x3F) << 6) | (three[2] & 0x3F)


def char_count(data: bytes) -> int:
    """Characters a byte string touches (a partial character counts as one)."""
    starts = sum(1 for b in data if b & 0xC0 != 0x80)
    return starts + (1 if data and data[0] & 0xC0 == 0x80 else 0)


# ---------------------------------------------------------------- training text


def korean_pretokens(base: ByteLevelBase, lines: Sequence[str], segmented: Sequence[str] | None) -> Counter:
    """Counts of (pre-token text, morpheme boundaries inside it) over the Korean pre-tokens of `lines`.

    `segmented` are the lines with DELIMITER at morpheme boundaries (tokenizer.morphemes), or None
    for plain BPE. Pre-tokens are the base's (its normalizer and regex), by character offsets.
    """
    pre_tokenize, normalizer = base.tokenizer.pre_tokenizer.pre_tokenize_str, base.tokenizer.normalizer
    counts: Counter = Counter()
    for n, line in enumerate(lines):
        if not _KOREAN.search(line):
            continue
        text = normalizer.normalize_str(line) if normalizer is not None else line
        bounds = []
        if segmented is not None and text == line:
            bounds = sorted(morpheme_boundaries(segmented[n]))
        for _, (start, end) in pre_tokenize(text):
            piece = text[start:end]
            if _KOREAN.search(piece):
                inside = bounds[bisect.bisect_right(bounds, start) : bisect.bisect_left(bounds, end)]
                counts[piece, tuple(b - start for b in inside)] += 1
    return counts


def mergeable_runs(base: ByteLevelBase, pretokens: Counter) -> Counter:
    """Counts of runs of base token ids that new merges may join: each pre-token encoded with the
    base's merges, cut at its morpheme boundaries and around any base token that spans one."""
    model = base.tokenizer.model
    runs: Counter = Counter()
    for (piece, bounds), count in pretokens.items():
        encoded = piece.encode("utf-8")
        cuts = set()
        if bounds:
            offsets = [0]
            for ch in piece:
                offsets.append(offsets[-1] + len(ch.encode("utf-8")))
            cuts = {offsets[b] for b in bounds}
        run: list[int] = []
        end = 0
        for token in model.tokenize(token_string(encoded)):
            # Byte offsets: one byte-level character per byte (token.offsets count UTF-8 bytes of
            # those characters, two for most of them).
            start, end = end, end + len(token.value)
            if any(start < c < end for c in cuts):
                _keep(run, runs, count)
                run = []
                continue
            if start in cuts:
                _keep(run, runs, count)
                run = []
            run.append(token.id)
        _keep(run, runs, count)
    return runs


def _keep(run: list[int], runs: Counter, count: int) -> None:
    if len(run) > 1:
        runs[tuple(run)] += count


# ---------------------------------------------------------------- learning


def base_completions(base_tokens: Iterable[bytes]) -> dict[bytes, list[bytes]]:
    """For each byte string that identifies Korean and is a proper prefix or suffix of a base
    token, the rest of that token.

    A new token T with a rest R in the vocabulary would spell the base token T+R: tiktoken then
    joins T and R at the base token's rank, ahead of every new merge, while HF's merge list holds
    no (T, R) merge unless one is put among the base's, which would move them. Such a T is never
    learned, so the two agree and the base's merges stay as they are.
    """
    completions: dict[bytes, list[bytes]] = defaultdict(list)
    for token in base_tokens:
        if len(token) < 2 or not identifies_korean(token):
            continue
        for i in range(1, len(token)):
            left, right = token[:i], token[i:]
            if identifies_korean(left):
                completions[left].append(right)
            if identifies_korean(right):
                completions[right].append(left)
    return dict(completions)


class MergeLearner:
    """Byte-level BPE over `runs` of symbol ids, from where the base's merges stopped.

    learn(n) returns the next n new tokens (as bytes), most frequent pair first (ties: lowest ids);
    it can be called again to go on. Pairs whose bytes do not identify Korean, are longer than
    `max_chars` characters, spell a token that exists already (in the base, or learned through
    another split) or would complete a base token (completes_base_token) are never merged.

    `base_tokens`: the base's token bytes (those of symbol_bytes when not given).
    """

    def __init__(
        self,
        runs: Counter,
        symbol_bytes: dict[int, bytes],
        next_id: int,
        max_chars: int,
        base_tokens: Iterable[bytes] | None = None,
    ):
        self.symbols = dict(symbol_bytes)
        self.known = set(self.symbols.values())
        self.completions = base_completions(self.known if base_tokens is None else base_tokens)
        self.next_id = next_id
        self.max_chars = max_chars
        self.words = [list(run) for run in runs]
        self.counts = list(runs.values())
        self.pair_count: dict[tuple[int, int], int] = defaultdict(int)
        self.where: dict[tuple[int, int], set[int]] = defaultdict(set)
        self._eligible: dict[tuple[int, int], bool] = {}
        for index, word in enumerate(self.words):
            self._add_pairs(index, word)
        self.heap = [(-count, pair) for pair, count in self.pair_count.items()]
        heapq.heapify(self.heap)

    def eligible(self, pair: tuple[int, int]) -> bool:
        found = self._eligible.get(pair)
        if found is None:
            merged = self.symbols[pair[0]] + self.symbols[pair[1]]
            found = merged not in self.known and identifies_korean(merged)
            found = found and char_count(merged) <= self.max_chars and not self.completes(merged)
            self._eligible[pair] = found
        return found

    def completes(self, token: bytes) -> bool:
        """Whether `token` and a token already known would spell a base token (see base_completions)."""
        return any(other in self.known or other == token for other in self.completions.get(token, ()))

    def _add_pairs(self, index: int, word: list[int], sign: int = 1) -> set:
        changed = set()
        for pair in zip(word, word[1:], strict=False):
            if self.eligible(pair):
                self.pair_count[pair] += sign * self.counts[index]
                changed.add(pair)
                if sign > 0:
                    self.where[pair].add(index)
        return changed

    def learn(self, n: int, min_count: int = 2) -> list[bytes]:
        """The next `n` new tokens (fewer when no pair occurs `min_count` times any more)."""
        learned: list[bytes] = []
        while len(learned) < n and self.heap:
            negative, pair = heapq.heappop(self.heap)
            if self.pair_count.get(pair, 0) != -negative:
                continue  # stale entry: the pair's count changed and was pushed again
            if -negative < min_count:
                break
            merged = self.symbols[pair[0]] + self.symbols[pair[1]]
            if merged in self.known or self.completes(merged):  # learned meanwhile, or its partner
                self._eligible[pair] = False
                self.pair_count.pop(pair, None)
                self.where.pop(pair, None)
                continue
            learned.append(self._merge(pair))
        return learned

    def _merge(self, pair: tuple[int, int]) -> bytes:
        new_id, (a, b) = self.next_id, pair
        self.next_id += 1
        self.symbols[new_id] = self.symbols[a] + self.symbols[b]
        self.known.add(self.symbols[new_id])
        changed: set = set()
        for index in sorted(self.where.pop(pair, ())):
            word = self.words[index]
            merged, i = [], 0
            while i < len(word):
                if i + 1 < len(word) and word[i] == a and word[i + 1] == b:
                    merged.append(new_id)
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            if len(merged) == len(word):
                continue
            changed |= self._add_pairs(index, word, sign=-1)
            for old in zip(word, word[1:], strict=False):
                self.where.get(old, set()).discard(index)
            changed |= self._add_pairs(index, merged)
            self.words[index] = merged
        self.pair_count.pop(pair, None)
        for other in changed - {pair}:
            count = self.pair_count.get(other, 0)
            if count > 0:
                heapq.heappush(self.heap, (-count, other))
            else:
                self.pair_count.pop(other, None)
        return self.symbols[new_id]


# ---------------------------------------------------------------- the extended tokenizer


def new_token_merges(ids: dict[bytes, int], new_tokens: Sequence[bytes]) -> list[tuple[str, str]]:
    """For each new token in order, a merge for each split of it into two tokens of `ids` (which
    holds the base's and the new tokens), ordered by the parts' ids: tiktoken's rank rule."""
    merges = []
    for token in new_tokens:
        splits = sorted(
            (ids[token[:i]], ids[token[i:]], token[:i], token[i:])
            for i in range(1, len(token))
            if token[:i] in ids and token[i:] in ids
        )
        merges.extend((token_string(left), token_string(right)) for _, _, left, right in splits)
    return merges


def _extended_parts(base: ByteLevelBase, new_tokens: Sequence[bytes]):
    """(vocab, merges) of the base's BPE model with `new_tokens` from id base.size() on."""
    vocab, merges = base.model_parts()
    vocab = dict(vocab)
    ids = base.token_ids()
    first = base.size()
    for offset, token in enumerate(new_tokens):
        if token in ids:
            raise ValueError(f"new token {token!r} is already in the vocabulary")
        ids[token] = first + offset
        vocab[token_string(token)] = first + offset
    return vocab, [*merges, *new_token_merges(ids, new_tokens)]


def extend_tokenizer(base: ByteLevelBase, new_tokens: Sequence[bytes], placeholders: Sequence[str] = ()):
    """`base` with `new_tokens` at ids base.size(), base.size()+1, ... and their merges appended
    after the base's (new_token_merges); then the placeholders as added tokens at the next ids
    (whole, not normalized, not special: decoding keeps them). Returns a ByteLevelBase whose
    tokenizer has every base id, merge and added token where it was."""
    from dataclasses import replace

    from tokenizers import Tokenizer

    data = json.loads(base.tokenizer.to_str())
    vocab, merges = _extended_parts(base, new_tokens)
    start = base.size() + len(new_tokens)
    for offset, text in enumerate(placeholders):
        entry = {"id": start + offset, "content": text, "single_word": False, "lstrip": False}
        data["added_tokens"].append({**entry, "rstrip": False, "normalized": False, "special": False})
    # tokenizers gives an added token the id of its content in the model's vocabulary, else the
    # next id after the vocabulary's size (whatever the file says): with new tokens after the
    # specials that would move every special. In the vocabulary they keep their ids; no merge
    # makes them, and the pre-tokenizer never yields one whole.
    vocab.update({token["content"]: token["id"] for token in data["added_tokens"]})
    data["model"]["vocab"] = vocab
    data["model"]["merges"] = [list(pair) for pair in merges]
    return replace(base, tokenizer=Tokenizer.from_str(json.dumps(data, ensure_ascii=False)), _parts=None)


def _model_only(base: ByteLevelBase, new_tokens: Sequence[bytes]):
    """The base's normalizer, pre-tokenizer and BPE model with `new_tokens`, without added tokens
    or post-processing: enough to encode Korean pre-tokens, and quick to build."""
    from tokenizers import Tokenizer, models

    vocab, merges = _extended_parts(base, new_tokens)
    model = models.BPE(vocab=vocab, merges=merges, fuse_unk=False)
    model.ignore_merges = base.tokenizer.model.ignore_merges
    tok = Tokenizer(model)
    tok.normalizer = base.tokenizer.normalizer
    tok.pre_tokenizer = base.tokenizer.pre_tokenizer
    return tok


def usage_of_new_tokens(tokenizer, texts: Sequence[str], weights: Sequence[int], first_new: int) -> Counter:
    """How often each id >= first_new comes out when `tokenizer` encodes `texts`, each weighted."""
    usage: Counter = Counter()
    for start in range(0, len(texts), 50_000):
        batch = tokenizer.encode_batch(list(texts[start : start + 50_000]), add_special_tokens=False)
        for encoding, weight in zip(batch, weights[start : start + 50_000], strict=True):
            for token_id in encoding.ids:
                if token_id >= first_new:
                    usage[token_id] += weight
    return usage


def select_reachable(
    base: ByteLevelBase, learner: MergeLearner, pretokens: Counter, budget: int
) -> tuple[list[bytes], dict]:
    """Up to `budget` learned tokens, in learned order, each of which the extended tokenizer
    produces on the training pre-tokens. Learns budget tokens (and more as others are dropped),
    drops the ones never produced, and repeats until none is dropped."""
    texts: dict[str, int] = Counter()
    for (piece, _), count in pretokens.items():
        texts[piece] += count
    pieces, weights = list(texts), list(texts.values())
    candidates = learner.learn(budget)
    learned, dropped, rounds = len(candidates), 0, 0
    first = base.size()
    while True:
        rounds += 1
        current = candidates[:budget]
        tok = _model_only(base, current)
        usage = usage_of_new_tokens(tok, pieces, weights, first)
        dead = {token for offset, token in enumerate(current) if not usage[first + offset]}
        log.info("selection round %d: %d of %d tokens never produced", rounds, len(dead), len(current))
        if not dead:
            stats = {"learned": learned, "dropped_unreachable": dropped, "selection_rounds": rounds}
            return current, stats
        dropped += len(dead)
        candidates = [token for token in candidates if token not in dead]
        if len(candidates) < budget:
            more = learner.learn(budget - len(candidates) + len(dead))
            learned += len(more)
            candidates += more


def spell(tokens: Iterable[bytes]) -> list[str]:
    """Byte-level spellings of tokens (how tokenizer.json writes them), for pieces.txt."""
    return [token_string(token) for token in tokens]

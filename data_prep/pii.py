"""Korean PII: find structured identifiers and replace them with typed placeholders.

Each rule is a regular expression plus a check. A well-formed number counts even when its
checksum fails (synthetic, mistyped and post-2020 RRNs fail yet are somebody's); a checksum or
a keyword just before it ("사업자등록번호 ...") is needed only where the bare shape is too
common (13 bare digits, card-length digit runs). Kinds that look like ordinary numbers (bank
accounts, foreign passports) count only next to a keyword. Digits inside URLs are not PII.

`\\b` is useless here: Hangul is a word character, so "010-1234-5678로" has no boundary after
the 8. Every pattern uses digit (or e-mail character) lookarounds instead.
"""

from __future__ import annotations

import bisect
import ipaddress
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from data_prep.config import PII_KINDS as KINDS

# How far before a number its keyword may stand ("사업자등록번호: (주)대성 (110-83-12345)").
KEYWORD_WINDOW = 24

_SEP = r"[-. ]?"
_NOT_DIGIT_BEFORE = r"(?<![\d-])"
_NOT_DIGIT_AFTER = r"(?![\d]|-\d)"


@dataclass(frozen=True)
class Span:
    """One PII occurrence: its kind and character offsets in the text it was found in."""

    kind: str
    start: int
    end: int


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _valid_date(yymmdd: str) -> bool:
    month, day = int(yymmdd[2:4]), int(yymmdd[4:6])
    if not 1 <= month <= 12 or day < 1:
        return False
    return day <= (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[month - 1]


def rrn_checksum_ok(digits: str) -> bool:
    """주민등록번호 (G 1-4, 9, 0) or 외국인등록번호 (G 5-8) check digit."""
    weights = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
    total = sum(int(d) * w for d, w in zip(digits[:12], weights, strict=True))
    base = 13 if digits[6] in "5678" else 11
    return (base - total % 11) % 10 == int(digits[12])


def crn_checksum_ok(digits: str) -> bool:
    """법인등록번호: weights 1,2 alternating over 12 digits, check (10 - sum mod 10) mod 10."""
    total = sum(int(d) * (1 if i % 2 == 0 else 2) for i, d in enumerate(digits[:12]))
    return (10 - total % 10) % 10 == int(digits[12])


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d)
        if i % 2 == 1:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


@dataclass(frozen=True)
class Rule:
    """A pattern for one kind. `check(match, before)` gets the text just before the match."""

    kind: str
    pattern: re.Pattern[str]
    check: Callable[[re.Match[str], str], str | None]
    # Among overlapping candidates the longest wins; on equal length, the lower priority.
    priority: int


RRN_WORDS = re.compile(r"주민|외국인|등록번호")
# A birth date and gender digit alone ("880917-1") is a resident number's visible part only with
# one of these before it; "제201002-1호" (a registry precedent) has the same shape.
PARTIAL_RRN_WORDS = re.compile(r"주민|외국인|생년월일|RRN")
CRN_WORDS = re.compile(r"법인")
CARD_WORDS = re.compile(r"카드|card|Card|CARD|결제")
# Other 16-digit numbers: certificates, receipts, orders. Without a card word, one of these
# before a Luhn-passing run says it is not a card ("발급번호 2023-0530-9980-2207").
NOT_CARD_WORDS = re.compile(r"발급|접수|주문|송장|운송장|증권|고지|승인|일련|문서|신청|등록|관리|[Pp]olicy")
# The layouts of card numbers: 4-4-4-4 (or 4-4-4-1..7), 4-6-5 (Amex), 4-6-4 (Diners).
CARD_LAYOUT = re.compile(r"\d{4}([- ]?)\d{4}\1\d{4}\1\d{1,7}|\d{4}[- ]\d{6}[- ]\d{4,5}")
BRN_WORDS = re.compile(r"사업자")
ACCOUNT_WORDS = re.compile(
    r"계좌|은행|농협|신한|국민|우리|하나|기업|카카오뱅크|토스|케이뱅크|우체국|새마을|수협|신협|"
    r"SC제일|씨티|대구|부산|경남|광주|전북|제주|산업|입금|송금|이체|IBK|KB|NH|뱅크"
)
PASSPORT_WORDS = re.compile(r"여권|[Pp]assport|PASSPORT")
# Foreign passports are written next to the holder's nationality, often without the word 여권
# ("중국 국적 왕웨이(E12345678)"): a letter-and-digits number needs one of these before it.
# A country's name alone is not enough ("미국 특허 US10123456호", "인도하라"): 국적 must be there.
NATIONALITY_WORDS = re.compile(r"국적|[Nn]ationality|NATIONALITY")
LICENCE_WORDS = re.compile(r"면허")
# Bare 10-14 digit runs are order, tracking and policy numbers unless an account word stands
# before them, or a bank's name right before the digits ("농협 79012345678901", not
# "농협몰 주문번호 2023..."); bank names that are also common words (우리, 하나) do not count.
ACCOUNT_BARE_WORDS = re.compile(r"계좌|입금|송금|이체")
BANK_RIGHT_BEFORE = re.compile(
    r"(?:은행|뱅크|농협|수협|신협|우체국|새마을금고|IBK|NH|KB|SC제일|신한)[\s:()\[\],|│]*$"
)


def _check_rrn(m: re.Match[str], before: str) -> str | None:
    digits = _digits(m.group(0))
    if not _valid_date(digits[:6]):
        return None
    # Thirteen bare digits after a date may be an order number: they need the checksum or a
    # keyword. With the 6-7 dash, the shape and the date are enough.
    bare = len(m.group(0)) == 13
    if bare and not (rrn_checksum_ok(digits) or RRN_WORDS.search(before)):
        return None
    # 법인등록번호 has the same 6-7 shape and its first six digits often read as a date; only a
    # keyword tells them apart. A failed RRN checksum proves nothing: post-2020 tails are random.
    return "crn" if CRN_WORDS.search(before) else "rrn"


# A name: 2-4 syllables standing alone before the parenthesis ("피해자 민기범(", "곽예린 ("),
# not the end of a longer word or of a number's label ("제조번호(", "2023년(").
_NAME_PAREN_BEFORE = re.compile(r"(?:^|[\s:,])[가-힣]{2,4}\s?\($")
_NOT_A_NAME = re.compile(r"(?:번호|년|호|일|월|정|문|차|판|호증)\s?\($")


def _check_partial_rrn(m: re.Match[str], before: str) -> str | None:
    if not _valid_date(_digits(m.group(0))[:6]):
        return None
    if not m.group(0)[-1].isdigit():  # a masked tail: 880917-1******, 950812-2795***, 851019-*******
        return "rrn"
    # The birth date and gender digit alone: after a keyword, or in parentheses after a name,
    # as indictments write them ("피해자 민기범(800126-1)에게").
    after = m.string[m.end() : m.end() + 1]
    if before.rstrip().endswith("제") or after == "호":  # 제201002-1호: a precedent's number
        return None
    named = _NAME_PAREN_BEFORE.search(before) and not _NOT_A_NAME.search(before)
    if PARTIAL_RRN_WORDS.search(before) or (named and after in (")", ",")):
        return "rrn"
    return None


def _check_crn(m: re.Match[str], before: str) -> str | None:
    # A 13-digit number whose first six digits are not a date can still be a corporation's.
    if CRN_WORDS.search(before) or crn_checksum_ok(_digits(m.group(0))):
        return "crn"
    return None


def _check_card(m: re.Match[str], before: str) -> str | None:
    digits = _digits(m.group(0))
    if not 13 <= len(digits) <= 19 or not _issuer_ok(digits):
        return None
    account = _check_bare_account(m, before)
    # After an account word or a bank's name, a number in no card layout is the account
    # ("결제계좌 │ 카카오뱅크 3333-99-9740692").
    if account and not CARD_LAYOUT.fullmatch(m.group(0)):
        return None
    if CARD_WORDS.search(before):
        return "card"
    # A bare digit run after "계좌" is an account even when it passes Luhn (one in ten does).
    if account and m.group(0).isdigit():
        return None
    if NOT_CARD_WORDS.search(before):
        return None
    return "card" if luhn_ok(digits) else None


def _check_masked_card(m: re.Match[str], before: str) -> str | None:
    # 4-4-4-4 with a masked middle ("9430-****-****-0806"): receipts print cards this way.
    if not _issuer_ok(m.group(0)) or (NOT_CARD_WORDS.search(before) and not CARD_WORDS.search(before)):
        return None
    return "card" if "*" in m.group(0) and len(_digits(m.group(0))) >= 8 else None


def _issuer_ok(number: str) -> bool:
    # Mastercard's 2-series is 2221-2720; other 2xxx runs are years ("2023-1015-1234-5678").
    return number[0] != "2" or 2221 <= int(number[:4]) <= 2720


def _check_brn(m: re.Match[str], before: str) -> str | None:
    # The dashed 3-2-5 layout is a business registration number's own (phones and bank accounts
    # use other layouts). Ten bare digits are everywhere (insurance, order numbers; a tenth of
    # them pass the BRN checksum by chance), so they need a keyword.
    return "brn" if "-" in m.group(0) or BRN_WORDS.search(before) else None


_DATE_START = re.compile(r"(?:19|20)\d\d-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])(?!\d)")


def _check_account(m: re.Match[str], before: str) -> str | None:
    if not 10 <= len(_digits(m.group(0))) <= 14 or _DATE_START.match(m.group(0)):
        return None
    return "account" if ACCOUNT_WORDS.search(before) else None


def _check_bare_account(m: re.Match[str], before: str) -> str | None:
    return "account" if ACCOUNT_BARE_WORDS.search(before) or BANK_RIGHT_BEFORE.search(before) else None


# Foreign passport shapes: a letter or two and 7-8 digits, or a letter, 7 digits and a letter.
_PASSPORT_ABROAD = re.compile(r"[A-Z]{1,2}\d{7,8}|[A-Z]\d{7}[A-Z]")


def _check_passport(m: re.Match[str], before: str) -> str | None:
    # Any of the shapes after 여권; the foreign ones also after 국적.
    if PASSPORT_WORDS.search(before):
        return "passport"
    if NATIONALITY_WORDS.search(before) and _PASSPORT_ABROAD.fullmatch(m.group(0)):
        return "passport"
    return None


def _check_intl_phone(m: re.Match[str], before: str) -> str | None:
    # E.164: at most 15 digits with the country code; under 8 is an expression ("+12 345").
    # A unit after it makes it a quantity ("+15 230 4500원").
    if m.string[m.end() : m.end() + 1] in ("원", "%", "명", "°", "점", "개"):
        return None
    groups = re.findall(r"\d+", m.group(0))
    code, rest = groups[0], groups[1:]
    if rest and code.startswith("1"):
        # North America is +1 and 3-3-4 ("+1-2023-10-15" is a date, "+100 200 300" a list).
        if code != "1" or [len(g) for g in rest] not in ([3, 3, 4], [10]):
            return None
    elif rest and max(len(g) for g in rest) < 3:  # "+20 25 30 35": a list of small numbers
        return None
    return "phone" if 8 <= len(_digits(m.group(0))) <= 15 else None


def _check_licence(m: re.Match[str], before: str) -> str | None:
    return "licence" if "-" in m.group(0) or LICENCE_WORDS.search(before) else None


IP_WORDS = re.compile(r"(?<![A-Za-z])IP|아이피|접속|서버|호스트|[Hh]ost|[Ss]erver|from|주소")
# Versions and builds: "버전 3.18.0.84".
NOT_IP_WORDS = re.compile(r"버전|빌드|[Vv]er(?:sion)?|[Bb]uild|릴리스|[Rr]elease")
_AFTER_IPV4 = re.compile(r"\.(?!\d)|:\d{2}(?!\d)|[점번항호조목]")


def _check_ip(m: re.Match[str], before: str) -> str | None:
    try:
        address = ipaddress.ip_address(m.group(0))
    except ValueError:
        return None
    if address.version == 4 and NOT_IP_WORDS.search(before[-12:]):
        return None
    if address.version == 4 and not IP_WORDS.search(before):
        # Rulings number their sections "2.4.1.1." and their hearings "71.4.15.10:00"; "제4.5.6.7점"
        # lists grounds of appeal. Without an IP word, all-small octets or a heading's dot, a time
        # or a counter after the digits say it is not an address.
        octets = [int(part) for part in m.group(0).split(".")]
        after = m.string[m.end() : m.end() + 3]
        if max(octets) < 32 or _AFTER_IPV4.match(after):
            return None
    return "ip"


def _always(kind: str) -> Callable[[re.Match[str], str], str | None]:
    return lambda m, before: kind


_PHONE_TAIL = rf"{_SEP}\d{{3,4}}{_SEP}\d{{4}}"
# Mobile 010 (legacy 011, 016-019), Seoul 02, regional 031-033/041-044/051-055/061-064, 070
# internet phones and 050X safe numbers. 15xx/16xx/18xx are business numbers: not matched.
_PHONE_PREFIX = r"(?:01[016-9]|02|0(?:3[1-3]|4[1-4]|5[1-5]|6[1-4])|070|050\d)"
# The licence's old form prints the issuing region's name where the new one has its code 11-28.
_LICENCE_REGION = (
    r"(?:서울|부산|경기(?:북부|남부)?|강원|충북|충남|전북|전남|경북|경남|제주|대구|인천|광주|대전|울산|세종)"
)
_PHONE_PREFIX_82 = r"(?:1[016-9]|2|(?:3[1-3]|4[1-4]|5[1-5]|6[1-4])|70|50\d)"

RULES: tuple[Rule, ...] = (
    Rule(
        "email",
        re.compile(
            r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![A-Za-z0-9-])"
        ),
        _always("email"),
        0,
    ),
    Rule(
        "ip",
        # Not after a "v": "v3.18.0.84" is a version.
        re.compile(r"(?<![\d.vV])(?:\d{1,3}\.){3}\d{1,3}(?![\d]|\.\d)"),
        _check_ip,
        1,
    ),
    Rule(
        "ip",
        re.compile(r"(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![0-9A-Fa-f:])"),
        _check_ip,
        1,
    ),
    Rule(
        "rrn",
        re.compile(rf"{_NOT_DIGIT_BEFORE}\d{{6}}\s?[-–]?\s?\d{{7}}{_NOT_DIGIT_AFTER}"),
        _check_rrn,
        2,
    ),
    Rule(
        "rrn",
        # A masked tail (the gender digit, maybe more digits, then the mask), or the gender digit
        # alone.
        re.compile(
            rf"{_NOT_DIGIT_BEFORE}\d{{6}}\s?[-–]\s?"
            r"(?:(?=[\d*xX●○]{7}(?![\d*xX●○]))[1-8*xX●○]\d{0,5}[*xX●○]{1,6}|[1-8])(?![\d*xX●○])"
        ),
        _check_partial_rrn,
        2,
    ),
    Rule("crn", re.compile(rf"{_NOT_DIGIT_BEFORE}\d{{6}}-\d{{7}}{_NOT_DIGIT_AFTER}"), _check_crn, 3),
    Rule(
        "card",
        re.compile(rf"{_NOT_DIGIT_BEFORE}[2-69]\d{{3}}(?:[- ]?\d{{2,6}}){{2,4}}{_NOT_DIGIT_AFTER}"),
        _check_card,
        4,
    ),
    Rule(
        "card",
        re.compile(rf"{_NOT_DIGIT_BEFORE}[2-69]\d{{3}}-[\d*]{{4}}-[\d*]{{4}}-[\d*]{{4}}(?![\d*])"),
        _check_masked_card,
        4,
    ),
    Rule(
        "brn",
        re.compile(rf"{_NOT_DIGIT_BEFORE}(?:\d{{3}}-\d{{2}}-\d{{5}}|\d{{10}}){_NOT_DIGIT_AFTER}"),
        _check_brn,
        5,
    ),
    Rule(
        "licence",
        re.compile(rf"{_NOT_DIGIT_BEFORE}(?:1[1-9]|2[0-68])-?\d{{2}}-?\d{{6}}-?\d{{2}}{_NOT_DIGIT_AFTER}"),
        _check_licence,
        6,
    ),
    Rule(
        "licence",
        re.compile(rf"{_LICENCE_REGION}\s?\d{{2}}[- ]?\d{{2}}[\d*]{{4}}[- ]?[\d*]{{2}}(?![\d*]|-\d)"),
        _check_licence,
        6,
    ),
    Rule(
        "passport",
        re.compile(r"(?<![A-Za-z0-9])[MSROD](?:\d{3}[A-Z]\d{4}|\d{8})(?![A-Za-z0-9])"),
        _always("passport"),
        7,
    ),
    Rule(
        "passport",
        re.compile(r"(?<![A-Za-z0-9])(?:[A-Z]{0,2}\d{7,9}|[A-Z]{2}\d{6}|[A-Z]\d{7}[A-Z])(?![A-Za-z0-9])"),
        _check_passport,
        8,
    ),
    Rule(
        "phone",
        re.compile(
            rf"{_NOT_DIGIT_BEFORE}(?:\({_PHONE_PREFIX}\)\s?|{_PHONE_PREFIX}\)\s?|{_PHONE_PREFIX})"
            rf"{_PHONE_TAIL}{_NOT_DIGIT_AFTER}"
        ),
        _always("phone"),
        9,
    ),
    Rule(
        "phone",
        re.compile(rf"\+82[- .]?(?:\(0\))?{_PHONE_PREFIX_82}{_PHONE_TAIL}{_NOT_DIGIT_AFTER}"),
        _always("phone"),
        9,
    ),
    Rule(
        "phone",
        # Other countries: +81-80-1234-5678, +1 (213) 555-0147, +86 138 1234 5678. Not after a
        # word or a digit: "24,639,390원+17,400,320원" is a sum.
        re.compile(
            r"(?<![\w)+])\+(?!82)[1-9]\d{0,2}"
            r"(?:[- ]?(?:\(0\)[- ]?)?\(?\d{1,5}\)?(?:[- ]\d{2,7}){1,4}|[- ]?\d{7,12})"
            rf"{_NOT_DIGIT_AFTER}"
        ),
        _check_intl_phone,
        9,
    ),
    Rule(
        "account",
        re.compile(rf"{_NOT_DIGIT_BEFORE}\d{{10,14}}{_NOT_DIGIT_AFTER}"),
        _check_bare_account,
        10,
    ),
    Rule(
        "account",
        re.compile(rf"{_NOT_DIGIT_BEFORE}\d{{2,7}}-\d{{2,7}}-\d{{2,7}}(?:-\d{{1,3}})?{_NOT_DIGIT_AFTER}"),
        _check_account,
        10,
    ),
)


_URL = re.compile(r"(?:https?|ftp)://[^\s<>\"']+|www\.[^\s<>\"']+")


def _is_dummy(digits: str) -> bool:
    """Form placeholders such as 010-0000-0000 or 000-00-00000 identify nobody."""
    return len(digits) >= 8 and set(digits[-7:]) == {"0"}


def _cell_separator(line: str) -> str | None:
    if line.startswith("|") or line.count("|") >= 2:
        return "|"
    return "\t" if line.count("\t") >= 2 else None


class _TableHeaders:
    """The header cell above each position of a table (pipe-drawn, or rows of tab-separated
    cells): "| 성명 | 여권번호 |" above "| 왕웨이 | E12345678 |". A keyword there counts as one just
    before the number. Built in one pass over the lines; "" outside a table and in its first row."""

    def __init__(self, text: str):
        self.text = text
        self.starts: list[int] = []
        self.rows: list[tuple[str, list[str]] | None] = []
        header: tuple[str, list[str]] | None = None
        pos = 0
        for line in text.split("\n"):
            sep = _cell_separator(line)
            if sep is None or header is None or header[0] != sep:
                self.rows.append(None)
                header = (sep, line.split(sep)) if sep else None
            else:
                self.rows.append(header)
            self.starts.append(pos)
            pos += len(line) + 1

    def cell(self, pos: int) -> str:
        i = bisect.bisect_right(self.starts, pos) - 1
        row = self.rows[i]
        if row is None:
            return ""
        sep, cells = row
        column = self.text.count(sep, self.starts[i], pos)
        return cells[column] if column < len(cells) else ""


def find_pii(text: str, kinds: Iterable[str] = KINDS) -> list[Span]:
    """Non-overlapping PII spans of the given kinds, in text order."""
    wanted = set(kinds)
    # Digits inside a URL are article ids and timestamps, not cards or phones.
    urls = [(m.start(), m.end()) for m in _URL.finditer(text)]
    headers = _TableHeaders(text) if "|" in text or "\t" in text else None
    candidates: list[tuple[int, int, int, str]] = []
    for rule in RULES:
        for m in rule.pattern.finditer(text):
            if rule.kind not in ("email", "ip") and _is_dummy(_digits(m.group(0))):
                continue
            before = text[max(0, m.start() - KEYWORD_WINDOW) : m.start()]
            kind = rule.check(m, before)
            if kind is None and headers is not None and (header := headers.cell(m.start())):
                kind = rule.check(m, header + " " + before)
            if kind is None or kind not in wanted:
                continue
            if kind not in ("email", "ip") and any(a <= m.start() and m.end() <= b for a, b in urls):
                continue
            candidates.append((m.start(), m.end(), rule.priority, kind))
    # Longest first, then priority: "010-1234-5678" inside a longer account number loses.
    candidates.sort(key=lambda c: (-(c[1] - c[0]), c[2], c[0]))
    taken: list[Span] = []
    for start, end, _, kind in candidates:
        if all(end <= s.start or start >= s.end for s in taken):
            taken.append(Span(kind, start, end))
    return sorted(taken, key=lambda s: s.start)


def placeholder(kind: str) -> str:
    return f"<|{kind}|>"


def redact_pii(text: str, kinds: Iterable[str] = KINDS) -> tuple[str, Counter[str]]:
    """The text with each PII span replaced by its kind's placeholder, and counts per kind."""
    spans = find_pii(text, kinds)
    if not spans:
        return text, Counter()
    parts, last = [], 0
    for span in spans:
        parts.append(text[last : span.start])
        parts.append(placeholder(span.kind))
        last = span.end
    parts.append(text[last:])
    return "".join(parts), Counter(span.kind for span in spans)

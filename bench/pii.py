"""PII bench: ko-clean's rules against datatrove's PIIFormatter and Presidio, same gold files, same run.

    python bench/pii.py                              # ../shared/data/pii/eval_corpus.jsonl
    python bench/pii.py --gold A.jsonl --gold B.jsonl
    python bench/pii.py --json-out bench-pii.json

Each gold file is JSONL of {text, spans[{label, start, end, text}]} (the shared set's format);
labels map to our kinds through data_prep.pii_eval.GOLD_KINDS, other labels are not scored.
Scoring is span overlap per kind (data_prep.pii_eval.score_pii), the same for all three:

- ours: data_prep.pii.find_pii, every kind.
- datatrove: its PIIFormatter's own e-mail and IP replacers (their regexes and the public-IP
  validator), scored on e-mail and IP only, the two kinds it has.
- Presidio (`pip install presidio-analyzer`): its predefined pattern recognizers for the kinds it
  has (Korean RRN/FRN/BRN/driver's licence/passport, phone through `phonenumbers` with KR first,
  e-mail, IP, credit card), called directly. Presidio's AnalyzerEngine needs a spaCy model and
  none can be installed here (PyPI's Korean ones are 999.9.9 placeholders), so its context-word
  score boost, which needs spaCy lemmas, is not applied; every result above score 0 counts, as
  the engine's default threshold does. Scored on the kinds it has. If presidio_analyzer is not
  installed, its column says so. tldextract (for its e-mail check) uses its bundled suffix list.

Prints per-kind recall and precision for each detector and a JSON line; record in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from data_prep.pii import Span, find_pii  # noqa: E402
from data_prep.pii_eval import score_pii  # noqa: E402

SHARED = Path(os.environ.get("KO_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))

PRESIDIO_KINDS = {
    "EMAIL_ADDRESS": "email", "IP_ADDRESS": "ip", "PHONE_NUMBER": "phone", "CREDIT_CARD": "card",
    "KR_RRN": "rrn", "KR_FRN": "rrn", "KR_BRN": "brn", "KR_DRIVER_LICENSE": "licence",
    "KR_PASSPORT": "passport",
}  # fmt: skip


def datatrove_detector():
    """Spans where datatrove's PIIFormatter would replace text (its replacers' own matching)."""
    from datatrove.pipeline.formatters import PIIFormatter

    formatter = PIIFormatter()

    def detect(text: str) -> list[Span]:
        spans = []
        for kind, replacer in (("email", formatter.emails_replacer), ("ip", formatter.ip_replacer)):
            for m in replacer.regex.finditer(text):
                if replacer.validator is None or replacer.validator(m.group(0)):
                    spans.append(Span(kind, m.start(), m.end()))
        return spans

    return detect, {"email", "ip"}


def presidio_detector():
    """Presidio's predefined pattern recognizers, without the spaCy-based context boost."""
    import tldextract.tldextract
    from presidio_analyzer import predefined_recognizers as r

    # Its e-mail check asks tldextract for the public-suffix list, which it would download; offline
    # it uses the snapshot the package ships.
    tldextract.tldextract.TLD_EXTRACTOR = tldextract.TLDExtract(suffix_list_urls=())

    recognizers = [
        r.EmailRecognizer(), r.IpRecognizer(), r.CreditCardRecognizer(),
        r.PhoneRecognizer(supported_regions=("KR", "US", "GB", "JP", "CN", "PH", "VN", "DE")),
        r.KrRrnRecognizer(), r.KrFrnRecognizer(), r.KrBrnRecognizer(), r.KrDriverLicenseRecognizer(),
        r.KrPassportRecognizer(),
    ]  # fmt: skip

    def detect(text: str) -> list[Span]:
        spans = []
        for rec in recognizers:
            for res in rec.analyze(text, rec.supported_entities, None) or []:
                if res.score > 0 and res.entity_type in PRESIDIO_KINDS:
                    spans.append(Span(PRESIDIO_KINDS[res.entity_type], res.start, res.end))
        return spans

    return detect, set(PRESIDIO_KINDS.values())


def score_row(gold: Path, detect, kinds) -> dict:
    score = score_pii(gold, detect, kinds)
    return {
        "recall": round(score.recall, 4),
        "precision": round(score.precision, 4),
        "gold_spans": score.gold_spans,
        "per_kind": score.per_kind(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--gold", action="append", type=Path, help="gold JSONL (repeatable)")
    parser.add_argument("--json-out", type=Path, help="also write the results here")
    args = parser.parse_args()
    golds = args.gold or [SHARED / "pii/eval_corpus.jsonl"]
    detectors = {
        "ours": lambda: (find_pii, None),
        "datatrove": datatrove_detector,
        "presidio": presidio_detector,
    }
    results = []
    for gold in golds:
        row = {"gold": str(gold)}
        for name, build in detectors.items():
            try:
                detect, kinds = build()
            except ImportError as e:
                row[name] = {"error": f"not installed: {e}"}
                continue
            row[name] = score_row(gold, detect, kinds)
            if kinds is not None:
                # Our rules on the anchor's kinds only, so the two numbers compare.
                row[f"ours_on_{name}_kinds"] = score_row(gold, find_pii, kinds)
        results.append(row)
        print(f"\n== {gold}")
        for name in ("ours", "datatrove", "ours_on_datatrove_kinds", "presidio", "ours_on_presidio_kinds"):
            r = row.get(name, {})
            if "error" in r or not r:
                print(f"{name:24s} {r.get('error', 'missing')}")
                continue
            print(
                f"{name:24s} recall {r['recall']:.3f}  precision {r['precision']:.3f}  gold {r['gold_spans']}"
            )
        kinds = sorted(row["ours"]["per_kind"])
        print(
            f"{'kind':9s} {'gold':>5s}  "
            + "  ".join(f"{n:>17s}" for n in ("ours R/P", "datatrove R/P", "presidio R/P"))
        )
        for k in kinds:
            cells = []
            for name in ("ours", "datatrove", "presidio"):
                v = row.get(name, {}).get("per_kind", {}).get(k)
                cells.append(f"{v['recall']:.3f}/{v['precision']:.3f}" if v else "-")
            print(f"{k:9s} {row['ours']['per_kind'][k]['gold']:5d}  " + "  ".join(f"{c:>17s}" for c in cells))
    out = {"bench": "pii", "results": results}
    if args.json_out:
        args.json_out.write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()

"""Bench: does the Hugging Face tokenizer give SentencePiece's ids? Ours vs transformers' stock conversion.

Anchor: transformers' own LlamaTokenizer built from the same tokenizer.model (the usual recipe:
a tokenizer_config.json naming LlamaTokenizer, then AutoTokenizer.from_pretrained), with
legacy=True and legacy=False. Same model, same lines, same run.

    python bench/tokenizer_parity.py [--model ../shared/data/tokenizers/llama2/tokenizer.model]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("KO_SHARED_DATA", REPO.parent / "shared" / "data"))


def bench_lines() -> dict[str, list[str]]:
    """Korean (formal, informal, petitions, reviews) and English lines from ../shared/data and pydoc."""
    from pydoc_data.topics import topics

    corpus = SHARED / "corpus"
    petitions = []
    for path in sorted((corpus / "petitions_2019").glob("*")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                petitions.extend(json.loads(line)["content"].splitlines())
    reviews = []
    for path in sorted((corpus / "nsmc_raw").glob("*.json"))[:200]:
        reviews.extend(row["review"] for row in json.loads(path.read_text(encoding="utf-8")))
    return {
        "wikinews": (corpus / "boddari_wikinews" / "wikinews.txt").read_text(encoding="utf-8").splitlines(),
        "comments": (corpus / "kocohub_comments" / "unlabeled_unlabeled_comments_5.txt")
        .read_text(encoding="utf-8")
        .splitlines(),
        "petitions": petitions,
        "nsmc_reviews": reviews,
        "english_pydoc": [line for key in sorted(topics) for line in topics[key].splitlines()],
    }


def stock_tokenizer(sp_model: Path, workdir: Path, legacy: bool):
    from transformers import AutoTokenizer

    directory = workdir / f"stock-legacy-{legacy}"
    directory.mkdir()
    shutil.copyfile(sp_model, directory / "tokenizer.model")
    config = {
        "tokenizer_class": "LlamaTokenizer",
        "legacy": legacy,
        "add_bos_token": True,
        "bos_token": "<s>",
        "eos_token": "</s>",
        "unk_token": "<unk>",
    }
    (directory / "tokenizer_config.json").write_text(json.dumps(config))
    return AutoTokenizer.from_pretrained(directory)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, default=SHARED / "tokenizers" / "llama2" / "tokenizer.model")
    args = parser.parse_args()

    import sentencepiece as spm
    import transformers
    from transformers import AutoTokenizer

    from tokenizer.hf_export import export_hf_tokenizer

    sp = spm.SentencePieceProcessor(model_file=str(args.model))
    sets = bench_lines()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        candidates = {
            "stock LlamaTokenizer legacy=False": stock_tokenizer(args.model, tmp, legacy=False),
            "stock LlamaTokenizer legacy=True": stock_tokenizer(args.model, tmp, legacy=True),
            "ours (tokenizer/hf_export.py)": AutoTokenizer.from_pretrained(
                export_hf_tokenizer(args.model, tmp / "ours", model_max_length=4096)
            ),
        }
        expected = {name: [sp.encode(line) for line in lines] for name, lines in sets.items()}
        print(f"model: {args.model}  transformers {transformers.__version__}")
        print(f"{'tokenizer':36} " + " ".join(f"{n:>14}" for n in sets) + f" {'all':>9} {'lines/s':>9}")
        print(
            f"{'(lines)':36} "
            + " ".join(f"{len(v):>14}" for v in sets.values())
            + f" {sum(map(len, sets.values())):>9}"
        )
        results = {}
        for label, tok in candidates.items():
            counts, total, start = [], 0, time.perf_counter()
            for name, lines in sets.items():
                got = tok(lines, add_special_tokens=False)["input_ids"]
                bad = sum(a != b for a, b in zip(got, expected[name], strict=True))
                counts.append(bad)
                total += bad
            rate = sum(map(len, sets.values())) / (time.perf_counter() - start)
            results[label] = total
            print(f"{label:36} " + " ".join(f"{c:>14}" for c in counts) + f" {total:>9} {rate:>9.0f}")
    anchor = min(v for k, v in results.items() if k.startswith("stock"))
    ours = results["ours (tokenizer/hf_export.py)"]
    print(
        f"disagreeing lines, ours / best stock conversion: {ours} / {anchor}"
        + (f" = {ours / anchor:.4f}" if anchor else "")
    )


if __name__ == "__main__":
    main()

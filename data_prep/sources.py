"""`ko-corpus`: gather the corpus named in params (`corpus.sources`) and the English replay text.

Each source is pinned (a sha256 of its files, the Hub commit it resolved to, or a URL's ETag) and
checked for its language by its share of Hangul. Local sources without a cap or weight stay where
they are: `data/raw/.sources.manifest.json` lists their files and the clean stage reads them in
place, so a 1 TB corpus is not copied. Hub datasets (streamed through `datasets`), URLs (fsspec),
the built-in texts and capped or weighted sources are written to `data/raw/<name>/` as gzipped
JSONL shards; a killed run resumes after its last finished shard. English replay
(`pretrain.replay_sources`) does not go through the Korean quality filters: it is written to
`data/replay/<name>/` after exact deduplication and the length bounds of `pretrain.replay_*_chars`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from data_prep.config import CleanConfig, CorpusConfig
from pipeline.cli import StageError
from pipeline.source_entry import SourceEntry

log = logging.getLogger("ko.corpus")

MANIFEST = ".sources.manifest.json"  # hidden: a directory scan of data/raw skips it
PROGRESS = ".progress.json"
DONE = ".done.json"
HASH_CACHE = Path(".cache/source_hashes.json")
SAMPLE_CHARS = 1_000_000  # characters read for the language check of an in-place source
_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
_LATIN = re.compile(r"[A-Za-z]")
# Share of Hangul among Hangul and Latin letters that each language must reach (ko) or stay under (en).
KO_MIN_HANGUL, EN_MAX_HANGUL = 0.5, 0.05


@dataclass
class SourceReport:
    """What one source gave: the corpus stage's metrics, one entry per source."""

    name: str
    role: str  # corpus or replay
    kind: str  # local, url, hub, builtin
    mode: str  # in_place (the clean stage reads the files) or copied (written under data/raw)
    language: str
    pin: dict[str, Any]  # sha256 of the files, the Hub commit, or a URL's ETag
    files: int = 0
    bytes: int = 0
    documents: int | None = None  # None: in place, counted by the clean stage
    characters: int | None = None
    quarantined: int = 0
    dropped: dict[str, int] = field(default_factory=dict)  # replay only: duplicate, too_short
    capped: bool = False
    hangul_share: float | None = None  # Hangul among Hangul + Latin letters (in place: a sample)
    language_ok: bool = True
    license: str = ""  # as given in params, for the model card


@dataclass
class CorpusReport:
    """The corpus stage's metrics."""

    sources: list[dict]
    documents: int  # written by this stage (in-place sources are counted by clean)
    characters: int
    in_place_files: int
    in_place_bytes: int
    replay_documents: int
    replay_characters: int
    language_mismatches: list[str]
    # No timing here: this stage runs on every repro, and publish depends on these metrics, so
    # they hold only what changes with the sources.


# ---------------------------------------------------------------- checks before any work


def check_sources(entries: Sequence[SourceEntry], where: str, mirror: str = "") -> None:
    """Fail before any work when a source cannot be read: missing path, unknown protocol, Hub id
    that does not resolve (offline without a cache), with the source and the key named."""
    for n, entry in enumerate(entries):
        key = f"{where}[{n}] ({entry.label})"
        if entry.kind == "local":
            if not local_files(entry):
                raise StageError(f"{key}: path {entry.path!r} matches no file")
        elif entry.kind == "url":
            _url_files(entry, key)
        elif entry.kind == "hub":
            hub_revision(entry, mirror, key)
        if entry.kind != "builtin":
            _check_first_record(entry, mirror, key)


def _check_first_record(entry: SourceEntry, mirror: str, key: str) -> None:
    """The first record must have the text field: a wrong text_field fails here, not after a copy."""
    config = CorpusConfig(sources=(entry,), hub_mirror=mirror)
    first = next(iter(iter_source(entry, config)), None)
    if first is None:
        raise StageError(f"{key}: no records")
    if first.text is None:
        raise StageError(
            f"{key}: text_field = {entry.text_field!r}, but the first record has none ({first.error})"
        )


def local_files(entry: SourceEntry) -> list[Path]:
    """The data files of a local path, directory or glob, sorted (what the clean stage would read)."""
    from data_prep.readers import InputError, find_input_files

    try:
        files, _ = find_input_files([os.path.expanduser(entry.path)])
    except InputError:
        return []
    return files


def _url_files(entry: SourceEntry, key: str) -> list[str]:
    import fsspec

    protocol = entry.path.split("://", 1)[0]
    try:
        fs, _, paths = fsspec.get_fs_token_paths(entry.path)
    except (ImportError, ValueError) as exc:
        hint = {"s3": "s3fs", "gs": "gcsfs", "gcs": "gcsfs", "https": "aiohttp", "http": "aiohttp"}.get(
            protocol
        )
        fix = f" (pip install {hint})" if hint else ""
        raise StageError(f"{key}: cannot open {protocol}:// URLs: {exc}{fix}") from exc
    try:
        found = sorted(p for p in paths if fs.isfile(p))
        if not found and len(paths) == 1 and fs.isdir(paths[0]):
            found = sorted(p for p in fs.find(paths[0]) if _is_data_name(p))
    except Exception as exc:  # network and permission errors of any fsspec backend
        raise StageError(f"{key}: cannot read {entry.path}: {type(exc).__name__}: {exc}") from exc
    if not found:
        raise StageError(f"{key}: path {entry.path!r} matches no file")
    return [fs.unstrip_protocol(p) for p in found]


def _is_data_name(path: str) -> bool:
    from data_prep.readers import is_data_file

    return is_data_file(Path(path))


def hub_revision(entry: SourceEntry, mirror: str, key: str) -> str:
    """The commit a Hub source resolves to (or the mirror folder's content hash)."""
    if mirror:
        folder = Path(mirror) / entry.hub
        if not folder.is_dir():
            raise StageError(f"{key}: hub {entry.hub!r} is not in the mirror {mirror} (no {folder})")
        return "mirror:" + hash_files(_files_under(folder))
    from huggingface_hub import HfApi

    try:
        return HfApi().dataset_info(entry.hub, revision=entry.revision).sha
    except Exception as exc:  # offline, unknown repo, gated repo, refused token
        raise StageError(
            f"{key}: hub {entry.hub!r} (revision {entry.revision!r}) cannot be resolved: "
            f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''} "
            "(offline? set corpus.hub_mirror to a local mirror)"
        ) from None


# ---------------------------------------------------------------- pins


def hash_files(files: Sequence[Path]) -> str:
    """sha256 over the files' names and bytes; unchanged files are answered from a stat cache."""
    cache = _read_hash_cache()
    digest = hashlib.sha256()
    changed = False
    for path in files:
        stat = path.stat()
        key = f"{path.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}"
        if key not in cache:
            h = hashlib.sha256()
            with open(path, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 22), b""):
                    h.update(chunk)
            cache[key], changed = h.hexdigest(), True
        digest.update(f"{path.name}\0{cache[key]}\n".encode())
    if changed:
        HASH_CACHE.parent.mkdir(parents=True, exist_ok=True)
        HASH_CACHE.write_text(json.dumps(cache))
    return digest.hexdigest()


def _read_hash_cache() -> dict[str, str]:
    try:
        return json.loads(HASH_CACHE.read_text())
    except (OSError, ValueError):
        return {}


def pin_source(entry: SourceEntry, mirror: str) -> dict[str, Any]:
    """What makes the source reproducible: file hashes, a Hub commit, or URL ETags."""
    if entry.kind == "builtin":
        import importlib.metadata
        import sys

        if entry.builtin == "konlpy-demo":
            return {"package": "konlpy", "version": importlib.metadata.version("konlpy")}
        return {"package": "python", "version": sys.version.split()[0]}
    if entry.kind == "local":
        return {"sha256": hash_files(local_files(entry))}
    if entry.kind == "hub":
        return {"hub": entry.hub, "config": entry.config, "split": entry.split,
                "revision": hub_revision(entry, mirror, entry.label)}  # fmt: skip
    import fsspec

    fs, _, _ = fsspec.get_fs_token_paths(entry.path)
    tags = []
    for url in _url_files(entry, entry.label):
        info = fs.info(url)
        tags.append(str(info.get("ETag") or info.get("etag") or info.get("sha256") or info.get("size")))
    return {"url": entry.path, "etags": hashlib.sha256("\n".join(tags).encode()).hexdigest()}


# ---------------------------------------------------------------- reading


@dataclass
class Item:
    """A document read from a source, or a record that could not become one."""

    id: str
    text: str | None
    error: str | None = None


def iter_source(entry: SourceEntry, config: CorpusConfig) -> Iterator[Item]:
    """Every record of a source in a fixed order, before caps and weights."""
    if entry.builtin == "konlpy-demo":
        from data_prep.demo_corpus import konlpy_documents

        for doc in konlpy_documents(config.split_constitution):
            yield Item(doc.id, doc.text)
    elif entry.builtin == "python-docs":
        from pydoc_data.topics import topics

        for name in sorted(topics):
            yield Item(f"python-docs/{name}", topics[name].strip())
    elif entry.kind == "hub":
        yield from _iter_hub(entry, config.hub_mirror)
    else:
        yield from _iter_files(entry)


def _iter_files(entry: SourceEntry) -> Iterator[Item]:
    from data_prep.readers import FileReader, Quarantined

    reader_config = replace(CleanConfig(), text_fields=(entry.text_field,))
    if entry.text_unit:
        reader_config = replace(reader_config, text_unit=entry.text_unit)
    if entry.kind == "local":
        files, names = local_files(entry), None
        root = _source_root(entry)
        names = [f"{entry.label}/{os.path.relpath(f, root)}" for f in files]
    else:
        files = _url_files(entry, entry.label)
        names = [f"{entry.label}/{u.rsplit('/', 1)[-1]}" for u in files]
    for path, name in zip(files, names, strict=True):
        for item in FileReader(path, reader_config, name=name):
            if isinstance(item, Quarantined):
                yield Item(f"{name}:{item.line}", None, item.error)
            else:
                yield Item(item.id, item.text)


def _source_root(entry: SourceEntry) -> Path:
    """The folder ids are relative to: the directory given, the non-glob part, or a file's folder."""
    path = os.path.expanduser(entry.path)
    if any(ch in path for ch in "*?["):
        path = path[: min(path.index(ch) for ch in "*?[" if ch in path)]
        return Path(path).parent if not path.endswith("/") else Path(path)
    p = Path(path)
    return p if p.is_dir() else p.parent


def _iter_hub(entry: SourceEntry, mirror: str) -> Iterator[Item]:
    from pipeline.deps import require_module

    require_module("datasets", extra="model")
    from datasets import load_dataset

    where = str(Path(mirror) / entry.hub) if mirror else entry.hub
    kwargs: dict[str, Any] = {"split": entry.split, "streaming": True}
    if not mirror:
        kwargs["revision"] = entry.revision
    rows = load_dataset(where, entry.config or None, **kwargs)
    for n, row in enumerate(rows):
        text = row.get(entry.text_field)
        doc_id = f"{entry.label}#{row['id']}" if row.get("id") not in (None, "") else f"{entry.label}:{n}"
        if isinstance(text, str):
            yield Item(doc_id, text)
        else:
            yield Item(doc_id, None, f"no '{entry.text_field}' string in row {n}")


def kept_by_weight(doc_id: str, weight: float, seed: int) -> bool:
    """Seeded choice of a share `weight` of documents, by a hash of the id (stable across runs)."""
    if weight >= 1.0:
        return True
    value = int(hashlib.sha256(f"{seed}:{doc_id}".encode()).hexdigest()[:12], 16)
    return value < weight * 16**12


def hangul_share(text: str) -> float | None:
    """Hangul among Hangul and Latin letters (None: no letters of either)."""
    hangul, latin = len(_HANGUL.findall(text)), len(_LATIN.findall(text))
    return round(hangul / (hangul + latin), 4) if hangul + latin else None


def language_ok(language: str, share: float | None) -> bool:
    if share is None:
        return True
    return share >= KO_MIN_HANGUL if language == "ko" else share <= EN_MAX_HANGUL


# ---------------------------------------------------------------- writing


def _source_key(entry: SourceEntry, pin: dict, extra: dict) -> str:
    blob = json.dumps({"entry": asdict(entry), "pin": pin, **extra}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def copy_source(
    entry: SourceEntry,
    config: CorpusConfig,
    folder: Path,
    pin: dict,
    report: SourceReport,
    progress,
    bounds: tuple[int, int] | None = None,
    seen: set[int] | None = None,
) -> None:
    """Stream one source into folder/part-NNNNN.jsonl.gz, resuming after the last finished shard.

    `bounds` (min, max characters) and `seen` (text hashes across sources) are replay's length
    bounds and exact dedup.
    """
    from data_prep.steps import text_hash
    from data_prep.storage import GzipJsonl

    key = _source_key(entry, pin, {"bounds": bounds, "seed": config.seed, "split": config.split_constitution,
                                   "shard": config.shard_documents, "dedup": seen is not None})  # fmt: skip
    done = folder / DONE
    finished = json.loads(done.read_text()) if done.is_file() else {}
    state = finished if finished.get("key") == key else _resume_state(folder, key)
    if seen is not None:  # texts already written (finished or before a kill) dedup what follows
        for shard in sorted(folder.glob("part-*.jsonl.gz")):
            seen.update(text_hash(d["text"]) for d in _read_jsonl_gz(shard))
    progress.update(state["characters"])
    if state is finished:
        _apply_state(report, state)
        return
    skip = state["consumed"]
    writer, buffered = None, 0
    quarantine = open(folder / ".quarantine.jsonl", "a", encoding="utf-8")

    def finish_shard():
        nonlocal writer, buffered
        writer.close()
        os.replace(folder / ".part.tmp", folder / f"part-{state['shards']:05d}.jsonl.gz")
        state["shards"] += 1
        (folder / PROGRESS).write_text(json.dumps(state))
        writer, buffered = None, 0

    try:
        for n, item in enumerate(iter_source(entry, config)):
            if n < skip:
                continue
            if _cap_reached(entry, state):
                break
            state["consumed"] = n + 1
            if item.text is None:
                state["quarantined"] += 1
                quarantine.write(json.dumps({"id": item.id, "error": item.error}, ensure_ascii=False) + "\n")
                continue
            if not kept_by_weight(item.id, entry.weight, config.seed):
                continue
            for doc_id, text in _parts(item, bounds):
                reason = _replay_reason(text, bounds, seen)
                if reason:
                    state["dropped"][reason] = state["dropped"].get(reason, 0) + 1
                    continue
                if entry.max_chars and state["characters"] + len(text) > entry.max_chars:
                    state["capped"] = True
                    break
                if writer is None:
                    writer = GzipJsonl(folder / ".part.tmp")
                writer.write({"id": doc_id, "text": text, "source": entry.label})
                buffered += 1
                state["documents"] += 1
                state["characters"] += len(text)
                state["hangul"] += len(_HANGUL.findall(text))
                state["latin"] += len(_LATIN.findall(text))
                progress.update(len(text))
            if state["capped"]:
                break
            if buffered >= config.shard_documents:  # a record's parts never straddle two shards
                finish_shard()
        if entry.max_documents and state["documents"] >= entry.max_documents:
            state["capped"] = True
        if writer is not None:
            finish_shard()
    finally:
        quarantine.close()
        if writer is not None:  # interrupted mid-shard: the partial shard is dropped on resume
            writer.close()
    state["key"] = key
    (folder / PROGRESS).unlink(missing_ok=True)
    done.write_text(json.dumps(state))
    _apply_state(report, state)


def _cap_reached(entry: SourceEntry, state: dict) -> bool:
    if entry.max_documents and state["documents"] >= entry.max_documents:
        state["capped"] = True
        return True
    return False


def _parts(item: Item, bounds) -> list[tuple[str, str]]:
    """The record as (id, text) documents: replay text longer than the upper bound is cut at
    paragraph breaks (a book becomes chapters' worth of documents, so that held-out splits by
    document stay fine-grained); ids get #partN."""
    if bounds is None or len(item.text) <= bounds[1]:
        return [(item.id, item.text)]
    parts, current = [], ""
    for para in item.text.split("\n\n"):
        while len(para) > bounds[1]:  # one paragraph over the bound: cut it hard
            if current:
                parts.append(current)
                current = ""
            parts.append(para[: bounds[1]])
            para = para[bounds[1] :]
        if current and len(current) + 2 + len(para) > bounds[1]:
            parts.append(current)
            current = ""
        current = f"{current}\n\n{para}" if current else para
    if current:
        parts.append(current)
    return [(f"{item.id}#part{k}", text) for k, text in enumerate(parts)]


def _replay_reason(text: str, bounds, seen) -> str | None:
    from data_prep.steps import text_hash

    if bounds is not None and len(text) < bounds[0]:
        return "too_short"
    if seen is not None:
        h = text_hash(text)
        if h in seen:
            return "duplicate"
        seen.add(h)
    return None


def _read_jsonl_gz(path: Path) -> Iterator[dict]:
    import gzip

    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            yield json.loads(line)


def _resume_state(folder: Path, key: str) -> dict:
    fresh = {"key": key, "shards": 0, "consumed": 0, "documents": 0, "characters": 0, "hangul": 0,
             "latin": 0, "quarantined": 0, "dropped": {}, "capped": False}  # fmt: skip
    try:
        state = json.loads((folder / PROGRESS).read_text())
    except (OSError, ValueError):
        state = None
    if state is None or state.get("key") != key:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        return fresh
    (folder / ".part.tmp").unlink(missing_ok=True)
    for extra in folder.glob("part-*.jsonl.gz"):  # shards past the last recorded one are partial
        if int(extra.name[5:10]) >= state["shards"]:
            extra.unlink()
    log.info(
        "%s: resuming after %d shards (%d records read)", folder.name, state["shards"], state["consumed"]
    )
    return state


def _apply_state(report: SourceReport, state: dict) -> None:
    report.documents, report.characters = state["documents"], state["characters"]
    report.quarantined, report.dropped, report.capped = (
        state["quarantined"],
        state["dropped"],
        state["capped"],
    )
    letters = state["hangul"] + state["latin"]
    report.hangul_share = round(state["hangul"] / letters, 4) if letters else None
    report.language_ok = language_ok(report.language, report.hangul_share)


def sample_in_place(entry: SourceEntry, report: SourceReport, files: list[Path]) -> None:
    """Files, bytes and the language check (on the first characters) of an in-place source."""
    report.files = len(files)
    report.bytes = sum(f.stat().st_size for f in files)
    sample, size = [], 0
    for item in _iter_files(entry):
        if item.text:
            sample.append(item.text)
            size += len(item.text)
        if size >= SAMPLE_CHARS:
            break
    report.hangul_share = hangul_share("".join(sample))
    report.language_ok = language_ok(report.language, report.hangul_share)


# ---------------------------------------------------------------- stage


def gather_sources(
    config: CorpusConfig,
    output: Path,
    replay: Sequence[SourceEntry] = (),
    replay_output: Path | None = None,
    replay_bounds: tuple[int, int] = (1, 10**9),
    progress: bool = True,
) -> CorpusReport:
    """Pin and check every source, write the copied ones and the in-place manifest; return metrics."""
    from tqdm.auto import tqdm

    start = time.perf_counter()
    check_sources(config.sources, "corpus.sources", config.hub_mirror)
    check_sources(replay, "pretrain.replay_sources", config.hub_mirror)
    output.mkdir(parents=True, exist_ok=True)
    reports: list[SourceReport] = []
    manifest: list[dict] = []
    bar = tqdm(desc="sources", unit="char", unit_scale=True, disable=not progress)
    with bar:
        for entry in config.sources:
            pin = pin_source(entry, config.hub_mirror)
            in_place = entry.kind == "local" and not entry.subsampled
            report = SourceReport(entry.label, "corpus", entry.kind, "in_place" if in_place else "copied",
                                  entry.language, pin, license=entry.license)  # fmt: skip
            if in_place:
                in_place_files = local_files(entry)  # one walk for the report and the manifest
                sample_in_place(entry, report, in_place_files)
                root = _source_root(entry)
                # Paths as the params give them (relative stays relative), so the manifest is the
                # same on every machine with the same layout.
                absolute = Path(os.path.expanduser(entry.path)).is_absolute()
                files = [{"path": str(f) if absolute else os.path.relpath(f),
                          "name": f"{entry.label}/{os.path.relpath(f, root)}"}
                         for f in in_place_files]  # fmt: skip
                manifest.append({"name": entry.label, "text_field": entry.text_field,
                                 "text_unit": entry.text_unit, "pin": pin, "files": files})  # fmt: skip
                shutil.rmtree(output / entry.label, ignore_errors=True)
            else:
                copy_source(entry, config, output / entry.label, pin, report, bar)
                _count_files(output / entry.label, report)
            reports.append(report)
        _remove_stale(output, {e.label for e in config.sources})
        (output / MANIFEST).write_text(
            json.dumps({"in_place": manifest}, indent=1, ensure_ascii=False) + "\n"
        )
        if replay_output is not None:
            replay_output.mkdir(parents=True, exist_ok=True)
            seen: set[int] = set()
            for entry in replay:
                pin = pin_source(entry, config.hub_mirror)
                report = SourceReport(
                    entry.label, "replay", entry.kind, "copied", entry.language, pin, license=entry.license
                )
                copy_source(entry, config, replay_output / entry.label, pin, report, bar, replay_bounds, seen)
                _count_files(replay_output / entry.label, report)
                reports.append(report)
            _remove_stale(replay_output, {e.label for e in replay})
    log.info("sources pinned and written in %.1f s", time.perf_counter() - start)
    mismatches = [f"{r.role}:{r.name}" for r in reports if not r.language_ok]
    for r in reports:
        if not r.language_ok:
            log.warning("%s source %s is given as %s but %.1f%% of its letters are Hangul",
                        r.role, r.name, r.language, 100 * (r.hangul_share or 0))  # fmt: skip
    corpus = [r for r in reports if r.role == "corpus"]
    replayed = [r for r in reports if r.role == "replay"]
    return CorpusReport(
        sources=[asdict(r) for r in reports],
        documents=sum(r.documents or 0 for r in corpus),
        characters=sum(r.characters or 0 for r in corpus),
        in_place_files=sum(r.files for r in corpus if r.mode == "in_place"),
        in_place_bytes=sum(r.bytes for r in corpus if r.mode == "in_place"),
        replay_documents=sum(r.documents or 0 for r in replayed),
        replay_characters=sum(r.characters or 0 for r in replayed),
        language_mismatches=mismatches,
    )


def _files_under(path: Path) -> list[Path]:
    """A file itself, or every file under a directory, sorted."""
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]


def _pin_path(text: str, key: str, file_only: bool = False) -> dict[str, str]:
    """{"path", "sha256"} of a local input named in params; a missing one stops with its key."""
    path = Path(text).expanduser()
    if not (path.is_file() if file_only else path.exists()):
        raise StageError(f"{key}: path {text!r} does not exist")
    return {"path": text, "sha256": hash_files(_files_under(path))}


def pin_inputs(
    sft_inputs: Sequence, bpc_texts: dict[str, str], output: Path, demo_tokenizer: str = "", prompts: str = ""
) -> None:
    """output/sft.json, eval.json and base.json: the hash (or Hub commit) of every sft input, eval
    text and demo tokenizer named in params. DVC cannot take a list from params as dependencies;
    the sft, eval and base stages depend on these files instead, which change when an input does."""
    from pipeline.config import HUB_ID_PATTERN

    output.mkdir(parents=True, exist_ok=True)
    sft = []
    for n, item in enumerate(sft_inputs):
        key = f"sft.inputs[{n}]"
        if item.hub:
            entry = SourceEntry(hub=item.hub)
            sft.append({"hub": item.hub, "revision": hub_revision(entry, "", key), "license": item.license})
            continue
        if not Path(item.path).expanduser().exists() and HUB_ID_PATTERN.match(item.path):
            raise StageError(
                f"{key}: {item.path!r} is no local path; for a Hub dataset write hub: {item.path}"
            )
        sft.append({**_pin_path(item.path, key), "license": item.license})
    texts = {lang: _pin_path(text, f"eval.bpc_texts.{lang}") for lang, text in sorted(bpc_texts.items())}
    base = _pin_path(demo_tokenizer, "base.demo_tokenizer", file_only=True) if demo_tokenizer else {}
    pinned_prompts = _pin_path(prompts, "sft.prompts", file_only=True) if prompts else {}
    (output / "base.json").write_text(json.dumps({"demo_tokenizer": base}, indent=1) + "\n")
    (output / "sft.json").write_text(json.dumps({"inputs": sft, "prompts": pinned_prompts}, indent=1) + "\n")
    (output / "eval.json").write_text(json.dumps({"bpc_texts": texts}, indent=1) + "\n")


def _count_files(folder: Path, report: SourceReport) -> None:
    shards = sorted(folder.glob("part-*.jsonl.gz"))
    report.files, report.bytes = len(shards), sum(p.stat().st_size for p in shards)


def _remove_stale(output: Path, labels: set[str]) -> None:
    """Folders of sources no longer named in params (a persisted output keeps them otherwise)."""
    for child in output.iterdir():
        if child.is_dir() and child.name not in labels:
            shutil.rmtree(child)


def read_manifest(folder: Path) -> list[tuple[Path, str, str, str]]:
    """(file, id name, text field, text unit) of the in-place sources in folder's manifest, if any."""
    path = folder / MANIFEST
    if not path.is_file():
        return []
    data = json.loads(path.read_text(encoding="utf-8"))
    return [
        (Path(f["path"]), f["name"], src["text_field"], src.get("text_unit", ""))
        for src in data["in_place"]
        for f in src["files"]
    ]


def main(argv: list[str] | None = None) -> int:
    """Console entry point of `ko-corpus`."""
    from pipeline.cli import run_stage, stage_parser, write_metrics, write_resolved

    parser = stage_parser("corpus", __doc__, CorpusConfig, output_default="data/raw")
    parser.add_argument(
        "--replay-output",
        metavar="DIR",
        help="also write pretrain.replay_sources (English replay) here, e.g. data/replay",
    )
    parser.add_argument(
        "--pins",
        metavar="DIR",
        help="also pin sft.inputs, eval.bpc_texts and base.demo_tokenizer: DIR/sft.json, eval.json, "
        "base.json (their hashes)",
    )

    def body(args, params):
        output = Path(args.output)
        pre = params.pretrain
        if args.pins:  # cheap checks first: a missing sft or eval file stops before any copying
            pin_inputs(
                params.sft.inputs,
                params.eval.bpc_texts,
                Path(args.pins),
                params.base.demo_tokenizer,
                params.sft.prompts,
            )
        report = gather_sources(
            params.corpus,
            output,
            pre.replay_sources,
            Path(args.replay_output) if args.replay_output else None,
            (pre.replay_min_chars, pre.replay_max_chars),
            progress=not args.quiet,
        )
        run = {"output": str(output), "replay_output": args.replay_output}
        write_resolved(output, "corpus", params, "corpus", run)
        write_metrics(Path(args.metrics or output / "metrics.json"), asdict(report))
        print(
            f"{len(params.corpus.sources)} Korean source(s): {report.documents} documents "
            f"({report.characters} characters) written to {output}, {report.in_place_files} file(s) read "
            f"in place; replay: {report.replay_documents} documents ({report.replay_characters} characters)"
        )

    return run_stage(parser, argv, body)


if __name__ == "__main__":
    raise SystemExit(main())

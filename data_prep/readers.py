"""Input files to documents, and every record that cannot be read to a quarantine entry.

Formats by name: JSONL (`.jsonl`, `.ndjson`), JSON arrays (`.json`), Parquet, CSV/TSV and plain
text (anything else that is not binary); `.gz`, `.zst`, `.bz2` and `.xz` are decompressed on
the fly. Nothing is skipped silently: a malformed JSON line, undecodable bytes, a record
without text, a truncated archive or a binary file each yield a `Quarantined` entry naming the
file, line (or row) and byte offset. Each read unit is exactly one Record or one Quarantined.
"""

from __future__ import annotations

import bz2
import codecs
import csv
import glob
import gzip
import io
import json
import lzma
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from data_prep.config import CleanConfig

SNIFF_BYTES = 1 << 16
_COMPRESSED = (".gz", ".zst", ".bz2", ".xz")
_JSONL = (".jsonl", ".ndjson")
RAW_LIMIT = 1 << 16  # quarantine keeps at most this many characters of a bad record


@dataclass
class Record:
    """One document read from an input: its stable id, its text and the record's other fields."""

    id: str
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class Quarantined:
    """A unit of input that could not become a document, and why."""

    source: str
    line: int | None
    byte_offset: int | None
    error: str
    raw: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "line": self.line,
            "byte_offset": self.byte_offset,
            "error": self.error,
            "raw": self.raw,
        }


class InputError(ValueError):
    """An input path that names nothing readable."""


DATA_SUFFIXES = (".jsonl", ".ndjson", ".json", ".parquet", ".csv", ".tsv", ".txt")


def is_data_file(path: Path) -> bool:
    """Whether a directory scan reads this file: a data suffix, optionally compressed."""
    name = path.name.lower()
    for ext in _COMPRESSED:
        name = name.removesuffix(ext)
    return name.endswith(DATA_SUFFIXES) and not path.name.startswith(".")


def _find_remote(url: str) -> tuple[set[str], set[str]]:
    """find_input_files for one fsspec URL (file, directory or glob): full URLs."""
    from fsspec.core import url_to_fs

    fs, inner = url_to_fs(url)
    if any(ch in inner for ch in "*?["):
        matches = fs.glob(inner)
        if not matches:
            raise InputError(f"{url}: the pattern matches nothing")
    elif fs.isdir(inner):
        matches = [inner]
    elif fs.isfile(inner):
        return {url}, set()
    else:
        raise InputError(f"{url}: no such file or directory")
    found, ignored = set(), set()
    for match in matches:
        names = fs.find(match) if fs.isdir(match) else [match]
        for name in names:
            if not name.rsplit("/", 1)[-1].startswith("."):
                (found if is_data_file(Path(name)) else ignored).add(fs.unstrip_protocol(name))
    return found, ignored


def find_input_files(paths: Iterable[str | Path]) -> tuple[list[Path | str], list[Path | str]]:
    """(files to read, files ignored). Files named directly are read whatever their name;
    directories (recursively) and globs contribute files with a data suffix (DATA_SUFFIXES,
    optionally .gz/.zst/.bz2/.xz); the others are returned as ignored, for the report.
    An fsspec URL (s3://bucket/dir, gs://.../*.jsonl.gz) is listed through its file system and
    stays a string; local files are Paths."""
    found: set = set()
    ignored: set = set()
    for item in paths:
        item = str(item)
        if "://" in item:
            more, skipped = _find_remote(item)
            found |= more
            ignored |= skipped
            continue
        if any(ch in item for ch in "*?["):
            matches = [Path(p) for p in glob.glob(item, recursive=True)]
            if not matches:
                raise InputError(f"{item}: the pattern matches nothing")
        else:
            matches = [Path(item)]
        for path in matches:
            if path.is_dir():
                for p in path.rglob("*"):
                    # Hidden files are bookkeeping (the corpus stage's manifest and progress), not data.
                    if p.is_file() and not p.name.startswith("."):
                        (found if is_data_file(p) else ignored).add(p)
            elif path.is_file():
                found.add(path)
            else:
                raise InputError(f"{path}: no such file or directory")
    ordered = sorted(found, key=_sort_key)
    return ordered, sorted(ignored - found, key=_sort_key)


def _sort_key(path: Path | str) -> str:
    return path if isinstance(path, str) else path.as_posix()


def source_name(path: Path | str) -> str:
    """The path as ids name it: relative to the working directory when under it (a URL as is)."""
    if isinstance(path, str) and "://" in path:
        return path
    path = Path(path)
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()


def _format_of(path: Path) -> tuple[str, str | None]:
    """(format, compression) from the file name."""
    name = path.name.lower()
    compression = None
    for ext in _COMPRESSED:
        if name.endswith(ext):
            compression, name = ext, name[: -len(ext)]
            break
    if name.endswith(_JSONL):
        return "jsonl", compression
    if name.endswith(".json"):
        return "json", compression
    if name.endswith(".parquet"):
        return "parquet", compression
    if name.endswith(".csv"):
        return "csv", compression
    if name.endswith(".tsv"):
        return "tsv", compression
    return "text", compression


def _open_binary(path: Path | str, compression: str | None) -> IO[bytes]:
    if isinstance(path, str):  # an fsspec URL: its bytes stream, decompressed below
        import fsspec

        raw = fsspec.open(path, "rb").open()
        if compression == ".gz":
            return gzip.GzipFile(fileobj=raw)
        if compression == ".bz2":
            return bz2.BZ2File(raw)
        if compression == ".xz":
            return lzma.LZMAFile(raw)
        if compression == ".zst":
            import zstandard

            return zstandard.ZstdDecompressor().stream_reader(raw, closefd=True)
        return raw
    if compression == ".gz":
        return gzip.open(path, "rb")
    if compression == ".bz2":
        return bz2.open(path, "rb")
    if compression == ".xz":
        return lzma.open(path, "rb")
    if compression == ".zst":
        import zstandard

        return zstandard.ZstdDecompressor().stream_reader(open(path, "rb"), closefd=True)
    return open(path, "rb")


def _is_archive_error(exc: BaseException) -> bool:
    """A truncated or corrupt file, as gzip/bz2/lzma/zstandard report it (zstandard's ZstdError
    is imported lazily, so it is recognised by its module)."""
    return isinstance(exc, EOFError | OSError | lzma.LZMAError) or type(exc).__module__.startswith(
        "zstandard"
    )


class _Lines:
    """Numbered raw lines of a (decompressed) file with byte offsets; records truncation."""

    def __init__(self, stream: IO[bytes]):
        self.stream = io.BufferedReader(stream) if not isinstance(stream, io.BufferedIOBase) else stream
        self.error: str | None = None
        self.offset = 0
        self.line = 0

    def __iter__(self) -> Iterator[tuple[int, int, bytes]]:
        try:
            for raw in self.stream:
                self.line += 1
                yield self.line, self.offset, raw
                self.offset += len(raw)
        except Exception as exc:
            if not _is_archive_error(exc):
                raise
            self.error = f"truncated or corrupt archive after line {self.line}: {exc}"


class _RangeLines(_Lines):
    """The lines that start in [start, end) of a seekable, uncompressed file; line numbers unknown.

    A line belongs to the range its first byte is in, so ranges cut at any byte give every line
    to exactly one part.
    """

    def __init__(self, stream: IO[bytes], start: int, end: int):
        super().__init__(stream)
        self.start, self.end = start, end

    def __iter__(self) -> Iterator[tuple[int | None, int, bytes]]:
        stream = self.stream
        offset = self.start
        if offset > 0:
            stream.seek(offset - 1)
            if stream.read(1) != b"\n":  # inside a line that the previous range owns
                offset += len(stream.readline())
        else:
            stream.seek(0)
        while offset < self.end:
            raw = stream.readline()
            if not raw:
                break
            self.line += 1
            yield None, offset, raw
            offset += len(raw)
        self.offset = offset


def _choose_encoding(sample: bytes, config: CleanConfig) -> str:
    """utf-8, or cp949 for a legacy Korean file ("auto": only when the sample is not UTF-8)."""
    if config.encoding != "auto":
        return config.encoding
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        codecs.getincrementaldecoder("cp949")().decode(sample, final=False)
        return "cp949"
    except UnicodeDecodeError:
        return "utf-8"


def _raw_text(raw: bytes) -> str:
    return raw[:RAW_LIMIT].decode("utf-8", errors="backslashreplace")


class FileReader:
    """Reads one input file into Records and Quarantined entries, in file order.

    part/parts: several tasks share one file (JSONL and one-document-per-line text only).
    An uncompressed file is cut into `parts` byte ranges at line starts, and part k reads only
    its range: such a part does not know its line numbers, so its ids and quarantine entries
    name a record without its own id by byte offset (file:@offset) instead of file:line. A
    compressed file cannot be entered in the middle: every part decompresses all of it and takes
    the lines whose number is k modulo parts (shard such files instead; ko-clean warns). Other
    formats cannot be cut at any line: part 0 reads the whole file and the other parts nothing.
    File-level problems (unreadable, binary, truncated) are reported by part 0 alone.
    """

    def __init__(
        self, path: Path | str, config: CleanConfig, part: int = 0, parts: int = 1, name: str | None = None
    ):
        # An fsspec URL (s3://, hf://, file://) stays a string: Path would fold its "//".
        self.path = path if isinstance(path, str) and "://" in path else Path(path)
        self.config = config
        # `name` (the source's own label and relative path) keeps ids the same on every machine.
        self.source = name or (self.path if isinstance(self.path, str) else source_name(self.path))
        self.format, self.compression = _format_of(Path(str(path).rsplit("/", 1)[-1]))
        self.encoding = "utf-8"
        self.splittable = self.format == "jsonl" or (self.format == "text" and config.text_unit == "line")
        # Another task's part of a file that only part 0 can read: nothing to read here.
        self.skip = part > 0 and not self.splittable
        self.part, self.parts = (part, parts) if self.splittable else (0, 1)
        # Uncompressed and shared: this part reads its own byte range only.
        self.by_range = self.parts > 1 and self.compression is None

    def _mine(self, line: int | None) -> bool:
        return line is None or (line - 1) % self.parts == self.part

    def _where(self, line: int | None, offset: int) -> str:
        return str(line) if line is not None else f"@{offset}"

    def _lines(self, stream: IO[bytes]) -> _Lines:
        if not self.by_range:
            return _Lines(stream)
        from data_prep.storage import file_size

        size = file_size(self.path)
        return _RangeLines(stream, self.part * size // self.parts, (self.part + 1) * size // self.parts)

    def _quarantine(
        self, line: int | None, offset: int | None, error: str, raw: bytes | str = b""
    ) -> Quarantined:
        text = raw if isinstance(raw, str) else _raw_text(raw)
        return Quarantined(self.source, line, offset, error, text[:RAW_LIMIT])

    def __iter__(self) -> Iterator[Record | Quarantined]:
        if self.skip:
            return
        if self.format == "parquet":
            yield from self._parquet()
            return
        try:
            with _open_binary(self.path, self.compression) as probe:
                sample = probe.read(SNIFF_BYTES)
        except Exception as exc:
            if not _is_archive_error(exc):
                raise
            if self.part == 0:
                yield self._quarantine(
                    None, 0, f"unreadable {self.compression or ''} file: {exc}".replace("  ", " ")
                )
            return
        if b"\x00" in sample:
            if self.part == 0:
                yield self._quarantine(None, 0, "binary file (NUL bytes in the first 64 KiB)")
            return
        self.encoding = _choose_encoding(sample, self.config)
        with _open_binary(self.path, self.compression) as stream:
            lines = self._lines(stream)
            if self.format == "jsonl":
                yield from self._jsonl(lines)
            elif self.format == "json":
                yield from self._json(lines)
            elif self.format in ("csv", "tsv"):
                yield from self._csv(lines)
            else:
                yield from self._text(lines)
            if lines.error and self.part == 0:
                yield self._quarantine(lines.line, lines.offset, lines.error)

    # --- decoding and records

    def _decode(self, line: int, offset: int, raw: bytes) -> str | Quarantined:
        try:
            return raw.decode(self.encoding)
        except UnicodeDecodeError as exc:
            return self._quarantine(
                line,
                offset + exc.start,
                f"invalid {self.encoding} at byte {offset + exc.start}: {exc.reason}",
                raw,
            )

    def _record(
        self, data: Any, line: int, offset: int, raw: bytes | str, where: str
    ) -> Record | Quarantined:
        if not isinstance(data, dict):
            return self._quarantine(line, offset, f"{where}: a {type(data).__name__}, not an object", raw)
        for name in self.config.text_fields:
            value = data.get(name)
            if isinstance(value, str):
                metadata = {k: v for k, v in data.items() if k != name}
                own_id = data.get(self.config.id_field)
                doc_id = f"{self.source}#{own_id}" if own_id not in (None, "") else f"{self.source}:{where}"
                metadata.update(source=self.source, line=line)
                if line is None:
                    metadata["byte_offset"] = offset
                if self.encoding != "utf-8":
                    metadata["encoding"] = self.encoding
                return Record(doc_id, value, metadata)
        return self._quarantine(
            line, offset, f"{where}: no text field (looked for {list(self.config.text_fields)})", raw
        )

    def _jsonl(self, lines: _Lines) -> Iterator[Record | Quarantined]:
        for line, offset, raw in lines:
            if not raw.strip() or not self._mine(line):
                continue
            text = self._decode(line, offset, raw)
            if isinstance(text, Quarantined):
                yield text
                continue
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                yield self._quarantine(line, offset, f"malformed JSON at column {exc.colno}: {exc.msg}", raw)
                continue
            yield self._record(data, line, offset, raw, self._where(line, offset))

    def _json(self, lines: _Lines) -> Iterator[Record | Quarantined]:
        # A JSON array is one value: it is parsed whole (JSONL streams; prefer it for big files).
        chunks = [raw for _, _, raw in lines]
        whole = b"".join(chunks)
        try:
            data = json.loads(whole.decode(self.encoding))
        except UnicodeDecodeError as exc:
            yield self._quarantine(
                None, exc.start, f"invalid {self.encoding} at byte {exc.start}: {exc.reason}"
            )
            return
        except json.JSONDecodeError as exc:
            yield self._quarantine(
                exc.lineno, exc.pos, f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
            )
            return
        items = data if isinstance(data, list) else [data]
        for i, item in enumerate(items):
            yield self._record(
                item, i + 1, None, json.dumps(item, ensure_ascii=False)[:RAW_LIMIT], f"item{i + 1}"
            )

    def _csv(self, lines: _Lines) -> Iterator[Record | Quarantined]:
        decoded: list[str] = []
        for line, offset, raw in lines:
            text = self._decode(line, offset, raw)
            if isinstance(text, Quarantined):
                yield text
                continue
            decoded.append(text)
        reader = csv.DictReader(decoded, delimiter="\t" if self.format == "tsv" else ",")
        for i, row in enumerate(reader, start=1):
            yield self._record(
                dict(row), reader.line_num, None, json.dumps(row, ensure_ascii=False), f"row{i}"
            )

    def _text(self, lines: _Lines) -> Iterator[Record | Quarantined]:
        per_line = self.config.text_unit == "line"
        block: list[str] = []
        first: int | None = 0
        first_offset = 0

        def flush() -> Iterator[Record]:
            if block:
                meta = {"source": self.source, "line": first}
                if first is None:
                    meta["byte_offset"] = first_offset
                if self.encoding != "utf-8":
                    meta["encoding"] = self.encoding
                yield Record(f"{self.source}:{self._where(first, first_offset)}", "\n".join(block), meta)
                block.clear()

        for line, offset, raw in lines:
            if not self._mine(line):  # parts > 1 only with one document per line
                continue
            text = self._decode(line, offset, raw)
            if isinstance(text, Quarantined):
                yield text
                continue
            text = text.rstrip("\r\n")
            if not text.strip():
                yield from flush()
                continue
            if not block:
                first, first_offset = line, offset
            block.append(text)
            if per_line:
                yield from flush()
        yield from flush()

    def _parquet(self) -> Iterator[Record | Quarantined]:
        import pyarrow.parquet as pq

        try:
            parquet = pq.ParquetFile(
                _open_binary(self.path, None) if isinstance(self.path, str) else self.path
            )
        except Exception as exc:  # pyarrow raises ArrowInvalid, OSError...
            yield self._quarantine(None, 0, f"unreadable Parquet file: {exc}")
            return
        row = 0
        try:
            for batch in parquet.iter_batches(batch_size=1024):
                for data in batch.to_pylist():
                    row += 1
                    yield self._record(
                        data, row, None, json.dumps(data, ensure_ascii=False, default=str), f"row{row}"
                    )
        except Exception as exc:
            yield self._quarantine(row, None, f"Parquet file broke after row {row}: {exc}")

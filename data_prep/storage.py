"""Where the clean stage reads and writes: local paths or fsspec URLs (s3://, gs://, hf://, file://).

Every folder the clean steps touch goes through datatrove's DataFolder (an fsspec DirFileSystem),
so a step written once runs on a laptop's disk, a cluster's shared file system or object storage.
Credentials and endpoints come from the usual places (AWS_* variables, ~/.aws, fsspec's
FSSPEC_<PROTOCOL>_<KEY> variables such as FSSPEC_S3_ENDPOINT_URL), never from params.
"""

from __future__ import annotations

import gzip
import json
import posixpath
from pathlib import Path
from typing import IO, Any


def is_url(path: str | Path) -> bool:
    """Whether `path` names a file through an fsspec protocol rather than the local disk."""
    return isinstance(path, str) and "://" in path


def join(base: str | Path, *parts: str) -> str:
    """`base`/parts..., keeping a URL's "//" (Path would fold it)."""
    if is_url(base):
        return posixpath.join(str(base).rstrip("/"), *parts)
    return str(Path(base, *parts))


def folder(path: str | Path):
    """The DataFolder at `path` (created on first write)."""
    from datatrove.io import get_datafolder

    return get_datafolder(str(path))


def file_system(path: str | Path):
    """(fsspec filesystem, path inside it) for a local path or URL."""
    from fsspec.core import url_to_fs

    return url_to_fs(str(path))


def file_stamp(path: str | Path) -> str:
    """A string that changes when the file does: size and modification time (or ETag)."""
    if not is_url(path):
        stat = Path(path).stat()
        return f"{Path(path).resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}"
    fs, inner = file_system(path)
    info = fs.info(inner)
    keys = ("ETag", "etag", "LastModified", "mtime", "last_commit")
    changed = next((info[k] for k in keys if k in info), "")
    return f"{path}\0{info.get('size')}\0{changed}"


def file_size(path: str | Path) -> int:
    if not is_url(path):
        return Path(path).stat().st_size
    fs, inner = file_system(path)
    return int(fs.info(inner)["size"])


def remove_tree(path: str | Path) -> None:
    """Delete a folder and everything under it; nothing happens when it does not exist."""
    fs, inner = file_system(path)
    if fs.exists(inner):
        fs.rm(inner, recursive=True)


def write_json(where, name: str, data: Any) -> None:
    """JSON file `name` in DataFolder `where`."""
    with where.open(name, "wt", encoding="utf-8") as f:
        f.write(json.dumps(data, indent=1, ensure_ascii=False, sort_keys=True))


def read_json(where, name: str) -> Any:
    with where.open(name, "rt", encoding="utf-8") as f:
        return json.load(f)


class GzipJsonl:
    """Writes JSON lines to a gzip file byte-identically across runs (no timestamp, no name),
    on any file system: file `name` in DataFolder `where`, or the local path `where` alone."""

    def __init__(self, where, name: str | None = None):
        if name is None:
            Path(where).parent.mkdir(parents=True, exist_ok=True)
            self._file: IO[bytes] = open(where, "wb")
        else:
            self._file = where.open(name, "wb")
        self._gzip = gzip.GzipFile(filename="", mode="wb", fileobj=self._file, mtime=0)

    def write(self, record: dict[str, Any]) -> None:
        self._gzip.write((json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8"))

    def close(self) -> None:
        self._gzip.close()
        self._file.close()

    def __enter__(self) -> GzipJsonl:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_jsonl_gz(where, name: str):
    """The records of a gzip JSONL file in DataFolder `where`; nothing when it does not exist."""
    if not where.exists(name):
        return
    with where.open(name, "rb") as raw, gzip.GzipFile(fileobj=raw) as f:
        for line in f:
            yield json.loads(line)

"""Typed params: YAML sections -> frozen dataclasses, with `--set` overrides and strict checks.

Every stage reads its own section of a params file (params.yaml by default) into a dataclass.
Unknown keys and wrongly typed values are rejected with a message that names the section, the
key and the value, so a typo in a 7B recipe fails in a second instead of after a day on GPUs.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Union

import yaml


class ParamsError(ValueError):
    """A params file, section, key or value is invalid; the message says which and why."""


def read_params_file(path: str | Path) -> dict[str, Any]:
    """Read a params YAML file into a plain dict of sections."""
    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"params file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path}: not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ParamsError(f"{path}: expected a mapping of sections, got {type(data).__name__}")
    for name, section in data.items():
        if not isinstance(section, dict):
            raise ParamsError(f"{path}: section '{name}' must be a mapping, got {section!r}")
    return data


def apply_overrides(data: Mapping[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Return a copy of `data` with `section.key=value` overrides applied.

    Values are parsed as YAML scalars or lists, so `--set base.seed=3` gives an int and
    `--set base.model=meta-llama/Llama-2-7b-hf` a string.
    """
    merged = {name: dict(section) for name, section in data.items()}
    for item in overrides:
        key, sep, raw_value = item.partition("=")
        section, dot, field = key.strip().partition(".")
        if not sep or not dot or not section or not field:
            raise ParamsError(f"--set {item!r}: expected section.key=value, e.g. base.seed=1")
        try:
            value = yaml.safe_load(raw_value) if raw_value.strip() else ""
        except yaml.YAMLError as exc:
            raise ParamsError(f"--set {item!r}: value is not valid YAML: {exc}") from exc
        merged.setdefault(section, {})[field] = value
    return merged


def build_section(cls: type, section: str, raw: Mapping[str, Any] | None, source: str = "params"):
    """Build dataclass `cls` from the mapping of one section, rejecting unknown keys and bad types."""
    raw = dict(raw or {})
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(key, fields, n=1)
            hints.append(f"{section}.{key}" + (f" (did you mean {section}.{close[0]}?)" if close else ""))
        raise ParamsError(
            f"{source}: unknown key(s) {', '.join(hints)}; known keys in '{section}': {', '.join(fields)}"
        )
    hints = typing.get_type_hints(cls)
    values = {}
    for key, value in raw.items():
        values[key] = _coerce(value, hints[key], f"{source}: {section}.{key}")
    try:
        return cls(**values)
    except ParamsError as exc:
        raise ParamsError(f"{source}: {exc}") from None


def require(condition: bool, message: str) -> None:
    """Raise ParamsError(message) unless `condition`; for `__post_init__` validation."""
    if not condition:
        raise ParamsError(message)


def section_to_dict(config) -> dict[str, Any]:
    """The dataclass as a plain dict (lists for tuples), ready to dump as YAML."""
    return {f.name: _plain_field(getattr(config, f.name)) for f in dataclasses.fields(config)}


def _plain_field(value):
    # A section's own sub-section (clean.ray) is written whole, like the section.
    return section_to_dict(value) if dataclasses.is_dataclass(value) else _plain(value)


def dump_yaml(data: Mapping[str, Any]) -> str:
    """YAML text that keeps key order and Korean characters readable."""
    return yaml.safe_dump(dict(data), sort_keys=False, allow_unicode=True, default_flow_style=False)


def _plain(value):
    if dataclasses.is_dataclass(value):  # a list entry: the keys that differ from their defaults
        return {
            f.name: _plain(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.default is dataclasses.MISSING or getattr(value, f.name) != f.default
        }
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _coerce(value: Any, annotation: Any, where: str) -> Any:
    """Check `value` against a simple annotation; return it (ints widened to float, lists to tuples)."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (Union, types.UnionType):
        for option in args:
            try:
                return _coerce(value, option, where)
            except ParamsError:
                pass
        raise ParamsError(f"{where} = {value!r}: expected {_describe(annotation)}")
    if annotation is type(None):
        if value is None:
            return None
        raise ParamsError(f"{where} = {value!r}: expected null")
    if origin is Literal:
        if value in args:
            return value
        raise ParamsError(f"{where} = {value!r}: expected one of {', '.join(map(repr, args))}")
    if origin in (tuple, list, Sequence):
        if not isinstance(value, list | tuple):
            raise ParamsError(f"{where} = {value!r}: expected a list")
        item_type = args[0] if args else Any
        return tuple(_coerce(v, item_type, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise ParamsError(f"{where} = {value!r}: expected a mapping")
        key_type, item_type = args or (Any, Any)
        return {
            _coerce(k, key_type, f"{where} key"): _coerce(v, item_type, f"{where}.{k}")
            for k, v in value.items()
        }
    if dataclasses.is_dataclass(annotation):
        # A list entry with keys of its own (a source): built and checked like a section.
        if not isinstance(value, dict):
            raise ParamsError(f"{where} = {value!r}: expected a mapping with keys of {annotation.__name__}")
        section, _, _ = where.rpartition(": ")
        return build_section(annotation, where.rpartition(": ")[2], value, section or "params")
    if annotation is Any:
        return value
    if annotation is bool:
        if isinstance(value, bool):
            return value
    elif annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif annotation is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif annotation is str:
        if isinstance(value, str):
            return value
    else:  # pragma: no cover - a config class used an annotation this checker does not know
        raise TypeError(f"{where}: unsupported annotation {annotation!r}")
    raise ParamsError(f"{where} = {value!r}: expected {_describe(annotation)}, got {type(value).__name__}")


def _describe(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(annotation))
    if origin is Literal:
        return "one of " + ", ".join(map(repr, typing.get_args(annotation)))
    if annotation is type(None):
        return "null"
    return getattr(annotation, "__name__", str(annotation))

"""Fail early, with the pip command that fixes it, when an optional dependency is missing."""

from __future__ import annotations

import importlib.util


class MissingDependency(ImportError):
    """An optional package that this code path needs is not installed."""


def require_module(module: str, *, extra: str, pip_name: str | None = None) -> None:
    """Raise MissingDependency naming the install command unless `module` can be imported."""
    try:
        found = importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a parent package is missing
        found = False
    if not found:
        package = pip_name or module.split(".")[0]
        raise MissingDependency(
            f"'{module}' is not installed (package {package}). Install this project's '{extra}' extra: "
            f"pip install -e '.[{extra}]'  (or: pip install {package})"
        )

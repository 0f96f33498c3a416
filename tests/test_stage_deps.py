"""Every stage's dvc.yaml `deps:` cover the project code its CLI can run, so a code change reruns it.

A stage's CLI is the first word of its `cmd:` (`ko-pretrain`), mapped through pyproject.toml's
[project.scripts] to a module (`pipeline.pretrain`). Its import closure is read from the sources
with `ast`, never by importing them (no torch, well under a second): every project module reached
transitively by `import`, `from X import Y` (Y a submodule or not), relative imports and imports
inside functions, which is where most of ours are. Each file of the closure must lie under a dep:
a directory dep covers every file below it, a file dep covers that file.

Also followed: importlib.import_module / __import__ of a literal name; of a computed name with a
literal start (f"eval.tasks.{name}"), whose package directory must then be a dep; and of a name
from a registry (pipeline/config.py's SECTIONS), taken as every dotted module path written in that
file. Not followed: imports under `if TYPE_CHECKING:`, which never run. eval/tasks/ is loaded by
explicit `from eval.tasks import click, ...` in all_tasks(), so the task modules come in by name.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

import tomllib
import yaml

REPO = Path(__file__).resolve().parents[1]
# Top-level packages that no stage runs: the test suite and the benchmarks.
NOT_PROJECT = frozenset({"tests", "bench"})
# A string constant naming a project module, optionally with an attribute ("data_prep.config:CleanConfig").
# Dotted only, so section names such as "eval" are not mistaken for the eval package.
MODULE_REFERENCE = re.compile(r"^([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)(?::[A-Za-z_][\w.]*)?$")


@dataclass
class Closure:
    """What a module can run: repo-relative files, and directories whose modules load dynamically."""

    files: set[str] = field(default_factory=set)
    # A package loaded by computed name (import_module(f"eval.tasks.{name}")) gains modules when a file is
    # added, so its directory, not just today's files, must be a dep.
    dirs: set[str] = field(default_factory=set)


def project_packages(root: Path) -> set[str]:
    """Top-level packages of the project: directories with an __init__.py, less tests and bench."""
    return {
        p.parent.name
        for p in root.glob("*/__init__.py")
        if p.parent.name not in NOT_PROJECT and not p.parent.name.startswith(".")
    }


def module_file(root: Path, module: str) -> Path | None:
    """The file of a dotted module name under root (a package's __init__.py), or None."""
    base = root.joinpath(*module.split("."))
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def has_code(path: Path) -> bool:
    """Whether a file holds anything but a docstring (comments are not in the AST).

    An __init__.py without code changes no behaviour when its package is imported, so it joins a
    closure only when it has code; otherwise every stage would depend on three empty-but-for-a-
    docstring files, and editing a package's docstring would rerun the pipeline.
    """
    body = ast.parse(path.read_text(encoding="utf-8")).body
    return any(
        not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant) and isinstance(s.value.value, str))
        for s in body
    )


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _with_parents(module: str) -> list[str]:
    """a.b.c -> [a, a.b, a.b.c]: importing a module runs its parent packages first."""
    parts = module.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


class _ImportCollector(ast.NodeVisitor):
    """Module names one file imports, at any depth, plus packages it loads by computed name."""

    def __init__(self, root: Path, module: str, is_package: bool):
        self.root = root
        self.package = module if is_package else module.rpartition(".")[0]
        self.modules: set[str] = set()
        self.dynamic_packages: set[str] = set()
        self.computed_import = False  # import_module(name) with no literal part: see module_references

    def visit_If(self, node: ast.If) -> None:
        # `if TYPE_CHECKING:` imports never run, so they are not code the stage executes.
        if _is_type_checking(node.test):
            for statement in node.orelse:
                self.visit(statement)
        else:
            self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.modules.update(_with_parents(alias.name))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            anchor = self.package.split(".") if self.package else []
            anchor = anchor[: len(anchor) - (node.level - 1)]
            base = ".".join([*anchor, *([node.module] if node.module else [])])
        else:
            base = node.module or ""
        if not base:
            return
        self.modules.update(_with_parents(base))
        for alias in node.names:
            # `from pkg import sub` imports pkg/sub.py when sub is a submodule, not a name in pkg.
            if alias.name != "*" and module_file(self.root, f"{base}.{alias.name}"):
                self.modules.add(f"{base}.{alias.name}")

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if name in ("import_module", "__import__") and node.args:
            target = node.args[0]
            if isinstance(target, ast.Constant) and isinstance(target.value, str):
                self.modules.update(_with_parents(target.value))
            elif prefix := _literal_prefix(target):
                # f"eval.tasks.{name}", "eval.tasks." + name or f"eval.tasks.ko_{name}": any module of
                # package eval.tasks may load.
                self.dynamic_packages.add(prefix.rpartition(".")[0])
            else:
                self.computed_import = True
        self.generic_visit(node)


def _literal_prefix(node: ast.expr) -> str:
    """The constant start of an f-string or `"a.b." + name`, or ""."""
    if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
        return str(node.values[0].value)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add) and isinstance(node.left, ast.Constant):
        return str(node.left.value)
    return ""


def module_references(tree: ast.Module) -> set[str]:
    """Dotted module names in a file's string constants ("data_prep.config:CleanConfig").

    Used only for a file that calls import_module on a computed name: its registry of module paths
    (pipeline/config.py's SECTIONS) is then what it imports, and a string the analysis cannot follow
    is assumed to be loaded (a dep too many reruns a stage; one too few serves stale outputs).
    """
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            match = MODULE_REFERENCE.match(node.value)
            if match:
                found.add(match.group(1))
    return found


def import_closure(root: Path, module: str, packages: set[str] | None = None) -> Closure:
    """Every project file that importing `module` (and running any function in it) can execute."""
    packages = project_packages(root) if packages is None else packages
    closure = Closure()
    seen: set[str] = set()
    pending = _with_parents(module)
    while pending:
        name = pending.pop()
        if name in seen or name.split(".")[0] not in packages:
            continue
        seen.add(name)
        path = module_file(root, name)
        if path is None:  # a name imported from a module (not a submodule), or a namespace package
            continue
        is_package = path.name == "__init__.py"
        if not is_package or has_code(path):
            closure.files.add(path.relative_to(root).as_posix())
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        collector = _ImportCollector(root, name, is_package)
        collector.visit(tree)
        pending.extend(collector.modules)
        if collector.computed_import:
            pending.extend(module_references(tree))  # names that are not project modules are skipped
        for package in collector.dynamic_packages:
            directory = root.joinpath(*package.split("."))
            if not package or package.split(".")[0] not in packages or not directory.is_dir():
                continue
            closure.dirs.add(directory.relative_to(root).as_posix())
            for file in sorted(directory.rglob("*.py")):
                parts = file.relative_to(root).with_suffix("").parts
                pending.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return closure


def stage_deps(stage: dict) -> list[str]:
    """A stage's dep paths (an entry is a path, or a one-key mapping of a path to options)."""
    deps = []
    for entry in stage.get("deps") or []:
        deps.extend(entry if isinstance(entry, dict) else [entry])
    return [str(d).rstrip("/") for d in deps]


def is_covered(path: str, deps: list[str]) -> bool:
    """Whether a dep is the path itself or a directory above it."""
    return any(path == dep.rstrip("/") or path.startswith(dep.rstrip("/") + "/") for dep in deps)


def missing_deps(closure: Closure, deps: list[str]) -> list[str]:
    """The files and dynamically loaded directories of a closure that no dep covers, sorted."""
    return sorted(p for p in closure.files | closure.dirs if not is_covered(p, deps))


def stage_module(cmd: str | list[str], scripts: dict[str, str]) -> str | None:
    """The module whose main() a stage's cmd runs, through [project.scripts]; None if not a project CLI."""
    first = cmd[0] if isinstance(cmd, list) else cmd
    words = str(first).split()
    entry = scripts.get(words[0]) if words else None
    return entry.partition(":")[0].strip() if entry else None


def test_stage_deps_cover_the_code_each_stage_runs():
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    packages = project_packages(REPO)
    problems = []
    for name, stage in stages.items():
        module = stage_module(stage["cmd"], scripts)
        if module is None:
            problems.append(f"stage {name}: cmd {stage['cmd']!r} does not start with a [project.scripts] CLI")
            continue
        if module_file(REPO, module) is None:
            problems.append(f"stage {name}: {module} (of its CLI) is not a file under the repo")
            continue
        missing = missing_deps(import_closure(REPO, module, packages), stage_deps(stage))
        if missing:
            lines = "\n".join(f"      - {path}" for path in missing)
            problems.append(f"stage {name} ({module}) runs code missing from its deps; add:\n{lines}")
    assert not problems, "dvc.yaml deps miss code their stage runs:\n\n" + "\n\n".join(problems)


def _write(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_import_closure_follows_function_imports_and_submodules(tmp_path):
    _write(
        tmp_path,
        {
            "app/__init__.py": '"""Only a docstring: no behaviour, so not in a closure."""\n',
            "app/main.py": (
                "import json\n"
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n"
                "    from app import typed_only\n"
                "def main():\n"
                "    from app import sub\n"
                "    import importlib\n"
                "    importlib.import_module('app.literal')\n"
                "    return sub\n"
            ),
            "app/sub.py": "def f():\n    from .helpers import x\n    from ..lib.core import y\n",
            "app/helpers.py": "x = 1\n",
            "app/literal.py": "",
            "app/typed_only.py": "",
            "app/unused.py": "",
            "lib/__init__.py": "from lib import registry\n",
            "lib/core.py": "y = 2\n",
            "lib/registry.py": "",
            "tests/__init__.py": "",
            "tests/helper.py": "",
        },
    )
    closure = import_closure(tmp_path, "app.main")
    assert closure.files == {
        "app/main.py",
        "app/sub.py",
        "app/helpers.py",
        "app/literal.py",
        "lib/__init__.py",
        "lib/core.py",
        "lib/registry.py",
    }
    assert not closure.dirs
    assert missing_deps(closure, ["app", "lib/core.py"]) == ["lib/__init__.py", "lib/registry.py"]
    assert missing_deps(closure, ["app/", "lib"]) == []
    assert missing_deps(closure, ["ap", "lib/core"]) == sorted(closure.files)


def test_import_closure_follows_dynamic_loading(tmp_path):
    _write(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/run.py": (
                "import importlib\n"
                "REGISTRY = {'a': 'app.config:AConfig', 'eval': 'app'}\n"
                "def load(name):\n"
                "    module, _, cls = REGISTRY[name].partition(':')\n"
                "    return getattr(importlib.import_module(module), cls)\n"
                "def task(name):\n"
                "    return importlib.import_module(f'app.tasks.{name}')\n"
            ),
            "app/config.py": "from app import shared\n",
            "app/shared.py": "",
            "app/tasks/__init__.py": "",
            "app/tasks/one.py": "from app import helper\n",
            "app/helper.py": "",
        },
    )
    closure = import_closure(tmp_path, "app.run")
    assert closure.files == {
        "app/run.py",
        "app/config.py",
        "app/shared.py",
        "app/tasks/one.py",
        "app/helper.py",
    }
    assert closure.dirs == {"app/tasks"}
    # Listing today's task files is not enough: a new task file would go unseen.
    assert missing_deps(closure, ["app/run.py", "app/config.py", "app/shared.py", "app/helper.py"]) == [
        "app/tasks",
        "app/tasks/one.py",
    ]


def test_stage_module_maps_cmd_through_project_scripts():
    scripts = {"ko-pretrain": "pipeline.pretrain:main"}
    assert stage_module("ko-pretrain --input data/clean\n--output x", scripts) == "pipeline.pretrain"
    assert stage_module(["ko-pretrain --input a", "echo done"], scripts) == "pipeline.pretrain"
    assert stage_module("cp a b", scripts) is None

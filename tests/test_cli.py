"""Every wired stage has a console script whose --help is light, and dvc.yaml calls those scripts."""

from __future__ import annotations

import subprocess
import sys

import pytest
import tomllib
import yaml

from tests.conftest import REPO

SCRIPTS = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
STAGES = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]


def test_every_dvc_stage_calls_a_ko_script_and_every_script_is_wired():
    called = {stage["cmd"].split()[0] for stage in STAGES.values()}
    assert called == set(SCRIPTS), "dvc.yaml stages and [project.scripts] must name the same CLIs"
    for name, stage in STAGES.items():
        assert stage["cmd"].startswith(f"ko-{name} "), f"stage {name} should run ko-{name}"
        assert stage["metrics"] == [{f"metrics/{name}.json": {"cache": False}}]
        # Its own section first; the corpus stage also pins the inputs other sections name.
        assert stage["params"][0] == name
        assert all(p.split(".")[0] in (name, "pretrain", "sft", "eval") for p in stage["params"])


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_help_answers_without_importing_torch(script):
    module, func = SCRIPTS[script].split(":")
    code = (
        "import sys\n"
        f"from {module} import {func} as main\n"
        "try:\n    main(['--help'])\nexcept SystemExit as exit:\n    assert exit.code == 0, exit.code\n"
        "heavy = [m for m in ('torch', 'transformers', 'sentencepiece', 'konlpy') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert f"usage: {script}" in result.stdout
    assert "--set SECTION.KEY=VALUE" in result.stdout


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_console_script_and_module_form_both_run(script):
    bin_dir = __import__("pathlib").Path(sys.executable).parent
    module = SCRIPTS[script].split(":")[0]
    for command in ([str(bin_dir / script), "--help"], [sys.executable, "-m", module, "--help"]):
        result = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
        assert result.returncode == 0, (command, result.stderr)
        assert "--params FILE" in result.stdout


def test_dry_run_echoes_resolved_params_and_writes_nothing(tmp_path):
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "pipeline.base", "--dry-run", "--output", str(out), "--set", "base.seed=9"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    assert yaml.safe_load(result.stdout)["base"]["seed"] == 9
    assert not out.exists()


def test_bad_params_exit_2_with_the_key_named(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "data_prep.sources", "--output", str(tmp_path), "--set", "corpus.sorce=x"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert result.returncode == 2
    assert "corpus.sorce (did you mean corpus.sources?)" in result.stderr
    assert list(tmp_path.iterdir()) == []

"""bench/pretrain.py --smoke: the GPU bench runs end to end on a tiny shape, so it cannot rot unseen."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_the_pretrain_bench_runs_its_smoke_shape(tmp_path):
    out = tmp_path / "results.jsonl"
    result = subprocess.run(
        [sys.executable, "bench/pretrain.py", "--smoke", "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (row,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert row["shape"] == "smoke" and row["zero"] == "2"  # through DeepSpeed ZeRO-2, as on a GPU
    assert row["tokens_per_s_per_device"] > 0 and row["anchor_tokens_per_s"] > 0
    assert row["ratio_to_anchor"] == pytest.approx(
        row["tokens_per_s_per_device"] / row["anchor_tokens_per_s"], rel=1e-2
    )
    assert row["mfu"] is None and "peak_tflops" in row["peak"]  # no peak is known for a CPU
    assert "tokens/s/dev" in result.stdout and "anchor" in result.stdout

"""scripts/bench.py runs and writes the keys issue 10 names (speed itself is never asserted)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import ROOT, child_env


def test_quick_crossbar_bench_writes_median_min_max_and_target(tmp_path):
    output = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench.py"), "--quick", "--only", "crossbar",
         "--output", str(output)],
        check=False, cwd=ROOT, capture_output=True, text=True, timeout=120, env=child_env(),
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(output.read_text())
    crossbar = data["crossbar"]
    for key in ("updates_per_s", "training_epoch_s"):
        assert set(crossbar[key]) == {"median", "min", "max"}
        assert 0 < crossbar[key]["min"] <= crossbar[key]["median"] <= crossbar[key]["max"]
    assert crossbar["bench"]["quick"] is True
    assert set(data["targets"]["updates_per_s"]) == {"value", "target", "met"}
    assert "updates_per_s" in done.stdout


@pytest.mark.slow
def test_quick_training_bench_times_every_algorithm(tmp_path):
    output = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench.py"), "--quick", "--only", "training",
         "--output", str(output)],
        check=False, cwd=ROOT, capture_output=True, text=True, timeout=300, env=child_env(),
    )
    assert done.returncode == 0, done.stderr
    training = json.loads(output.read_text())["training"]
    for name in ("sgd", "tiki_taka", "chopped_tiki_taka", "mixed_precision"):
        for key in (f"epoch_s_{name}", f"updates_per_s_{name}"):
            assert set(training[key]) == {"median", "min", "max"} and training[key]["min"] > 0
    assert training["epoch_samples"] == 1347

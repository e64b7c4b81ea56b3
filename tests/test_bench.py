"""scripts/bench.py runs and writes the keys issue 10 names (speed itself is never asserted)."""

from __future__ import annotations

import json
import shutil
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
@pytest.mark.skipif(shutil.which("ngspice") is None,
                    reason="ngspice is not installed (Debian package ngspice; make setup installs it)")
def test_quick_spice_bench_writes_the_wall_ratio_and_ir_drop_throughput(tmp_path):
    output = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench.py"), "--quick", "--only", "spice",
         "--output", str(output)],
        check=False, cwd=ROOT, capture_output=True, text=True, timeout=600, env=child_env(),
    )
    assert done.returncode == 0, done.stderr
    spice = json.loads(output.read_text())["spice"]
    for key in ("ngspice_8x8_s", "numpy_8x8_s", "wall_ratio", "ir_drop_64_updates_per_s"):
        assert set(spice[key]) == {"median", "min", "max"} and spice[key]["min"] > 0
    assert spice["bench"]["quick"] is True

"""scripts/bench.py runs and writes the keys issues 10 and 23 name (speed itself is never asserted),
and its bookkeeping (targets, change against the previous run, summary) is right."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys

import pytest
import yaml

from conftest import ROOT, STATIC_CONFIG, child_env, write_yaml


def run_bench(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "bench.py"), *args], check=False,
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=child_env())


@pytest.fixture(scope="module")
def bench():
    """scripts/bench.py as a module (it is a script, not part of the package)."""
    name = "filatherm_bench_script"
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / "bench.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    yield module
    del sys.modules[name]


def test_quick_crossbar_bench_writes_median_min_max_and_target(tmp_path):
    output = tmp_path / "bench.json"
    done = run_bench("--quick", "--only", "crossbar", "--output", str(output), timeout=120)
    assert done.returncode == 0, done.stderr
    data = json.loads(output.read_text())
    crossbar = data["crossbar"]
    for key in ("updates_per_s", "training_epoch_s"):
        assert set(crossbar[key]) == {"median", "min", "max"}
        assert 0 < crossbar[key]["min"] <= crossbar[key]["median"] <= crossbar[key]["max"]
    assert crossbar["bench"]["quick"] is True
    assert set(data["targets"]["updates_per_s"]) == {"value", "target", "met"}
    assert "updates_per_s" in done.stdout


def test_quick_peer_section_then_a_rerun_keeps_the_previous_json(tmp_path):
    """Smoke test of the peer section (a coarse static cell, 11 points) and of bench.prev.json.
    The agreement check is an identity test: filatherm and the stock peer solve the same discrete
    problem, so their T_max (the same dof) must agree to well within the Newton tolerances, and
    their currents (reaction vs boundary flux) to within the flux's discretisation error."""
    raw = yaml.safe_load(STATIC_CONFIG.read_text())
    raw["mesh"].update(size=6, filament_size=0.4)
    config = write_yaml(tmp_path / "coarse.yaml", raw)
    output = tmp_path / "bench.json"
    first = run_bench("--quick", "--only", "peer", "--peer-config", str(config), "--output", str(output))
    assert first.returncode == 0, first.stderr
    data = json.loads(output.read_text())
    peer = data["peer"]
    assert peer["points"] == 11 and peer["voltages_V"] == [-1.5, 1.5]
    for key in ("filatherm_wall_s", "stock_wall_s", "sweep_ratio",
                "filatherm_newton_iterations_median", "stock_newton_iterations_median"):
        assert set(peer[key]) == {"median", "min", "max"}
        assert 0 <= peer[key]["min"] <= peer[key]["median"] <= peer[key]["max"]
    assert peer["sweep_ratio"]["median"] == pytest.approx(
        peer["stock_wall_s"]["median"] / peer["filatherm_wall_s"]["median"])
    assert peer["filatherm_failed_points"] == 0 and peer["stock_failed_points"] == 0
    assert peer["filatherm_factorisations"] > 0 and peer["stock_factorisations"] > 0
    assert peer["agreement"]["points_compared"] == 11
    assert peer["agreement"]["T_max_max_difference_K"] < 1e-5
    assert peer["agreement"]["current_max_relative_difference"] < 1e-2
    assert data["targets"]["sweep_ratio"]["target"] == ">= 2"
    assert data["targets"]["filatherm_failed_points"] == {"value": 0.0, "target": "<= 0", "met": True}
    assert "peer.sweep_ratio" in first.stdout and not (tmp_path / "bench.prev.json").exists()

    second = run_bench("--quick", "--only", "crossbar", "--config", str(config), "--output", str(output))
    assert second.returncode == 0, second.stderr
    assert json.loads((tmp_path / "bench.prev.json").read_text()) == data
    change = json.loads(output.read_text())["change"]
    assert change["peer.sweep_ratio"]["status"] == "kept"  # carried over, not rerun
    assert change["crossbar.updates_per_s"]["status"] == "new"


def _section(date: str, quick: bool = False, **figures) -> dict:
    return {**figures, "bench": {"date": date, "quick": quick, "load_before": 0.1, "load_after": 0.2}}


def test_regressed_flags_only_a_move_the_wrong_way_beyond_noise(bench):
    """Unit test of the regression rule (NOISE = 10 %)."""
    assert bench.regressed(12.0, 10.0, "lower") and not bench.regressed(10.5, 10.0, "lower")
    assert not bench.regressed(8.0, 10.0, "lower")
    assert bench.regressed(1.5, 2.0, "higher") and not bench.regressed(2.5, 2.0, "higher")
    assert bench.regressed(1, 0, "lower")  # a first failed point counts however small
    assert not bench.regressed(30.0, 10.0, None)  # the peer's own figures are never flagged


def test_changes_compare_against_the_previous_run(bench):
    """Unit test: compared / kept / incomparable / new, and the relative change."""
    previous = {
        "peer": _section("d1", sweep_ratio={"median": 2.0, "min": 1.9, "max": 2.1},
                         filatherm_failed_points=0),
        "mesh": _section("d1", build_s={"median": 1.0, "min": 1.0, "max": 1.0}),
        "crossbar": _section("d1", quick=True, updates_per_s={"median": 1e8, "min": 1e8, "max": 1e8}),
    }
    results = {
        "peer": _section("d2", sweep_ratio={"median": 1.5, "min": 1.4, "max": 1.6},
                         filatherm_failed_points=2),
        "mesh": previous["mesh"],  # not rerun (--only)
        "crossbar": _section("d2", updates_per_s={"median": 2e8, "min": 2e8, "max": 2e8}),
        "transient": _section("d2", wall_s={"median": 3.0, "min": 3.0, "max": 3.0}),
    }
    change = bench.changes(results, previous)
    ratio = change["peer.sweep_ratio"]
    assert ratio["status"] == "compared" and ratio["change"] == pytest.approx(-0.25) and ratio["regressed"]
    failed = change["peer.filatherm_failed_points"]
    assert failed["previous"] == 0 and failed["change"] is None and failed["regressed"]
    assert change["mesh.build_s"]["status"] == "kept" and change["mesh.build_s"]["change"] is None
    assert change["crossbar.updates_per_s"]["status"] == "incomparable"
    assert change["transient.wall_s"]["status"] == "new"
    assert bench.changes(results, None)["peer.sweep_ratio"]["status"] == "new"


def test_targets_and_summary_fit_one_screen(bench):
    """Unit test: targets on medians and plain counts; the summary shows value, target, met,
    previous and change, one line per figure, within one screen."""
    previous = {"peer": _section("d1", sweep_ratio={"median": 2.5, "min": 2.5, "max": 2.5},
                                 filatherm_failed_points=0, stock_failed_points=3)}
    results = {"peer": _section("d2", sweep_ratio={"median": 1.8, "min": 1.7, "max": 1.9},
                                filatherm_failed_points=1, stock_failed_points=3)}
    results["targets"] = bench.evaluate_targets(results)
    assert results["targets"]["sweep_ratio"] == {"value": 1.8, "target": ">= 2", "met": False}
    assert results["targets"]["filatherm_failed_points"]["met"] is False
    results["change"] = bench.changes(results, previous)
    text = bench.summary(results)
    lines = text.splitlines()
    assert len(lines) <= 24 and len(bench.SUMMARY) + 2 <= 24
    ratio = next(line for line in lines if line.startswith("peer.sweep_ratio"))
    assert ratio.split()[1:] == ["1.8", "-", ">=", "2", "NO", "2.5", "-28%", "REGRESSED"]
    stock = next(line for line in lines if line.startswith("peer.stock_failed_points"))
    assert stock.split()[1:] == ["3", "-", "3", "+0%"]
    assert lines[-1] == "load average before/after: peer 0.10/0.20"


def test_previous_json_path_and_unreadable_previous(bench, tmp_path):
    """Unit test: bench.json -> bench.prev.json; an unreadable old file is ignored, not fatal."""
    assert bench.previous_path(tmp_path / "bench.json") == tmp_path / "bench.prev.json"
    assert bench.read_previous(tmp_path / "missing.json") is None
    (tmp_path / "bench.json").write_text("{not json")
    assert bench.read_previous(tmp_path / "bench.json") is None


def test_agreement_compares_only_points_both_converged_at(bench):
    """Unit test of the peer's agreement figures on hand-made points."""
    point = lambda v, ok, T, I: {"voltage": v, "converged": ok, "T_max": T, "current": I}  # noqa: E731
    filatherm = [point(0.0, True, 300.0, 0.0), point(0.5, True, 400.0, 2e-5), point(1.0, True, 900.0, 1e-4)]
    stock = [point(0.0, True, 300.0, 0.0), point(0.5, True, 400.5, 2.02e-5), point(1.0, False, None, None)]
    out = bench.agreement(filatherm, stock)
    assert out["points_compared"] == 2
    assert out["T_max_max_difference_K"] == pytest.approx(0.5)
    assert out["current_max_relative_difference"] == pytest.approx(0.01)


def test_polarity_branches_order_by_magnitude_from_rest():
    """Unit test: the stock peer continues each polarity outward from 0 V, like filatherm's plan."""
    from solver.fem.stock import polarity_branches

    assert polarity_branches([-1.0, -0.5, 0.0, 0.5, 1.0]) == [[0.0, 0.5, 1.0], [-0.5, -1.0]]
    assert polarity_branches([0.3, 0.1]) == [[0.1, 0.3]]


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

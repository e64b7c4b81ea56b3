"""Discretisation error estimates (issue 17, part 2): Richardson extrapolation on three meshes,
the error bars of the headline numbers, and the refusal of a singular field statistic.

Verification: the FEM case is the radial Joule rod, whose temperature is known in closed form
(T0 + sigma E^2 (R^2 - r^2) / 4 kappa), so the true error of each mesh is known and the
estimate must bracket it. The synthetic cases check the estimator and the fit plumbing
against sequences with a known limit."""

from __future__ import annotations

import json
import math

import pytest

from conftest import DEFAULT_CONFIG, STATIC_CONFIG, ROOT, child_env
from solver.config import ConfigError, load_config, validate_config, with_overrides
from solver.richardson import SAFETY, richardson


def test_a_smooth_sequence_gives_its_limit_and_order():
    """Q(h) = 1 + 0.3 h^2 + 0.05 h^3 at h = 0.4, 0.2, 0.1: order ~2, limit 1, the error of
    Q(0.2) bracketed within the safety factor."""
    q = {h: 1.0 + 0.3 * h**2 + 0.05 * h**3 for h in (0.4, 0.2, 0.1)}
    e = richardson(q[0.4], q[0.2], q[0.1])
    true_error = abs(q[0.2] - 1.0)
    assert e.observed and 1.9 < e.order < 2.3
    assert abs(e.extrapolated - 1.0) < 0.05 * true_error
    assert true_error <= e.error <= 1.5 * true_error


def test_a_sequence_outside_the_asymptotic_range_is_flagged_with_a_wide_bar():
    e = richardson(1.0, 1.2, 1.1)  # oscillates
    assert not e.observed and math.isnan(e.order) and e.error == pytest.approx(SAFETY * 0.2)
    e = richardson(1.0, 1.1, 1.3)  # diverges
    assert not e.observed and e.error == pytest.approx(SAFETY * 0.2)
    e = richardson(2.0, 2.0, 2.0)  # mesh-independent
    assert e.error == 0.0 and e.extrapolated == 2.0


def test_orders_outside_the_range_are_flagged_and_never_shrink_the_bar():
    """A corner singularity: Q(h) = 1 + h^0.3 converges at order 0.3 < 0.5: flagged, and its
    error is that of order 0.3 (a larger order would hide most of it). An order above the
    range is capped, which widens the bar."""
    q = {h: 1.0 + h**0.3 for h in (0.4, 0.2, 0.1)}
    e = richardson(q[0.4], q[0.2], q[0.1])
    assert not e.observed and e.order == pytest.approx(0.3)
    assert abs(q[0.2] - 1.0) <= e.error <= 1.5 * abs(q[0.2] - 1.0)
    q = {h: 1.0 + h**6 for h in (0.4, 0.2, 0.1)}
    e = richardson(q[0.4], q[0.2], q[0.1])
    assert not e.observed and e.order == 4.0 and e.error >= abs(q[0.2] - 1.0)


def rod_config(size: float):
    from fem_helpers import slab_config

    return validate_config(slab_config(
        [{"name": "rod", "material": "M", "thickness": 1.0}],
        {"M": {"electrical_conductivity": 1e4, "thermal_conductivity": 2.0, "seebeck": 0.0}},
        radius=1.0, size=size, top="insulated", bottom="insulated", outer={"temperature": 300.0},
        extra={"probes": {"core": {"layer": "rod", "r_max": 0.5, "z_min": 0.0, "z_max": 1.0}}}))


def test_the_fem_error_estimate_brackets_the_true_error_of_the_radial_rod():
    pytest.importorskip("dolfinx")
    from solver.fem.mesh_error import solve_on_three_meshes

    sigma, kappa, V, L, R, a = 1e4, 2.0, 0.5, 1e-6, 1e-6, 0.5e-6
    heating = sigma * (V / L) ** 2 / (4 * kappa)
    exact = {"probes/core/T_mean": 300 + heating * (R**2 - a**2 / 2),  # mean of R^2 - r^2 over r < a
             "T_max": 300 + heating * R**2}
    records, estimates = solve_on_three_meshes(rod_config(0.2), V)
    assert all(r["converged"] for r in records.values())
    for key, value in exact.items():
        e = estimates[key]
        true_error = abs(e.value - value)
        assert e.observed, key
        assert true_error <= e.error <= 3 * true_error, (key, e, true_error)
        assert abs(e.extrapolated - value) < 0.6 * true_error, (key, e, true_error)


def test_solve_error_estimate_on_the_command_line(tmp_path):
    pytest.importorskip("dolfinx")
    import subprocess
    import sys

    from solver.config import config_to_yaml

    path = tmp_path / "rod.yaml"
    path.write_text(config_to_yaml(rod_config(0.2)))
    done = subprocess.run([sys.executable, "-m", "solver", "solve", str(path), "--voltage", "0.5",
                           "--error-estimate", "--output", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=600, env=child_env(), cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "discretisation error (Richardson" in done.stdout
    assert "probes/core/T_mean: " in done.stdout and " K (h -> 0: " in done.stdout
    record = json.loads((tmp_path / "out" / "solve" / "qoi.json").read_text())
    assert record["mesh_error"]["T_max"]["error"] > 0


def test_the_field_maximum_at_a_filament_rim_is_refused():
    config = load_config(DEFAULT_CONFIG)
    with pytest.raises(ConfigError, match="kinetics.statistic: max .* filament rim .* singular"):
        with_overrides(config, {"kinetics.statistic": "max"})
    # a probe away from the rim, or a law without the field, may use the maximum
    with_overrides(config, {"kinetics.statistic": "max", "probes.active.z_min": 1.0})
    static = load_config(STATIC_CONFIG)
    law = {"law": "arrhenius", "probe": static.kinetics.probe, "statistic": "max"}
    assert with_overrides(static, {"kinetics": law}).kinetics.statistic == "max"


def test_headline_error_bars_from_mesh_levels(tmp_path, monkeypatch):
    """Synthetic levels whose thermal resistance converges as R_th (1 + c h^2): the error bars
    of V_write, T at V_write and the half-select ratio (of the fitted laws, smooth in h; see
    solver.compact.mesh_error) bracket the distance to the h -> 0 device's, and the report
    prints them."""
    from solver.compact import mesh_error
    from solver.compact.mesh_error import law_figures
    from solver.compact.synthetic import LumpedDevice, write_synthetic_sweep
    from solver.compact.workflow import fit_results
    from solver.config import config_hash
    from solver.fem.mesh_error import MESH_ERROR_DIR, error_sweep_configs
    from solver.report.build import summary_markdown

    monkeypatch.setattr(mesh_error, "solve_hash", config_hash)  # synthetic stores carry config_hash
    config = load_config(STATIC_CONFIG)
    voltages = [v / 20 for v in range(-30, 31) if v]

    def device(h: float) -> LumpedDevice:
        return LumpedDevice(R_th_positive=1.0e7 * (1 + 0.04 * h**2), R_th_negative=1.08e7 * (1 + 0.04 * h**2))

    levels = error_sweep_configs(config)
    write_synthetic_sweep(tmp_path / "main", config, voltages, device(1.0))
    for level, h in (("coarse", 2.0), ("fine", 0.5)):
        write_synthetic_sweep(tmp_path / "main" / MESH_ERROR_DIR / level, levels[level], voltages, device(h))
    write_synthetic_sweep(tmp_path / "limit", config, voltages, device(0.0))
    medium = law_figures(fit_results(tmp_path / "main", say=lambda text: None).models[0])
    limit = law_figures(fit_results(tmp_path / "limit", say=lambda text: None).models[0])
    data = json.loads((tmp_path / "main" / "model" / "mesh_error.json").read_text())
    for name in ("V_write", "T_at_write", "log10_nonlinearity_half_select"):
        for polarity in ("positive", "negative"):
            e = data["estimates"][name][polarity]
            true_error = abs(medium[name][polarity] - limit[name][polarity])
            assert e["observed"] and true_error <= e["error"] <= 3 * true_error, (name, polarity, e, true_error)
    from solver.sweep.store import read_sweep

    text = summary_markdown(config, read_sweep(tmp_path / "main" / "sweep.h5"), json.loads((tmp_path / "main" / "model" / "compact_model.json")
                                                                 .read_text()),
                            {}, None, None, None, None, {}, [], None, mesh_error=data)
    assert " ± " in text and "V_write, h → 0 [V]" in text

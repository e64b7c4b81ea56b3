"""Thermal crosstalk on a tile (solver.crosstalk): biasing cases, the coupling fit, neighbour
heating as a rate increase, the crossbar's half-select gain, and `filatherm crosstalk`."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest

from conftest import ROOT, run_cli
from solver.compact.model import CompactModel
from solver.config import load_config
from solver.config.schema import Crossbar
from solver.constants import BOLTZMANN, ELEMENTARY_CHARGE
from solver.crossbar.array import CrossbarArray
from solver.crossbar.device import DeviceModel
from solver.crosstalk.cases import make_case
from solver.crosstalk.coupling import Coupling, fit_coupling, heated_rate_ratio, offsets

TILE_CONFIG = ROOT / "configs" / "tile.yaml"


@pytest.mark.parametrize("scheme, half, unselected", [("v_half", 0.5, 0.0), ("v_third", 1 / 3, -1 / 3)])
def test_cases_give_the_scheme_voltages(scheme, half, unselected):
    """Identity with solver.crossbar.array's schemes: the selected cells see V, the
    half-selected h V, the others 0 (v_half) or -V/3 (v_third)."""
    V = 1.2
    one = make_case("one_cell", 3, 3, V, half).cell_voltages()
    expected = np.full((3, 3), unselected * V)
    expected[1, :] = expected[:, 1] = half * V
    expected[1, 1] = V
    assert np.allclose(one, expected)
    row = make_case("row", 3, 3, V, half).cell_voltages()
    assert np.allclose(row[1], V) and np.allclose(np.delete(row, 1, axis=0), half * V)
    column = make_case("column", 3, 3, V, half).cell_voltages()
    assert np.allclose(column[:, 1], V) and np.allclose(np.delete(column, 1, axis=1), half * V)
    assert np.allclose(make_case("all_half", 3, 3, V, half).cell_voltages(), half * V)


def test_case_conditions_validate_on_the_tile():
    """Every line is named; the driven row carries the amplitude, the others fractions of it."""
    config = load_config(TILE_CONFIG)
    from solver.config import with_overrides

    for name in ("one_cell", "row", "column", "all_half"):
        case = make_case(name, 3, 3, 1.2, 0.5)
        tile = with_overrides(config, {"electrical": case.electrical()})
        fractions = tile.electrical.potential_fractions()
        assert set(fractions) == {f"row{i}" for i in range(3)} | {f"col{j}" for j in range(3)}
        rows = np.array([fractions[f"row{i}"] for i in range(3)])
        cols = np.array([fractions[f"col{j}"] for j in range(3)])
        assert np.allclose(case.amplitude * (rows[:, None] - cols[None, :]), case.cell_voltages())


def brute_force_heating(K: np.ndarray, P: np.ndarray) -> np.ndarray:
    out = np.zeros_like(P)
    for i in range(P.shape[0]):
        for j in range(P.shape[1]):
            for ii in range(P.shape[0]):
                for jj in range(P.shape[1]):
                    dr, dc = abs(i - ii), abs(j - jj)
                    if (dr, dc) != (0, 0) and dr < K.shape[0] and dc < K.shape[1]:
                        out[i, j] += K[dr, dc] * P[ii, jj]
    return out


def test_neighbour_heating_is_the_superposition_sum():
    """Identity: the shifted-slice sum equals the plain double loop, on an array larger than K."""
    rng = np.random.default_rng(1)
    K = np.abs(rng.normal(size=(3, 3)))
    K[0, 0] = 0.0
    P = rng.random((5, 7))
    coupling = Coupling(1.0, 0.0, K, 300.0, 0.0, 0.0, 0)
    assert np.allclose(coupling.neighbour_heating(P), brute_force_heating(K, P), rtol=1e-12)


def test_fit_recovers_a_known_coupling():
    """Verification: temperatures made from a known a1, a2 and K by the plain double loop are
    fitted back to 1e-6 (the fit is linear least squares; the data are exact)."""
    rng = np.random.default_rng(2)
    K = np.array([[0.0, 3e5, 1e5], [2.5e5, 1.2e5, 4e4], [9e4, 5e4, 2e4]])
    a1, a2 = 1.1e7, -2e10
    temperatures, powers = [], []
    for _ in range(4):
        P = rng.uniform(1e-6, 8e-5, size=(3, 3))
        temperatures.append(300.0 + a1 * P + a2 * P**2 + brute_force_heating(K, P))
        powers.append(P)
    fit = fit_coupling(temperatures, powers, 300.0)
    assert fit.a1 == pytest.approx(a1, rel=1e-6)
    assert fit.a2 == pytest.approx(a2, rel=1e-6)
    assert np.allclose(fit.K, K, rtol=1e-6, atol=1e-6 * K.max())
    assert fit.rms_residual < 1e-6
    assert len(offsets((3, 3))) == 8


def test_heated_rate_ratio_is_the_ion_hopping_law_at_a_raised_ambient(fitted_results):
    """Verification of the composition: the compact model's thermal balance with its ambient
    raised by dT, f(T) = T0 + dT + (R_th(P) V + beta) I(V, T) - T, solved by brentq from the
    unheated root upwards (a root finder independent of the model's scan and bisection), then
    the ion-hopping law written out (docs/physics.md): exp(-Ea/kT) sinh(z q a E/2kT) with the
    field law E = E1 |V| exp(-a_E (1/T - 1/T0)). The ratio is 1 at dT = 0 and grows faster than
    the raised ambient alone would make it (the cell's own conductance and heat rise too)."""
    from scipy.optimize import brentq

    model = CompactModel.load(fitted_results / "model" / "compact_model.json")
    kinetics, field_law = model.kinetics, model.field_law
    V, rises = 0.61, np.array([0.0, 5.0, 40.0])
    law = model.electro_thermal(V)
    T_cold = float(model.temperature(V))
    a_E = field_law.activation_energy.value * ELEMENTARY_CHARGE / BOLTZMANN

    def rate(temperature):
        kT = BOLTZMANN * temperature / ELEMENTARY_CHARGE  # eV
        E = field_law.scale.value * V * np.exp(-a_E * (1 / temperature - 1 / model.T0))
        x = kinetics.charge * kinetics.hop_distance * E / (2 * kT)
        return np.exp(-kinetics.activation_energy / kT) * np.sinh(x)

    heated = np.array([brentq(lambda T: float(law.balance(V, T)) + rise, T_cold - 1.0, T_cold + 10 * rise + 50.0,
                              xtol=1e-10) for rise in rises])
    expected = rate(heated) / rate(T_cold)
    got = heated_rate_ratio(model, np.full(3, V), rises)
    assert np.allclose(got, expected, rtol=1e-8)
    assert got[0] == pytest.approx(1.0, abs=1e-12)
    assert heated[2] - T_cold > rises[2]  # feedback: the cell heats itself more when its ambient rises
    assert got[2] > rate(T_cold + rises[2]) / rate(T_cold) > got[1] > 1.0


def test_select_gain_multiplies_the_half_select_step():
    """Verification (closed form of soft bounds, solver.crossbar.disturbance): without noise a
    half-selected device after n pulses sits at w_max - (w_max - w0)(1 - g kappa)^n, kappa =
    2 dw(V/2) / span, for a gain g on its step; the other devices are untouched by the gain."""
    crossbar = Crossbar(noise=0.0, device_spread=0.0, rows=3, cols=3)
    device = DeviceModel("lin", lambda v: np.abs(v) / 1.2, 1.2, -1.2, crossbar.states, 0.0, 0.0)
    gain = np.ones((3, 3))
    gain[1, 0] = 7.0
    array = CrossbarArray(device, (3, 3), "v_half", np.random.default_rng(0), initial=0.0, select_gain=gain)
    n = 40
    select = np.zeros((3, 3))
    select[1, 0] = select[1, 2] = n
    array.apply_phase(1, np.zeros((3, 3)), select)
    kappa = 2 * device.step(0.6) / device.span
    assert array.weights[1, 0] == pytest.approx(1 - (1 - 7 * kappa) ** n, rel=1e-12)
    assert array.weights[1, 2] == pytest.approx(1 - (1 - kappa) ** n, rel=1e-12)


def test_disturbance_without_coupling_is_unchanged(fitted_results):
    """Identity: K = 0 leaves the disturbance as it was; a positive K only adds to it."""
    from solver.crosstalk.disturbance import disturbance_with_heating

    model = CompactModel.load(fitted_results / "model" / "compact_model.json")
    crossbar = Crossbar(rows=16, cols=16, disturb_pulses=1000)
    zero = Coupling(1e7, 0.0, np.zeros((3, 3)), 300.0, 0.0, 0.0, 0)
    none = disturbance_with_heating(model, crossbar, zero, "positive")
    assert none["max_half_selected_with"] == none["max_half_selected_without"]
    assert none["gain_max"] == 1.0
    K = np.array([[0.0, 3e5, 1e5], [3e5, 1e5, 5e4], [1e5, 5e4, 2e4]])
    heated = disturbance_with_heating(model, crossbar, Coupling(1e7, 0.0, K, 300.0, 0.0, 0.0, 0), "positive")
    assert heated["gain_max"] > 1.0
    assert heated["max_half_selected_with"] > heated["max_half_selected_without"]
    assert heated["max_half_selected_without"] == none["max_half_selected_without"]


@pytest.mark.parametrize("tile, cell", [("tile.yaml", "static_cell.yaml"), ("tile_default.yaml", "default.yaml")])
def test_the_tile_configs_are_of_their_cells(tile, cell):
    """Identity: each tile config has its axisymmetric cell's layers, materials, probe and state
    (what `filatherm crosstalk` checks against that cell's compact model)."""
    tile_config, cell_config = load_config(ROOT / "configs" / tile), load_config(ROOT / "configs" / cell)
    assert tile_config.geometry.layers == cell_config.geometry.layers
    assert tile_config.probes == cell_config.probes
    assert tile_config.state == cell_config.state
    for layer in tile_config.geometry.layers:
        assert tile_config.materials[layer.material] == cell_config.materials[layer.material]


def test_crosstalk_refuses_a_model_of_another_state(fitted_results):
    """Bad input: a compact model of a device with a state needs the tile at that state."""
    from solver.crosstalk.study import check_matching_cell
    from solver.errors import InputError

    model = CompactModel.load(fitted_results / "model" / "compact_model.json")
    check_matching_cell(load_config(TILE_CONFIG), model)  # the static cell: no state
    model.state = 1.64e25
    with pytest.raises(InputError, match="state.value: the compact model is of the device at state 1.64e"):
        check_matching_cell(load_config(TILE_CONFIG), model)


def test_crosstalk_refuses_a_model_of_another_cell(fitted_results, tmp_path):
    """Bad input: a compact model whose cell differs from the tile's is refused in one line."""
    done = run_cli("crosstalk", str(TILE_CONFIG), "--model", str(fitted_results),
                   "--set", "geometry.layers[2].thickness=12", "--output", str(tmp_path))
    assert done.returncode == 2, done.stderr
    assert "other layers" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.slow
def test_crosstalk_command_end_to_end(fitted_results, tmp_path):
    """`filatherm crosstalk` on a coarse 2x2 tile at one pitch: every case solves, the heat the
    neighbours add is positive and raises the rate, the fit's residual is small against the
    heating it explains, and crosstalk.json/.png are written. Run again with another crossbar
    setting, it reuses the solved cases (cases.json) and rederives the same per-cell maps."""
    arguments = ["crosstalk", str(TILE_CONFIG), "--model", str(fitted_results), "--output", str(tmp_path),
                 "--set", "geometry.tile.rows=2", "--set", "geometry.tile.cols=2",
                 "--set", "electrical={drive: row0, row0: {voltage: 1.0}, col0: {voltage: 0}}",
                 "--set", "crosstalk.pitches=[60]", "--set", "crosstalk.cases=[row, one_cell, all_half]",
                 "--set", "mesh.size=40", "--set", "mesh.filament_size=2", "--set", "mesh.refine_distance=15"]
    done = run_cli(*arguments, timeout=900)
    assert done.returncode == 0, done.stderr
    solved = json.loads((tmp_path / "crosstalk" / "crosstalk.json").read_text())["pitches"][0]["cases"]
    again = run_cli(*arguments, "--force", "--set", "crossbar.disturb_pulses=1000", timeout=900)
    assert again.returncode == 0, again.stderr
    assert "reused" in again.stdout and "Newton iterations" not in again.stdout
    data = json.loads((tmp_path / "crosstalk" / "crosstalk.json").read_text())
    assert (tmp_path / "crosstalk" / "crosstalk.png").stat().st_size > 10_000
    pitch = data["pitches"][0]
    assert all(case["status"] == "ok" for case in pitch["cases"].values())
    row = pitch["half_selected"]["row"]
    assert row["neighbour_heating"] > 1.0 and row["rate_increase"] > 1.0
    assert pitch["coupling"]["rms_residual"] < 0.5 * row["neighbour_heating"]
    assert math.isfinite(pitch["disturbance"]["max_half_selected_with"])
    assert data["units"]["power"] == "W"
    for name, case in pitch["cases"].items():
        assert case["T_probe"] == solved[name]["T_probe"] and case["power"] == solved[name]["power"]
    assert pitch["disturbance"]["pulses"] == 1000  # the rerun's crossbar setting

    # the report of the model's results directory shows it, and leaves it out once it is of another model
    from solver.report.build import build_report

    results = tmp_path / "results"
    shutil.copytree(fitted_results, results)
    shutil.copytree(tmp_path / "crosstalk", results / "crosstalk")
    summary = (build_report(results, say=lambda text: None) / "summary.md").read_text()
    assert "## Thermal crosstalk" in summary and (results / "report" / "crosstalk.png").exists()
    data["source"]["model_digest"] = "another"
    (results / "crosstalk" / "crosstalk.json").write_text(json.dumps(data))
    summary = (build_report(results, say=lambda text: None) / "summary.md").read_text()
    assert "## Thermal crosstalk" not in summary and "computed for another compact model" in summary

"""The device state (issue 18): the state-resolved compact model (document version 2), the
dynamic model's pulse integration, the thermal node, the pulse response and the crossbar device
derived from it. Synthetic per-state devices (solver.compact.synthetic) stand in for the FEM,
so these run in seconds; the FEM side is tested in test_field_laws.py and test_pipeline.py."""

from __future__ import annotations

import json
import math

import h5py
import numpy as np
import pytest
from scipy.interpolate import PchipInterpolator

from conftest import STATES, STATIC_CONFIG, VOLTAGES, device_at
from solver.compact.dynamic import DynamicModel, pchip
from solver.compact.model import CompactModel
from solver.compact.pulses import distinguishable, pulse_response
from solver.compact.synthetic import LumpedDevice, write_synthetic_sweep
from solver.compact.thermal import fit_time_constant, relax
from solver.compact.workflow import fit_results
from solver.config import load_config, with_overrides
from solver.crossbar.array import CrossbarArray
from solver.crossbar.derived import DerivedDevice

@pytest.fixture(scope="module")
def fitted(state_fitted):
    return state_fitted


def test_the_fit_assembles_one_device_from_its_solved_states(fitted):
    root, config, model = fitted
    document = model.document
    assert document.version == 2 and document.state.reference == 1.64e25
    assert [entry.state for entry in document.states] == list(STATES)
    assert model.state == 1.64e25 and document.source.parameters == {"state.value": 1.64e25}
    # each state's model recovers its own synthetic device's conductance at low voltage
    for entry, N in zip(document.states, STATES):
        per_state = CompactModel(document.kinetics, entry.table, entry.fit.T0, entry.fit.branches,
                                 entry.fit.current, entry.fit.field, document, entry.state)
        assert float(per_state.current(0.01)) / 0.01 == pytest.approx(device_at(N).G0, rel=2e-3)
    assert not (root / "model" / "variants").exists()  # states are one device, not variants
    # a moving state: the exports are the dynamic model's (tests/test_state_exports.py)
    assert "idt(" in (root / "model" / "compact_model.va").read_text()
    # the swept state's column names the state's own unit (it said "unit" before)
    with h5py.File(root / "sweep.h5") as h5:
        assert h5["parameters/state.value"].attrs["units"] == "1/m^3"
    assert (root / "sweep.csv").read_text().startswith("point_id [-],") and \
        "parameters/state.value [1/m^3]" in (root / "sweep.csv").read_text().splitlines()[0]


def test_monotone_cubic_interpolation_matches_scipy():
    x = np.log(np.array(STATES + (5e25,)))
    y = np.array([[1.0, 2.0], [3.0, 2.5], [3.5, 0.0], [10.0, -2.0]])
    at = np.log(np.array([[7.5e24, 2e25], [3e25, 4.5e25]]))
    for column in range(2):
        values = np.stack([np.full(at.shape, v) for v in y[:, column]])
        assert np.allclose(pchip(x, values, at), PchipInterpolator(x, y[:, column])(at), rtol=1e-13, atol=1e-13)


def test_a_pulse_integrates_the_state_equation_to_its_closed_form(fitted):
    """Verification: one state model (outputs independent of N), an activation energy
    independent of N and no saturation make dN/dt = c N with c = (a/L) rate(T_ss(V), E(V)), so
    a rectangular pulse of width t gives dN = N0 (exp(c t) - 1) exactly; the integrator (and
    the tabulated steady temperature) must reproduce it."""
    _, config, model = fitted
    wide = model.document.model_copy(update={"state": model.document.state.model_copy(
        update={"minimum": 1e20, "maximum": 1e30})})
    kinetics = config.kinetics.model_copy(update={"saturation_exponent": 0.0, "activation_energy_set": 1.05})
    single = CompactModel(kinetics, model.table,
                          model.document.fit.T0, model.branches, model.current_law, model.field_law, wide, model.state)
    dynamic = DynamicModel([single], document=wide)
    V, width, N0 = 1.2, 60e-9, np.array([7e24, 2e25])
    T = float(single.temperature(V))
    rate = single.kinetics.rate(T, float(single.field(V)), N0, 1.0)
    c = single.kinetics.hop_distance / single.kinetics.region_thickness * rate
    exact = N0 * np.expm1(c * width)
    assert np.all(np.abs(dynamic.pulse(N0, V, width) / exact - 1) < 1e-5)
    assert np.min(c) * width > 0.02  # a change large enough to test the integration


def test_the_thermal_node_lags_and_tends_to_quasi_static(fitted):
    _, _, model = fitted
    dynamic = DynamicModel.from_document(model.document)
    N = np.array([1.0e25, 2.0e25])
    quasi = dynamic.pulse(N, 1.2, 60e-9, 2e-9, 2e-9)
    dynamic.time_constant = 5e-9  # the node is still heating during the first nanoseconds
    lagging = dynamic.pulse(N, 1.2, 60e-9, 2e-9, 2e-9)
    dynamic.time_constant = 1e-11  # 6000 x shorter than the pulse: the node follows (measured 4e-4)
    fast = dynamic.pulse(N, 1.2, 60e-9, 2e-9, 2e-9)
    assert np.all(lagging < quasi)
    assert np.all(np.abs(fast / quasi - 1) < 1e-3)


@pytest.mark.parametrize("N0, fraction", [(1.64e25, 0.5), (1.0e25, -0.5), (3.0e25, -0.5)])
def test_a_half_select_pulse_change_equals_the_integral_of_the_rate(fitted, N0, fraction):
    """Verification against a quadrature: a half-select pulse moves N by ~1e-12 of itself, so
    the rate hardly changes over it and dN = integral of dN/dt(V(t), N0) dt (Gauss-Legendre on
    each segment of the trapezoid, each state's exact steady temperature, quasi-static; 128
    nodes agree with 64 within 1e-6, checked: measured 2e-7) to far better than 1e-5. The integrator's change
    (its unknown is the change, with a tolerance scaled to it, and the returned change is not
    rounded through N0 + dN) agrees within 3e-4 (measured 1.2e-5 to 1.1e-4: its steady
    temperature is tabulated). With a tolerance of 1e-14 N, or the change taken as
    (N0 + dN) - N0, it was off by up to 3 %."""
    from solver.compact.dynamic import PulseShape

    _, _, model = fitted
    dynamic = DynamicModel.from_document(model.document)
    merit = model.document.figures_of_merit
    voltage = fraction * (merit.V_write.positive if fraction > 0 else -merit.V_write.negative)
    shape = PulseShape(voltage, 60e-9, 2e-9, 2e-9)

    def rates(times):
        V = np.array([shape.value(t) for t in times])
        N = np.full(len(V), N0)
        T = pchip(np.log(dynamic.states), np.array([m.temperature(V) for m in dynamic.models]), np.log(N))
        return dynamic.state_rate(V, N, T)

    def integral(nodes):
        x, w = np.polynomial.legendre.leggauss(nodes)
        corners = shape.corners()
        return sum(0.5 * (b - a) * np.dot(w, rates(0.5 * (b - a) * x + 0.5 * (a + b)))
                   for a, b in zip(corners, corners[1:]))

    exact = integral(128)
    assert integral(64) == pytest.approx(exact, rel=1e-6)
    assert 1e-15 < abs(exact) / N0 < 1e-9  # a half-select change, far below the state
    assert float(dynamic.pulse(np.array([N0]), voltage, 60e-9, 2e-9, 2e-9)[0]) == pytest.approx(exact, rel=3e-4)


def test_pulse_response_counts_states_and_finds_the_symmetry_point(fitted):
    _, config, model = fitted
    dynamic = DynamicModel.from_document(model.document)
    config = with_overrides(config, {"pulses.max_pulses": 300, "pulses.grid_points": 61})
    response = pulse_response(dynamic, config)
    ltp, ltd = np.array(response.ltp["conductance"]), np.array(response.ltd["conductance"])
    assert np.all(np.diff(ltp) >= 0) and np.all(np.diff(ltd) <= 0)
    assert ltp[0] == pytest.approx(response.window["G_min"]) and ltd[0] == pytest.approx(response.window["G_max"])
    # this synthetic cell barely sets at its V_write (steps of ~2e-12 S against a 1e-8 S
    # resolution) but resets in large steps: levels counted from the train's own span
    resolution = response.resolution
    for G, steps in ((ltp, response.states_up), (ltd, response.states_down)):
        if np.max(np.abs(np.diff(G))) < resolution / 100:  # sub-resolution steps: one level per resolution moved
            assert steps == 1 + int(abs(G[-1] - G[0]) // resolution)
    assert response.states_down > 3
    N_sym = response.symmetry_point["state"]
    if N_sym is not None:  # equal up and down steps there
        steps = response.steps
        up = np.interp(np.log(N_sym), np.log(steps["state"]), steps["dG_up"])
        down = np.interp(np.log(N_sym), np.log(steps["state"]), steps["dG_down"])
        assert up == pytest.approx(-down, rel=2e-2)
    for entry in response.half_select:
        for key in ("k_half_positive", "k_half_negative"):
            assert entry[key] is None or 0 <= entry[key] < 0.005


def test_distinguishable_levels_merge_steps_below_the_resolution_and_stop_at_the_window():
    assert distinguishable(np.array([1.0, 2.0, 3.0, 4.0, 4.0]), 3.5, 0.5) == 4
    assert distinguishable(np.array([1.0, 1.2, 1.4, 1.6, 2.0, 2.5]), 2.5, 0.5) == 3  # levels 1.0, 1.6, 2.5
    assert distinguishable(np.array([4.0, 3.0, 2.0, 1.0]), 2.0, 0.5) == 3


def test_the_derived_device_maps_the_window_and_steps_as_its_pulse_map(fitted):
    _, config, model = fitted
    device = DerivedDevice(DynamicModel.from_document(model.document), config)
    assert device.w_grid[0] == pytest.approx(-1.0) and device.w_grid[-1] == pytest.approx(1.0)
    array = CrossbarArray(device, (1, 1), "v_half", np.random.default_rng(0))
    array.prefactor[:] = 1.0
    array._set_prefactor(array.prefactor)
    noiseless = config.crossbar.model_copy(update={"noise": 0.0})
    device.noise = noiseless.noise
    array.apply_phase(1, np.ones((1, 1)), np.zeros((1, 1)))
    assert array.weights[0, 0] == pytest.approx(float(device.steps(device.write_voltage_positive, 0.0)), rel=1e-12)
    described = device.describe()
    assert described["derived"]["k_up median"] < 0.005 and "noise (cycle-to-cycle sigma, relative)" in described["assumed"]


def test_the_thermal_time_constant_is_recovered_from_a_ramped_step():
    """Identity of the fitter: a step response made by the lumped node itself (10 ps edge,
    tau = 30 ps) gives tau back; relax() of a constant target is the exponential."""
    time = np.concatenate([[0.0], np.geomspace(1e-13, 2e-8, 300)])
    power = np.minimum(time / 1e-11, 1.0) * 1e-4
    target = 300.0 + 700.0 * power / power[-1]
    T = relax(time, target, 300.0, 3e-11)
    tau, error = fit_time_constant(time, T, power, 300.0)
    assert tau == pytest.approx(3e-11, rel=1e-6) and error < 1e-8
    flat = relax(time, np.full_like(time, 1000.0), 300.0, 3e-11)
    assert np.allclose(flat, 1000.0 - 700.0 * np.exp(-time / 3e-11), rtol=1e-12)


def test_a_version_1_document_is_still_read(tmp_path):
    """Compact models written before the device state (version 1: no state, the activated
    current law without its `law` key) load and evaluate as before."""
    config = load_config(STATIC_CONFIG)
    write_synthetic_sweep(tmp_path, config, VOLTAGES, LumpedDevice(conduction_heating=1.0, field_heating=0.0))
    model = fit_results(tmp_path, say=lambda text: None).models[0]
    assert model.current_law.law == "activated"
    data = json.loads((tmp_path / "model" / "compact_model.json").read_text())
    data["version"] = 1
    for key in ("state", "states", "thermal"):
        data.pop(key)
    data["fit"]["current"].pop("law")
    old = tmp_path / "v1.json"
    old.write_text(json.dumps(data))
    loaded = CompactModel.load(old)
    assert loaded.document.version == 1
    assert float(loaded.current(1.0)) == pytest.approx(float(model.current(1.0)), rel=1e-14)
    assert math.isfinite(float(loaded.rate(1.2)))

"""The compact crossbar: pulse counting, half-select disturbance, stochastic updates, experiments."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from conftest import STATIC_CONFIG, run_cli

from solver.compact.synthetic import synthetic_compact_model
from solver.config import load_config
from solver.config.schema import Crossbar
from solver.crossbar.array import CrossbarArray
from solver.crossbar.device import DeviceModel, fitted_device, linear_device
from solver.crossbar.disturbance import checkerboard, disturb, disturbance_curve
from solver.crossbar.mapping import mapping_experiment, random_target
from solver.crossbar.pulses import stochastic_trains

QUIET = Crossbar(noise=0.0, device_spread=0.0)


def power_law_device(exponent: float, crossbar: Crossbar = QUIET) -> DeviceModel:
    """dw proportional to |v/V_write|^exponent: V/2 steps 2^-exponent of a full pulse."""
    return DeviceModel("power", lambda v: (np.abs(v) / np.where(v >= 0, 1.2, 1.1)) ** exponent,
                       1.2, -1.1, crossbar.states, crossbar.noise, crossbar.device_spread)


def pulse_by_pulse(device: DeviceModel, weights, row_trains, col_trains, row_signs, col_signs, scheme):
    """Reference: every slot of every phase, every device, from the line voltages."""
    w = weights.copy()
    for s, t in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
        P, V = s * t, abs(device.write_voltage(s * t))
        for rows_fire, cols_fire in zip(row_trains, col_trains):
            r, c = rows_fire & (row_signs == s), cols_fire & (col_signs == t)
            if not (r.any() or c.any()):
                continue
            if scheme == "v_half":
                v_row, v_col = np.where(r, P * V / 2, 0.0), np.where(c, -P * V / 2, 0.0)
            else:
                v_row, v_col = np.where(r, P * V, P * V / 3), np.where(c, 0.0, 2 * P * V / 3)
            for i, j in np.ndindex(w.shape):
                v = v_row[i] - v_col[j]
                if v > 0:
                    w[i, j] += device.step(v) * 2 * (device.w_max - w[i, j]) / device.span
                elif v < 0:
                    w[i, j] -= device.step(v) * 2 * (w[i, j] - device.w_min) / device.span
    return w


@pytest.mark.parametrize("scheme, tolerance", [("v_half", 1e-12), ("v_third", 5e-3)])
def test_counting_update_equals_a_pulse_by_pulse_simulation(scheme, tolerance):
    """Exact for v_half; v_third reorders opposite-polarity pulses within a phase (O(kappa^2))."""
    rng = np.random.default_rng(3)
    device = power_law_device(3.0)
    rows, cols, slots = 5, 6, 7
    row_trains, col_trains = rng.random((slots, rows)) < 0.5, rng.random((slots, cols)) < 0.5
    row_signs, col_signs = rng.choice([-1, 1], rows), rng.choice([-1, 1], cols)
    initial = rng.uniform(-0.8, 0.8, (rows, cols))
    array = CrossbarArray(device, (rows, cols), scheme, rng)
    array.weights = initial.copy()
    array.apply_trains(row_trains, col_trains, row_signs, col_signs)
    expected = pulse_by_pulse(device, initial, row_trains, col_trains, row_signs, col_signs, scheme)
    assert np.abs(expected - initial).max() > 0.1  # the trains did something
    assert np.abs(array.weights - expected).max() < tolerance


def test_disturbance_without_noise_accumulates_exactly_as_the_closed_form():
    device = power_law_device(2.0)
    array = CrossbarArray(device, (8, 8), "v_half", np.random.default_rng(0))
    array.weights = checkerboard(8, 8)
    initial = array.weights.copy()
    kappa = 2 * float(device.step(device.write_voltage(1) / 2)) / device.span  # = 2 dw_min/4 / span
    assert kappa == pytest.approx(2 * (2 / 32) / 4 / 2)
    done = 0
    for pulses in (1, 10, 1000, 100_000):
        disturb(array, 1, row=3, col=5, pulses=pulses - done)
        done = pulses
        closed = device.w_max - (device.w_max - initial) * (1 - kappa) ** pulses
        half_selected = array.weights[3, [0, 1, 2, 4, 6, 7]], closed[3, [0, 1, 2, 4, 6, 7]]
        assert np.allclose(*half_selected, rtol=0, atol=1e-12)
        assert np.allclose(array.weights[:, 5][[0, 7]], closed[:, 5][[0, 7]], rtol=0, atol=1e-12)
        assert np.array_equal(array.weights[0, :5], initial[0, :5])  # unselected: 0 V in v_half


def test_half_selected_devices_of_a_1e12_nonlinear_device_do_not_move():
    exponent = math.log2(1e12)  # rate(V) / rate(V/2) = 1e12
    crossbar = Crossbar(rows=16, cols=16, disturb_pulses=100_000)
    moved = disturbance_curve(power_law_device(exponent, crossbar), crossbar, 1, np.random.default_rng(0))
    # 1e5 pulses x dw_min / 1e12 x soft-bound factor <= 1.5, in units of the range: <= 5e-9
    assert moved["max_half_selected"][-1] < 1e-8
    linear = disturbance_curve(power_law_device(1.0, crossbar), crossbar, 1, np.random.default_rng(0))
    assert linear["max_half_selected"][-1] > 0.3  # the same pulses ruin a linear device


def test_fitted_default_like_device_loses_under_one_percent_after_100k_half_select_pulses():
    """On the synthetic default-like device; the real number comes from the FEM sweep."""
    config = load_config(STATIC_CONFIG)
    device = fitted_device(synthetic_compact_model(config), config.crossbar)
    for polarity in (1, -1):
        curve = disturbance_curve(device, config.crossbar, polarity, np.random.default_rng(0))
        assert curve["pulses"][-1] == 100_000
        assert curve["max_half_selected"][-1] < 0.01


@pytest.mark.parametrize("bl_management", [False, True])
def test_stochastic_trains_give_an_unbiased_outer_product_in_expectation(bl_management):
    rng = np.random.default_rng(42)
    x, d = rng.uniform(-1, 1, 6), rng.uniform(-1, 1, 5)
    dw_min, learning_rate, samples = 1 / 16, 0.3, 20_000
    batch_x = np.broadcast_to(x, (samples, 6))
    batch_d = np.broadcast_to(d, (samples, 5))
    rows, cols = stochastic_trains(batch_x, batch_d, learning_rate, dw_min, 31, rng,
                                   bl_management=bl_management)
    assert rows.shape[-2] == (4 if bl_management else 31)  # ceil(0.3 max|x| max|d| / dw_min)
    counts = np.matmul(np.swapaxes(rows, -1, -2).astype(float), cols.astype(float))
    realised = dw_min * np.sign(np.outer(x, d)) * counts
    ideal = learning_rate * np.outer(x, d)
    standard_error = realised.std(axis=0) / math.sqrt(samples)
    assert np.all(np.abs(realised.mean(axis=0) - ideal) < 4.5 * standard_error)
    assert np.abs(realised.mean(axis=0) - ideal).max() < 0.03 * np.abs(ideal).max()


def test_full_length_trains_decorrelate_the_devices_of_a_row():
    """A small SGD-like update: BL management shrinks the trains to one slot, where a firing row
    moves all its firing columns at once. Correlation of two devices of a row, from the slot
    probabilities p = q = 0.346 (BL = 1) and 0.062 (BL = 31): q (1 - p) / (1 - p q)."""
    rng = np.random.default_rng(5)
    samples, dw_min, learning_rate = 20_000, 1 / 16, 0.05
    x, a = np.full((samples, 1), 0.3), np.full((samples, 20), 0.5)
    found = {}
    for bl_management in (True, False):
        rows, cols = stochastic_trains(x, a, learning_rate, dw_min, 31, rng, bl_management=bl_management)
        counts = np.matmul(np.swapaxes(rows, -1, -2).astype(float), cols.astype(float))[:, 0, :]
        projected = dw_min * counts @ a[0]  # the change of the pre-activation W a
        assert projected.mean() == pytest.approx(learning_rate * 0.3 * a[0] @ a[0], rel=0.02)
        found[bl_management] = (rows.shape[-2], np.corrcoef(counts[:, 0], counts[:, 1])[0, 1], projected.var())
    assert found[True][0] == 1 and found[False][0] == 31
    assert found[True][1] == pytest.approx(0.346 * 0.654 / (1 - 0.346**2), abs=0.03)
    assert found[False][1] == pytest.approx(0.062 * 0.938 / (1 - 0.062**2), abs=0.03)
    assert found[True][2] > 2.0 * found[False][2]


def test_parallel_update_moves_each_device_with_the_sign_of_x_times_d():
    """Through the four sign phases: mean realised change = lr x d^T (small steps, w = 0)."""
    crossbar = Crossbar(noise=0.0, device_spread=0.0, states=1000)
    device = power_law_device(40.0, crossbar)  # half-selects negligible
    rng = np.random.default_rng(7)
    x, d = np.array([0.9, -0.4, 0.0, -1.0]), np.array([-0.7, 1.0, 0.3])
    batch = 20_000
    array = CrossbarArray(device, (batch, 4, 3), "v_half", rng)
    learning_rate = 2 * device.dw_min
    array.update(np.broadcast_to(x, (batch, 4)), np.broadcast_to(d, (batch, 3)), learning_rate, 31)
    assert np.allclose(array.weights.mean(axis=0), learning_rate * np.outer(x, d), atol=0.05 * learning_rate)


def test_linear_device_cannot_do_a_parallel_update():
    """dw proportional to v integrates V_row - V_col: no x_i d_j term survives the half-selects."""
    crossbar = Crossbar(noise=0.0, device_spread=0.0, states=1000)
    rng = np.random.default_rng(1)
    x, d = rng.uniform(-1, 1, (200, 8)), rng.uniform(-1, 1, (200, 8))
    for bl_management, residue in ((True, 0.02), (False, 0.1)):
        changes = {}
        for name, device in (("linear", linear_device(1.2, -1.1, crossbar)),
                             ("nonlinear", power_law_device(40.0, crossbar))):
            array = CrossbarArray(device, (200, 8, 8), "v_half", np.random.default_rng(2))
            array.update(x, d, 4 * device.dw_min, 31, bl_management=bl_management)
            changes[name] = np.abs(array.weights).mean() / device.dw_min
        assert changes["nonlinear"] > 0.5
        # Only the soft-bound second-order residue, which grows with the half-selects per
        # device: about 2 with BL management (BL = 4 here), about 9 with all 31 slots.
        assert changes["linear"] < residue


def test_read_verify_mapping_of_the_fitted_device_beats_the_linear_one():
    config = load_config(STATIC_CONFIG)
    crossbar = config.crossbar.model_copy(update={"rows": 16, "cols": 16, "verify_iterations": 3})
    fitted = fitted_device(synthetic_compact_model(config), crossbar)
    linear = linear_device(fitted.write_voltage_positive, fitted.write_voltage_negative, crossbar)
    target = random_target(16, 16, np.random.default_rng(0))
    good = mapping_experiment(fitted, crossbar, target, seed=0)
    bad = mapping_experiment(linear, crossbar, target, seed=0)
    assert good["read_verify_rms"][-1] < 0.02
    assert bad["read_verify_rms"][-1] > 0.1
    assert good["read_verify_rms"][-1] <= good["open_loop_rms"]
    assert good["disturbance_share_read_verify"] < 0.01
    assert bad["disturbance_share_read_verify"] > 0.5


def test_crossbar_command_writes_every_experiment(fitted_results, tmp_path):
    small = ["--set", "crossbar.rows=12", "--set", "crossbar.cols=10", "--set", "crossbar.disturb_pulses=2000",
             "--set", "crossbar.verify_iterations=1"]
    outcome = run_cli("crossbar", str(fitted_results), "--output", str(tmp_path), *small)
    assert outcome.returncode == 0, outcome.stderr
    for name in ("disturbance", "mapping", "fidelity"):
        assert (tmp_path / "crossbar" / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
        data = json.loads((tmp_path / "crossbar" / f"{name}.json").read_text())
        assert data["format"] == f"filatherm-crossbar-{name}" and data["crossbar"]["rows"] == 12
    summary = json.loads((tmp_path / "crossbar" / "summary.json").read_text())
    after = summary["disturbance_after_all_pulses"]
    assert after["fitted"]["positive"]["max"] < 1e-6
    assert after["linear"]["positive"]["max"] > 0.1
    assert summary["fidelity_correlation"]["fitted"] > 0.5
    again = run_cli("crossbar", str(fitted_results), "--output", str(tmp_path), *small)
    assert again.returncode == 2 and "--force" in again.stderr
    refused = run_cli("crossbar", str(fitted_results), "--output", str(tmp_path), "--force",
                      "--set", "kinetics.activation_energy=1.0")
    assert refused.returncode == 2 and "re-run the fit" in refused.stderr


def test_model_that_never_reaches_the_write_target_is_fitted_but_cannot_drive_a_crossbar(fitted_results, tmp_path):
    fitted = run_cli("fit", str(fitted_results), "--output", str(tmp_path), "--quiet",
                     "--set", "kinetics.target_delta=1e9")  # above nu0 x pulse width
    assert fitted.returncode == 0, fitted.stderr
    merit = json.loads((tmp_path / "model" / "compact_model.json").read_text())["figures_of_merit"]
    assert merit["V_write"] == {"positive": None, "negative": None}
    assert merit["nonlinearity_half_select"]["positive"] is None
    refused = run_cli("crossbar", str(tmp_path))
    assert refused.returncode == 2
    assert "no write voltage" in refused.stderr and refused.stderr.count("\n") == 1


def row_by_row_reference(device: DeviceModel, weights, counts, scheme):
    """Reference: row-by-row programming in time order, row 0 first, each row's positive
    pulses then its negative ones (only row i and its firing columns driven), simulated pulse
    by pulse from the line voltages."""
    w = weights.copy()
    rows, cols = counts.shape
    for i in range(rows):
        for P in (1, -1):
            m = np.where(np.sign(counts[i]) == P, np.abs(counts[i]), 0)
            V = abs(device.write_voltage(P))
            for slot in range(int(m.max())):
                row_on, col_on = np.arange(rows) == i, m > slot
                if scheme == "v_half":
                    v_row, v_col = np.where(row_on, P * V / 2, 0.0), np.where(col_on, -P * V / 2, 0.0)
                else:
                    v_row, v_col = np.where(row_on, P * V, P * V / 3), np.where(col_on, 0.0, 2 * P * V / 3)
                for a, b in np.ndindex(w.shape):
                    v = v_row[a] - v_col[b]
                    if v > 0:
                        w[a, b] += device.step(v) * 2 * (device.w_max - w[a, b]) / device.span
                    elif v < 0:
                        w[a, b] -= device.step(v) * 2 * (w[a, b] - device.w_min) / device.span
    return w


@pytest.mark.parametrize("scheme, signs, tolerance", [("v_half", (1,), 1e-12), ("v_half", (-1, 1), 1e-2),
                                                     ("v_third", (1,), 1e-2), ("v_third", (-1, 1), 1e-2)])
def test_row_by_row_programming_counts_equal_a_pulse_by_pulse_simulation(scheme, signs, tolerance):
    """Verification against a pulse-by-pulse simulation of the same writes in time order.
    Exact for one sign in v_half (pulses of one polarity commute). program_rows applies all
    positive pulses before the negative ones (and v_third's unselected pulses after each
    polarity's), which reorders only pulses of opposite polarity: an error of order
    kappa_full x kappa_half per pair of them, here with a half-select 1/8 of a full pulse
    (k = 0.125, 2.5 x the largest k of the default design map)."""
    rng = np.random.default_rng(11)
    device = power_law_device(3.0)
    counts = rng.integers(1, 4, (5, 6)) * (rng.random((5, 6)) < 0.4) * rng.choice(signs, (5, 6))
    initial = rng.uniform(-0.6, 0.6, (5, 6))
    array = CrossbarArray(device, (5, 6), scheme, rng)
    array.weights = initial.copy()
    array.program_rows(counts)
    expected = row_by_row_reference(device, initial, counts, scheme)
    assert np.abs(expected - initial).max() > 0.2
    assert np.abs(expected - initial)[counts == 0].max() > 0.02  # half-selects moved the others
    assert np.abs(array.weights - expected).max() < tolerance


def test_half_select_device_has_the_chosen_ratios_and_keeps_the_full_pulse():
    """Verification against the closed form: ratio k at V/2, k^log2(3) at V/3, the base's at V_write."""
    from solver.crossbar.device import half_select_device, half_select_ratios

    base = power_law_device(40.0)
    device = half_select_device(base, 0.03, 0.01)
    assert half_select_ratios(device) == pytest.approx((0.03, 0.01), rel=1e-12)
    assert device.step_ratio(np.asarray(1.2 / 3)) == pytest.approx(0.03 ** math.log2(3), rel=1e-12)
    assert device.step_ratio(np.asarray(-1.1 / 3)) == pytest.approx(0.01 ** math.log2(3), rel=1e-12)
    assert device.step_ratio(np.asarray(1.2)) == 1.0 and device.step_ratio(np.asarray(-1.1)) == 1.0
    assert device.step_ratio(np.asarray(1.3)) == base.step_ratio(np.asarray(1.3))
    silent = half_select_device(base, 0.0, 0.0)
    assert half_select_ratios(silent) == (0.0, 0.0)
    batch = half_select_device(base, np.array([0.0, 0.02])[:, None], np.array([0.01, 0.0])[:, None])
    assert np.allclose(batch.step_ratio(np.asarray(0.6)).ravel(), [0.0, 0.02])
    assert np.allclose(batch.step_ratio(np.asarray(-0.55)).ravel(), [0.01, 0.0])

"""Line resistance in the numpy crossbar (solver.crossbar.lines) without ngspice."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import spsolve

from solver.compact.model import CompactModel
from solver.config import load_config
from solver.crossbar.array import CrossbarArray
from solver.crossbar.device import fitted_device
from solver.crossbar.lines import Transistor, line_network
from solver.crossbar.pulses import stochastic_trains


@pytest.fixture(scope="module")
def model(fitted_results):
    return CompactModel.load(fitted_results / "model" / "compact_model.json")


def _crossbar(**update):
    return load_config("configs/default.yaml").crossbar.model_copy(update=update)


def _reference_voltages(model, crossbar, rows, cols, R, row_v, col_v, gate_v):
    """KCL at every node of the array, solved by Newton with a sparse direct solver: row
    nodes, column nodes and (1T1R) the nodes between device and transistor, the device law
    straight from the compact model and the level-1 transistor written out here."""
    fet = crossbar.transistor
    beta = fet.transconductance * fet.width / fet.length
    n = rows * cols
    one_t = crossbar.cell == "1T1R"
    size = (3 if one_t else 2) * n
    r_idx = np.arange(n).reshape(rows, cols)
    c_idx = n + r_idx
    x = np.concatenate([np.repeat(row_v, cols), np.tile(col_v, rows)] + ([np.repeat(row_v, cols)] if one_t else []))
    gate = np.repeat(gate_v, cols) if one_t else None
    G = 1.0 / R
    lap = sp.lil_matrix((size, size))
    drive = np.zeros(size)
    for i in range(rows):
        for j in range(cols):
            a = r_idx[i, j]
            left = r_idx[i, j - 1] if j > 0 else None
            lap[a, a] += G
            if left is None:
                drive[a] += G * row_v[i]
            else:
                lap[a, left] -= G
                lap[left, a] -= G
                lap[left, left] += G
            c = c_idx[i, j]
            below = c_idx[i + 1, j] if i < rows - 1 else None
            lap[c, c] += G
            if below is None:
                drive[c] += G * col_v[j]
            else:
                lap[c, below] -= G
                lap[below, c] -= G
                lap[below, below] += G
    lap = lap.tocsr()

    def fet_current(d, s, g):
        hi, lo = np.maximum(d, s), np.minimum(d, s)
        ov, vds = g - lo - fet.threshold_voltage, hi - lo
        mag = np.where(ov <= 0, 0.0, np.where(vds < ov, beta * (ov - vds / 2) * vds, beta * ov**2 / 2))
        return np.where(d >= s, mag, -mag)

    def residual(x):
        f = lap @ x - drive
        r, c = x[:n], x[n:2 * n]
        if one_t:
            b = x[2 * n:]
            i_dev = model.current(r - b)
            i_fet = fet_current(b, c, gate)
            f[:n] += i_dev
            f[2 * n:] += i_fet - i_dev
            f[n:2 * n] -= i_fet
        else:
            i_dev = model.current(r - c)
            f[:n] += i_dev
            f[n:2 * n] -= i_dev
        return f

    for _ in range(40):
        f = residual(x)
        h = 1e-7
        columns = []
        for k in range(size):  # finite-difference Jacobian, small arrays only
            step = np.zeros(size)
            step[k] = h
            columns.append((residual(x + step) - f) / h)
        J = sp.csr_matrix(np.array(columns).T)
        dx = spsolve(J, -f)
        x = x + dx
        if np.abs(dx).max() < 1e-12:
            break
    r = x[:n].reshape(rows, cols)
    other = (x[2 * n:] if one_t else x[n:2 * n]).reshape(rows, cols)
    return r - other


@pytest.mark.parametrize("cell, scheme", [("1R", "v_half"), ("1R", "v_third"), ("1T1R", "v_half"),
                                          ("1T1R", "gate_coincidence")])
@pytest.mark.parametrize("polarity", [1, -1])
def test_line_solve_matches_an_independent_sparse_newton_solve(model, cell, scheme, polarity):
    """Verification against an independent implementation of the same circuit (node by node
    assembly, finite-difference Jacobian, sparse direct solves, the untabulated device law):
    device voltages within 2e-6 V on a 4 x 3 array with 5 Ohm segments."""
    crossbar = _crossbar(cell=cell)
    device = fitted_device(model, crossbar)
    rows, cols, R = 4, 3, 5.0
    lines = line_network(crossbar, rows, cols, scheme, model.current, device.write_voltage, R)
    row_fire = np.array([True, False, True, True])
    col_fire = np.array([True, True, False])
    row_v, col_v, gate_v = lines.slot_potentials(polarity, row_fire, col_fire)
    got = lines.device_voltages(row_v, col_v, gate_v)
    want = _reference_voltages(model, crossbar, rows, cols, R, row_v, col_v, gate_v)
    assert np.max(np.abs(got - want)) < 2e-6
    # the IR drop is real: the far coincident cell sees clearly less than the near one
    assert abs(got[0, 1]) < abs(got[3, 0]) - 1e-3


@pytest.mark.parametrize("polarity", [1, -1])
def test_1t1r_amplitude_gives_an_isolated_cell_its_write_voltage(model, polarity):
    """Identity: with ideal lines, a coincident 1T1R cell's device sees exactly V_write."""
    crossbar = _crossbar(cell="1T1R")
    device = fitted_device(model, crossbar)
    lines = line_network(crossbar, 2, 2, "gate_coincidence", model.current, device.write_voltage, 0.0)
    potentials = lines.slot_potentials(polarity, np.array([True, False]), np.array([True, False]))
    voltages = lines.device_voltages(*potentials)
    assert voltages[0, 0] == pytest.approx(device.write_voltage(polarity), abs=1e-9)
    # gate off (row 1) and idle column (column 1): no voltage at all
    assert np.abs(voltages[1, :]).max() < 1e-9 and abs(voltages[0, 1]) < 1e-9


def test_transistor_derivatives_match_finite_differences():
    """Identity of the analytic derivatives of the level-1 transistor (both directions,
    triode and saturation)."""
    fet = Transistor(0.5, 1e-3, 2.0, 3.0)
    drain = np.array([0.3, 1.2, 0.1, 2.5, 0.05])
    source = np.array([0.0, 0.1, 0.4, 0.2, 1.0])
    gate = np.array([1.5, 2.0, 2.2, 1.8, 3.0])
    current, d_drain, d_source = fet.current(drain, source, gate)
    h = 1e-7
    assert np.allclose(d_drain, (fet.current(drain + h, source, gate)[0] - current) / h, atol=1e-8)
    assert np.allclose(d_source, (fet.current(drain, source + h, gate)[0] - current) / h, atol=1e-8)


def test_ideal_lines_reproduce_the_count_kernel(model):
    """Identity: the per-slot path with R = 0 gives the update of the count-based kernel
    within 1e-6 of the largest change (the tabulated step is the only difference)."""
    crossbar = _crossbar(noise=0.0)
    device = fitted_device(model, crossbar)
    rows, cols = 6, 5
    rng = np.random.default_rng(3)
    x, d = rng.uniform(-1, 1, rows), rng.uniform(-1, 1, cols)
    trains = stochastic_trains(x, d, 8 * device.dw_min, device.dw_min, 8, rng)
    lines = line_network(crossbar, rows, cols, "v_half", model.current, device.write_voltage, 0.0)
    plain = CrossbarArray(device, (rows, cols), "v_half", np.random.default_rng(1))
    wired = CrossbarArray(device, (rows, cols), "v_half", np.random.default_rng(1), lines=lines)
    for array in (plain, wired):
        array.apply_trains(*trains, np.sign(x), np.sign(d))
    assert np.abs(plain.weights).max() > 0.1
    assert np.max(np.abs(plain.weights - wired.weights)) < 1e-6 * np.abs(plain.weights).max()


def test_line_resistance_config_defaults_to_ideal_wires():
    """Identity: the default config has no line resistance, 1R cells."""
    crossbar = _crossbar()
    assert crossbar.line_resistance == 0.0 and crossbar.cell == "1R"

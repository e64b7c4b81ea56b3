"""The equations of the compact model, shared by the Python model and the Verilog-A export.

    I(V, T)   = G0 V exp(-a_sigma (1/T - 1/T0))        a = Ea q / k_B  [K]
    |E|(V, T) = E1 |V| exp(-a_E (1/T - 1/T0))
    T         = T0 + R_th,b V I(V, T) + beta_b I(V, T)  b = branch of sign(V)

The last line is a fixed point in T: f(T) = T0 + h G(T) - T = 0 with h = R_th V^2 + beta V
and G the conductance. Because an Arrhenius conductance saturates at high T, f has at least
one root for any h, and up to three where self-heating bends the curve into an S (thermal
runaway). The steady state reached by raising the voltage from zero is the lowest root, found
here without any starting guess, in the same fixed sequence of operations that
compact_model.va performs (so both agree to rounding):

1. scan T_k = T0 exp(ln(SCAN_LOW) + k ln(SCAN_HIGH/SCAN_LOW)/(SCAN_POINTS-1)) upwards for
   the first k with f(T_k) <= 0 (f > 0 at low T because G vanishes there);
2. bisect that bracket BISECTION_STEPS times;
3. one Newton step, which is below rounding in value and gives a circuit simulator the
   implicit derivative dT/dV through automatic differentiation.

No root below SCAN_HIGH T0 (no steady state in any physical range: runaway) gives
T = SCAN_HIGH T0, an unmistakably unphysical marker that a circuit simulator can still carry.
"""

from __future__ import annotations

import numpy as np

from solver.compact.kinetics import BOLTZMANN, ELEMENTARY_CHARGE

SCAN_LOW = 0.1
SCAN_HIGH = 100.0
SCAN_POINTS = 400
BISECTION_STEPS = 60
# ln of the first scan point / T0 and the log step, written into compact_model.va as numbers
# so that both compute the same grid.
SCAN_START = float(np.log(SCAN_LOW))
SCAN_STEP = float(np.log(SCAN_HIGH / SCAN_LOW) / (SCAN_POINTS - 1))


def activation_temperature(activation_energy_ev: float) -> float:
    """Ea q / k_B [K] of an activation energy in eV."""
    return activation_energy_ev * ELEMENTARY_CHARGE / BOLTZMANN


def activated(scale: float, activation_energy_ev: float, T0: float, voltage, temperature) -> np.ndarray:
    """scale |V| exp(-a (1/T - 1/T0)), element-wise (no sign)."""
    a = activation_temperature(activation_energy_ev)
    T = np.asarray(temperature, dtype=float)
    with np.errstate(over="ignore", divide="ignore"):
        return scale * np.abs(np.asarray(voltage, dtype=float)) * np.exp(-a * (1.0 / T - 1.0 / T0))


def steady_temperature(voltage, T0: float, R_th, beta, G0: float, activation_energy_ev: float) -> np.ndarray:
    """Lowest root T of T0 + (R_th V^2 + beta V) G(T) - T = 0, element-wise over V.

    `R_th` and `beta` may be arrays (the branch values per voltage)."""
    v = np.atleast_1d(np.asarray(voltage, dtype=float))
    h = np.broadcast_to(np.asarray(R_th, dtype=float) * v * v + np.asarray(beta, dtype=float) * v,
                        v.shape).reshape(-1, 1)
    a = activation_temperature(activation_energy_ev)

    def residual(T: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return T0 + h * (G0 * np.exp(-a * (1.0 / T - 1.0 / T0))) - T

    grid = T0 * np.exp(SCAN_START + SCAN_STEP * np.arange(SCAN_POINTS))
    below = residual(grid[None, :]) <= 0
    found = below.any(axis=1)
    k = np.where(found, below.argmax(axis=1), SCAN_POINTS - 1)
    low = grid[np.maximum(k - 1, 0)].reshape(-1, 1)
    high = grid[k].reshape(-1, 1)
    for _ in range(BISECTION_STEPS):
        middle = 0.5 * (low + high)
        positive = residual(middle) > 0
        low = np.where(positive, middle, low)
        high = np.where(positive, high, middle)
    T = 0.5 * (low + high)
    G = G0 * np.exp(-a * (1.0 / T - 1.0 / T0))
    slope = h * G * a / (T * T) - 1.0
    T = T - residual(T) / slope
    T = np.where(found.reshape(-1, 1), T, grid[-1])
    return T.reshape(np.shape(voltage))

"""The equations of the compact model, shared by the Python model and the Verilog-A export.

With T the probe temperature, T0 the ambient and V the signed device voltage:

    I(V, T)   = one of the two conduction laws below
    R_th(P)   = R_th + dR_th (1 - exp(-P / P_R))                  P = V I
    T         = T0 + R_th,b(P) P + beta_b I                       b = branch of sign(V)
    |E|(V, T) = E1 |V| exp(-a_E (1/T - 1/T0))

Conduction, `activated` (ohmic cells):
    I = G0 exp((a_sigma / T0) (1 - (T0/T)^kappa)) (V + S (T - T0))     a = Ea q / k_B  [K]
an activated law in the temperature T_c = T0 (T/T0)^kappa of the conducting path, which is not
the probe: kappa = 1 is plain Arrhenius in the probe temperature, kappa < 1 a path that heats
less than the probe (T_c stays positive for every T and kappa, so the law is defined on the
whole scan below). S (V/K) is the effective Seebeck coefficient of the cell: the
thermoelectric EMF S (T - T0) of the hot junction adds to the applied voltage, which is what
makes the current (and the heating) polarity-dependent at equal |V|.

Conduction, `field_activated` (cells whose conduction is field-enhanced, e.g. trap-to-trap
hopping in the CMO), per polarity branch b:
    I = G0_b exp((a_b / T0) (1 - T0/T_c)) (T_c/T0)^n_b V exp(|V| T0 / (V1_b T_c)),
    T_c = T0 + gamma_b (T - T0)
an activated conductance in the conduction-path temperature T_c (a share gamma of the probe's
heating), the prefactor's power n of it (hopping: about -1), and a field enhancement that
grows with |V| and falls with temperature, as the q d E / 2kT of hopping does; the branches
absorb the thermoelectric asymmetry.

Thermal law: the issue-7 lumped form T = T0 + R_th P + beta I per polarity branch, with a
thermal resistance that rises with power from R_th (the low-power value) by dR_th over the
power scale P_R; dR_th = 0 is the constant-R_th law. The rise is the probe seeing a growing
share of the heat: the activated CMO conductance draws current, and with it the Joule heat,
into the hot spot under the probe as the power grows. beta I is the polarity-odd Peltier part.

The last line of the first block is a fixed point in T: f(T) = T0 + (R_th(P) V + beta) I(V, T)
- T = 0. f > 0 at low T (the heating term vanishes with V and is a small fraction of T0 - T
where T << T0), and the steady state reached by raising the voltage from zero is the lowest
root, found here without any starting guess, in the same fixed sequence of operations that
compact_model.va performs (so both agree to rounding):

1. scan T_k = T0 exp(ln(SCAN_LOW) + k ln(SCAN_HIGH/SCAN_LOW)/(SCAN_POINTS-1)) upwards for
   the first k with f(T_k) <= 0;
2. bisect that bracket BISECTION_STEPS times;
3. one Newton step with the analytic f'(T), which is below rounding in value and gives a
   circuit simulator the implicit derivative dT/dV through automatic differentiation.

No root below SCAN_HIGH T0 (no steady state in any physical range: runaway) gives
T = SCAN_HIGH T0, an unmistakably unphysical marker that a circuit simulator can still carry.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from solver.constants import BOLTZMANN, ELEMENTARY_CHARGE

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
    """scale |V| exp(-a (1/T - 1/T0)), element-wise (no sign): the probe-field law."""
    a = activation_temperature(activation_energy_ev)
    T = np.asarray(temperature, dtype=float)
    with np.errstate(over="ignore", divide="ignore"):
        return scale * np.abs(np.asarray(voltage, dtype=float)) * np.exp(-a * (1.0 / T - 1.0 / T0))


@dataclass(frozen=True)
class ActivatedConduction:
    """I = G0 exp((a_sigma/T0)(1 - (T0/T)^kappa)) (V + S (T - T0))."""

    T0: float
    G0: float  # S, conductance at T0
    a_sigma: float  # K
    kappa: float  # conduction-path exponent
    seebeck: float  # V/K

    def conductance(self, T):
        with np.errstate(over="ignore"):
            return self.G0 * np.exp(self.a_sigma / self.T0 * (1.0 - (self.T0 / T) ** self.kappa))

    def current(self, v, T):
        return self.conductance(T) * (v + self.seebeck * (T - self.T0))

    def d_current_dT(self, v, T):
        conductance = self.conductance(T)
        d_conductance = conductance * self.a_sigma / self.T0 * self.kappa * (self.T0 / T) ** self.kappa / T
        return d_conductance * (v + self.seebeck * (T - self.T0)) + conductance * self.seebeck

    def per_point(self, shape) -> ActivatedConduction:
        return self


PATH_FLOOR = 0.05  # T_c is kept above this x T0 (the scan starts at 0.1 T0)


@dataclass(frozen=True)
class FieldActivatedConduction:
    """I = G0 exp((a/T0)(1 - T0/T_c)) (T_c/T0)^n V exp(|V| T0 / (V1 T_c)), T_c = T0 + gamma (T - T0);
    the branch values may be arrays, one per voltage."""

    T0: float
    G0: np.ndarray | float  # S
    a_sigma: np.ndarray | float  # K
    exponent: np.ndarray | float  # n
    field_voltage: np.ndarray | float  # V1 [V]
    path_heating: np.ndarray | float  # gamma

    def path_temperature(self, T):
        return np.maximum(self.T0 + self.path_heating * (T - self.T0), PATH_FLOOR * self.T0)

    def current(self, v, T):
        Tc = self.path_temperature(T)
        with np.errstate(over="ignore"):
            return (self.G0 * np.exp(self.a_sigma / self.T0 * (1.0 - self.T0 / Tc)) * (Tc / self.T0) ** self.exponent
                    * v * np.exp(np.abs(v) * self.T0 / (self.field_voltage * Tc)))

    def d_current_dT(self, v, T):
        Tc = self.path_temperature(T)
        d_log = (self.a_sigma / (Tc * Tc) + self.exponent / Tc - np.abs(v) * self.T0 / (self.field_voltage * Tc * Tc))
        heating = np.where(self.T0 + self.path_heating * (T - self.T0) > PATH_FLOOR * self.T0, self.path_heating, 0.0)
        return self.current(v, T) * d_log * heating

    def per_point(self, shape) -> FieldActivatedConduction:
        def column(value):
            return np.broadcast_to(np.asarray(value, dtype=float), shape).reshape(-1, 1)

        return FieldActivatedConduction(self.T0, column(self.G0), column(self.a_sigma), column(self.exponent),
                                        column(self.field_voltage), column(self.path_heating))


@dataclass(frozen=True)
class ElectroThermal:
    """The coupled conduction and thermal laws (branch values may be arrays, one per voltage).
    Temperatures in K."""

    T0: float
    conduction: ActivatedConduction | FieldActivatedConduction
    R_th: np.ndarray | float  # K/W at low power
    dR_th: np.ndarray | float  # K/W, rise at high power
    P_R: np.ndarray | float  # W, power scale of the rise
    beta: np.ndarray | float  # K/A

    def current(self, v, T):
        """Signed current at voltage v and probe temperature T."""
        return self.conduction.current(v, T)

    def thermal_resistance(self, power):
        return self.R_th + self.dR_th * (1.0 - np.exp(-power / self.P_R))

    def balance(self, v, T):
        """f(T) = T0 + (R_th(P) V + beta) I - T."""
        current = self.current(v, T)
        return self.T0 + (self.thermal_resistance(v * current) * v + self.beta) * current - T

    def balance_slope(self, v, T):
        """df/dT, analytic."""
        current = self.current(v, T)
        d_current = self.conduction.d_current_dT(v, T)
        decay = np.exp(-v * current / self.P_R)
        resistance = self.R_th + self.dR_th * (1.0 - decay)
        d_resistance = self.dR_th * decay * v * d_current / self.P_R
        return d_resistance * v * current + (resistance * v + self.beta) * d_current - 1.0


def steady_temperature(voltage, law: ElectroThermal, ambient_rise=0.0) -> np.ndarray:
    """Lowest root T of law.balance(V, T) + ambient_rise = 0, element-wise over V (branch
    values of `law` and `ambient_rise` [K], the heat of the neighbours in an array
    (solver.crosstalk), broadcast against V)."""
    v = np.atleast_1d(np.asarray(voltage, dtype=float))
    shape = v.shape
    column = v.reshape(-1, 1)
    rise = np.broadcast_to(np.asarray(ambient_rise, dtype=float), shape).reshape(-1, 1)

    def per_point(name):
        return np.broadcast_to(np.asarray(getattr(law, name), dtype=float), shape).reshape(-1, 1)

    law = ElectroThermal(law.T0, law.conduction.per_point(shape),
                         *(per_point(name) for name in ("R_th", "dR_th", "P_R", "beta")))
    T0 = law.T0
    grid = T0 * np.exp(SCAN_START + SCAN_STEP * np.arange(SCAN_POINTS))
    with np.errstate(over="ignore", invalid="ignore"):
        below = law.balance(column, grid[None, :]) + rise <= 0
    found = below.any(axis=1)
    k = np.where(found, below.argmax(axis=1), SCAN_POINTS - 1)
    low = grid[np.maximum(k - 1, 0)].reshape(-1, 1)
    high = grid[k].reshape(-1, 1)
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(BISECTION_STEPS):
            middle = 0.5 * (low + high)
            positive = law.balance(column, middle) + rise > 0
            low = np.where(positive, middle, low)
            high = np.where(positive, high, middle)
        T = 0.5 * (low + high)
        T = T - (law.balance(column, T) + rise) / law.balance_slope(column, T)
    T = np.where(found.reshape(-1, 1), T, grid[-1])
    return T.reshape(np.shape(voltage))

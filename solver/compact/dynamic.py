"""The dynamic compact model: a device whose state N changes pulse by pulse (compact_model.json
version 2, a `kinetics` law that moves the state, e.g. `vacancy_hopping`).

    dN/dt = kinetics.state_change_rate(rate(T, E, N, sign V), N, sign V)       the state
    dT/dt = (T_ss(V, N) - T) / tau                                             the thermal node
    I = I(V, T, N),  |E| = E(V, T, N)                                          conduction, field

Each solved state has its fitted electro-thermal laws (solver.compact.laws: I, T_ss, E); between
the solved states they are interpolated linearly in N, while the kinetics law, which depends on
N analytically (its activation energy, the prefactor N a / L), is evaluated exactly at N. The
state stays within its physical range (the config's state minimum and maximum, which the solved
states span; beyond them the FEM says nothing): a pulse that would carry it further leaves it
at the bound, as a hard-bounded device. The
thermal node relaxes to the steady law with the time constant tau of a transient FEM step
response (solver.compact.thermal), so that T_ss = T0 + R_th(P) P + beta I in steady state and
C_th = tau / R_th. Without a step response (tau unknown) the node follows the steady law at
once (quasi-static), which a 60 ns pulse with ns edges hardly distinguishes.

    model = DynamicModel.load("results/default/model/compact_model.json")
    model.conductance([7e24, 3.77e25], read_voltage=0.2)       # S
    after = model.pulse(N, amplitude=1.1, width=60e-9)        # N after one pulse, element-wise
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
from scipy.integrate import solve_ivp

from solver.compact.document import CompactModelDocument, read_document
from solver.compact.model import CompactModel
from solver.errors import InputError

ODE_RTOL = 1e-8
STEADY_GRID = 4001  # voltages at which each state's steady temperature is tabulated


@dataclass(frozen=True)
class PulseShape:
    """A trapezoid pulse of signed `amplitude` [V]: `rise`, `width` at full amplitude, `fall` [s]."""

    amplitude: float
    width: float
    rise: float = 0.0
    fall: float = 0.0

    @property
    def duration(self) -> float:
        return self.rise + self.width + self.fall

    def corners(self) -> list[float]:
        return [0.0, self.rise, self.rise + self.width, self.duration]

    def value(self, t: float) -> float:
        if t < self.rise:
            return self.amplitude * t / self.rise
        if t <= self.rise + self.width:
            return self.amplitude
        if t < self.duration:
            return self.amplitude * (1.0 - (t - self.rise - self.width) / self.fall)
        return 0.0


class DynamicModel:
    """A device with a state: per-state compact models, the state equation and a thermal node."""

    def __init__(self, models: list[CompactModel], time_constant: Optional[float] = None,
                 document: Optional[CompactModelDocument] = None):
        if not models:
            raise ValueError("a dynamic model needs at least one state")
        self.models = sorted(models, key=lambda m: m.state)
        self.states = np.array([m.state for m in self.models], dtype=float)
        self.kinetics = self.models[0].kinetics
        if not self.kinetics.moves_state:
            raise InputError(f"kinetics law {self.kinetics.law}: does not move the device state")
        self.time_constant = time_constant
        self.document = document
        self.T0 = self.models[0].T0
        # The steady temperature of each state is a root search per voltage: tabulate it once
        # on a fine voltage grid (twice the swept range) and interpolate.
        reach = 2.0 * max(max(abs(v) for v in m.table.voltage) for m in self.models)
        self._grid = np.linspace(-reach, reach, STEADY_GRID)
        self._steady = [m.temperature(self._grid) for m in self.models]

    @classmethod
    def from_document(cls, document: CompactModelDocument) -> DynamicModel:
        if not document.states:
            raise InputError("compact model: no per-state models (version 2 with a device state needed)")
        models = [CompactModel(document.kinetics, s.table, s.fit.T0, s.fit.branches, s.fit.current, s.fit.field,
                               document, s.state) for s in document.states]
        tau = document.thermal.time_constant if document.thermal is not None else None
        return cls(models, tau, document)

    @classmethod
    def load(cls, path: str | Path) -> DynamicModel:
        return cls.from_document(read_document(path))

    @property
    def state_range(self) -> tuple[float, float]:
        """The physical range of the state (the config's minimum/maximum, else the solved states)."""
        info = self.document.state if self.document is not None else None
        low = info.minimum if info is not None and info.minimum is not None else self.states[0]
        high = info.maximum if info is not None and info.maximum is not None else self.states[-1]
        return float(low), float(high)

    # -- interpolation in N --------------------------------------------------------------

    def _interpolate(self, N, evaluate) -> np.ndarray:
        """evaluate(model_i) (arrays broadcastable against N) interpolated to each point's N:
        monotone cubic (PCHIP, Fritsch-Carlson) in ln N over the solved states, so that the
        rate, exponential in T, has no kinks at the states; constant beyond them."""
        N = np.asarray(N, dtype=float)
        values = np.array([np.broadcast_to(evaluate(model), N.shape) for model in self.models], dtype=float)
        if len(self.models) == 1:
            return values[0]
        return pchip(np.log(self.states), values, np.log(np.clip(N, self.states[0], self.states[-1])))

    def steady_temperature(self, V, N) -> np.ndarray:
        """T_probe [K] in steady state at device voltage V and state N (element-wise)."""
        V = np.asarray(V, dtype=float) + 0 * np.asarray(N, dtype=float)
        tables = {id(m): T for m, T in zip(self.models, self._steady)}
        return self._interpolate(N, lambda m: np.interp(V, self._grid, tables[id(m)]))

    def current(self, V, N, T=None) -> np.ndarray:
        """I [A] at V, N and probe temperature T (default: the steady one)."""
        V = np.asarray(V, dtype=float) + 0 * np.asarray(N, dtype=float)
        T = self.steady_temperature(V, N) if T is None else np.asarray(T, dtype=float) + 0 * V
        with np.errstate(over="ignore", invalid="ignore"):
            return self._interpolate(N, lambda m: m.electro_thermal(V).current(V, T))

    def field(self, V, N, T=None) -> np.ndarray:
        """|E| at the probe [V/m]."""
        V = np.asarray(V, dtype=float) + 0 * np.asarray(N, dtype=float)
        T = self.steady_temperature(V, N) if T is None else np.asarray(T, dtype=float) + 0 * V
        return self._interpolate(N, lambda m: m._field(V, T))

    def state_rate(self, V, N, T=None) -> np.ndarray:
        """dN/dt [unit of the state / s] at V, N and T (default: steady)."""
        V = np.asarray(V, dtype=float) + 0 * np.asarray(N, dtype=float)
        T = self.steady_temperature(V, N) if T is None else np.asarray(T, dtype=float) + 0 * V
        with np.errstate(over="ignore", invalid="ignore"):
            rate = self.kinetics.rate(T, self.field(V, N, T), N, np.sign(V))
        return np.where(V == 0, 0.0, self.kinetics.state_change_rate(rate, N, np.sign(V)))

    def conductance(self, N, read_voltage: float) -> np.ndarray:
        """G = I / V [S] at the read voltage, steady state."""
        return self.current(read_voltage, N) / read_voltage

    # -- pulses --------------------------------------------------------------------------

    def pulse(self, N, amplitude: float, width: float, rise: float = 0.0, fall: float = 0.0) -> np.ndarray:
        """The change of the state over one pulse from state(s) N (element-wise), the thermal
        node starting at the ambient: the state equation and the thermal node integrated
        together (stiff solver, steps landing on the pulse's corners). The unknown is the
        change itself, so a half-select pulse's 1e-9 relative change is resolved to the
        solver's relative tolerance, not lost in N."""
        N0 = np.atleast_1d(np.asarray(N, dtype=float)).copy()
        shape = PulseShape(amplitude, width, rise, fall)
        m = len(N0)
        y = np.concatenate([np.zeros(m), np.full(m, self.T0)])
        quasi_static = self.time_constant is None or self.time_constant <= 0
        sparsity = np.block([[np.eye(m), np.eye(m)], [np.eye(m), np.eye(m)]])
        for start, end in zip(shape.corners(), shape.corners()[1:]):
            if end <= start:
                continue

            def rhs(t, y):
                V = shape.value(t)
                N_now = np.maximum(N0 + y[:m], 0.0)
                if quasi_static:
                    return np.concatenate([self.state_rate(V, N_now), np.zeros(m)])
                T_now = y[m:]
                dN = self.state_rate(V, N_now, T_now)
                dT = (self.steady_temperature(V, N_now) - T_now) / self.time_constant
                return np.concatenate([dN, dT])

            # absolute tolerances: a change far below the smallest physical one (1e-14 of N) and 1 uK
            solution = solve_ivp(rhs, (start, end), y, method="BDF", rtol=ODE_RTOL,
                                 atol=np.concatenate([1e-14 * np.maximum(N0, 1.0), np.full(m, 1e-6)]),
                                 jac_sparsity=sparsity)
            if not solution.success:
                raise RuntimeError(f"pulse integration failed: {solution.message}")
            y = solution.y[:, -1]
        low, high = self.state_range
        return (np.clip(N0 + y[:m], low, high) - N0).reshape(np.shape(N))


def pchip(x: np.ndarray, y: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Monotone cubic Hermite interpolation (Fritsch & Carlson, SIAM J. Numer. Anal. 17, 238
    (1980)) through (x[k], y[k, ...]) evaluated at `at` (shape of y[0]), each point at its own
    abscissa: y has one row per node and any shape after it."""
    h = np.diff(x).reshape((-1,) + (1,) * (y.ndim - 1))
    delta = np.diff(y, axis=0) / h
    slope = np.zeros_like(y)
    if len(x) == 2:
        slope[:] = delta[0]
    else:
        h0, h1 = h[:-1], h[1:]
        w1, w2 = 2 * h1 + h0, h1 + 2 * h0
        same = delta[:-1] * delta[1:] > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            slope[1:-1] = np.where(same, (w1 + w2) / (w1 / delta[:-1] + w2 / delta[1:]), 0.0)
        for end, (d0, d1, ha, hb) in ((0, (delta[0], delta[1], h[0], h[1])),
                                      (-1, (delta[-1], delta[-2], h[-1], h[-2]))):
            edge = ((2 * ha + hb) * d0 - ha * d1) / (ha + hb)
            edge = np.where(np.sign(edge) != np.sign(d0), 0.0, edge)
            edge = np.where((np.sign(d0) != np.sign(d1)) & (np.abs(edge) > np.abs(3 * d0)), 3 * d0, edge)
            slope[end] = edge
    k = np.clip(np.searchsorted(x, at, side="right") - 1, 0, len(x) - 2)
    width = np.diff(x)[k]
    t = (at - x[k]) / width
    pick = lambda array, index: np.take_along_axis(array, index[None, ...], axis=0)[0]  # noqa: E731
    y0, y1 = pick(y, k), pick(y, k + 1)
    m0, m1 = pick(slope, k) * width, pick(slope, k + 1) * width
    t2, t3 = t * t, t * t * t
    return (2 * t3 - 3 * t2 + 1) * y0 + (t3 - 2 * t2 + t) * m0 + (-2 * t3 + 3 * t2) * y1 + (t3 - t2) * m1

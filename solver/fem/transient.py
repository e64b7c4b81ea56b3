"""Pulses in time: the steady problem plus C dT/dt, solved step by step (quasi-static current).

Each step is one monolithic Newton solve of the same compiled forms as the steady problem
(the time term's coefficients are Constants; with 1/dt = 0 it *is* the steady problem).
Backward Euler or variable-step BDF2; with `adaptive`, the step follows a local error estimate
from the difference between the implicit solution and an explicit extrapolation of the same
order (Milne's device), so ps edges and ns plateaus need no hand-tuned dt. Steps land exactly on
the pulse's corners and on snapshot times.

The error is controlled per unit step: a step of length dt may make a local error of at most
tolerance x rise x dt / duration (rise: the largest T rise so far, duration: the pulse's). Local
errors of a heat equation do not grow, so the global error stays below about tolerance x rise,
and it falls in proportion to the tolerance (controlling the error per step instead lets it grow
with the number of steps, as tolerance^(p/(p+1))). No step cap is needed for accuracy. At each
corner of the drive the temperature's slope jumps, which no extrapolation across it can
predict: the history restarts there, from dt_initial.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Optional

import numpy as np

from solver.config.schema import Config, Pulse
from solver.errors import FilathermError
from solver.fem.mesh import CellMesh
from solver.fem.problem import ElectroThermalProblem, State, extrapolate

RISE_FLOOR = 10.0  # K: below this rise the tolerance is absolute (tolerance x 10 K)
# A step's error allowance never drops below this fraction of tolerance x rise: the steps of
# ps after a corner would otherwise ask for errors below what the Newton solve resolves, and a
# few dozen such steps add at most a few percent of tolerance x rise.
ALLOWANCE_FLOOR = 1e-3
NEWTON_SHARE = 0.1  # each step is solved to this fraction of its error allowance


@dataclass(frozen=True)
class PulseShape:
    """Trapezoid pulses from t = 0: rise, `width` at full amplitude, fall; repeated `count` times."""

    pulse: Pulse

    @property
    def duration(self) -> float:
        p = self.pulse
        period = p.period if p.count > 1 else 0.0
        return (p.count - 1) * period + p.rise + p.width + p.fall + p.after

    def corners(self) -> list[float]:
        p = self.pulse
        out = []
        for k in range(p.count):
            t0 = k * (p.period or 0.0)
            out += [t0, t0 + p.rise, t0 + p.rise + p.width, t0 + p.rise + p.width + p.fall]
        return sorted(set(out + [self.duration]))

    def plateau_ends(self) -> list[float]:
        p = self.pulse
        return [k * (p.period or 0.0) + p.rise + p.width for k in range(p.count)]

    def value(self, t: float) -> float:
        p = self.pulse
        if p.count > 1:
            k = min(int(t // p.period), p.count - 1)
            t -= k * p.period
        if t <= 0:
            return 0.0
        if t < p.rise:
            return p.amplitude * t / p.rise
        if t <= p.rise + p.width:
            return p.amplitude
        if t < p.rise + p.width + p.fall:
            return p.amplitude * (1 - (t - p.rise - p.width) / p.fall)
        return 0.0


@dataclass
class Step:
    time: float
    state: State
    drive: float


@dataclass
class TransientResult:
    status: str
    reason: str
    steps: int
    rejected: int
    newton_iterations: int
    end_time: float
    wall_time: float


class TransientSolver:
    """March a pulse through time on one problem; `observe(problem, t, drive)` sees each step."""

    def __init__(self, config: Config, cell_mesh: CellMesh):
        if config.analysis.pulse is None:
            raise FilathermError("analysis.pulse: a transient analysis needs a pulse")
        self.config = config
        self.problem = ElectroThermalProblem(config, cell_mesh, transient=True)
        self.shape = PulseShape(config.analysis.pulse)
        self.settings = config.analysis.time
        self.order = 2 if self.settings.scheme == "bdf2" else 1
        self.dt_max = self.settings.dt_max or math.inf
        self.newton_rtol = config.solver.newton.rtol
        self.rise = RISE_FLOOR  # the largest T rise so far: the scale of the error tolerance

    # -- the time term -------------------------------------------------------------------

    def _set_scheme(self, dt: float, history: list[Step]) -> int:
        """Coefficients of C dT/dt for the step from history[-1] by dt; returns the order."""
        p = self.problem
        term = p.time
        order = min(self.order, len(history))
        term.inv_dt.value = 1.0 / dt
        p.T_n.x.array[:] = history[-1].state.values[p.T_map]
        if order == 1:
            term.a0.value, term.a1.value, term.a2.value = 1.0, -1.0, 0.0
        else:
            omega = dt / (history[-1].time - history[-2].time)
            p.T_nm1.x.array[:] = history[-2].state.values[p.T_map]
            term.a0.value = (1 + 2 * omega) / (1 + omega)
            term.a1.value = -(1 + omega)
            term.a2.value = omega * omega / (1 + omega)
        return order

    # -- predictors ----------------------------------------------------------------------

    @staticmethod
    def _extrapolate(history: list[Step], t: float, order: int) -> State:
        """Lagrange extrapolation through the last order+1 states (the explicit predictor)."""
        points = history[-(order + 1):]
        return extrapolate([p.state for p in points], [p.time for p in points], t)

    def _potential_shape(self, drive: float) -> State:
        """From rest the potential has no shape: solve the steady problem at a tiny drive
        (linear response), scale its potential to `drive` and keep the temperatures."""
        p = self.problem
        rest = p.state()
        tiny = math.copysign(1e-6 * abs(drive), drive)
        p.time.inv_dt.value = 0.0
        p.newton.invalidate_jacobian()
        result = p.solve(tiny)
        p.newton.invalidate_jacobian()
        if not result.converged:
            raise FilathermError(f"linear-response solve failed: {result.reason}")
        values = rest.values.copy()
        values[p.phi_map] = p.u.x.array[p.phi_map] * (drive / tiny)
        return State(values, p.state().U * (drive / tiny))

    # -- marching ------------------------------------------------------------------------

    def run(self, observe=None, snapshot_times: Optional[list[float]] = None) -> TransientResult:
        p = self.problem
        s = self.settings
        start_clock = time.perf_counter()
        p.reset()
        self.rise = RISE_FLOOR
        t_end = self.shape.duration
        corners = self.shape.corners()
        stops = sorted(set(corners + list(snapshot_times or [])))
        history = [Step(0.0, p.state(), 0.0)]
        if observe:
            observe(p, 0.0, 0.0)
        wanted, steps, rejected, iterations = s.dt_initial, 0, 0, 0
        t = 0.0
        while t < t_end * (1 - 1e-12):
            next_stop = min(x for x in stops if x > t * (1 + 1e-12))
            dt = min(wanted, self.dt_max)
            t_new = next_stop if t + dt >= next_stop - 1e-3 * dt else t + dt  # no sliver before a corner
            dt = t_new - t
            drive = self.shape.value(t_new)
            order = self._set_scheme(dt, history)
            if len(history) > order:
                predicted = self._extrapolate(history, t_new, order)
            elif drive != 0.0 and not np.any(history[-1].state.values[p.phi_map]):
                predicted = self._potential_shape(drive)
                self._set_scheme(dt, history)
            else:
                predicted = history[-1].state
            p.restore(predicted)
            if s.adaptive:
                T_scale = max(p.T_max(), self.config.thermal.reference_temperature)
                p.newton.rtol = min(self.newton_rtol, NEWTON_SHARE * self._allowance(dt) / T_scale)
            result = p.solve(drive)
            iterations += result.iterations
            error = 0.0
            if result.converged and s.adaptive and len(history) > order:
                error = self._error(predicted, order, dt, history)
            if not result.converged or error > 1.0:
                rejected += 1
                wanted = dt / 4 if not result.converged else dt * max(0.2, 0.9 * error ** (-1.0 / order))
                if wanted < s.dt_min:
                    why = f"Newton failed ({result.reason})" if not result.converged else "error control"
                    return TransientResult("no_convergence", f"time step below dt_min at t = {t:.4g} s: {why}",
                                           steps, rejected, iterations, t, time.perf_counter() - start_clock)
                p.restore(history[-1].state)
                continue
            steps += 1
            history = (history + [Step(t_new, p.state(), drive)])[-3:]
            t = t_new
            if observe:
                observe(p, t, drive)
            if not s.adaptive:
                wanted = s.dt_initial
            elif any(abs(t - c) <= 1e-12 * max(c, 1e-30) for c in corners) and t < t_end * (1 - 1e-12):
                history, wanted = history[-1:], s.dt_initial  # no extrapolation across a corner
            elif dt >= wanted * (1 - 1e-9):  # a step cut short at a stop keeps the proposal
                wanted = dt * (2.0 if error == 0.0 else min(2.0, 0.9 * error ** (-1.0 / order)))
        return TransientResult("ok", "", steps, rejected, iterations, t, time.perf_counter() - start_clock)

    @staticmethod
    def _error_ratio(order: int, history: list[Step], dt: float) -> float:
        """Local truncation error over (corrector - predictor), for the variable steps
        h = dt, h1, h2 behind it (Taylor expansion of both; equal steps: 1/3 and 2/11).

        backward Euler: LTE h^2 T^(2)/2, linear extrapolation error -h (h + h1) T^(2)/2;
        BDF2: LTE h^2 (h + h1)^2 T^(3)/(6 (2h + h1)), quadratic extrapolation error
        -h (h + h1)(h + h1 + h2) T^(3)/6."""
        h = dt
        h1 = history[-1].time - history[-2].time
        if order == 1:
            return h / (2 * h + h1)
        h2 = history[-2].time - history[-3].time
        return h * (h + h1) / (3 * h * h + 4 * h * h1 + 2 * h * h2 + h1 * h1 + h1 * h2)

    def _error(self, predicted: State, order: int, dt: float, history: list[Step]) -> float:
        """Estimated local error of T over its allowance for a step of dt (<= 1 is acceptable):
        tolerance x rise x dt / duration, the error per unit step."""
        p = self.problem
        owned = p.T_map[p.T_map < p.W.dofmap.index_map.size_local]
        difference = np.abs(p.u.x.array[owned] - predicted.values[owned]).max(initial=0.0)
        from mpi4py import MPI

        difference = p.comm.allreduce(float(difference), op=MPI.MAX)
        self.rise = max(self.rise, p.T_max() - self.config.thermal.reference_temperature)
        return self._error_ratio(order, history, dt) * difference / self._allowance(dt)

    def _allowance(self, dt: float) -> float:
        """The local error a step of dt may make [K]: tolerance x rise x dt / duration."""
        fraction = max(dt / self.shape.duration, ALLOWANCE_FLOOR)
        return self.settings.tolerance * self.rise * fraction


def thermal_time_constant(times: np.ndarray, T: np.ndarray, T0: float, plateau_end: float) -> float:
    """Time from the pulse start until T first reaches 90% of its rise at the plateau's end."""
    at_end = np.interp(plateau_end, times, T)
    target = T0 + 0.9 * (at_end - T0)
    rising = np.flatnonzero((times <= plateau_end) & (T >= target))
    if len(rising) == 0 or at_end <= T0:
        return math.nan
    k = rising[0]
    if k == 0:
        return float(times[0])
    t0, t1, y0, y1 = times[k - 1], times[k], T[k - 1], T[k]
    return float(t0 + (target - y0) * (t1 - t0) / (y1 - y0))

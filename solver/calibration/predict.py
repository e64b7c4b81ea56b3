"""Measurements as functions of solved points: what the FEM predicts for each measured value.

An :class:`Observable` is one measurement row (or one pulse train): it names the steady solves
it needs, as (state, applied voltage) pairs, and turns their QoI records (flat sweep rows,
solver.sweep.store.flatten_record) into predicted values, with the config whose kinetics
apply. A failed solve predicts NaN.

    conductance         current / V_read
    iv                  current
    temperature         probes/<probe>/T_mean (or T_max), or the cell's T_max
    thermal_resistance  (probes/<probe>/T_mean - T_ambient) / power
    switching           the amplitude where rate x width = delta: ln(rate x width) is solved at
                        5 amplitudes around the measured one (spacing `switching_grid` of it),
                        interpolated by the polynomial through them, and solved for delta
    pulse_trains        the state after k pulses from dN/dt at the pulse amplitude (kinetics
                        law that moves the state, at the probe's steady T and field), solved on
                        `state_grid` states and interpolated (monotone cubic in ln N); the pulses
                        are rectangular and long against the thermal time constant, so k pulses
                        act as one of k x width; G(N) at the read voltage, interpolated alike
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

from solver.calibration.measurements import MEASURED, Measurements
from solver.config import Config
from solver.errors import InputError

SolveKey = tuple[Optional[float], float]  # (state or None, applied voltage [V])
SWITCHING_OFFSETS = (-2, -1, 0, 1, 2)  # amplitudes solved around a measured switching amplitude


class Solved:
    """The records of one parameter set, looked up by (state, applied voltage)."""

    def __init__(self, records: dict[SolveKey, dict]):
        self.records = records

    def record(self, state: Optional[float], drive: float) -> Optional[dict]:
        """The record if the point converged, else None."""
        record = self.records.get((state, drive))
        if record is None or record.get("status") != "ok":
            return None
        return record

    def reason(self, keys: list[SolveKey]) -> str:
        """Why the first failed point among `keys` failed."""
        for key in keys:
            record = self.records.get(key)
            if record is None:
                return f"state {key[0]}, {key[1]:+.4g} V: not solved"
            if record.get("status") != "ok":
                return f"state {key[0]}, {key[1]:+.4g} V: {record.get('status')} ({record.get('reason', '')})"
        return ""


@dataclass
class Observable:
    """Measured values (one row, or one pulse train) and how to predict them."""

    kind: str
    index: int
    state: Optional[float]
    measured: np.ndarray
    sigma: np.ndarray
    abscissa: np.ndarray  # what the values are plotted against (V, amplitude, pulse count)
    labels: list[str]
    notes: dict = field(default_factory=dict)  # per prediction: e.g. an extrapolated switching amplitude

    @property
    def unit(self) -> str:
        return MEASURED[self.kind][1]

    def needs(self) -> list[SolveKey]:
        raise NotImplementedError

    def predict(self, solved: Solved, config: Config) -> np.ndarray:
        raise NotImplementedError


def _probe_value(record: dict, probe: str, name: str) -> float:
    return float(record[f"probes/{probe}/{name}"])


@dataclass
class PointObservable(Observable):
    """Predicted from one solved point: the state's at `voltage` [V]."""

    voltage: float = 0.0

    def needs(self):
        return [(self.state, self.voltage)]


@dataclass
class ConductanceObservable(PointObservable):
    def predict(self, solved, config):
        record = solved.record(self.state, self.voltage)
        return np.array([math.nan if record is None else record["current"] / self.voltage])


@dataclass
class CurrentObservable(PointObservable):
    def predict(self, solved, config):
        record = solved.record(self.state, self.voltage)
        return np.array([math.nan if record is None else record["current"]])


@dataclass
class TemperatureObservable(PointObservable):
    where: str = "probe_mean"
    probe: str = ""

    def predict(self, solved, config):
        record = solved.record(self.state, self.voltage)
        if record is None:
            return np.array([math.nan])
        if self.where == "cell_max":
            return np.array([float(record["T_max"])])
        return np.array([_probe_value(record, self.probe, "T_mean" if self.where == "probe_mean" else "T_max")])


@dataclass
class ThermalResistanceObservable(PointObservable):
    probe: str = ""

    def predict(self, solved, config):
        record = solved.record(self.state, self.voltage)
        if record is None or record["power"] == 0:
            return np.array([math.nan])
        rise = _probe_value(record, self.probe, "T_mean") - config.thermal.reference_temperature
        return np.array([rise / float(record["power"])])


def interpolated_crossing(u: np.ndarray, values: np.ndarray, target: float) -> tuple[float, bool]:
    """Where the polynomial through (u, values) reaches `target`: the crossing within [u[0], u[-1]]
    nearest u = 0, else the linear extrapolation from the nearer end with the polynomial's
    slope there (then the flag is True). NaN if it never gets there (flat or wrong slope)."""
    coefficients = np.polyfit(u, values, len(u) - 1)
    poly = np.poly1d(coefficients)
    grid = np.linspace(u[0], u[-1], 401)
    excess = poly(grid) - target
    crossings = np.flatnonzero(np.sign(excess[:-1]) * np.sign(excess[1:]) <= 0)
    if len(crossings):
        best = crossings[np.argmin(np.abs(grid[crossings]))]
        a, b = grid[best], grid[best + 1]
        if excess[best] == 0:
            return float(a), False
        return float(brentq(lambda s: poly(s) - target, a, b, xtol=1e-14)), False
    end = u[0] if abs(excess[0]) < abs(excess[-1]) else u[-1]
    slope = np.polyder(poly)(end)
    if slope == 0 or not np.isfinite(slope):
        return math.nan, True
    return float(end + (target - poly(end)) / slope), True


@dataclass
class SwitchingObservable(Observable):
    amplitude: float = 0.0
    width: float = 0.0
    delta: float = 1.0
    spacing: float = 0.03

    @property
    def drives(self) -> list[float]:
        return [self.amplitude * (1.0 + self.spacing * k) for k in SWITCHING_OFFSETS]

    def needs(self):
        return [(self.state, v) for v in self.drives]

    def predict(self, solved, config):
        kinetics = config.kinetics
        stat = kinetics.statistic
        u, log_delta = [], []
        for k, drive in zip(SWITCHING_OFFSETS, self.drives):
            record = solved.record(self.state, drive)
            if record is None:
                continue
            T = _probe_value(record, kinetics.probe, f"T_{stat}")
            E = _probe_value(record, kinetics.probe, f"E_{stat}")
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                delta = float(kinetics.rate(T, E, self.state, math.copysign(1.0, drive))) * self.width
            if delta > 0 and math.isfinite(delta):
                u.append(float(k))
                log_delta.append(math.log(delta))
        if len(u) < 2:
            self.notes["failed"] = True
            return np.array([math.nan])
        crossing, extrapolated = interpolated_crossing(np.array(u), np.array(log_delta), math.log(self.delta))
        self.notes["extrapolated"] = bool(extrapolated and abs(crossing) > 2.5)
        return np.array([self.amplitude * (1.0 + self.spacing * crossing)])


def state_grid(low: float, high: float, points: int, extra: float) -> list[float]:
    """`points` states log-spaced over [low, high], plus `extra` (a start state), sorted."""
    grid = {float(v) for v in np.geomspace(low, high, points)}
    grid.add(float(extra))
    return sorted(grid)


def monotone_cubic(x: np.ndarray, y: np.ndarray, at) -> np.ndarray:
    """Monotone cubic interpolation through (x, y) (solver.compact.dynamic.pchip) at the
    points `at` (any shape), constant beyond the ends."""
    from solver.compact.dynamic import pchip

    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    at = np.clip(np.asarray(at, dtype=float), x[0], x[-1])
    nodes = np.broadcast_to(y.reshape((-1,) + (1,) * at.ndim), (len(y),) + at.shape)
    return pchip(x, nodes, at)


def pulse_train_states(change_rate, low: float, high: float, start: float, width: float,
                       pulses: np.ndarray) -> np.ndarray:
    """States after `pulses` identical rectangular pulses of `width` [s] from `start`: the
    state equation dN/dt = change_rate(N) integrated for k x width (between pulses nothing
    moves), held within [low, high]."""
    pulses = np.asarray(pulses, dtype=float)

    def rhs(t, y):
        return [float(change_rate(min(max(y[0], low), high)))]

    # The state stops where it reaches a bound it moves towards (it may start on the other).
    def at_top(t, y):
        return high - y[0]

    def at_bottom(t, y):
        return y[0] - low

    for event in (at_top, at_bottom):
        event.terminal, event.direction = True, -1
    end = float(pulses.max()) * width
    if end == 0:
        return np.full(pulses.shape, start)
    solution = solve_ivp(rhs, (0.0, end), [start], method="LSODA", rtol=1e-9, atol=1e-12 * start,
                         dense_output=True, events=(at_top, at_bottom))
    if solution.status == -1:
        return np.full(pulses.shape, math.nan)
    times = pulses * width
    states = solution.sol(np.minimum(times, solution.t[-1]))[0]
    return np.clip(states, low, high)


@dataclass
class PulseTrainObservable(Observable):
    amplitude: float = 0.0
    width: float = 0.0
    read_voltage: float = 0.2
    start_state: float = 0.0
    grid: list = field(default_factory=list)
    bounds: tuple = (0.0, 0.0)

    def needs(self):
        return [(N, v) for N in self.grid for v in (self.read_voltage, self.amplitude)]

    def predict(self, solved, config):
        kinetics = config.kinetics
        stat = kinetics.statistic
        sign = math.copysign(1.0, self.amplitude)
        relative_rate, log_G = [], []
        for N in self.grid:
            pulse, read = solved.record(N, self.amplitude), solved.record(N, self.read_voltage)
            if pulse is None or read is None:
                return np.full(self.measured.shape, math.nan)
            T = _probe_value(pulse, kinetics.probe, f"T_{stat}")
            E = _probe_value(pulse, kinetics.probe, f"E_{stat}")
            with np.errstate(over="ignore", invalid="ignore"):
                rate = kinetics.rate(T, E, N, sign)
                change = float(kinetics.state_change_rate(rate, N, sign))
            relative_rate.append(math.log(max(abs(change) / N, 1e-300)))
            G = read["current"] / self.read_voltage
            if not G > 0:
                return np.full(self.measured.shape, math.nan)
            log_G.append(math.log(G))
        log_N = np.log(self.grid)
        low, high = self.bounds

        def change_rate(N: float) -> float:
            return sign * N * math.exp(float(monotone_cubic(log_N, np.array(relative_rate), math.log(N))))

        states = pulse_train_states(change_rate, low, high, self.start_state, self.width, self.abscissa)
        return np.exp(monotone_cubic(log_N, np.array(log_G), np.log(states)))


# ---------------------------------------------------------------- from a measurement file


def build_observables(measurements: Measurements, config: Config) -> list[Observable]:
    """One observable per row (per pulse train), checked against the config (state, probes,
    kinetics); InputError names the row."""
    data = measurements.data
    settings = config.calibration
    where = str(measurements.path)
    out: list[Observable] = []

    def state_of(kind: str, i: int, value: Optional[float]) -> Optional[float]:
        if value is None:
            return None if config.state is None else float(config.state.value)
        if config.state is None:
            raise InputError(f"{where}: {kind}[{i}].state: the config has no `state:` block")
        return float(value)

    def probe_of(kind: str, i: int, probe: Optional[str]) -> str:
        name = probe or (config.kinetics.probe if config.kinetics is not None else None)
        if name is None:
            if len(config.probes) == 1:
                return next(iter(config.probes))
            raise InputError(f"{where}: {kind}[{i}].probe: name a probe (the config has no kinetics)")
        if name not in config.probes:
            raise InputError(f"{where}: {kind}[{i}].probe: no probe named {name!r} in the config")
        return name

    def needs_kinetics(kind: str) -> None:
        if config.kinetics is None:
            raise InputError(f"{where}: {kind}: the config needs a kinetics block to predict it")

    def sigma(kind: str, row, value: float) -> np.ndarray:
        return np.array([data.uncertainty(kind, row, value)])

    for i, row in enumerate(data.conductance):
        N = state_of("conductance", i, row.state)
        out.append(ConductanceObservable(
            "conductance", i, N, np.array([row.conductance]), sigma("conductance", row, row.conductance),
            np.array([row.voltage]), [f"G({row.voltage:g} V){_at(N)}"], voltage=row.voltage))
    for i, row in enumerate(data.iv):
        N = state_of("iv", i, row.state)
        out.append(CurrentObservable(
            "iv", i, N, np.array([row.current]), sigma("iv", row, row.current), np.array([row.voltage]),
            [f"I({row.voltage:g} V){_at(N)}"], voltage=row.voltage))
    for i, row in enumerate(data.temperature):
        N = state_of("temperature", i, row.state)
        probe = "" if row.where == "cell_max" else probe_of("temperature", i, row.probe)
        out.append(TemperatureObservable(
            "temperature", i, N, np.array([row.temperature]), sigma("temperature", row, row.temperature),
            np.array([row.voltage]), [f"T {row.where}({row.voltage:g} V){_at(N)}"], voltage=row.voltage,
            where=row.where, probe=probe))
    for i, row in enumerate(data.thermal_resistance):
        N = state_of("thermal_resistance", i, row.state)
        out.append(ThermalResistanceObservable(
            "thermal_resistance", i, N, np.array([row.thermal_resistance]),
            sigma("thermal_resistance", row, row.thermal_resistance), np.array([row.voltage]),
            [f"R_th({row.voltage:g} V){_at(N)}"], voltage=row.voltage,
            probe=probe_of("thermal_resistance", i, row.probe)))
    if data.switching:
        needs_kinetics("switching")
    for i, row in enumerate(data.switching):
        N = state_of("switching", i, row.state)
        if config.kinetics.uses_state() and N is None:
            raise InputError(f"{where}: switching[{i}]: the kinetics depend on the state; the config has none")
        delta = row.delta if row.delta is not None else config.kinetics.target_delta
        out.append(SwitchingObservable(
            "switching", i, N, np.array([row.amplitude]), sigma("switching", row, row.amplitude),
            np.array([row.amplitude]), [f"V_switch({'+' if row.amplitude > 0 else '-'}, {row.width:g} s){_at(N)}"],
            amplitude=row.amplitude, width=row.width, delta=delta, spacing=settings.switching_grid))
    if data.pulse_trains:
        needs_kinetics("pulse_trains")
        if not config.kinetics.moves_state:
            raise InputError(f"{where}: pulse_trains: kinetics law {config.kinetics.law} does not move the state")
        state = config.state
        if state is None or state.minimum is None or state.maximum is None:
            raise InputError(f"{where}: pulse_trains: the config's state needs a minimum and a maximum")
    for i, train in enumerate(data.pulse_trains):
        low, high = float(config.state.minimum), float(config.state.maximum)
        start = train.start_state if train.start_state is not None else (low if train.amplitude > 0 else high)
        if not low <= start <= high:
            raise InputError(f"{where}: pulse_trains[{i}].start_state: outside the state's range [{low:g}, {high:g}]")
        values = np.array(train.conductance, dtype=float)
        sigmas = np.array([data.uncertainty("pulse_trains", train, v) for v in values])
        out.append(PulseTrainObservable(
            "pulse_trains", i, float(start), values, sigmas, np.array(train.pulses, dtype=float),
            [f"G after {k} pulses ({train.amplitude:+g} V)" for k in train.pulses],
            amplitude=train.amplitude, width=train.width, read_voltage=train.read_voltage, start_state=float(start),
            grid=state_grid(low, high, settings.state_grid, start), bounds=(low, high)))
    return out


def _at(state: Optional[float]) -> str:
    return "" if state is None else f" at N={state:.4g}"

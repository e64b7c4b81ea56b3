"""The compact model: evaluate a fitted device at any signed voltage.

Two views of the same device, both vectorised over signed device voltages V [V]:

- the fitted law, `current`, `temperature`, `field`, `rate`, `delta_per_pulse`: smooth
  closed-form equations, exactly what compact_model.va computes;
- the FEM-faithful view, `interpolated_temperature`, `interpolated_delta_per_pulse`,
  `interpolated_rate`: the FEM table (T linear, delta linear in log space, per polarity)
  between its voltages, and the fitted law beyond them, anchored at the last table point so
  that the curve is continuous. The figures of merit and the crossbar device use this view.

    model = CompactModel.load("results/default/model/compact_model.json")
    model.rate([-1.2, 0.6, 1.2])             # Hz, fitted law
    model.interpolated_delta_per_pulse(0.6)  # FEM table, law beyond it
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

import numpy as np
from scipy.optimize import brentq

from solver.compact.document import (
    ActivatedLaw,
    FieldActivatedCurrentLaw,
    Branches,
    CompactModelDocument,
    CurrentLaw,
    Estimate,
    FiguresOfMerit,
    Polarities,
    PolarityFlags,
    Table,
    TAsymmetry,
    finite_or_none,
    read_document,
)
from solver.compact.laws import (
    ActivatedConduction,
    ElectroThermal,
    FieldActivatedConduction,
    activated,
    activation_temperature,
    steady_temperature,
)
from solver.materials.kinetics import Kinetics

POLARITY_SIGNS = {"positive": 1.0, "negative": -1.0}
WRITE_SEARCH_FACTOR = 2.0  # look for V_write up to this multiple of the swept |V|
WRITE_SEARCH_POINTS = 4001


class CompactModel:
    """A fitted device: lumped thermal law, current and field laws, kinetics, FEM table."""

    def __init__(self, kinetics: Kinetics, table: Table, T0: Estimate, branches: Branches,
                 current_law: CurrentLaw, field_law: ActivatedLaw,
                 document: Optional[CompactModelDocument] = None, state: Optional[float] = None):
        self.kinetics = kinetics
        self.state = state  # the device state of this model (kinetics laws may depend on it)
        self.table = table
        self.T0 = T0.value
        self.branches = branches
        self.current_law = current_law
        self.field_law = field_law
        self.document = document
        self._voltage = np.array(table.voltage)
        self._T_table = np.array(table.T_probe)
        self._delta_table = np.array(table.delta_per_pulse)

    @classmethod
    def from_document(cls, document: CompactModelDocument) -> CompactModel:
        fit = document.fit
        return cls(document.kinetics, document.table, fit.T0, fit.branches, fit.current, fit.field,
                   document, document_state(document))

    @classmethod
    def load(cls, path: str | Path) -> CompactModel:
        """Read compact_model.json (InputError if it is not a valid one)."""
        return cls.from_document(read_document(path))

    # -- the fitted law --------------------------------------------------------------------

    def electro_thermal(self, voltage) -> ElectroThermal:
        """The coupled laws with the branch values of each voltage (solver.compact.laws)."""
        v = np.asarray(voltage, dtype=float)
        positive = v >= 0
        pos, neg = self.branches.positive, self.branches.negative

        def branch(name: str) -> np.ndarray:  # NaN on a polarity the model has no branch for
            return np.where(positive, _value(pos, name), _value(neg, name))

        return ElectroThermal(self.T0, conduction(self.current_law, self.T0, positive),
                              branch("R_th"), branch("delta_R_th"), branch("power_scale"), branch("beta"))

    def temperature(self, voltage, ambient_rise=0.0) -> np.ndarray:
        """T_probe [K]: the steady state of the coupled laws (solver.compact.laws), with the
        ambient raised by `ambient_rise` [K] (neighbour heating in an array; broadcast); NaN on a
        polarity the model has no branch for."""
        T = steady_temperature(voltage, self.electro_thermal(voltage), ambient_rise)
        if len(self.branches.polarities) == 2:
            return T
        v = np.asarray(voltage, dtype=float)
        fitted = v >= 0 if self.branches.positive is not None else v <= 0
        return np.where(fitted, T, np.nan)

    def current(self, voltage) -> np.ndarray:
        """I [A], positive from top to bottom electrode, at signed device voltage [V]."""
        v = np.asarray(voltage, dtype=float)
        with np.errstate(over="ignore", invalid="ignore"):
            return self.electro_thermal(v).current(v, self.temperature(v))

    def power(self, voltage) -> np.ndarray:
        """P = V I [W]."""
        return np.asarray(voltage, dtype=float) * self.current(voltage)

    def field(self, voltage) -> np.ndarray:
        """|E| at the probe [V/m]."""
        v = np.asarray(voltage, dtype=float)
        return self._field(v, self.temperature(v))

    def rate(self, voltage) -> np.ndarray:
        """Switching rate [Hz] from the kinetics at the law's T and E."""
        v = np.asarray(voltage, dtype=float)
        T = self.temperature(v)
        with np.errstate(over="ignore", invalid="ignore"):
            return self.kinetics.rate(T, self._field(v, T), self.state, np.sign(v))

    def delta_per_pulse(self, voltage) -> np.ndarray:
        """rate x pulse width."""
        return self.rate(voltage) * self.kinetics.pulse_width

    def _field(self, v: np.ndarray, T: np.ndarray) -> np.ndarray:
        law = self.field_law
        return activated(law.scale.value, law.activation_energy.value, self.T0, v, T)

    # -- the FEM table, the law beyond it ---------------------------------------------------

    def interpolated_temperature(self, voltage) -> np.ndarray:
        """T_probe: linear in V between table points, the law's change beyond the ends."""
        v = np.atleast_1d(np.asarray(voltage, dtype=float))
        out = np.interp(v, self._voltage, self._T_table)
        for end in (0, -1):
            v_end = self._voltage[end]
            beyond = v < v_end if end == 0 else v > v_end
            if beyond.any():
                shift = self.temperature(v[beyond]) - self.temperature(v_end)
                out[beyond] = self._T_table[end] + shift
        return out.reshape(np.shape(voltage))

    def interpolated_delta_per_pulse(self, voltage) -> np.ndarray:
        """delta_per_pulse: log-linear between table points of the same polarity, the law's
        ratio beyond them (towards 0 V and beyond the largest |V|); 0 at V = 0."""
        v = np.atleast_1d(np.asarray(voltage, dtype=float))
        out = np.zeros_like(v)
        for sign in POLARITY_SIGNS.values():
            wanted = np.sign(v) == sign
            if not wanted.any():
                continue
            points = (np.sign(self._voltage) == sign) & (self._delta_table > 0)
            if not points.any():
                out[wanted] = self.delta_per_pulse(v[wanted])
                continue
            a_table = np.abs(self._voltage[points])
            order = np.argsort(a_table)
            a_table = a_table[order]
            log_table = np.log(self._delta_table[points][order])
            a = np.abs(v[wanted])
            log_out = np.interp(a, a_table, log_table)
            for index in (0, -1):
                beyond = a < a_table[index] if index == 0 else a > a_table[index]
                if beyond.any():
                    with np.errstate(divide="ignore"):
                        law = np.log(self.delta_per_pulse(sign * a[beyond]))
                        anchor = np.log(self.delta_per_pulse(sign * a_table[index]))
                    log_out[beyond] = log_table[index] + law - anchor
            out[wanted] = np.exp(log_out)
        return out.reshape(np.shape(voltage))

    def interpolated_rate(self, voltage) -> np.ndarray:
        """Switching rate [Hz] of the FEM-faithful view."""
        return self.interpolated_delta_per_pulse(voltage) / self.kinetics.pulse_width

    # -- figures of merit --------------------------------------------------------------------

    def swept_range(self, polarity: str) -> float:
        """Largest |V| of the table on one polarity (0 if it has none)."""
        sign = POLARITY_SIGNS[polarity]
        return float(np.max(np.abs(self._voltage[np.sign(self._voltage) == sign]), initial=0.0))

    def write_voltage(self, polarity: str, target: float, law: bool = False) -> Optional[float]:
        """Smallest |V| (returned signed) where delta_per_pulse reaches `target` (of the table,
        log-interpolated, or with `law` of the fitted law), or None if it does not within
        WRITE_SEARCH_FACTOR x the swept range (or the model has no branch of this polarity)."""
        if getattr(self.branches, polarity) is None:
            return None
        sign = POLARITY_SIGNS[polarity]
        delta_per_pulse = self.delta_per_pulse if law else self.interpolated_delta_per_pulse
        grid = np.linspace(0.0, WRITE_SEARCH_FACTOR * self.swept_range(polarity), WRITE_SEARCH_POINTS)[1:]
        delta = delta_per_pulse(sign * grid)
        reached = np.nonzero(delta >= target)[0]
        if len(reached) == 0:
            return None
        i = reached[0]
        if i == 0:
            return float(sign * grid[0])

        def excess(a: float) -> float:
            return float(np.log(delta_per_pulse(sign * a)) - np.log(target))

        return float(sign * brentq(excess, grid[i - 1], grid[i], xtol=1e-12, rtol=1e-12))

    def figures_of_merit(self, target: float) -> FiguresOfMerit:
        """V_write, T there, half/third-select nonlinearity and the T asymmetry."""
        v_write = {p: self.write_voltage(p, target) for p in POLARITY_SIGNS}

        def ratio(polarity: str, divisor: float) -> Optional[float]:
            v = v_write[polarity]
            if v is None:
                return None
            with np.errstate(divide="ignore", invalid="ignore"):
                value = self.interpolated_rate(v) / self.interpolated_rate(v / divisor)
            return finite_or_none(value)

        def at_write(polarity: str) -> Optional[float]:
            v = v_write[polarity]
            return None if v is None else float(self.interpolated_temperature(v))

        magnitudes = [abs(v) for v in v_write.values() if v is not None]
        if magnitudes and len(self.branches.polarities) == 2:
            v_compare = float(np.mean(magnitudes))
            T_pos = float(self.interpolated_temperature(v_compare))
            T_neg = float(self.interpolated_temperature(-v_compare))
            asymmetry = TAsymmetry(voltage=v_compare, T_positive=T_pos, T_negative=T_neg,
                                   delta_T=T_pos - T_neg)
        else:
            asymmetry = TAsymmetry(voltage=None, T_positive=None, T_negative=None, delta_T=None)
        return FiguresOfMerit(
            target_delta=target,
            V_write=Polarities(**v_write),
            V_write_extrapolated=PolarityFlags(**{
                p: v is not None and abs(v) > self.swept_range(p) for p, v in v_write.items()
            }),
            T_at_write=Polarities(**{p: at_write(p) for p in POLARITY_SIGNS}),
            nonlinearity_half_select=Polarities(**{p: ratio(p, 2.0) for p in POLARITY_SIGNS}),
            nonlinearity_third_select=Polarities(**{p: ratio(p, 3.0) for p in POLARITY_SIGNS}),
            T_asymmetry=asymmetry,
        )


def _value(branch, name: str) -> float:
    return math.nan if branch is None else getattr(branch, name).value


def document_state(document: CompactModelDocument) -> Optional[float]:
    """The device state a document's points were solved at: its swept `state.value`, else the
    config's (None when the config has no state)."""
    from solver.compact.table import STATE_KEY

    if STATE_KEY in document.source.parameters:
        return float(document.source.parameters[STATE_KEY])
    state = document.source.config.get("state")
    return float(state["value"]) if state else None


def conduction(law, T0: float, positive) -> ActivatedConduction | FieldActivatedConduction:
    """The conduction law of a document's current law; `positive` picks each voltage's branch."""
    if isinstance(law, FieldActivatedCurrentLaw):
        pos, neg = law.positive, law.negative

        def branch(name: str, transform=lambda x: x) -> np.ndarray:
            return np.where(positive, transform(_value(pos, name)), transform(_value(neg, name)))

        return FieldActivatedConduction(T0, branch("scale"), branch("activation_energy", activation_temperature),
                                        branch("exponent"), branch("field_voltage"), branch("path_heating"))
    return ActivatedConduction(T0, law.scale.value, activation_temperature(law.activation_energy.value),
                               law.conduction_exponent.value, law.seebeck.value)

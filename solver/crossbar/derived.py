"""A crossbar device derived from the dynamic compact model: its steps come from the FEM.

The weight of a device is its conductance at the read voltage mapped onto [w_min, w_max],

    w = w_min + (w_max - w_min) (G(N) - G_min) / (G_max - G_min),

G_min and G_max at the state's physical range (HRS, LRS). A pulse of voltage v moves the state
by the pulse map dN_v(N) of the dynamic model (solver.compact.dynamic, the FEM-derived
electro-thermal laws and the kinetics integrated over the pulse), hence w by dw_v(w). So the
step size versus weight, its up/down asymmetry and the half-select steps at V/2 (V/3, and
-V/3 in the v_third scheme) are all derived; the noise (cycle-to-cycle) and the
device-to-device spread stay parameters (`crossbar.noise`, `crossbar.device_spread`), as does
`crossbar.states` for the other devices (here the number of steps across the window follows
from the pulse response).

In the multiplicative form of solver.crossbar.device (one pulse multiplies the distance u to
the bound it approaches by 1 - kappa) a derived device has kappa_v(w) = |dw_v(w)| d / u(w),
d the device's prefactor: a weight-dependent factor, taken at the weights before each update
(solver.crossbar.array). A state held at its bound gives dw = 0 there; a step that would cross
the bound (kappa >= 1) stops at it, as the state does.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from solver.compact.dynamic import DynamicModel
from solver.config import Config
from solver.crossbar.device import W_MAX, W_MIN
from solver.errors import InputError

GRID_POINTS = 241


class DerivedDevice:
    """A device technology whose pulse response is the dynamic compact model's (see the module
    docstring); duck-typed as solver.crossbar.device.DeviceModel for the arrays."""

    name = "derived"
    depends_on_weight = True

    def __init__(self, model: DynamicModel, config: Config, maps: Optional[dict[float, np.ndarray]] = None):
        document = model.document
        if document is None or document.state is None:
            raise InputError("derived device: the compact model has no device state")
        merit = document.figures_of_merit
        if merit.V_write.positive is None or merit.V_write.negative is None:
            raise InputError("derived device: no V_write on both sides (extend sweep.voltage)")
        self.model = model
        self.write_voltage_positive = float(merit.V_write.positive)
        self.write_voltage_negative = float(merit.V_write.negative)
        self.noise = config.crossbar.noise
        self.device_spread = config.crossbar.device_spread
        self.w_min, self.w_max = W_MIN, W_MAX
        pulse = config.analysis.pulse
        self._edges = (pulse.rise, pulse.fall) if pulse is not None else (0.0, 0.0)
        self._width = model.kinetics.pulse_width
        low, high = model.state_range
        self.grid = np.geomspace(low, high, GRID_POINTS)
        self.read_voltage = config.pulses.read_voltage
        G = model.conductance(self.grid, self.read_voltage)
        self.G_min, self.G_max = float(G[0]), float(G[-1])
        if not np.all(np.diff(G) > 0):
            raise InputError("derived device: the conductance does not rise with the state across its range")
        self.w_grid = self.w_min + self.span * (G - self.G_min) / (self.G_max - self.G_min)
        self._changes: dict[float, np.ndarray] = dict(maps or {})
        self.dw_min = 0.5 * (float(self.step(self.write_voltage_positive)) + float(self.step(self.write_voltage_negative)))
        self.states = int(round(self.span / self.dw_min))

    @property
    def span(self) -> float:
        return self.w_max - self.w_min

    def write_voltage(self, polarity: int) -> float:
        return self.write_voltage_positive if polarity > 0 else self.write_voltage_negative

    def state_change(self, voltage: float) -> np.ndarray:
        """dN of one pulse at `voltage` on the state grid (computed once per voltage)."""
        key = float(voltage)
        if key not in self._changes:
            self._changes[key] = self.model.pulse(self.grid, key, self._width, *self._edges)
        return self._changes[key]

    def weight_change(self, voltage: float) -> np.ndarray:
        """dw of one pulse at `voltage` on the grid of weights `w_grid` (signed)."""
        N = self.grid
        G_after = self.model.conductance(N + self.state_change(voltage), self.read_voltage)
        G = self.model.conductance(N, self.read_voltage)
        return self.span * (G_after - G) / (self.G_max - self.G_min)

    def steps(self, voltage: float, weights) -> np.ndarray:
        """|dw| of one pulse at `voltage` at each weight (median device, no noise)."""
        return np.abs(np.interp(weights, self.w_grid, self.weight_change(voltage)))

    def step(self, voltage) -> np.ndarray:
        """|dw| of one pulse at mid-range (w = 0), for each voltage."""
        return np.array([float(self.steps(v, 0.5 * (self.w_min + self.w_max))) for v in np.atleast_1d(voltage)]
                        ).reshape(np.shape(voltage))

    def step_ratio(self, voltage) -> np.ndarray:
        """Step at mid-range relative to the full write pulse of the same polarity."""
        v = np.atleast_1d(np.asarray(voltage, dtype=float))
        full = np.where(v >= 0, self.step(self.write_voltage_positive), self.step(self.write_voltage_negative))
        return (self.step(v) / full).reshape(np.shape(voltage))

    def pulse_factors(self, voltage: float, prefactor: np.ndarray, weights=None) -> tuple[np.ndarray, np.ndarray]:
        """(log(1 - kappa), (kappa / (1 - kappa))^2) per device at `weights` (mid-range when
        None): kappa = |dw(w)| d / (distance to the bound approached)."""
        w = np.zeros_like(prefactor) if weights is None else np.asarray(weights, dtype=float)
        distance = np.maximum((self.w_max - w) if voltage > 0 else (w - self.w_min), 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            kappa = np.where(distance > 0, self.steps(voltage, w) * prefactor / np.maximum(distance, 1e-300), 0.0)
        # A step that reaches the bound lands on it, without noise (the state is held there).
        saturated = kappa >= 1.0
        keep = np.where(saturated, 1e-300, 1.0 - kappa)
        return np.log(keep), np.where(saturated, 0.0, (kappa / np.where(saturated, 1.0, keep)) ** 2)

    def describe(self) -> dict:
        """What is derived (from the FEM through the dynamic model) and what is assumed."""
        up = self.weight_change(self.write_voltage_positive)
        down = self.weight_change(self.write_voltage_negative)
        half_up = self.weight_change(0.5 * self.write_voltage_positive)
        half_down = self.weight_change(0.5 * self.write_voltage_negative)
        middle = len(self.grid) // 2
        with np.errstate(divide="ignore", invalid="ignore"):
            k_up = np.where(up != 0, half_up / up, np.nan)
            k_down = np.where(down != 0, half_down / down, np.nan)
        return {
            "derived": {
                "window_S": [self.G_min, self.G_max],
                "dw_min (mean step of a full pulse at w = 0)": self.dw_min,
                "steps across the window": self.states,
                "step up at w = -1 / 0 / +1": [float(abs(up[0])), float(self.steps(self.write_voltage_positive, 0.0)),
                                              float(abs(up[-1]))],
                "step down at w = -1 / 0 / +1": [float(abs(down[0])),
                                                float(self.steps(self.write_voltage_negative, 0.0)),
                                                float(abs(down[-1]))],
                "k_up median": float(np.nanmedian(np.abs(k_up))),
                "k_down median": float(np.nanmedian(np.abs(k_down))),
                "up/down asymmetry at mid-range": float((abs(up[middle]) - abs(down[middle]))
                                                        / (abs(up[middle]) + abs(down[middle]))),
            },
            "assumed": {"noise (cycle-to-cycle sigma, relative)": self.noise,
                        "device_spread (device-to-device sigma)": self.device_spread},
        }

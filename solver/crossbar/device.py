"""One crossbar device: a normalised weight w in [w_min, w_max] moved by voltage pulses.

A pulse of signed device voltage v (width kinetics.pulse_width) changes w by

    dw = sign(v) * dw_min * step_ratio(v) * bound(w) * (1 + noise * xi) * d

- step_ratio(v) = delta_per_pulse(v) / delta_per_pulse(V_write of that polarity) for the
  fitted device (the compact model's FEM-faithful view: log-interpolated table, fitted law
  beyond), |v| / V_write for the built-in linear reference device; 1 for a full write pulse.
- dw_min = (w_max - w_min) / crossbar.states.
- soft bounds: bound = 2 (w_max - w) / (w_max - w_min) going up, 2 (w - w_min) / (w_max - w_min)
  going down: 1 at mid-range, 0 at the bound approached (aihwkit's SoftBounds for
  w_min = -w_max).
- cycle-to-cycle noise: xi ~ N(0, 1) per pulse, sigma = crossbar.noise.
- device-to-device spread: d = exp(crossbar.device_spread * zeta), zeta ~ N(0, 1) per device
  (log-normal, median 1), fixed for the life of the array.

In terms of the distance u to the bound being approached (u = w_max - w up, w - w_min down)
one pulse multiplies u by 1 - kappa (1 + noise xi), kappa = 2 dw_min step_ratio d / span. So
n equal pulses multiply it by (1 - kappa)^n exactly, which is what makes the array update
exact and fast (solver.crossbar.array).

Technologies: `fitted_device` (the compact model), `linear_device` (the disturbance-prone
reference) and `half_select_device`, a synthetic device derived from another one whose
response below V_write is replaced by one with a chosen half-select ratio k (the design maps of
solver.crossbar.design_map).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from solver.compact.model import CompactModel
from solver.config.schema import Crossbar
from solver.errors import InputError

W_MIN, W_MAX = -1.0, 1.0
POLARITIES = {"positive": 1, "negative": -1}


@dataclass(frozen=True)
class DeviceModel:
    """Pulse response of one device technology (the same for every device of an array,
    up to the device-to-device prefactor drawn by the array)."""

    name: str
    step_ratio: Callable[[np.ndarray], np.ndarray]
    write_voltage_positive: float
    write_voltage_negative: float  # a negative number
    states: int
    noise: float
    device_spread: float | np.ndarray  # an array: one sigma per array of a batch (design maps)
    w_min: float = W_MIN
    w_max: float = W_MAX

    @property
    def span(self) -> float:
        return self.w_max - self.w_min

    @property
    def dw_min(self) -> float:
        """Step of one full write pulse at mid-range."""
        return self.span / self.states

    def write_voltage(self, polarity: int) -> float:
        """Signed device voltage of a full write pulse of polarity +1 or -1."""
        return self.write_voltage_positive if polarity > 0 else self.write_voltage_negative

    def step(self, voltage) -> np.ndarray:
        """|dw| of one pulse at mid-range, no noise, median device."""
        return self.dw_min * np.asarray(self.step_ratio(np.asarray(voltage, dtype=float)))

    def pulse_factors(self, voltage: float, prefactor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For one pulse of `voltage` on devices with step prefactors `prefactor`:
        (log(1 - kappa), (kappa / (1 - kappa))^2), the log of the factor on the distance to
        the bound and the coefficient of its noise variance (times noise^2)."""
        kappa = 2.0 * np.asarray(self.step(voltage)) * prefactor / self.span
        # kappa >= 1 would jump past the bound: the device saturates there instead.
        keep = np.maximum(1.0 - kappa, 1e-300)
        return np.log(keep), (kappa / keep) ** 2


def fitted_device(model: CompactModel, crossbar: Crossbar, view: str = "table") -> DeviceModel:
    """The device of a fitted compact model, written at V_write of each polarity. `view`
    "table" takes the step from the FEM-faithful delta_per_pulse, "law" from the fitted law
    alone (what the ngspice subcircuit computes; solver.spice)."""
    merit = model.document.figures_of_merit
    write = {p: getattr(merit.V_write, p) for p in POLARITIES}
    for polarity, value in write.items():
        if value is None:
            reach = 2 * model.swept_range(polarity)
            raise InputError(
                f"compact model: delta_per_pulse never reaches {merit.target_delta:g} on the "
                f"{polarity} side up to {reach:.3g} V, so there is no write voltage "
                "(lower kinetics.target_delta, or sweep to higher voltage)"
            )
    views = {"table": model.interpolated_delta_per_pulse, "law": model.delta_per_pulse}
    if view not in views:
        raise ValueError(f"unknown view {view!r}")
    delta_per_pulse = views[view]
    reference = {p: float(delta_per_pulse(v)) for p, v in write.items()}

    def step_ratio(voltage: np.ndarray) -> np.ndarray:
        delta = delta_per_pulse(voltage)
        return delta / np.where(voltage >= 0, reference["positive"], reference["negative"])

    return DeviceModel("fitted", step_ratio, write["positive"], write["negative"], crossbar.states,
                       crossbar.noise, crossbar.device_spread)


def linear_device(write_voltage_positive: float, write_voltage_negative: float,
                  crossbar: Crossbar) -> DeviceModel:
    """The reference a disturbance-prone technology gives: dw proportional to |v|."""

    def step_ratio(voltage: np.ndarray) -> np.ndarray:
        return np.abs(voltage) / np.where(voltage >= 0, write_voltage_positive, -write_voltage_negative)

    return DeviceModel("linear", step_ratio, write_voltage_positive, write_voltage_negative,
                       crossbar.states, crossbar.noise, crossbar.device_spread)


def half_select_ratios(device: DeviceModel) -> tuple[float, float]:
    """(k_up, k_down): the step of a V_write/2 pulse over that of a V_write pulse, per polarity
    (SET/up is the positive polarity)."""
    return tuple(float(device.step_ratio(np.asarray(0.5 * device.write_voltage(p)))) for p in (1, -1))


def half_select_device(base: DeviceModel, k_up, k_down, device_spread=None) -> DeviceModel:
    """A synthetic device: `base` (write voltages, states, noise, full-pulse response) with its
    response below V_write replaced by a power law through k at V_write / 2:

        step_ratio(v) = (|v| / |V_write|)^log2(1 / k_P)    for |v| < |V_write|,

    k_P = k_up for v > 0 (SET, up) and k_down for v < 0 (RESET, down); k = 0: no response below
    V_write. At V_write / 2 (the half-selected devices of v_half) the ratio is k_P exactly; at
    V_write / 3 (v_third) it is k_P^log2(3). `k_up`, `k_down` and `device_spread` (default the
    base's) may be arrays shaped to broadcast against an array's weights, one value per array
    of a batch: that is how a design map trains all its devices at once. Its step_ratio takes
    one voltage at a time (as CrossbarArray asks for it) and returns the ratios of the batch."""
    k_up, k_down = np.asarray(k_up, dtype=float), np.asarray(k_down, dtype=float)
    with np.errstate(divide="ignore"):
        exponents = {sign: np.where(k > 0, -np.log2(np.where(k > 0, k, 1.0)), np.inf)
                     for sign, k in ((1, k_up), (-1, k_down))}

    def step_ratio(voltage: np.ndarray) -> np.ndarray:
        voltage = np.asarray(voltage, dtype=float)
        sign = 1 if float(voltage) >= 0 else -1
        write = abs(base.write_voltage(sign))
        if abs(float(voltage)) >= write:
            return base.step_ratio(voltage)
        return (abs(float(voltage)) / write) ** exponents[sign]

    spread = base.device_spread if device_spread is None else device_spread
    return DeviceModel("half-select", step_ratio, base.write_voltage_positive, base.write_voltage_negative,
                       base.states, base.noise, spread, base.w_min, base.w_max)

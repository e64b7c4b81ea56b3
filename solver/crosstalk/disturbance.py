"""Half-select disturbance in the crossbar model with the tile's neighbour heating.

The disturbance experiment (solver.crossbar.disturbance) pulses the middle device of the
array with full write pulses, its row and column driven. With the coupling K of a pitch, every
device sits at T(V) + dT, dT = sum_j K(|dr|, |dc|) P_j, where P_j is the power the compact
model gives at device j's voltage (V for the selected device, V/2 or V/3 for its row and
column, 0 or -V/3 for the rest). Each half-selected device's step is multiplied by the rate
increase that heating causes (solver.crosstalk.coupling.heated_rate_ratio); the rest of the
experiment is unchanged.
"""

from __future__ import annotations

import numpy as np

from solver.compact.model import CompactModel
from solver.config.schema import Crossbar
from solver.crossbar.array import SCHEMES
from solver.crossbar.device import POLARITIES, fitted_device
from solver.crossbar.disturbance import disturbance_curve, line_masks
from solver.crosstalk.coupling import Coupling, heated_rate_ratio


def disturbance_voltages(crossbar: Crossbar, voltage: float) -> np.ndarray:
    """(rows, cols) device voltages [V] of the disturbance experiment's pulse of amplitude
    `voltage` (solver.crossbar.array: v_half leaves the unselected devices at 0, v_third at
    -V/3)."""
    shape = (crossbar.rows, crossbar.cols)
    selected, half_selected, _ = line_masks(shape, crossbar.rows // 2, crossbar.cols // 2)
    unselected = 0.0 if crossbar.scheme == "v_half" else -voltage / 3.0
    return np.where(selected, voltage, np.where(half_selected, SCHEMES[crossbar.scheme] * voltage, unselected))


def select_gain(model: CompactModel, crossbar: Crossbar, coupling: Coupling, voltage: float) -> dict:
    """The heating map and the half-select step gain of every device of the experiment."""
    voltages = disturbance_voltages(crossbar, voltage)
    powers = np.abs(model.power(voltages))
    heating = coupling.neighbour_heating(powers)
    gain = heated_rate_ratio(model, voltages, heating)
    return {"voltages": voltages, "powers": powers, "heating": heating, "gain": gain}


def disturbance_with_heating(model: CompactModel, crossbar: Crossbar, coupling: Coupling, polarity: str) -> dict:
    """max and mean |dw| of the half-selected devices after crossbar.disturb_pulses pulses at
    V_write, as fractions of the range, without and with neighbour heating (same random draws)."""
    device = fitted_device(model, crossbar)
    sign = POLARITIES[polarity]
    voltage = device.write_voltage(sign)
    heated = select_gain(model, crossbar, coupling, voltage)
    _, half_selected, _ = line_masks((crossbar.rows, crossbar.cols), crossbar.rows // 2, crossbar.cols // 2)
    gains = heated["gain"][half_selected]
    out = {"pulses": crossbar.disturb_pulses, "device_voltage": voltage,
           "neighbour_heating_max": float(heated["heating"][half_selected].max()),
           "gain_max": float(gains.max()), "gain_mean": float(gains.mean())}
    for label, gain in (("without", None), ("with", heated["gain"])):
        curve = disturbance_curve(device, crossbar, sign, np.random.default_rng(crossbar.seed), select_gain=gain)
        out[f"max_half_selected_{label}"] = curve["max_half_selected"][-1]
        out[f"mean_half_selected_{label}"] = curve["mean_half_selected"][-1]
    return out

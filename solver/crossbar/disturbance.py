"""Disturbance endurance: repeated writes of one device and the half-selected devices around it.

A checkerboard (w = +/-0.5) is programmed; then the device at (row, col) in the middle of the
array gets `crossbar.disturb_pulses` full write pulses of one polarity, its row and column
driven, every other line idle. The devices on that row and column are half-selected by every
pulse (V/2 in v_half, V/3 in v_third, where the rest of the array also sees -V/3). Recorded
at log-spaced pulse counts ("pulses"): "max_half_selected" and "mean_half_selected" |w - w_0|
(and "max_unselected", "mean_unselected"), as fractions of the full range w_max - w_min;
also "half_select_voltage" [V] and "half_select_step", the step of one half-select pulse in
units of dw_min (1 / nonlinearity for the fitted device).

Without noise the half-selected devices follow the closed form of n equal soft-bounds pulses,
w_n = w_max - (w_max - w_0) (1 - kappa)^n going up (kappa = 2 dw(V/2) / span), which the
array's counting update reproduces exactly.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from solver.config.schema import Crossbar
from solver.crossbar.array import SCHEMES, CrossbarArray
from solver.crossbar.device import DeviceModel

CHECKERBOARD_LEVEL = 0.5


def checkerboard(rows: int, cols: int, level: float = CHECKERBOARD_LEVEL) -> np.ndarray:
    """+level where row + col is even, -level elsewhere."""
    parity = (np.arange(rows)[:, None] + np.arange(cols)[None, :]) % 2
    return np.where(parity == 0, level, -level)


def checkpoints(total: int) -> list[int]:
    """1, 2, 5, 10, 20, 50, ... up to and including `total`."""
    return sorted({m * 10**e for e in range(10) for m in (1, 2, 5) if m * 10**e < total} | {total})


def line_masks(shape: tuple[int, int], row: int, col: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(selected, half_selected, unselected) devices when only `row` and `col` are driven."""
    selected = np.zeros(shape, dtype=bool)
    selected[row, col] = True
    on_lines = np.zeros(shape, dtype=bool)
    on_lines[row, :] = True
    on_lines[:, col] = True
    return selected, on_lines & ~selected, ~on_lines


def disturb(array: CrossbarArray, polarity: int, row: int, col: int, pulses: int) -> None:
    """`pulses` full write pulses of `polarity` on device (row, col), its lines driven."""
    selected, half_selected, unselected = line_masks(array.weights.shape[-2:], row, col)
    array.apply_phase(polarity, pulses * selected, pulses * half_selected, pulses * unselected)


def disturbance_curve(device: DeviceModel, crossbar: Crossbar, polarity: int,
                      rng: np.random.Generator, select_gain: Optional[np.ndarray] = None) -> dict:
    """Half-select damage vs pulse count for one device technology and polarity; `select_gain`
    (rows, cols) multiplies each device's half-select step (neighbour heating, solver.crosstalk)."""
    rows, cols = crossbar.rows, crossbar.cols
    array = CrossbarArray(device, (rows, cols), crossbar.scheme, rng, select_gain=select_gain)
    array.weights = checkerboard(rows, cols)
    initial = array.weights.copy()
    row, col = rows // 2, cols // 2
    _, half_selected, unselected = line_masks((rows, cols), row, col)
    half_voltage = SCHEMES[crossbar.scheme] * device.write_voltage(polarity)
    curve: dict = {
        "pulses": checkpoints(crossbar.disturb_pulses),
        "half_select_voltage": float(half_voltage),
        "half_select_step": float(device.step(half_voltage) / device.dw_min),
        "max_half_selected": [], "mean_half_selected": [], "max_unselected": [], "mean_unselected": [],
    }
    done = 0
    for count in curve["pulses"]:
        disturb(array, polarity, row, col, count - done)
        done = count
        change = np.abs(array.weights - initial) / device.span
        for name, mask in (("half_selected", half_selected), ("unselected", unselected)):
            values = change[mask]
            curve[f"max_{name}"].append(float(values.max()) if values.size else 0.0)
            curve[f"mean_{name}"].append(float(values.mean()) if values.size else 0.0)
    return curve

"""`spice-array`: one fully parallel stochastic update of a crossbar, simulated by ngspice.

    result = spice_array_update(model, config.crossbar, say=print)

Draws x (rows) and delta (columns) uniformly in [-1, 1] (seed `crossbar.seed`), builds the
stochastic pulse trains of the update lr outer(x, delta) with BL = `crossbar.spice.
pulse_train_length` slots and lr = BL dw_min / (max|x| max|delta|) (so that a line fires with
probability |x_i| / max|x|), and simulates them on the `crossbar.spice.rows` x `cols` array
(solver.spice.netlist) twice: with `crossbar.line_resistance` and with ideal lines. Every
cell's weight is read back from its state node after the last slot. The same trains go
through the numpy model with the same line resistance (solver.crossbar.lines), for
comparison. Reported (all weights normalised, w in [-1, 1]; conductances mapped linearly onto
[conductance_min, conductance_max]):

- the update matrix dw (and dG [S]) of the circuit with line resistance;
- the half-select disturbance: dw of the cells that saw pulses but no coincidence;
- the IR-drop loss: 1 - dw / dw(ideal lines) over the cells with coincidences (mean, max and
  where), and the relative error of the whole update, |dW - dW_ideal| / |dW_ideal| (Frobenius);
- the numpy model's largest relative deviation from ngspice per cell.

The device is the fitted law's view of the compact model (`fitted_device(view="law")`),
without cycle-to-cycle noise (a circuit simulation is deterministic); the device-to-device
spread of the step is drawn as in solver.crossbar.array and passed to every cell instance.
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np

from solver.compact.model import CompactModel
from solver.config.schema import Crossbar
from solver.crossbar.array import CrossbarArray
from solver.crossbar.device import DeviceModel, fitted_device
from solver.crossbar.lines import LineNetwork, line_network
from solver.crossbar.pulses import stochastic_trains
from solver.spice.netlist import Timing, array_netlist, slots_of, weight_vectors
from solver.spice.ngspice import run_ngspice

FORMAT = "filatherm-spice-array"
VERSION = 1
# Cells whose update is below this fraction of one full step are left out of relative
# comparisons (their dw is a sum of half-select steps many orders of magnitude smaller).
COMPARED_FRACTION = 0.01


def spice_device(model: CompactModel, crossbar: Crossbar) -> DeviceModel:
    """The device both models use here: the fitted law's step, no cycle-to-cycle noise."""
    return fitted_device(model, crossbar.model_copy(update={"noise": 0.0}), view="law")


def update_trains(crossbar: Crossbar, device: DeviceModel, rows: int, cols: int):
    """x, delta, learning rate and the boolean trains of the update (seed crossbar.seed)."""
    rng = np.random.default_rng(crossbar.seed)
    x = rng.uniform(-1.0, 1.0, rows)
    delta = rng.uniform(-1.0, 1.0, cols)
    length = crossbar.spice.pulse_train_length
    learning_rate = length * device.dw_min / (np.abs(x).max() * np.abs(delta).max())
    row_trains, col_trains = stochastic_trains(x, delta, learning_rate, device.dw_min, length, rng)
    return x, delta, learning_rate, row_trains, col_trains


def _transistor(crossbar: Crossbar) -> dict:
    fet = crossbar.transistor
    return {"vto": fet.threshold_voltage, "kp": fet.transconductance, "w": fet.width, "l": fet.length}


def ngspice_update(model: CompactModel, device: DeviceModel, crossbar: Crossbar, lines: LineNetwork,
                   row_trains: np.ndarray, col_trains: np.ndarray, row_signs: np.ndarray,
                   col_signs: np.ndarray, prefactor: np.ndarray, initial: np.ndarray,
                   netlist_path=None) -> np.ndarray:
    """Weights after the update as ngspice computes it (the netlist is also written to
    `netlist_path` if given)."""
    spice = crossbar.spice
    slots = slots_of(lines, row_trains, col_trains, row_signs, col_signs)
    timing = Timing(spice.edge_time, model.kinetics.pulse_width)
    text = array_netlist(model, device, lines, slots, timing, prefactor, initial,
                         spice.thermal_capacitance, _transistor(crossbar))
    if netlist_path is not None:
        from solver.io import write_text_atomic

        write_text_atomic(netlist_path, text + f".tran {timing.edge!r} {timing.end(len(slots))!r}\n.end\n")
    names = weight_vectors(lines.rows, lines.cols)
    # The largest step is a quarter pulse: flat tops need few points, edges get what they need.
    analysis = f"tran {timing.edge!r} {timing.end(len(slots))!r} 0 {timing.pulse / 4!r}"
    values = run_ngspice(text, analysis, names, spice.timeout, final=True)
    change = np.array([values[name.lower()][0] for name in names]).reshape(lines.rows, lines.cols)
    return initial + change


def spice_array_update(model: CompactModel, crossbar: Crossbar, say: Callable[[str], None] = print,
                       netlist_path=None) -> dict:
    """Run the update (see the module docstring) and return the report as a JSON-able dict."""
    spice = crossbar.spice
    rows, cols = spice.rows, spice.cols
    device = spice_device(model, crossbar)
    x, delta, learning_rate, row_trains, col_trains = update_trains(crossbar, device, rows, cols)
    row_signs, col_signs = np.sign(x), np.sign(delta)
    networks = {R: line_network(crossbar, rows, cols, spice.scheme, model.current, device.write_voltage, R)
                for R in (crossbar.line_resistance, 0.0)}
    lines = networks[crossbar.line_resistance]
    kernel_scheme = "v_third" if spice.scheme == "v_third" else "v_half"
    array = CrossbarArray(device, (rows, cols), kernel_scheme, np.random.default_rng(crossbar.seed + 1),
                          lines=lines)
    initial = array.weights.copy()
    started = time.perf_counter()
    array.apply_trains(row_trains, col_trains, row_signs, col_signs)
    numpy_seconds = time.perf_counter() - started
    after, seconds = {}, {}
    for R, network in networks.items():
        say(f"spice-array: ngspice, {rows}x{cols} {crossbar.cell} {spice.scheme}, R_line = {R:g} Ohm ...")
        started = time.perf_counter()
        after[R] = ngspice_update(model, device, crossbar, network, row_trains, col_trains, row_signs,
                                  col_signs, array.prefactor, initial,
                                  netlist_path if R == crossbar.line_resistance else None)
        seconds[R] = time.perf_counter() - started
    dw = after[crossbar.line_resistance] - initial
    dw_ideal = after[0.0] - initial
    dw_numpy = array.weights - initial
    rows_f = row_trains.astype(float)
    cols_f = col_trains.astype(float)
    coincidences = (rows_f.T @ cols_f) * (row_signs[:, None] * col_signs[None, :] != 0)
    touched = rows_f.sum(axis=0)[:, None] + cols_f.sum(axis=0)[None, :]
    half_only = (coincidences == 0) & (touched > 0)
    updated = np.abs(dw_ideal) > COMPARED_FRACTION * device.dw_min
    loss = 1.0 - dw[updated] / dw_ideal[updated]
    compared = np.abs(dw) > COMPARED_FRACTION * device.dw_min
    deviation = np.abs(dw_numpy[compared] / dw[compared] - 1.0)
    span_G = spice.conductance_max - spice.conductance_min
    worst = np.argwhere(updated)[int(np.argmax(loss))].tolist() if loss.size else None
    norm = float(np.linalg.norm(dw_ideal))
    return {
        "format": FORMAT,
        "version": VERSION,
        "array": {
            "rows": rows, "cols": cols, "cell": crossbar.cell, "scheme": spice.scheme,
            "line_resistance_ohm": crossbar.line_resistance,
            "pulse_train_length": spice.pulse_train_length,
            "pulse_width_s": model.kinetics.pulse_width, "edge_time_s": spice.edge_time,
            "thermal_capacitance_J_per_K": spice.thermal_capacitance,
            "write_amplitude_V": {"positive": lines.amplitude(1), "negative": lines.amplitude(-1)},
            "dw_min": device.dw_min,
            "conductance_window_S": [spice.conductance_min, spice.conductance_max],
        },
        "x": x.tolist(),
        "delta": delta.tolist(),
        "learning_rate": float(learning_rate),
        "coincidences": coincidences.astype(int).tolist(),
        "update_dw": dw.tolist(),
        "update_dG_S": (dw * span_G / device.span).tolist(),
        "update_dw_ideal_lines": dw_ideal.tolist(),
        "update_dw_numpy": dw_numpy.tolist(),
        "half_select": {
            "cells": int(half_only.sum()),
            "max_abs_dw_per_dw_min": float(np.abs(dw[half_only]).max() / device.dw_min) if half_only.any() else 0.0,
            "mean_abs_dw_per_dw_min": float(np.abs(dw[half_only]).mean() / device.dw_min) if half_only.any() else 0.0,
        },
        "ir_drop_loss": {
            "cells": int(updated.sum()),
            "mean": float(loss.mean()) if loss.size else 0.0,
            "max": float(loss.max()) if loss.size else 0.0,
            "worst_cell": worst,
            "update_error": float(np.linalg.norm(dw - dw_ideal) / norm) if norm > 0 else 0.0,
        },
        "numpy_vs_ngspice": {
            "cells": int(compared.sum()),
            "max_relative_deviation": float(deviation.max()) if deviation.size else 0.0,
            "mean_relative_deviation": float(deviation.mean()) if deviation.size else 0.0,
        },
        "wall_time_s": {"ngspice": seconds[crossbar.line_resistance], "ngspice_ideal_lines": seconds.get(0.0),
                        "numpy": numpy_seconds},
    }

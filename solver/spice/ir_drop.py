"""How much of an update IR drop costs, against array size and line resistance, per scheme.

    sweep = ir_drop_sweep(model, config.crossbar, say=print)

For each square size N in `crossbar.spice.sweep_sizes`, one set of stochastic trains (drawn
as in solver.spice.array, BL = `spice.pulse_train_length`) is applied to 1T1R arrays (the
cell where both schemes exist) with ideal lines and with each line resistance of
`spice.sweep_resistances`, in the V/2 scheme and in the gate-coincidence scheme, by the numpy
model with line resistance (solver.crossbar.lines; checked against ngspice on 8x8 and 16x16
in tests/test_spice_array.py). The update error is |dW - dW_ideal| / |dW_ideal| (Frobenius)
and the mean loss the mean of 1 - dw / dw_ideal over the updated cells.
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np

from solver.compact.model import CompactModel
from solver.config.schema import Crossbar
from solver.crossbar.array import CrossbarArray
from solver.crossbar.lines import line_network
from solver.spice.array import COMPARED_FRACTION, spice_device, update_trains

SCHEMES = ("v_half", "gate_coincidence")


def ir_drop_sweep(model: CompactModel, crossbar: Crossbar, say: Callable[[str], None] = print) -> dict:
    """Update error and mean loss per scheme, size and line resistance (JSON-able)."""
    spice = crossbar.spice
    cell = crossbar.model_copy(update={"cell": "1T1R"})
    device = spice_device(model, cell)
    resistances = sorted(set(spice.sweep_resistances))
    results = {scheme: {"update_error": [], "mean_loss": []} for scheme in SCHEMES}
    for size in spice.sweep_sizes:
        started = time.perf_counter()
        x, delta, _, row_trains, col_trains = update_trains(cell, device, size, size)
        for scheme in SCHEMES:
            updates = {}
            for R in [0.0] + resistances:
                lines = line_network(cell, size, size, scheme, model.current, device.write_voltage, R)
                array = CrossbarArray(device, (size, size), "v_half",
                                      np.random.default_rng(crossbar.seed + 1), lines=lines)
                array.apply_trains(row_trains, col_trains, np.sign(x), np.sign(delta))
                updates[R] = array.weights.copy()  # from w = 0
            ideal = updates[0.0]
            updated = np.abs(ideal) > COMPARED_FRACTION * device.dw_min
            norm = np.linalg.norm(ideal)
            results[scheme]["update_error"].append(
                [float(np.linalg.norm(updates[R] - ideal) / norm) for R in resistances])
            results[scheme]["mean_loss"].append(
                [float(np.mean(1.0 - updates[R][updated] / ideal[updated])) for R in resistances])
        say(f"  IR-drop sweep: {size}x{size} done in {time.perf_counter() - started:.1f} s")
    return {"cell": "1T1R", "sizes": list(spice.sweep_sizes), "resistances_ohm": resistances,
            "pulse_train_length": spice.pulse_train_length, "schemes": results}

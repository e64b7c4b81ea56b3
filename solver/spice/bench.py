"""Circuit-level and IR-drop throughput for scripts/bench.py (never timed in unit tests).

The device is the synthetic default-like one of solver.compact.synthetic, fitted as
`filatherm fit` does (no FEM needed); the array is 1R, V/2, with `LINE_RESISTANCE` per
segment and BL = crossbar.spice.pulse_train_length slots (10 by default).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from solver.compact.model import CompactModel
from solver.config import Config
from solver.crossbar.array import CrossbarArray
from solver.crossbar.lines import line_network
from solver.spice.array import ngspice_update, spice_device, update_trains

LINE_RESISTANCE = 2.0  # Ohm per segment


def synthetic_model(config: Config) -> CompactModel:
    """The fitted compact model of the synthetic default-like device."""
    from solver.compact.synthetic import write_synthetic_sweep
    from solver.compact.workflow import fit_results

    with tempfile.TemporaryDirectory(prefix="filatherm-bench-") as tmp:
        write_synthetic_sweep(tmp, config, np.linspace(-1.5, 1.5, 31))
        fit_results(tmp, say=lambda text: None)
        return CompactModel.load(Path(tmp) / "model" / "compact_model.json")


def _setup(model: CompactModel, config: Config, size: int):
    crossbar = config.crossbar.model_copy(update={"line_resistance": LINE_RESISTANCE, "cell": "1R"})
    device = spice_device(model, crossbar)
    x, delta, _, row_trains, col_trains = update_trains(crossbar, device, size, size)
    lines = line_network(crossbar, size, size, "v_half", model.current, device.write_voltage)
    return crossbar, device, (row_trains, col_trains, np.sign(x), np.sign(delta)), lines


def update_seconds(model: CompactModel, config: Config, size: int) -> dict:
    """Wall time [s] of one parallel update of a size x size array: ngspice (netlist writing
    and parsing included) and the numpy model with line resistance (table set-up excluded)."""
    crossbar, device, trains, lines = _setup(model, config, size)
    array = CrossbarArray(device, (size, size), "v_half", np.random.default_rng(1), lines=lines)
    initial = array.weights.copy()
    started = time.perf_counter()
    array.apply_trains(*trains)
    numpy_s = time.perf_counter() - started
    started = time.perf_counter()
    ngspice_update(model, device, crossbar, lines, *trains, array.prefactor, initial)
    return {"ngspice_s": time.perf_counter() - started, "numpy_s": numpy_s}


def ir_drop_updates_per_second(model: CompactModel, config: Config, size: int, updates: int) -> dict:
    """Fully parallel updates per second of the numpy model with line resistance on a
    size x size array, and the device-pulse updates per second (size^2 x BL per update)."""
    crossbar, device, trains, lines = _setup(model, config, size)
    array = CrossbarArray(device, (size, size), "v_half", np.random.default_rng(1), lines=lines)
    started = time.perf_counter()
    for _ in range(updates):
        array.apply_trains(*trains)
    seconds = (time.perf_counter() - started) / updates
    length = trains[0].shape[-2]
    return {"updates_per_s": 1.0 / seconds, "device_pulse_updates_per_s": size * size * length / seconds,
            "pulse_train_length": length}

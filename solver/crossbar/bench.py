"""Crossbar throughput for scripts/bench.py (never timed in unit tests).

`updates_per_second` counts device-pulse updates the way aihwkit does: one fully parallel
update of a rows x cols array with pulse trains of length BL is rows x cols x BL device-pulse
updates (each device's train of BL slots; the four sign phases of solver.crossbar.array are
part of one update). The count-based kernel's cost does not grow with BL, so the figure is
for BL = `pulse_train_length` slots actually used: the learning rate is chosen so that the
trains are exactly that long.
"""

from __future__ import annotations

import time

import numpy as np

from solver.config.schema import Crossbar, Training
from solver.crossbar.array import CrossbarArray
from solver.crossbar.device import DeviceModel, linear_device
from solver.crossbar.pulses import stochastic_trains
from solver.crossbar.training import load_digits_split, train_mlp


def _reference_device(crossbar: Crossbar) -> DeviceModel:
    # The kernel's cost does not depend on the step function: a linear device will do.
    return linear_device(1.0, -1.0, crossbar)


def updates_per_second(rows: int = 256, cols: int = 256, updates: int = 50, repeats: int = 3,
                       crossbar: Crossbar | None = None, seed: int = 0) -> dict:
    """Device-pulse updates per second on one core: median, min and max over `repeats`
    (default crossbar settings unless `crossbar` is given)."""
    crossbar = crossbar or Crossbar()
    device = _reference_device(crossbar)
    rng = np.random.default_rng(seed)
    array = CrossbarArray(device, (rows, cols), crossbar.scheme, rng)
    x = rng.uniform(-1, 1, rows)
    d = rng.uniform(-1, 1, cols)
    pulses = crossbar.pulse_train_length
    learning_rate = pulses * device.dw_min / (np.abs(x).max() * np.abs(d).max())
    length = stochastic_trains(x, d, learning_rate, device.dw_min, pulses, rng)[0].shape[-2]
    rates = []
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(updates):
            array.update(x, d, learning_rate, pulses)
        rates.append(rows * cols * length * updates / (time.perf_counter() - started))
    return {"updates_per_s": float(np.median(rates)), "min": float(min(rates)), "max": float(max(rates)),
            "rows": rows, "cols": cols, "pulse_train_length": length, "scheme": crossbar.scheme}


def training_epoch_seconds(crossbar: Crossbar | None = None, training: Training | None = None) -> float:
    """Wall time of one epoch of analog training (all seeds at once) on the reference device."""
    crossbar = crossbar or Crossbar()
    training = training or Training()
    data = load_digits_split(training.test_fraction)
    started = time.perf_counter()
    train_mlp(data, training.model_copy(update={"epochs": 1}), crossbar, _reference_device(crossbar), seed=0)
    return time.perf_counter() - started

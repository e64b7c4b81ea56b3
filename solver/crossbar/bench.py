"""Crossbar throughput for scripts/bench.py (never timed in unit tests).

`updates_per_second` counts device-pulse updates the way aihwkit does: one fully parallel
update of a rows x cols array with pulse trains of length BL is rows x cols x BL device-pulse
updates (each device's train of BL slots; the four sign phases of solver.crossbar.array are
part of one update). The count-based kernel's cost does not grow with BL, so the figure is
for BL = `pulse_train_length` slots actually used: the learning rate is chosen so that the
trains are exactly that long.

`algorithm_updates_per_second` counts the same way for every training algorithm (an update of
a rows x cols layer is rows x cols x BL device-pulse updates, however the algorithm applies
it), timing whole optimizer steps: Tiki-Taka's column transfers and mixed precision's digital
accumulation and row writes are included in the time.
"""

from __future__ import annotations

import time

import numpy as np

from typing import Optional

from solver.config.schema import Crossbar, Training
from solver.crossbar.array import CrossbarArray
from solver.crossbar.datasets import load_digits_split
from solver.crossbar.device import DeviceModel, linear_device
from solver.crossbar.optimizers import AlgorithmConfig, build_layer
from solver.crossbar.pulses import stochastic_trains
from solver.crossbar.training import train_mlp


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


def training_epoch_seconds(crossbar: Crossbar | None = None, training: Training | None = None,
                           algorithm: Optional[AlgorithmConfig] = None, device: Optional[DeviceModel] = None) -> float:
    """Wall time of one epoch of analog training on digits (all seeds at once) with `algorithm`
    (default training.algorithm) on `device` (default the linear reference)."""
    crossbar = crossbar or Crossbar()
    training = training or Training()
    data = load_digits_split(training.test_fraction)
    device = device or _reference_device(crossbar)
    started = time.perf_counter()
    train_mlp(data, training.model_copy(update={"epochs": 1}), crossbar, device, seed=0, algorithm=algorithm)
    return time.perf_counter() - started


def algorithm_updates_per_second(algorithm: AlgorithmConfig, rows: int = 256, cols: int = 256, steps: int = 50,
                                 repeats: int = 3, crossbar: Crossbar | None = None,
                                 training: Training | None = None, seed: int = 0) -> dict:
    """Device-pulse updates per second of whole optimizer steps of one rows x cols layer
    (errors and inputs uniform in [-1, 1], the SGD step training.learning_rate): median, min
    and max over `repeats`."""
    crossbar = crossbar or Crossbar()
    training = training or Training()
    rng = np.random.default_rng(seed)
    layer = build_layer(algorithm, np.zeros((1, rows, cols)), _reference_device(crossbar), crossbar, training, rng)
    delta, inputs = rng.uniform(-1, 1, (1, rows)), rng.uniform(-1, 1, (1, cols))
    rates = []
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(steps):
            layer.step(delta, inputs, 1)
        rates.append(rows * cols * crossbar.pulse_train_length * steps / (time.perf_counter() - started))
    return {"updates_per_s": float(np.median(rates)), "min": float(min(rates)), "max": float(max(rates))}

"""Update fidelity: the realised change of one parallel update against the ideal outer product.

For `FIDELITY_TRIALS` independent arrays (a batch) with weights uniform in
[-INITIAL_LEVEL, INITIAL_LEVEL], random x (rows) and d (columns) uniform in [-1, 1] and
scaled to max |x| = max |d| = 1, one stochastic pulse update towards lr outer(x, d) with
lr = STEPS dw_min (the largest ideal change is STEPS full pulses). Reported over all devices
and trials: the correlation of realised and ideal changes, the relative error
||dW - lr x d^T|| / ||lr x d^T||, and the slope of the least-squares line through the
origin (1 for an unbiased update). The same device without its half-select response shows
what stochastic sampling, soft bounds and noise alone cost.
"""

from __future__ import annotations

import numpy as np

from solver.config.schema import Crossbar
from solver.crossbar.array import CrossbarArray
from solver.crossbar.device import DeviceModel

FIDELITY_TRIALS = 64
INITIAL_LEVEL = 0.5
STEPS = 4.0
SAMPLES = 4000  # (ideal, realised) pairs kept for the scatter plot


def update_fidelity(device: DeviceModel, crossbar: Crossbar, seed: int, half_select: bool = True) -> dict:
    """Correlation, relative error and slope of one parallel update (and plot samples)."""
    rng = np.random.default_rng(seed)
    shape = (FIDELITY_TRIALS, crossbar.rows, crossbar.cols)
    x = rng.uniform(-1, 1, shape[:2])
    d = rng.uniform(-1, 1, (FIDELITY_TRIALS, crossbar.cols))
    x /= np.abs(x).max(axis=1, keepdims=True)
    d /= np.abs(d).max(axis=1, keepdims=True)
    initial = rng.uniform(-INITIAL_LEVEL, INITIAL_LEVEL, shape)
    array = CrossbarArray(device, shape, crossbar.scheme, rng, half_select=half_select)
    array.weights = initial.copy()
    learning_rate = STEPS * device.dw_min
    array.update(x, d, learning_rate, crossbar.pulse_train_length)
    realised = (array.weights - initial).ravel()
    ideal = (learning_rate * x[:, :, None] * d[:, None, :]).ravel()
    spread = realised.std()
    return {
        # An update that changes nothing has no correlation to report.
        "correlation": float(np.corrcoef(realised, ideal)[0, 1]) if spread > 0 else None,
        "relative_error": float(np.linalg.norm(realised - ideal) / np.linalg.norm(ideal)),
        "slope": float(realised @ ideal / (ideal @ ideal)),
        "samples": (ideal[:SAMPLES], realised[:SAMPLES]),
    }

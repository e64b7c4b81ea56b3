"""Stochastic pulse trains of the fully parallel outer-product update (aihwkit semantics).

To add lr * outer(x, d) to an array (x on the rows, d on the columns) with pulses of step
dw_min, each row i fires in each of BL slots with probability p_i = A |x_i| and each column j
with q_j = B |d_j|; a coincidence moves device (i, j) by dw_min with the sign of x_i d_j. The
expected number of coincidences is BL p_i q_j, so A B BL dw_min = lr makes the update
unbiased. As aihwkit's `update_bl_management` and `update_management` do:

    BL = min(max_pulses, ceil(lr max|x| max|d| / dw_min))      (at least 1)
    A  = sqrt(lr max|d| / (dw_min BL max|x|)),  B = sqrt(lr max|x| / (dw_min BL max|d|))

which balances the largest row and column probabilities and keeps both <= 1 unless BL is
capped by max_pulses (then probabilities are clipped at 1 and the update is biased, as in
aihwkit). Leading dimensions of x and d are independent updates (e.g. a batch of arrays).
"""

from __future__ import annotations

import math

import numpy as np


def stochastic_trains(row_values: np.ndarray, col_values: np.ndarray, learning_rate: float,
                      dw_min: float, max_pulses: int, rng: np.random.Generator,
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Boolean trains (..., BL, rows) and (..., BL, cols) for lr * outer(row_values, col_values)."""
    x, d = np.abs(row_values), np.abs(col_values)
    x_max = x.max(axis=-1, keepdims=True)
    d_max = d.max(axis=-1, keepdims=True)
    largest = float(np.max(learning_rate * x_max * d_max)) / dw_min
    length = int(min(max_pulses, max(1, math.ceil(largest))))
    with np.errstate(divide="ignore", invalid="ignore"):
        row_scale = np.sqrt(learning_rate * d_max / (dw_min * length * x_max))
        col_scale = np.sqrt(learning_rate * x_max / (dw_min * length * d_max))
    # An all-zero x or d gives no update: no pulses on either side.
    idle = (x_max == 0) | (d_max == 0)
    p = np.where(idle, 0.0, np.clip(x * np.nan_to_num(row_scale), 0.0, 1.0))
    q = np.where(idle, 0.0, np.clip(d * np.nan_to_num(col_scale), 0.0, 1.0))
    batch = x.shape[:-1]
    rows = rng.random(batch + (length, x.shape[-1])) < p[..., None, :]
    cols = rng.random(batch + (length, d.shape[-1])) < q[..., None, :]
    return rows, cols

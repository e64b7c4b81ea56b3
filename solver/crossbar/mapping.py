"""Parallel weight mapping: write a target matrix row by row, open loop and with read-verify.

Row-parallel programming: for row i every device gets its own number of full write pulses at
once. Row i is driven for a train of slots and column j fires in the first n_ij of them;
devices that go up are written in one phase, those that go down in the next. Pulse counts
come from the nominal device (median, no noise): n = ln(u_target / u) / ln(1 - 2/states),
rounded, u the distance to the bound approached (solver.crossbar.device).

- open loop: one pass, counts computed from the known starting state (every device reset to
  w = 0), no reads;
- read-verify: each row is read (exactly) just before it is written, and the whole array is
  written again in up to `crossbar.verify_iterations` more passes, so that rows disturbed by
  later ones get corrected; a device within dw_min/2 of its target gets no pulses.

Programming row i half-selects the devices of row i whose column does not fire and the
devices of every other row on the columns that fire, so rows written earlier are disturbed
by later ones. The part of the error this causes is measured by repeating the procedure on the
same devices (the same device-to-device draws) with their half-select response switched off.

Targets: patterns/filatherm.pgm (grey levels mapped to [-TARGET_LEVEL, TARGET_LEVEL]) and a
uniform random matrix in the same range. Errors are RMS over the array, as fractions of the
full range w_max - w_min.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from solver.config.schema import Crossbar
from solver.crossbar.array import CrossbarArray
from solver.crossbar.device import DeviceModel
from solver.errors import FilathermError

PATTERN_PATH = Path(__file__).resolve().parent / "patterns" / "filatherm.pgm"
TARGET_LEVEL = 0.8  # soft bounds make the last stretch to w_max slow: stay inside it


def load_pattern(rows: int, cols: int, path: Path = PATTERN_PATH) -> np.ndarray:
    """The shipped plain-text PGM as a rows x cols target (nearest-neighbour resampled)."""
    tokens = [t for line in path.read_text().splitlines() if not line.startswith("#") for t in line.split()]
    if tokens[:1] != ["P2"]:
        raise FilathermError(f"{path}: not a plain-text PGM (P2)")
    width, height, top = (int(t) for t in tokens[1:4])
    image = np.array(tokens[4:4 + width * height], dtype=float).reshape(height, width) / top
    picked = image[np.arange(rows) * height // rows][:, np.arange(cols) * width // cols]
    return TARGET_LEVEL * (2.0 * picked - 1.0)


def random_target(rows: int, cols: int, rng: np.random.Generator) -> np.ndarray:
    return rng.uniform(-TARGET_LEVEL, TARGET_LEVEL, (rows, cols))


def pulses_needed(device: DeviceModel, weights: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(counts, polarities) that take the nominal device from `weights` to `target`."""
    polarity = np.where(target >= weights, 1, -1)
    distance = np.where(polarity > 0, device.w_max - weights, weights - device.w_min)
    goal = np.where(polarity > 0, device.w_max - target, target - device.w_min)
    keep = np.log1p(-2.0 / device.states)
    with np.errstate(divide="ignore", invalid="ignore"):
        counts = np.nan_to_num(np.rint(np.log(goal / distance) / keep), posinf=0.0, neginf=0.0)
    close = np.abs(target - weights) <= device.dw_min / 2
    return np.where(close, 0, np.maximum(counts, 0)).astype(int), polarity


def program_row(array: CrossbarArray, row: int, counts: np.ndarray, polarity: np.ndarray) -> None:
    """One row-parallel write: row `row` driven, column j firing counts[j] times."""
    rows = array.weights.shape[-2]
    for phase in (1, -1):
        firing = (polarity == phase) & (counts > 0)
        if not firing.any():
            continue
        slots = int(counts[firing].max())
        row_trains = np.zeros((slots, rows), dtype=bool)
        row_trains[:, row] = True
        col_trains = np.arange(slots)[:, None] < np.where(firing, counts, 0)[None, :]
        row_signs = np.zeros(rows)
        row_signs[row] = 1
        array.apply_trains(row_trains, col_trains, row_signs, np.where(firing, phase, 0))


def write_matrix(device: DeviceModel, crossbar: Crossbar, target: np.ndarray, seed: int,
                 half_select: bool) -> dict:
    """Open-loop and read-verify errors (and the final matrix) for one target."""
    def fresh() -> CrossbarArray:
        return CrossbarArray(device, target.shape, crossbar.scheme, np.random.default_rng(seed),
                             half_select=half_select)

    def rms(array: CrossbarArray) -> float:
        return float(np.sqrt(np.mean((array.weights - target) ** 2)) / device.span)

    open_loop = fresh()
    counts, polarity = pulses_needed(device, open_loop.weights, target)
    for row in range(target.shape[0]):
        program_row(open_loop, row, counts[row], polarity[row])

    verified = fresh()
    errors = []
    for _ in range(1 + crossbar.verify_iterations):
        for row in range(target.shape[0]):
            # Read-verify reads the row just before writing it.
            counts, polarity = pulses_needed(device, verified.weights[row], target[row])
            program_row(verified, row, counts, polarity)
        errors.append(rms(verified))
    return {"open_loop_rms": rms(open_loop), "read_verify_rms": errors, "written": verified.weights}


def mapping_experiment(device: DeviceModel, crossbar: Crossbar, target: np.ndarray, seed: int) -> dict:
    """Errors with half-select disturbance, without it, and the part it causes."""
    with_disturbance = write_matrix(device, crossbar, target, seed, half_select=True)
    without = write_matrix(device, crossbar, target, seed, half_select=False)
    return {
        "open_loop_rms": with_disturbance["open_loop_rms"],
        "open_loop_rms_without_half_select": without["open_loop_rms"],
        "read_verify_rms": with_disturbance["read_verify_rms"],
        "read_verify_rms_without_half_select": without["read_verify_rms"],
        "disturbance_share_open_loop": _share(with_disturbance["open_loop_rms"], without["open_loop_rms"]),
        "disturbance_share_read_verify": _share(with_disturbance["read_verify_rms"][-1],
                                                without["read_verify_rms"][-1]),
        "written": with_disturbance["written"],
    }


def _share(total: float, without: float) -> float:
    """Fraction of the squared error that the half-select disturbance adds."""
    return float(max(total**2 - without**2, 0.0) / total**2) if total > 0 else 0.0

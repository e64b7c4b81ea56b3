"""Design maps (`filatherm train --map`): test accuracy of every algorithm versus the device's
half-select ratio k, the up/down asymmetry of k and the device-to-device spread.

    run_design_map("results/default")   # -> results/default/train/map.json, map.png

The device of a map point is synthetic (solver.crossbar.device.half_select_device): the fitted
device (write voltages, states, cycle-to-cycle noise, full-pulse response) with its response
below V_write replaced by a power law through k_P at V_write / 2, k_down = k (RESET) and
k_up = k + asymmetry (SET); the fitted device's own response there is not used, only its
ratios (k_up, k_down) at V_write / 2, which place it on the map. Points:

- k x asymmetry at crossbar.device_spread (`training.map.k`, `.asymmetry`);
- k x device_spread at asymmetry 0 (`training.map.device_spread`);
- this device: its own (k_up, k_down) at crossbar.device_spread.

Each algorithm of `training.compare` trains all points x `training.map.seeds` networks in one
batched run (`training.map.epochs` epochs; every point starts from the same initial weights
and sample orders per seed, so differences between points are the device's, not the draw's).

map.json ("format": "filatherm-training-map"): "grid" (k, asymmetry, device_spread),
"device" (k_up, k_down, and its map position k = min, asymmetry = |k_up - k_down|), and per
algorithm: "k_asymmetry" [k][asymmetry] and "k_spread" [k][device_spread] mean test
accuracies (with "_std" over seeds), "device_accuracy", "k_at_1_point_loss" (the k at which
the accuracy at asymmetry 0 first falls 1 percentage point below its value at the smallest
k, linearly interpolated; null if it never does on the grid) and
"asymmetry_at_1_point_loss" (the same along asymmetry at the smallest k). Accuracies are
fractions (0..1).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Optional

import numpy as np

from solver.config import Config
from solver.config.schema import TrainingMap
from solver.crossbar.device import DeviceModel, half_select_device, half_select_ratios
from solver.crossbar.experiments import devices_of, header
from solver.crossbar.plots import plot_design_map
from solver.crossbar.training_run import (describe_data, model_digest, network_name, prepare,
                                          remove_checkpoints, train_run)
from solver.io import write_json_atomic

LOSS_POINTS = 0.01  # "loses 1 point": one percentage point of test accuracy


@dataclass(frozen=True)
class MapPoint:
    k_up: float
    k_down: float
    device_spread: float


def map_points(grid: TrainingMap, spread: float, device_ratios: tuple[float, float]) -> list[MapPoint]:
    """k x asymmetry at `spread`, k x device_spread at asymmetry 0, then this device (no repeats)."""
    points = [MapPoint(k + a, k, spread) for k in grid.k for a in grid.asymmetry]
    points += [MapPoint(k, k, s) for k in grid.k for s in grid.device_spread]
    points.append(MapPoint(device_ratios[0], device_ratios[1], spread))
    return list(dict.fromkeys(points))


def batched_device(base: DeviceModel, points: list[MapPoint], seeds: int) -> DeviceModel:
    """One synthetic device per network (point-major, `seeds` networks per point)."""
    def per_network(values) -> np.ndarray:
        return np.repeat(np.asarray(values, dtype=float), seeds)[:, None, None, None]

    return half_select_device(base, per_network([p.k_up for p in points]), per_network([p.k_down for p in points]),
                              per_network([p.device_spread for p in points]))


def first_loss(values: Iterable[float], accuracy: Iterable[float], drop: float = LOSS_POINTS) -> Optional[float]:
    """The value at which `accuracy` first falls `drop` below accuracy[0], linearly
    interpolated between grid points; None if it never does."""
    values, accuracy = np.asarray(values, dtype=float), np.asarray(accuracy, dtype=float)
    level = accuracy[0] - drop
    for i in range(1, len(values)):
        if accuracy[i] <= level:
            fraction = (accuracy[i - 1] - level) / (accuracy[i - 1] - accuracy[i])
            return float(values[i - 1] + fraction * (values[i] - values[i - 1]))
    return None


def summarise(points: list[MapPoint], accuracy: np.ndarray, grid: TrainingMap, spread: float,
              device: MapPoint) -> dict:
    """Per-point accuracies (points, seeds) arranged as the two maps, this `device`'s, and the
    1-point losses."""
    index = {point: i for i, point in enumerate(points)}
    mean, std = accuracy.mean(axis=1), accuracy.std(axis=1)

    def table(values: np.ndarray, keys) -> list[list[float]]:
        return [[float(values[index[key]]) for key in row] for row in keys]

    k_asymmetry = [[MapPoint(k + a, k, spread) for a in grid.asymmetry] for k in grid.k]
    k_spread = [[MapPoint(k, k, s) for s in grid.device_spread] for k in grid.k]
    along_k = [mean[index[MapPoint(k, k, spread)]] for k in grid.k]
    along_asymmetry = [mean[index[MapPoint(grid.k[0] + a, grid.k[0], spread)]] for a in grid.asymmetry]
    return {
        "k_asymmetry": table(mean, k_asymmetry), "k_asymmetry_std": table(std, k_asymmetry),
        "k_spread": table(mean, k_spread), "k_spread_std": table(std, k_spread),
        "device_accuracy": float(mean[index[device]]), "device_accuracy_std": float(std[index[device]]),
        "k_at_1_point_loss": first_loss(grid.k, along_k),
        "asymmetry_at_1_point_loss": first_loss(grid.asymmetry, along_asymmetry),
    }


def run_design_map(results: str | Path, output: Optional[str | Path] = None,
                   overrides: Iterable[str] = (), force: bool = False,
                   say: Callable[[str], None] = print, config: Optional[Config] = None) -> list[Path]:
    """Train every algorithm of training.compare over the map; write map.json and map.png."""
    inputs, out, data = prepare(results, output, overrides, force, config, "map.json")
    training, crossbar = inputs.config.training, inputs.config.crossbar
    grid = training.map
    fitted = devices_of(inputs)["fitted"]
    k_up, k_down = half_select_ratios(fitted)
    points = map_points(grid, crossbar.device_spread, (k_up, k_down))
    this_device = MapPoint(k_up, k_down, crossbar.device_spread)
    run_training = training.model_copy(update={"epochs": grid.epochs, "seeds": grid.seeds})
    device = batched_device(fitted, points, grid.seeds)
    point_identity = {"model": model_digest(inputs), "points": [[p.k_up, p.k_down, p.device_spread] for p in points]}
    say(f"train --map: {network_name(data, training)}, {len(points)} devices x {grid.seeds} seeds, "
        f"{grid.epochs} epochs, per algorithm; this device: k_up = {k_up:.3g}, k_down = {k_down:.3g}")
    algorithms: dict[str, dict] = {}
    for algorithm in training.compare:
        started = time.perf_counter()
        result = train_run(out, "map", algorithm.name, data, run_training, crossbar, device, point_identity, say,
                           algorithm, points=len(points))
        final = result.test_accuracy[-1].reshape(len(points), grid.seeds)
        found = summarise(points, final, grid, crossbar.device_spread, this_device)
        found["wall_time_s"] = time.perf_counter() - started
        algorithms[algorithm.name] = found
        loss = found["k_at_1_point_loss"]
        say(f"  {algorithm.name}: {100 * found['k_asymmetry'][0][0]:.1f} % at k = {grid.k[0]:g}, loses 1 point "
            + (f"at k = {loss:.3g}" if loss is not None else f"nowhere up to k = {grid.k[-1]:g}")
            + f"; this device {100 * found['device_accuracy']:.1f} %")
    data_out = {
        **header("training-map", inputs) | {"format": "filatherm-training-map"},
        "training": run_training.model_dump(mode="json"),
        "data": describe_data(data),
        "grid": {"k": list(grid.k), "asymmetry": list(grid.asymmetry), "device_spread": list(grid.device_spread),
                 "device_spread_of_k_asymmetry": crossbar.device_spread},
        "device": {"k_up": k_up, "k_down": k_down, "k": min(k_up, k_down), "asymmetry": abs(k_up - k_down),
                   "device_spread": crossbar.device_spread},
        "algorithms": algorithms,
    }
    files = [write_json_atomic(out / "map.json", data_out),
             plot_design_map(out / "map.png", data_out, network_name(data, training))]
    remove_checkpoints(out, "map")
    say(f"design map written to {out}")
    return files

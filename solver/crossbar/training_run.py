"""`train`: the MLP in floating point, on the fitted device and on the linear reference.

    run_training("results/default")   # -> results/default/train/

writes training.json ("format": "filatherm-training", "version": 1, "source", the "training"
and "crossbar" config used; per device: "test_accuracy" [epoch 0..E][seed], "train_loss"
[epoch 1..E][seed], "final_mean" and "final_std" of the test accuracy over seeds, and
"wall_time_s"), and training.png (test accuracy vs epoch, mean and min-max band).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Iterable, Optional

import numpy as np

from solver.config import Config
from solver.crossbar.experiments import describe, devices_of, header
from solver.crossbar.inputs import load_inputs
from solver.crossbar.plots import plot_training
from solver.crossbar.training import load_digits_split, train_mlp
from solver.errors import InputError
from solver.io import write_json_atomic


def run_training(results: str | Path, output: Optional[str | Path] = None,
                 overrides: Iterable[str] = (), force: bool = False,
                 say: Callable[[str], None] = print,
                 config: Optional[Config] = None) -> list[Path]:
    """Train on every device and write RESULTS_DIR/train/ (or under output). A `config`
    (the one a pipeline runs) supplies the crossbar and training sections."""
    inputs = load_inputs(results, output, overrides, config)
    out = inputs.root / "train"
    if (out / "training.json").exists() and not force:
        raise InputError(f"{out / 'training.json'}: exists; use --force to overwrite it")
    training, crossbar = inputs.config.training, inputs.config.crossbar
    data = load_digits_split(training.test_fraction)
    devices = {"float": None, **devices_of(inputs)}
    say(f"train: MLP 64-{training.hidden}-10 on digits ({len(data.y_train)} train / "
        f"{len(data.y_test)} test), {training.epochs} epochs, {training.seeds} seeds per device")
    runs: dict[str, dict] = {}
    curves: dict[str, np.ndarray] = {}
    for name, device in devices.items():
        started = time.perf_counter()

        def progress(epoch: int, accuracy: np.ndarray, name: str = name) -> None:
            if epoch:
                say(f"  {name}: epoch {epoch}/{training.epochs}, test accuracy "
                    f"{100 * accuracy.mean():.1f} +/- {100 * accuracy.std():.1f} %")

        result = train_mlp(data, training, crossbar, device, crossbar.seed, progress)
        final = result.test_accuracy[-1]
        curves[name] = result.test_accuracy
        runs[name] = {
            "test_accuracy": result.test_accuracy.tolist(),
            "train_loss": result.train_loss.tolist(),
            "final_mean": float(final.mean()),
            "final_std": float(final.std()),
            "wall_time_s": time.perf_counter() - started,
            **({"device": describe(device, crossbar)} if device is not None else {}),
        }
    gap = 100 * (runs["float"]["final_mean"] - runs["fitted"]["final_mean"])
    say(f"  fitted device: {gap:.1f} percentage points below floating point")
    files = [
        write_json_atomic(out / "training.json", {
            **header("training", inputs) | {"format": "filatherm-training"},
            "training": training.model_dump(mode="json"),
            "devices": runs,
            "gap_fitted_to_float_points": gap,
        }),
        plot_training(out / "training.png", curves),
    ]
    say(f"training results written to {out}")
    return files

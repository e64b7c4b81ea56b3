"""`train`: the MLP in floating point and on crossbars, as functions.

    run_training("results/default")     # -> results/default/train/training.json, training.png
    run_comparison("results/default")   # -> results/default/train/compare.json, compare.png

run_training trains with `training.algorithm` on the fitted device and on the linear
reference, and in floating point. It writes training.json ("format": "filatherm-training",
"version": 1, "source", the "training" and "crossbar" config used, "data" (name, samples,
features, classes); per device: "test_accuracy" [epoch 0..E][seed], "train_loss"
[epoch 1..E][seed], "final_mean" and "final_std" of the test accuracy over seeds, and
"wall_time_s"; "gap_fitted_to_float_points") and training.png (test accuracy vs epoch, mean
and min-max band).

run_comparison trains the fitted device with every algorithm of `training.compare`, and
floating point: compare.json ("format": "filatherm-training-compare", "runs" as above, keyed
"float" and by algorithm name, "algorithms" (their parameters), "gap_to_float_points" per
algorithm, "best" and "gap_best_to_float_points") and compare.png.

Runs continue after a kill: every run saves its state after each epoch under
train/.state/ (solver.crossbar.checkpoint), and a rerun with the same settings picks up at the
last finished epoch; the state files are removed once the JSON is written.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Callable, Iterable, Optional

import numpy as np

from solver.config import Config
from solver.config.schema import Crossbar, Training
from solver.crossbar.checkpoint import STATE_DIR, Checkpoint, identity
from solver.crossbar.datasets import Dataset, load_dataset
from solver.crossbar.device import DeviceModel
from solver.crossbar.experiments import describe, devices_of, header
from solver.crossbar.inputs import Inputs, load_inputs
from solver.crossbar.optimizers import AlgorithmConfig
from solver.crossbar.plots import plot_comparison, plot_training
from solver.crossbar.training import TrainingCurves, train_mlp
from solver.errors import InputError
from solver.io import write_json_atomic

Say = Callable[[str], None]


def prepare(results: str | Path, output: Optional[str | Path], overrides: Iterable[str], force: bool,
            config: Optional[Config], product: str) -> tuple[Inputs, Path, Dataset]:
    """Inputs, the train/ directory (refusing to overwrite `product` without force), the data."""
    inputs = load_inputs(results, output, overrides, config)
    out = inputs.root / "train"
    if (out / product).exists() and not force:
        raise InputError(f"{out / product}: exists; use --force to overwrite it")
    training = inputs.config.training
    return inputs, out, load_dataset(training.data, training.test_fraction)


def model_digest(inputs: Inputs) -> str:
    """A checkpoint of a device run belongs to one compact model file."""
    return hashlib.sha256(inputs.model_path.read_bytes()).hexdigest()[:16]


def describe_data(data: Dataset) -> dict:
    return {"name": data.name, "train_samples": int(len(data.y_train)), "test_samples": int(len(data.y_test)),
            "features": data.features, "classes": data.classes}


def network_name(data: Dataset, training: Training) -> str:
    return f"MLP {data.features}-{training.hidden}-{data.classes} on {data.name}"


def train_run(out: Path, kind: str, name: str, data: Dataset, training: Training, crossbar: Crossbar,
              device: Optional[DeviceModel], device_identity, say: Say,
              algorithm: Optional[AlgorithmConfig] = None, points: int = 1) -> TrainingCurves:
    """One run with a per-epoch checkpoint in out/.state/ (continued if one of this run is there)."""
    run_identity = identity(kind=kind, name=name, data=data.fingerprint(), seed=crossbar.seed, points=points,
                            training=training.model_dump(mode="json"), crossbar=crossbar.model_dump(mode="json"),
                            algorithm=None if device is None else (algorithm or training.algorithm).model_dump(),
                            device=device_identity)
    checkpoint = Checkpoint(out / STATE_DIR / f"{kind}-{name}.npz", run_identity)
    done = checkpoint.epochs_done()
    if done:
        say(f"  {name}: continuing after epoch {done}/{training.epochs} ({checkpoint.path})")

    over = f" (mean over {points} devices x {training.seeds} seeds)" if points > 1 else ""

    def progress(epoch: int, accuracy: np.ndarray) -> None:
        if epoch:
            say(f"  {name}: epoch {epoch}/{training.epochs}, test accuracy "
                f"{100 * accuracy.mean():.1f} +/- {100 * accuracy.std():.1f} %{over}")

    return train_mlp(data, training, crossbar, device, crossbar.seed, progress, algorithm, points, checkpoint)


def summary(result: TrainingCurves, started: float) -> dict:
    final = result.test_accuracy[-1]
    return {"test_accuracy": result.test_accuracy.tolist(), "train_loss": result.train_loss.tolist(),
            "final_mean": float(final.mean()), "final_std": float(final.std()),
            "wall_time_s": time.perf_counter() - started}


def relative_to_float(gap: float) -> str:
    return f"{abs(gap):.1f} percentage points {'below' if gap >= 0 else 'above'} floating point"


def remove_checkpoints(out: Path, kind: str) -> None:
    """Drop the checkpoints of `kind` once its results are written (and the directory if empty)."""
    state = out / STATE_DIR
    for path in state.glob(f"{kind}-*.npz"):
        path.unlink(missing_ok=True)
    if state.is_dir() and not any(state.iterdir()):
        state.rmdir()


def run_training(results: str | Path, output: Optional[str | Path] = None,
                 overrides: Iterable[str] = (), force: bool = False,
                 say: Say = print, config: Optional[Config] = None) -> list[Path]:
    """Train with training.algorithm on every device and write RESULTS_DIR/train/ (or under
    output). A `config` (the one a pipeline runs) supplies the crossbar and training sections."""
    inputs, out, data = prepare(results, output, overrides, force, config, "training.json")
    training, crossbar = inputs.config.training, inputs.config.crossbar
    devices = {"float": None, **devices_of(inputs)}
    say(f"train: {network_name(data, training)} ({len(data.y_train)} train / {len(data.y_test)} test), "
        f"{training.algorithm.name}, {training.epochs} epochs, {training.seeds} seeds per device")
    runs: dict[str, dict] = {}
    curves: dict[str, np.ndarray] = {}
    for name, device in devices.items():
        started = time.perf_counter()
        described = describe(device, crossbar) if device is not None else None
        result = train_run(out, "devices", name, data, training, crossbar, device,
                           {"model": model_digest(inputs), "device": described}, say)
        curves[name] = result.test_accuracy
        runs[name] = summary(result, started) | ({"device": described} if described else {})
    gap = 100 * (runs["float"]["final_mean"] - runs["fitted"]["final_mean"])
    say(f"  fitted device: {relative_to_float(gap)}")
    files = [
        write_json_atomic(out / "training.json", {
            **header("training", inputs) | {"format": "filatherm-training"},
            "training": training.model_dump(mode="json"),
            "data": describe_data(data),
            "devices": runs,
            "gap_fitted_to_float_points": gap,
        }),
        plot_training(out / "training.png", curves,
                      f"{network_name(data, training)}, {training.algorithm.name}"),
    ]
    remove_checkpoints(out, "devices")
    say(f"training results written to {out}")
    return files


def run_comparison(results: str | Path, output: Optional[str | Path] = None,
                   overrides: Iterable[str] = (), force: bool = False,
                   say: Say = print, config: Optional[Config] = None) -> list[Path]:
    """Train the fitted device with every algorithm of training.compare (and floating point);
    write compare.json and compare.png."""
    inputs, out, data = prepare(results, output, overrides, force, config, "compare.json")
    training, crossbar = inputs.config.training, inputs.config.crossbar
    fitted = devices_of(inputs)["fitted"]
    described = describe(fitted, crossbar)
    say(f"train --compare: {network_name(data, training)}, fitted device, "
        f"{', '.join(a.name for a in training.compare)}; {training.epochs} epochs, {training.seeds} seeds each")
    runs: dict[str, dict] = {}
    curves: dict[str, np.ndarray] = {}
    for algorithm in (None, *training.compare):
        name = "float" if algorithm is None else algorithm.name
        started = time.perf_counter()
        result = train_run(out, "compare", name, data, training, crossbar, None if algorithm is None else fitted,
                           {"model": model_digest(inputs), "device": described}, say, algorithm)
        curves[name] = result.test_accuracy
        runs[name] = summary(result, started)
    gaps = {a.name: 100 * (runs["float"]["final_mean"] - runs[a.name]["final_mean"]) for a in training.compare}
    best = min(gaps, key=gaps.get)
    for name, gap in gaps.items():
        say(f"  {name}: {100 * runs[name]['final_mean']:.1f} +/- {100 * runs[name]['final_std']:.1f} %, "
            f"{relative_to_float(gap)}")
    files = [
        write_json_atomic(out / "compare.json", {
            **header("training-compare", inputs) | {"format": "filatherm-training-compare"},
            "training": training.model_dump(mode="json"),
            "data": describe_data(data),
            "device": described,
            "algorithms": {a.name: a.model_dump(mode="json") for a in training.compare},
            "runs": runs,
            "gap_to_float_points": gaps,
            "best": best,
            "gap_best_to_float_points": gaps[best],
        }),
        plot_comparison(out / "compare.png", curves, f"{network_name(data, training)}, fitted device"),
    ]
    remove_checkpoints(out, "compare")
    say(f"  best: {best}, {relative_to_float(gaps[best])}")
    say(f"comparison written to {out}")
    return files

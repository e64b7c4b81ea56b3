"""Figures of the crossbar experiments and of training (PNG, written atomically).

One colour per device (DEVICE_COLOURS, the same as the report uses) and per training algorithm
(ALGORITHM_COLOURS) throughout.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np

from solver.io import atomic_path

DEVICE_COLOURS = {"float": "black", "fitted": "tab:blue", "linear": "tab:red",
                  "fitted, no half-select": "tab:green"}
ALGORITHM_COLOURS = {"float": "black", "sgd": "tab:blue", "tiki_taka": "tab:orange",
                     "chopped_tiki_taka": "tab:green", "mixed_precision": "tab:purple"}


@contextmanager
def _figure(path: str | Path, *args, **kwargs) -> Iterator:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(*args, constrained_layout=True, **kwargs)
    yield fig, axes
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)


def plot_disturbance(path: str | Path, curves: dict[str, dict[str, dict]], scheme: str) -> Path:
    """Max (solid) and mean (dashed) |dw| of half-selected devices vs pulse count."""
    with _figure(path, 1, 2, figsize=(11, 4.2), sharey=True) as (_, axes):
        for ax, polarity in zip(axes, ("positive", "negative")):
            for device, by_polarity in curves.items():
                curve = by_polarity[polarity]
                colour = DEVICE_COLOURS[device]
                floor = 1e-18  # log axis: an untouched device sits at the floor
                ax.loglog(curve["pulses"], np.maximum(curve["max_half_selected"], floor), "-o", ms=3,
                          color=colour, label=f"{device}: max")
                ax.loglog(curve["pulses"], np.maximum(curve["mean_half_selected"], floor), "--",
                          color=colour, label=f"{device}: mean")
            ax.axhline(0.01, color="0.4", lw=0.8, ls=":", label="1% of range")
            ax.set_title(f"{polarity} write pulses, half-selected devices ({scheme})")
            ax.set_xlabel("disturb pulses on the shared row and column")
            ax.grid(alpha=0.3, which="both")
        axes[0].set_ylabel("|w - w0| / (w_max - w_min)")
        axes[0].legend(fontsize=8)
    return Path(path)


def plot_mapping(path: str | Path, targets: dict[str, np.ndarray],
                 results: dict[str, dict[str, dict]]) -> Path:
    """Per target: the target and, per device, the matrix written with read-verify."""
    devices = list(results)
    with _figure(path, len(targets), 1 + len(devices), figsize=(3.2 * (1 + len(devices)), 3.2 * len(targets)),
                 squeeze=False) as (fig, axes):
        for row, (name, target) in enumerate(targets.items()):
            panels = [("target: " + name, target)] + [
                (f"{device}: RMS {results[device][name]['read_verify_rms'][-1]:.2%}",
                 results[device][name]["written"]) for device in devices]
            for ax, (title, matrix) in zip(axes[row], panels):
                image = ax.imshow(matrix, vmin=-1, vmax=1, cmap="coolwarm")
                ax.set_title(title, fontsize=9)
                ax.set_xticks([])
                ax.set_yticks([])
        fig.colorbar(image, ax=axes, shrink=0.8, label="weight w")
    return Path(path)


def plot_fidelity(path: str | Path, results: dict[str, dict], dw_min: float) -> Path:
    """Realised vs ideal change of one parallel update, in units of dw_min."""
    with _figure(path, 1, len(results), figsize=(4.2 * len(results), 4.0), squeeze=False) as (_, axes):
        for ax, (device, result) in zip(axes[0], results.items()):
            ideal, realised = result["samples"]
            ax.plot(ideal / dw_min, realised / dw_min, ".", ms=2, alpha=0.4,
                    color=DEVICE_COLOURS.get(device, "tab:gray"))
            limit = max(np.abs(ideal).max(), 1e-30) / dw_min
            ax.plot([-limit, limit], [-limit, limit], "k-", lw=0.8, label="ideal")
            correlation = result["correlation"]
            label = "n/a" if correlation is None else f"{correlation:.3f}"
            ax.set_title(f"{device}: correlation {label}", fontsize=10)
            ax.set_xlabel("ideal change lr x_i d_j / dw_min")
            ax.grid(alpha=0.3)
        axes[0][0].set_ylabel("realised change / dw_min")
        axes[0][0].legend(fontsize=8)
    return Path(path)


def plot_training(path: str | Path, curves: dict[str, np.ndarray], title: str) -> Path:
    """Test accuracy vs epoch, mean and min-max band over seeds, per device."""
    with _figure(path, 1, 1, figsize=(6.5, 4.2)) as (_, ax):
        for device, accuracy in curves.items():
            _curve(ax, accuracy, DEVICE_COLOURS.get(device, "tab:gray"), device)
        ax.set_title(title, fontsize=10)
    return Path(path)


def plot_comparison(path: str | Path, curves: dict[str, np.ndarray], title: str) -> Path:
    """Test accuracy vs epoch per algorithm (and floating point), mean and min-max band."""
    with _figure(path, 1, 1, figsize=(6.5, 4.2)) as (_, ax):
        for name, accuracy in curves.items():
            final = 100 * accuracy[-1]
            _curve(ax, accuracy, ALGORITHM_COLOURS.get(name, "tab:gray"),
                   f"{name}: {final.mean():.1f} +/- {final.std():.1f} %")
        ax.set_title(title, fontsize=10)
    return Path(path)


def _curve(ax, accuracy: np.ndarray, colour: str, label: str) -> None:
    epochs = np.arange(accuracy.shape[0])
    ax.plot(epochs, 100 * accuracy.mean(axis=1), "-o", ms=3, color=colour, label=label)
    ax.fill_between(epochs, 100 * accuracy.min(axis=1), 100 * accuracy.max(axis=1), color=colour, alpha=0.15)
    ax.set_xlabel("epoch")
    ax.set_xticks(epochs)
    ax.set_ylabel("test accuracy [%]")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="center right")


def plot_design_map(path: str | Path, data: dict, title: str) -> Path:
    """Per algorithm (rows): test accuracy over k x asymmetry and over k x device spread, the
    grid values as cell labels, this device marked with a star where it sits on each map."""
    grid, device, algorithms = data["grid"], data["device"], data["algorithms"]
    k = np.array(grid["k"])
    with _figure(path, len(algorithms), 2, figsize=(11, 3.3 * len(algorithms) + 0.6), squeeze=False) as (fig, axes):
        for row, (name, found) in enumerate(algorithms.items()):
            panels = (
                ("k_asymmetry", "asymmetry", np.array(grid["asymmetry"]), device["asymmetry"],
                 "k_up - k_down", f"at device spread {grid['device_spread_of_k_asymmetry']:g}"),
                ("k_spread", "device_spread", np.array(grid["device_spread"]), device["device_spread"],
                 "device-to-device sigma", "at k_up = k_down"),
            )
            for ax, (key, _, second, device_value, label, condition) in zip(axes[row], panels):
                values = 100 * np.array(found[key])  # [k][second]
                image = ax.imshow(values.T, origin="lower", aspect="auto", cmap="viridis", vmin=0, vmax=100)
                for (i, j), value in np.ndenumerate(values):
                    ax.text(i, j + 0.3, f"{value:.0f}", ha="center", va="center", fontsize=7,
                            color="white" if value < 60 else "black")
                ax.set_xticks(range(len(k)), [f"{v:g}" for v in k], fontsize=8)
                ax.set_yticks(range(len(second)), [f"{v:g}" for v in second], fontsize=8)
                ax.set_xlabel("half-select ratio k = dw(V/2) / dw(V)")
                ax.set_ylabel(label)
                x = np.interp(device["k"], k, np.arange(len(k)))
                y = np.interp(device_value, second, np.arange(len(second)))
                ax.plot(x, y, marker="*", ms=14, color="red", mec="white", linestyle="none")
                loss = found["k_at_1_point_loss"]
                loss_text = f"-1 point at k = {loss:.3g}" if loss is not None else "no 1-point loss on the grid"
                ax.set_title(f"{name}, {condition}" + (f"; {loss_text}" if key == "k_asymmetry" else "")
                             + f"\nred star: this device (k {device['k']:.2g}), "
                             f"{100 * found['device_accuracy']:.1f} %", fontsize=9)
        fig.colorbar(image, ax=axes, shrink=0.6, label="test accuracy [%]")
        fig.suptitle(f"{title}: design map (k_down = k, k_up = k + asymmetry)", fontsize=10)
    return Path(path)

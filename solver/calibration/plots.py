"""residuals.png of a calibration: each kind of measurement against the calibrated cell's
prediction (and the start's), and every normalised residual (predicted - measured) / sigma.

tornado.png of a sensitivity study: per headline figure, the relative change of the figure
when each parameter is multiplied by exp(-h) and exp(+h), the largest first.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from solver.io import atomic_path

AXIS = {  # kind -> (x label, y label)
    "conductance": ("read voltage [V]", "conductance [µS]"),
    "iv": ("voltage [V]", "current [µA]"),
    "switching": ("", "switching amplitude [V]"),
    "temperature": ("voltage [V]", "temperature [K]"),
    "thermal_resistance": ("voltage [V]", "thermal resistance [K/W]"),
    "pulse_trains": ("pulse number", "conductance [µS]"),
}
SCALE = {"conductance": 1e6, "iv": 1e6, "pulse_trains": 1e6}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_residuals(path: str | Path, entries: list[dict], state_unit: str = "") -> Path:
    """entries: one per observable: kind, state, abscissa, measured, sigma, predicted, initial
    (arrays), labels."""
    plt = _pyplot()
    kinds = list(dict.fromkeys(entry["kind"] for entry in entries))
    fig, axes = plt.subplots(1, len(kinds) + 1, figsize=(4.3 * (len(kinds) + 1), 4.0), constrained_layout=True)
    axes = np.atleast_1d(axes)
    for ax, kind in zip(axes, kinds):
        mine = [e for e in entries if e["kind"] == kind]
        scale = SCALE.get(kind, 1.0)
        by_state = kind == "conductance" and all(e["state"] is not None for e in mine) \
            and len({e["state"] for e in mine}) > 1
        by_row = kind == "switching"  # one amplitude per row: side by side, labelled
        for i, entry in enumerate(mine):
            if by_row:
                x = np.array([float(i)])
            elif by_state:
                x = np.full(len(entry["measured"]), entry["state"])
            else:
                x = np.asarray(entry["abscissa"])
            color = f"C{i % 10}" if kind in ("pulse_trains",) else "C0"
            ax.errorbar(x, scale * np.asarray(entry["measured"]), yerr=scale * np.asarray(entry["sigma"]),
                        fmt="o", ms=4, color=color, capsize=2, label="measured" if i == 0 else None)
            style = "-" if kind in ("pulse_trains", "iv") and len(x) > 1 else ""  # curves as lines
            ax.plot(x, scale * np.asarray(entry["initial"]), "s" + style, ms=4, mfc="none", color="0.55",
                    lw=0.8, label="start" if i == 0 else None)
            ax.plot(x, scale * np.asarray(entry["predicted"]), "x" + style, ms=7, mew=1.6, color="C3",
                    lw=0.8, label="calibrated" if i == 0 else None)
        xlabel, ylabel = AXIS[kind]
        if by_state:
            from matplotlib.ticker import NullFormatter

            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(NullFormatter())
            xlabel = f"state [{state_unit}]"
        elif by_row:
            ax.set_xticks(range(len(mine)))
            ax.set_xticklabels([e["labels"][0] for e in mine], rotation=20, ha="right", fontsize=7)
            ax.set_xlim(-0.5, len(mine) - 0.5)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(kind.replace("_", " "))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    ax = axes[-1]
    normalised = np.concatenate([(np.asarray(e["predicted"]) - np.asarray(e["measured"])) / np.asarray(e["sigma"])
                                 for e in entries])
    start = np.concatenate([(np.asarray(e["initial"]) - np.asarray(e["measured"])) / np.asarray(e["sigma"])
                            for e in entries])
    index = np.arange(len(normalised))
    limit = max(3.0, float(np.nanmax(np.abs(normalised))) * 1.2 if np.any(np.isfinite(normalised)) else 3.0)
    ax.axhspan(-2, 2, color="0.9", label="±2")
    ax.axhspan(-1, 1, color="0.8", label="±1")
    ax.plot(index, np.clip(start, -limit, limit), "s", ms=4, mfc="none", color="0.55",
            label="start (clipped to the axis)")
    ax.plot(index, normalised, "o", ms=5, color="C3", label="calibrated")
    labels = [label for e in entries for label in e["labels"]]
    if len(labels) <= 16:
        ax.set_xticks(index)
        ax.set_xticklabels(labels, rotation=70, ha="right", fontsize=7)
    else:
        ax.set_xlabel("measured value (in file order)")
    ax.set_ylim(-limit, limit)
    ax.set_ylabel("(predicted − measured) / uncertainty")
    ax.set_title("normalised residuals")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=130, format="png")
    plt.close(fig)
    return Path(path)


def plot_tornado(path: str | Path, figures: dict[str, dict], rows: list[dict], step: float, shown: int = 10) -> Path:
    """figures: name -> {"value", "unit"} at the base point; rows: per parameter {"label",
    "changes": {figure: (relative change at exp(-h), at exp(+h))}}."""
    plt = _pyplot()
    names = [name for name, entry in figures.items() if entry.get("value") is not None]
    columns = min(3, max(1, len(names)))
    lines = -(-len(names) // columns)
    fig, axes = plt.subplots(lines, columns, figsize=(5.2 * columns, 0.32 * shown * lines + 1.6 * lines),
                             constrained_layout=True, squeeze=False)
    for ax, name in zip(axes.flat, names):
        changes = [(row["label"], *row["changes"][name]) for row in rows
                   if name in row["changes"] and all(np.isfinite(row["changes"][name]))]
        changes.sort(key=lambda item: max(abs(item[1]), abs(item[2])), reverse=True)
        changes = changes[:shown][::-1]
        y = np.arange(len(changes))
        ax.barh(y, [100 * c[1] for c in changes], color="C0", label=f"× e^−{step:g}")
        ax.barh(y, [100 * c[2] for c in changes], color="C3", alpha=0.8, label=f"× e^+{step:g}")
        ax.set_yticks(y)
        ax.set_yticklabels([c[0] for c in changes], fontsize=7)
        ax.axvline(0, color="k", lw=0.8)
        value, unit = figures[name]["value"], figures[name]["unit"]
        ax.set_title(f"{name} = {value:.4g}" + ("" if unit in ("1", "") else f" {unit}"), fontsize=9)
        ax.set_xlabel("change of the figure [%]")
        ax.grid(alpha=0.3, axis="x")
        ax.legend(fontsize=7, loc="lower right")
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)
    return Path(path)

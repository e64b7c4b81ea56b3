"""Figures of `spice-array` (PNG, written atomically)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from solver.crossbar.plots import _figure

SCHEME_LABELS = {"v_half": "V/2 (all gates on)", "gate_coincidence": "gate coincidence"}


def plot_update(path: str | Path, report: dict) -> Path:
    """dG with ideal lines, dG with line resistance, and the IR-drop loss per cell."""
    array = report["array"]
    scale = (array["conductance_window_S"][1] - array["conductance_window_S"][0]) / 2.0 * 1e6  # uS per dw
    ideal = np.array(report["update_dw_ideal_lines"]) * scale
    real = np.array(report["update_dw"]) * scale
    with np.errstate(divide="ignore", invalid="ignore"):
        loss = np.where(np.abs(ideal) > 1e-3 * np.abs(ideal).max(), 1.0 - real / ideal, np.nan)
    limit = float(np.abs(ideal).max()) or 1.0
    with _figure(path, 1, 3, figsize=(13, 4.2)) as (fig, axes):
        for ax, data, title in ((axes[0], ideal, "dG, ideal lines [uS]"),
                                (axes[1], real, f"dG, R_line = {array['line_resistance_ohm']:g} Ohm [uS]")):
            image = ax.imshow(data, cmap="RdBu_r", vmin=-limit, vmax=limit)
            ax.set_title(title)
            fig.colorbar(image, ax=ax, shrink=0.85)
        image = axes[2].imshow(loss * 100.0, cmap="viridis")
        axes[2].set_title("IR-drop loss 1 - dG/dG_ideal [%]")
        fig.colorbar(image, ax=axes[2], shrink=0.85)
        from matplotlib.ticker import MaxNLocator

        for ax in axes:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_xlabel("column (driven from below)")
            ax.set_ylabel("row (driven from the left)")
        fig.suptitle(f"ngspice, {array['rows']}x{array['cols']} {array['cell']}, {array['scheme']}, "
                     f"BL = {array['pulse_train_length']}")
    return Path(path)


def plot_ir_drop(path: str | Path, sweep: dict) -> Path:
    """Update error vs array size, one line per line resistance, one panel per scheme."""
    sizes = sweep["sizes"]
    with _figure(path, 1, 2, figsize=(11, 4.2), sharey=True) as (_, axes):
        for ax, (scheme, data) in zip(axes, sweep["schemes"].items()):
            errors = np.array(data["update_error"])  # (sizes, resistances)
            for k, R in enumerate(sweep["resistances_ohm"]):
                ax.plot(sizes, 100.0 * errors[:, k], "o-", label=f"R = {R:g} Ohm/segment")
            ax.set_xscale("log", base=2)
            ax.set_xticks(sizes, [str(n) for n in sizes])
            ax.set_xlabel("lines per side N (N x N array)")
            ax.set_title(f"{sweep['cell']}, {SCHEME_LABELS.get(scheme, scheme)}")
            ax.grid(alpha=0.3)
        axes[0].set_ylabel("update error |dW - dW_ideal| / |dW_ideal| [%]")
        axes[0].legend()
    return Path(path)

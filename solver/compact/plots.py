"""compact_model.png: T_probe and switching rate vs device voltage, both polarities.

FEM points as markers, the fitted law as a line; V_write, V_write/2 and V_write/3 of each
polarity marked. The rate axis is logarithmic.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from solver.compact.model import CompactModel
from solver.io import atomic_path

MARKS = ((1.0, "V_write", "-"), (2.0, "V_write/2", "--"), (3.0, "V_write/3", ":"))


def plot_compact_model(path: str | Path, model: CompactModel) -> Path:
    """Write the figure atomically as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = model.table
    voltage = np.array(table.voltage)
    v_max = max(abs(voltage.min()), voltage.max())
    merit = model.document.figures_of_merit
    written = [v for v in (merit.V_write.positive, merit.V_write.negative) if v is not None]
    v_max = max([v_max] + [abs(v) for v in written])
    polarities = model.branches.polarities  # a one-polarity fit is drawn on its own side only
    line = np.linspace(-v_max if "negative" in polarities else 0.0, v_max if "positive" in polarities else 0.0, 801)

    fig, (ax_T, ax_rate) = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    ax_T.plot(voltage, table.T_probe, "o", ms=3.5, color="C0", label="FEM")
    ax_T.plot(line, model.temperature(line), "-", color="C1", label="compact law")
    ax_T.set_xlabel("device voltage V [V]")
    ax_T.set_ylabel(f"T at probe '{model.kinetics.probe}' [K]")
    ax_T.set_title("Probe temperature")

    rate = np.array(table.rate)
    shown = rate > 0
    ax_rate.semilogy(voltage[shown], rate[shown], "o", ms=3.5, color="C0", label="FEM")
    with np.errstate(divide="ignore"):
        law = model.rate(line)
    ax_rate.semilogy(line[law > 0], law[law > 0], "-", color="C1", label="compact law")
    ax_rate.axhline(merit.target_delta / model.kinetics.pulse_width, color="0.5", lw=0.8,
                    label=f"target: delta = {merit.target_delta:g} per {model.kinetics.pulse_width:g} s")
    ax_rate.set_xlabel("device voltage V [V]")
    ax_rate.set_ylabel(f"switching rate ({model.kinetics.law}) [1/s]")
    ax_rate.set_title("Switching rate")

    for v_write in written:
        for divisor, name, style in MARKS:
            for ax in (ax_T, ax_rate):
                ax.axvline(v_write / divisor, color="C3", ls=style, lw=0.9,
                           label=name if v_write == written[0] else None)
    for ax in (ax_T, ax_rate):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper center")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=130, format="png")
    plt.close(fig)
    return Path(path)

"""crosstalk.png: neighbour heating and rate increase of a half-selected cell versus pitch, the
disturbance they add, and the probe temperatures of the tile at the densest pitch."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from solver.io import atomic_path

CASE_STYLE = {"row": ("tab:red", "a selected row next to it"), "column": ("tab:orange", "a selected column next to it"),
              "one_cell": ("tab:blue", "one selected cell next to it"), "all_half": ("tab:green", "every cell at V/2")}
SCHEME_LABEL = {"v_half": "V/2", "v_third": "V/3"}


def _pitch_axis(ax, pitches, unit: str) -> None:
    """A log pitch axis labelled at the solved pitches only."""
    from matplotlib.ticker import NullFormatter

    ax.set_xscale("log")
    ax.set_xticks(pitches)
    ax.set_xticklabels([f"{v:g}" for v in pitches])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(f"pitch [{unit}]")


def plot_crosstalk(path: Path, data: dict) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pitches = [p for p in data["pitches"] if "half_selected" in p]
    unit = data["tile"]["units"]
    half = SCHEME_LABEL[data["scheme"]]
    fig, axes = plt.subplots(2, 2, figsize=(11, 8.5), constrained_layout=True)
    heat_ax, rate_ax, disturb_ax, map_ax = axes.ravel()
    x = np.array([p["pitch"] for p in pitches])
    for case, (colour, label) in CASE_STYLE.items():
        points = [(p["pitch"], p["half_selected"].get(case)) for p in pitches]
        if all(h is None for _, h in points):
            continue

        def values(key: str) -> list[float]:  # NaN where the case did not solve: a gap in the line
            return [h[key] if h is not None else np.nan for _, h in points]

        heat_ax.plot(x, values("neighbour_heating"), "-o", color=colour, label=label.replace("V/2", half))
        rate_ax.semilogy(x, values("rate_increase"), "-o", color=colour)  # colours: left
        if case == "row":
            rate_ax.semilogy(x, values("rate_increase_tile"), ":", color=colour,
                             label="selected row next to it: the heat alone\non the tile cell's own T (no feedback)")
            for pitch, h in points:
                if h is not None:
                    rate_ax.annotate(f"x{h['rate_increase']:.3g}", (pitch, h["rate_increase"]),
                                     textcoords="offset points", xytext=(6, -12), fontsize=9, color=colour)
    for ax in (heat_ax, rate_ax):
        _pitch_axis(ax, x, unit)
        ax.grid(alpha=0.3, which="both")
    heat_ax.legend(fontsize=8, title=f"half-selected cell at {half}, with", title_fontsize=8, loc="upper right")
    rate_ax.legend(fontsize=8, loc="upper right")
    heat_ax.set_ylabel("heating from the neighbours, probe T [K]")
    heat_ax.set_title(f"{data['source']['config_name']}: {data['tile']['rows']}x{data['tile']['cols']} tile, "
                      f"V = {data['voltage']:.3g} V")
    rate_ax.set_ylabel("switching-rate increase factor [1]")
    rate_ax.set_title("rate with / without the neighbours' heat (compact model)")

    disturbed = [p for p in pitches if "disturbance" in p]
    if disturbed:
        xs = [p["pitch"] for p in disturbed]
        floor = 1e-18
        for label, style in (("without", "--s"), ("with", "-o")):
            disturb_ax.loglog(xs, [max(p["disturbance"][f"max_half_selected_{label}"], floor) for p in disturbed],
                              style, color="tab:blue" if label == "with" else "0.4",
                              label=f"{label} neighbour heating")
        pulses = disturbed[0]["disturbance"]["pulses"]
        _pitch_axis(disturb_ax, xs, unit)
        disturb_ax.set_ylabel("max |w - w0| / (w_max - w_min)")
        disturb_ax.set_title(f"half-selected devices after {pulses} pulses (crossbar model)")
        disturb_ax.grid(alpha=0.3, which="both")
        disturb_ax.legend(fontsize=8)

    densest = min(pitches, key=lambda p: p["pitch"]) if pitches else None
    name = None
    if densest is not None:
        name = next((name for name in ("row", "one_cell", "column", "all_half")
                     if densest["cases"].get(name, {}).get("status") == "ok"), None)
    if name is not None:
        case = densest["cases"][name]
        T = np.array(case["T_probe"])
        image = map_ax.imshow(T, origin="lower", cmap="inferno")
        for (i, j), value in np.ndenumerate(T):
            map_ax.text(j, i, f"{value:.0f} K\n{case['voltage'][i][j]:+.2f} V", ha="center", va="center",
                        fontsize=8, color="white" if value < T.min() + 0.6 * np.ptp(T) else "black")
        map_ax.set_xlabel("column (bit line)")
        map_ax.set_ylabel("row (word line)")
        map_ax.set_xticks(range(T.shape[1]))
        map_ax.set_yticks(range(T.shape[0]))
        map_ax.set_title(f"probe T and cell voltage, case '{name}', pitch {densest['pitch']:g} {unit}")
        fig.colorbar(image, ax=map_ax, label="probe temperature [K]")
    else:
        map_ax.axis("off")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)
    return path

"""pulses.png: the pulse response of a device with a state (solver.compact.pulses), four panels:
LTP / LTD conductance vs pulse number; the conductance step of one pulse vs conductance, up and
down, with the symmetry point; the up/down asymmetry along the window; the half-select ratio
k = dG(V/2) / dG(V) (and V/3) at each solved state, log scale."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from solver.io import atomic_path

UP, DOWN = "#c0392b", "#2471a3"


def plot_pulses(path: Path, response) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    micro = 1e6
    fig, ((ltp, steps), (asym, ratio)) = plt.subplots(2, 2, figsize=(11, 8), constrained_layout=True)
    write = response.write_voltage
    ltp.plot(response.ltp["pulse"], micro * np.array(response.ltp["conductance"]), color=UP,
             label=f"LTP, {write['positive']:+.3f} V")
    ltp.plot(response.ltd["pulse"], micro * np.array(response.ltd["conductance"]), color=DOWN,
             label=f"LTD, {write['negative']:+.3f} V")
    for G in (response.window["G_min"], response.window["G_max"]):
        ltp.axhline(micro * G, color="0.6", lw=0.8, ls="--")
    ltp.set_xlabel("pulse number")
    ltp.set_ylabel(f"G at {response.read_voltage:g} V [uS]")
    ltp.set_title(f"{response.pulse_width * 1e9:g} ns pulses: {response.states_up} / {response.states_down} "
                  f"states (steps >= {response.resolution * 1e9:g} nS)")
    ltp.legend()

    G = micro * np.array(response.steps["conductance"])
    steps.plot(G, micro * np.array(response.steps["dG_up"]), color=UP, label="one pulse at +V_write")
    steps.plot(G, -micro * np.array(response.steps["dG_down"]), color=DOWN, label="one pulse at -V_write (|dG|)")
    if response.symmetry_point["conductance"] is not None:
        steps.axvline(micro * response.symmetry_point["conductance"], color="0.3", lw=0.8, ls=":",
                      label=f"symmetry point {response.symmetry_point['state']:.3g} {response.state_unit}")
    steps.set_xlabel(f"G at {response.read_voltage:g} V [uS]")
    steps.set_ylabel("|dG| of one pulse [uS]")
    steps.set_title("step size vs conductance")
    steps.legend(fontsize=8)

    asym.plot(micro * np.array(response.asymmetry["conductance"]), response.asymmetry["asymmetry"], color="0.2")
    asym.axhline(0.0, color="0.6", lw=0.8)
    asym.set_xlabel(f"G at {response.read_voltage:g} V [uS]")
    asym.set_ylabel("(dG_up - |dG_down|) / (dG_up + |dG_down|)")
    asym.set_title("up/down asymmetry")

    states = [entry["state"] for entry in response.half_select]
    for polarity, colour in (("positive", UP), ("negative", DOWN)):
        for label, style in (("half", "-o"), ("third", "--s")):
            values = [entry[f"k_{label}_{polarity}"] for entry in response.half_select]
            shown = [(s, abs(v)) for s, v in zip(states, values) if v]
            if shown:
                ratio.semilogy(*zip(*shown), style, color=colour, ms=4,
                               label=f"{'+' if polarity == 'positive' else '-'}V/{2 if label == 'half' else 3}")
    ratio.axhline(0.005, color="0.5", lw=0.8, ls=":", label="k = 0.005 (seed study)")
    ratio.set_xlabel(f"{response.state_name} [{response.state_unit}]")
    ratio.set_ylabel("k = dG(V_write / n) / dG(V_write)")
    ratio.set_title("half-select ratio per state")
    ratio.legend(fontsize=8)
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=140, format="png")
    plt.close(fig)
    return path

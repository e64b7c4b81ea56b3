"""The report's figures, each from files a stage wrote (no FEM objects needed).

Colours mean the same thing everywhere: one per device (fitted, linear, floating point) and one
per polarity; every axis carries a unit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

DEVICE_COLOURS = {"fitted": "#1b9e77", "linear": "#d95f02", "float": "#7570b3"}
DEVICE_LABELS = {"fitted": "fitted device (this cell)", "linear": "linear device (reference)",
                 "float": "floating point"}
POLARITY_COLOURS = {"positive": "#c0392b", "negative": "#2471a3"}
POLARITY_LABELS = {"positive": "+V (current top to bottom)", "negative": "-V"}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 10, "axes.grid": True, "grid.alpha": 0.3})
    return plt


def _save(fig, path: Path) -> Path:
    from solver.io import atomic_path

    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=140, format="png", bbox_inches="tight")
    _pyplot().close(fig)
    return path


def _polarity_split(voltage: np.ndarray):
    """Index arrays of the positive (V >= 0) and negative (V <= 0) branches, sorted by |V|."""
    out = {}
    for name, mask in (("positive", voltage >= 0), ("negative", voltage <= 0)):
        idx = np.flatnonzero(mask)
        out[name] = idx[np.argsort(np.abs(voltage[idx]))]
    return out


def temperature_field(path: Path, fields: dict[str, dict], zoom: tuple[float, float, float, float],
                      units: str, write_voltages: dict[str, float]) -> Path:
    """T at +V_write and -V_write side by side, zoomed on the filament, one colour scale in K."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(fields), figsize=(5.2 * len(fields), 4.6), squeeze=False)
    r0, r1, z0, z1 = zoom
    visible = [f["T"][(f["points"][:, 0] <= r1) & (f["points"][:, 1] >= z0) & (f["points"][:, 1] <= z1)]
               for f in fields.values()]
    vmin = min(float(v.min()) for v in visible)
    vmax = max(float(v.max()) for v in visible)
    for ax, (polarity, field) in zip(axes[0], fields.items()):
        image = ax.tripcolor(field["points"][:, 0], field["points"][:, 1], field["triangles"], field["T"],
                             shading="gouraud", cmap="inferno", vmin=vmin, vmax=vmax)
        for segment in field.get("outlines", []):
            ax.plot(segment[:, 0], segment[:, 1], color="white", linewidth=0.6, alpha=0.7)
        ax.set_xlim(r0, r1)
        ax.set_ylim(z0, z1)
        ax.set_aspect("equal")
        ax.grid(False)
        ax.set_xlabel(f"r [{units}]")
        ax.set_ylabel(f"z [{units}]")
        ax.set_title(f"T at {write_voltages[polarity]:+.3f} V (max {field['T'].max():.0f} K)")
    fig.colorbar(image, ax=axes[0].tolist(), label="temperature T [K]", shrink=0.9)
    return _save(fig, path)


def _variant_rows(sweep: dict[str, np.ndarray]) -> list[tuple[str, np.ndarray]]:
    """(label, row indices) per set of swept parameters, in order of appearance ("" for a
    voltage-only sweep): one line per variant, never one zig-zag through all of them."""
    keys = [k for k in sweep if k.startswith("parameters/")]
    n = len(sweep["status"])
    if not keys:
        return [("", np.arange(n))]
    groups: dict[tuple, list[int]] = {}
    for i in range(n):
        groups.setdefault(tuple(str(sweep[k][i]) for k in keys), []).append(i)
    from solver.quantities import parameter_unit

    short = [k[len("parameters/"):].split(".")[-1] for k in keys]
    units = [parameter_unit(k[len("parameters/"):]) for k in keys]
    units = ["" if u in ("1",) or u.startswith("config length") else f" {u}" for u in units]
    out = []
    for values, rows in groups.items():
        label = ", ".join(f"{s}={_short_value(v)}{u}" for s, v, u in zip(short, values, units))
        out.append((label, np.array(rows)))
    return out


def _short_value(text: str) -> str:
    try:
        return f"{float(text):g}"
    except ValueError:
        return text


def iv_and_temperature(path: Path, sweep: dict[str, np.ndarray], probe: str) -> Path:
    """|I| and T (hottest point, probe mean) against |V|: per polarity, and per variant of a
    parameter sweep (a colour each; solid +V, dashed -V)."""
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    V = sweep["voltage_device"]
    ok = sweep["status"] == "ok"
    variants = _variant_rows(sweep)
    import matplotlib

    cmap = matplotlib.colormaps["viridis"]
    for k, (label, rows) in enumerate(variants):
        member = np.zeros(len(V), dtype=bool)
        member[rows] = True
        for polarity, idx in _polarity_split(np.where(ok & member, V, np.nan)).items():
            idx = idx[(ok & member)[idx]]
            if len(variants) == 1:
                colour, style, name = POLARITY_COLOURS[polarity], "-", POLARITY_LABELS[polarity]
            else:
                colour = cmap(0.1 + 0.75 * k / max(len(variants) - 1, 1))
                style = "-" if polarity == "positive" else "--"
                name = f"{label}, {'+V' if polarity == 'positive' else '-V'}"
            left.plot(np.abs(V[idx]), np.abs(sweep["current"][idx]) * 1e6, "o" + style, ms=3, color=colour,
                      label=name)
            right.plot(np.abs(V[idx]), sweep["T_max"][idx], style, color=colour,
                       label=f"hottest point, {name}" if len(variants) == 1 else name)
            probe_key = f"probes/{probe}/T_mean"
            if probe_key in sweep and len(variants) == 1:
                right.plot(np.abs(V[idx]), sweep[probe_key][idx], "--", color=colour,
                           label=f"probe '{probe}' mean, {polarity}")
    left.set_xlabel("|V| across the device [V]")
    left.set_ylabel("|I| [uA]")
    left.set_title("current-voltage")
    left.legend(fontsize=8 if len(variants) == 1 else 7)
    right.set_xlabel("|V| across the device [V]")
    right.set_ylabel("temperature [K]")
    right.set_title("hottest temperature vs voltage (steady state)")
    right.legend(fontsize=8 if len(variants) == 1 else 7)
    failed = int(np.count_nonzero(~ok))
    if failed:
        fig.suptitle(f"{failed} sweep points failed and are not shown", color="firebrick")
    return _save(fig, path)


def pulse_peaks(path: Path, sweep: dict[str, np.ndarray], probe: Optional[str]) -> Path:
    """A transient sweep: peak T_max and the switching per pulse against the pulse amplitude,
    one line per variant (the other swept pulse parameters)."""
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    ok = sweep["status"] == "ok"
    import matplotlib

    cmap = matplotlib.colormaps["viridis"]
    variants = _variant_rows(sweep)
    for k, (label, rows) in enumerate(variants):
        rows = rows[ok[rows]]
        rows = rows[np.argsort(sweep["pulse_amplitude"][rows])]
        colour = cmap(0.1 + 0.75 * k / max(len(variants) - 1, 1))
        amplitude = sweep["pulse_amplitude"][rows]
        left.plot(amplitude, sweep["peak_T_max"][rows], "o-", color=colour, label=label or "peak T_max")
        probe_key = f"probes/{probe}/peak_T_mean"
        if probe and probe_key in sweep:
            left.plot(amplitude, sweep[probe_key][rows], "s--", ms=3, color=colour,
                      label=f"{label + ', ' if label else ''}probe '{probe}' peak mean")
        if "switching_per_pulse" in sweep and np.any(np.isfinite(sweep["switching_per_pulse"][rows])):
            right.semilogy(amplitude, np.maximum(sweep["switching_per_pulse"][rows], 1e-300), "o-", color=colour,
                           label=label or "switching per pulse")
    left.set_xlabel("pulse amplitude [V]")
    left.set_ylabel("peak temperature [K]")
    left.set_title("temperature vs pulse amplitude")
    left.legend(fontsize=7)
    right.set_xlabel("pulse amplitude [V]")
    right.set_ylabel("switching per pulse [1] (kinetics delta)")
    right.set_title("switching vs pulse amplitude")
    if right.lines:
        right.legend(fontsize=7)
    return _save(fig, path)


def switching_rate(path: Path, table: dict, write_voltages: dict[str, float], target: float,
                   pulse_width: float) -> Path:
    """Rate (log) against |V| with V_write, V_write/2 and V_write/3 marked, both polarities."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.8, 4.6))
    V = np.array(table["voltage"])
    rate = np.array(table["rate"])
    for polarity, idx in _polarity_split(V).items():
        idx = idx[rate[idx] > 0]
        colour = POLARITY_COLOURS[polarity]
        ax.semilogy(np.abs(V[idx]), rate[idx], "o-", ms=3, color=colour, label=POLARITY_LABELS[polarity])
        v_write = write_voltages.get(polarity)
        if v_write is None:
            continue
        for fraction, style in ((1, "-"), (2, "--"), (3, ":")):
            ax.axvline(abs(v_write) / fraction, color=colour, linestyle=style, linewidth=1, alpha=0.8)
    ax.axhline(target / pulse_width, color="grey", linewidth=1)
    ax.text(0.02, target / pulse_width * 1.5, f"one switching event per {pulse_width * 1e9:.0f} ns pulse",
            color="grey", fontsize=8, transform=ax.get_yaxis_transform())
    ax.set_xlabel("|V| across the device [V]")
    ax.set_ylabel("switching rate [1/s]")
    ax.set_title("rate vs voltage: solid V_write, dashed V_write/2, dotted V_write/3")
    ax.legend()
    return _save(fig, path)


def pulse_transient(path: Path, series: dict[str, np.ndarray], probe: Optional[str]) -> Path:
    """The 60 ns pulse: applied voltage and current on top, temperatures below."""
    plt = _pyplot()
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7.5, 6), sharex=True)
    t = series["time"] * 1e9
    top.plot(t, series["voltage_device"], color="black", label="V across the device")
    top.set_ylabel("voltage [V]")
    twin = top.twinx()
    twin.plot(t, series["current"] * 1e6, color=DEVICE_COLOURS["fitted"], label="current")
    twin.set_ylabel("current [uA]", color=DEVICE_COLOURS["fitted"])
    top.legend(loc="upper right")
    top.set_title("pulse at V_write")
    bottom.plot(t, series["T_max"], color="firebrick", label="hottest point")
    if probe and f"{probe}.T_mean" in series:
        bottom.plot(t, series[f"{probe}.T_mean"], "--", color="firebrick", label=f"probe '{probe}' mean")
    bottom.set_xlabel("time [ns]")
    bottom.set_ylabel("temperature [K]")
    bottom.legend()
    return _save(fig, path)


def disturbance(path: Path, data: dict) -> Path:
    """Largest |dw| of the half-selected devices against disturb pulses (log-log)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.8, 4.6))
    for device, curves in data["curves"].items():
        for polarity, curve in curves.items():
            pulses = np.array(curve["pulses"], dtype=float)
            values = np.maximum(np.array(curve["max_half_selected"]), 1e-18)
            ax.loglog(pulses, values, "-" if polarity == "positive" else "--",
                      color=DEVICE_COLOURS.get(device, "black"),
                      label=f"{DEVICE_LABELS.get(device, device)}, {polarity} half-select")
    ax.axhline(0.01, color="grey", linewidth=1)
    ax.text(1.2, 0.013, "1% of the weight range", color="grey", fontsize=8)
    ax.set_xlabel("half-select pulses")
    ax.set_ylabel("max |dw| of half-selected devices [fraction of range]")
    ax.set_title("disturbance during fully parallel updates")
    ax.legend(fontsize=8)
    return _save(fig, path)


def training_curves(path: Path, data: dict) -> Path:
    """Test accuracy per epoch (mean and spread over seeds) for every device."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.8, 4.6))
    for device, run in data["devices"].items():
        accuracy = np.array(run["test_accuracy"]) * 100
        epochs = np.arange(len(accuracy))
        mean, std = accuracy.mean(axis=1), accuracy.std(axis=1)
        colour = DEVICE_COLOURS.get(device, "black")
        ax.plot(epochs, mean, "o-", color=colour, label=f"{DEVICE_LABELS.get(device, device)}: {mean[-1]:.1f}%")
        ax.fill_between(epochs, mean - std, mean + std, color=colour, alpha=0.2)
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy [%]")
    ax.set_ylim(0, 100)
    ax.set_title("MLP 64-32-10 on digits, weights on crossbars")
    ax.legend()
    return _save(fig, path)


def read_series_csv(path: Path) -> dict[str, np.ndarray]:
    """series.csv as column name (without its unit) -> values."""
    from solver.quantities import split_header

    from solver.errors import InputError
    from solver.io import read_bounded

    try:
        lines = read_bounded(path, 500_000_000, "a series.csv").decode("utf-8").splitlines()
        names = [split_header(cell)[0] for cell in lines[0].split(",")]
        values = np.array([[float(x) for x in line.split(",")] for line in lines[1:]], dtype=float)
        return {name: values[:, i] for i, name in enumerate(names)}
    except (UnicodeDecodeError, ValueError, IndexError):
        raise InputError(f"{path}: not a series.csv written by filatherm (unreadable rows)") from None


def read_json(path: Path) -> dict:
    """A JSON file a stage wrote; a broken one is bad input naming the file (solver.io)."""
    from solver.io import read_json as read

    data = read(path)
    if not isinstance(data, dict):
        from solver.errors import InputError

        raise InputError(f"{path}: not a filatherm result (the top level is not an object)")
    return data

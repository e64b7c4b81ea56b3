"""`filatherm report RESULTS_DIR` -> RESULTS_DIR/report/: figures and summary.md.

Reads what the stages wrote (sweep.h5, model/, pulse/, write/, crossbar/, train/, the
pipeline's stage log); a stage that has not run yet is listed as missing, not invented, and a
file from another run is listed as stale, not mixed in (solver.report.family). A parameter
sweep is shown as a family: every variant in the figures and in a table.

An existing summary.md is replaced only with `force` (it may carry hand edits).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from solver.report import figures


def _load_config(results: Path):
    from solver.config import validate_config
    from solver.config.yamlio import parse_yaml
    from solver.sweep.store import read_sweep

    table = read_sweep(results / "sweep.h5")
    config = validate_config(parse_yaml(table.config_yaml, str(results / "sweep.h5")), str(results / "sweep.h5"))
    return config, table


def build_report(results: Path, output: Optional[Path] = None, say: Callable[[str], None] = print,
                 stage_log: Optional[dict] = None, force: bool = True) -> Path:
    from solver.errors import InputError
    from solver.io import ensure_dir, write_text_atomic
    from solver.report.family import checked_result, family_rates, family_trends, load_family

    if not (results / "sweep.h5").exists():
        raise InputError(f"{results}: no sweep.h5 (run `filatherm run` or `filatherm sweep` first)")
    out = ensure_dir((output or results) / "report")
    if (out / "summary.md").exists() and not force:
        raise InputError(f"{out / 'summary.md'}: exists; use --force to overwrite it")
    base, table = _load_config(results)
    sweep = table.columns
    made: dict[str, Path] = {}
    missing: list[str] = []
    probe = base.kinetics.probe if base.kinetics else next(iter(base.probes), None)
    names = {"state.value": (base.state.name, base.state.unit)} if base.state is not None else {}
    if table.study == "transient":
        made["Pulse peaks"] = figures.pulse_peaks(out / "pulse_peaks.png", sweep, probe, names)
        write_text_atomic(out / "summary.md", transient_summary(base, table, made))
        say(f"report: {len(made)} figures (a transient sweep)")
        return out
    family = load_family(results, table.config_hash, missing)
    primary = family.primary
    config = _variant_config(base, primary.variant.parameters)

    mesh_png = out / "mesh.png"
    if not mesh_png.exists() and not config.geometry.is_3d:  # the figure draws the (r, z) section
        _mesh_figure(config, mesh_png)
    if mesh_png.exists():
        made["Mesh and regions"] = mesh_png
    made["I-V and T-V"] = figures.iv_and_temperature(out / "iv_tv.png", sweep, probe, names)

    model = primary.model
    write_voltages = {}
    if model:
        write_voltages = {k: v for k, v in model["figures_of_merit"]["V_write"].items() if v is not None}
        if len(family.variants) > 1:
            made["Switching rate"] = family_rates(out / "rate.png", family)
            made["Write voltage and half-select ratio per variant"] = family_trends(out / "family.png", family,
                                                                                    config.units)
        else:
            made["Switching rate"] = figures.switching_rate(
                out / "rate.png", model["table"], write_voltages, model["figures_of_merit"]["target_delta"],
                model["kinetics"]["pulse_width"])
    write_points = {p: checked_result(results / "write" / p / "qoi.json", primary.variant.model_path, family.stale)
                    for p in ("positive", "negative")}

    fields = {}
    for polarity in ("positive", "negative"):
        npz = results / "write" / polarity / "temperature.npz"
        if npz.exists() and write_points[polarity] is not None:
            with np.load(npz) as data:
                fields[polarity] = {k: data[k] for k in data.files}
                fields[polarity]["outlines"] = _outlines(config)
    if fields and write_voltages:
        from solver.geometry.plot import filament_zoom

        made["Temperature at V_write"] = figures.temperature_field(
            out / "temperature_field.png", fields, filament_zoom(config), config.units, write_voltages)
    else:
        missing.append("temperature field at V_write (write/)")

    pulse = checked_result(results / "pulse" / "qoi.json", primary.variant.model_path, family.stale)
    if pulse is None:
        missing.append("pulse transient (pulse/)")
    if pulse and (results / "pulse" / "series.csv").exists():
        made["Pulse transient"] = figures.pulse_transient(
            out / "pulse.png", figures.read_series_csv(results / "pulse" / "series.csv"), probe)
    # A device with a state has a pulse response (never listed as missing for one without).
    pulses = _optional_json(results / "pulses" / "pulses.json", [], "")
    if pulses:
        from solver.compact.pulse_plots import plot_pulses
        from solver.compact.pulses import PulseResponse

        made["Pulse response of the device state"] = plot_pulses(out / "pulses.png", PulseResponse.from_data(pulses))
    disturbance = primary.disturbance
    if disturbance:
        made["Disturbance"] = figures.disturbance(out / "disturbance.png", disturbance)
    training = primary.training
    if training:
        made["Training"] = figures.training_curves(out / "training.png", training)
    # Made on request (`filatherm train --compare`, `--map`), so never listed as missing.
    comparison = checked_result(results / "train" / "compare.json", primary.variant.model_path, family.stale)
    design_map = checked_result(results / "train" / "map.json", primary.variant.model_path, family.stale)
    if comparison:
        from solver.crossbar.plots import plot_comparison

        curves = {name: np.array(run["test_accuracy"]) for name, run in comparison["runs"].items()}
        made["Training algorithms"] = plot_comparison(out / "training_algorithms.png", curves,
                                                      "training algorithms, fitted device")
    if design_map:
        from solver.crossbar.plots import plot_design_map

        made["Design map"] = plot_design_map(out / "design_map.png", design_map, "training")

    # only when a tile was solved with this compact model (crosstalk.json is beside it by default)
    crosstalk = checked_result(results / "crosstalk" / "crosstalk.json", primary.variant.model_path, family.stale)
    if crosstalk:
        from solver.crosstalk.plots import plot_crosstalk

        made["Thermal crosstalk"] = plot_crosstalk(out / "crosstalk.png", crosstalk)

    crossbar_summary = primary.crossbar_summary
    mesh_error = _optional_json(results / "model" / "mesh_error.json", [], "")  # `sweep.error_estimate`
    text = summary_markdown(config, table, model, write_points, pulse, disturbance, crossbar_summary,
                            training, made, missing, stage_log or _optional_json(results / "pipeline.json", [], ""),
                            comparison, design_map, family=family, pulses=pulses, mesh_error=mesh_error,
                            crosstalk=crosstalk)
    write_text_atomic(out / "summary.md", text)
    say(f"report: {len(made)} figures, {len(missing)} missing parts"
        + (f", {len(family.stale)} stale parts left out" if family.stale else ""))
    return out


def _variant_config(config, parameters: dict):
    from solver.compact.workflow import variant_config

    return variant_config(config, parameters)


def transient_summary(config, table, made: dict[str, Path]) -> str:
    """summary.md of a transient sweep: one row per pulse train with its peaks."""
    columns = table.columns
    lines = [f"# filatherm report: {config.name} (transient sweep)", "",
             f"{len(table)} pulse trains, {int(np.count_nonzero(columns['status'] != 'ok'))} failed.", "",
             "| " + " | ".join(["amplitude [V]"] + [f"{p} [{_unit(p)}]" for p in table.parameter_names]
                                + ["peak T_max [K]", "energy [J]", "switching per pulse [1]", "status"]) + " |",
             "|" + "---|" * (5 + len(table.parameter_names))]
    for i in range(len(table)):
        cells = [_num(columns["pulse_amplitude"][i], "+.4g")]
        cells += [str(columns[f"parameters/{p}"][i]) for p in table.parameter_names]
        cells += [_num(columns["peak_T_max"][i], ".1f"), _num(columns["energy_in"][i], ".3g"),
                  _num(columns.get("switching_per_pulse", [math.nan] * len(table))[i], ".3g"),
                  str(columns["status"][i])]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "## Figures", ""]
    for title, path in made.items():
        lines += [f"### {title}", "", f"![{title}]({path.name})", ""]
    return "\n".join(lines) + "\n"


def _unit(parameter: str) -> str:
    from solver.quantities import parameter_unit

    return parameter_unit(parameter)


def _optional_json(path: Path, missing: list, what: str) -> Optional[dict]:
    if path.exists():
        return figures.read_json(path)
    if what:
        missing.append(what)
    return None


def _mesh_figure(config, path: Path) -> None:
    """Mesh the cell with Gmsh alone (no FEM) and plot its regions."""
    from solver.geometry.cell import generate, triangles_by_region
    from solver.geometry.plot import plot_mesh
    from solver.geometry.session import gmsh_session

    with gmsh_session() as gmsh:
        model = generate(config, gmsh)
        points, triangles, regions = triangles_by_region(gmsh, model)
    plot_mesh(path, config, points, triangles, regions, [r.name for r in model.regions])


def _outlines(config) -> list[np.ndarray]:
    """Layer interfaces and filament outlines (config units) to draw over a field."""
    from solver.geometry.cell import filament_outline

    geo = config.geometry
    lines = [np.array([[0.0, z], [geo.radius, z]]) for z in geo.z_bottoms()[1:]]
    for layer, z0 in zip(geo.layers, geo.z_bottoms()):
        if layer.filament is not None:
            corners = filament_outline(layer, z0)
            lines.append(np.array(corners[1:3]))
            lines.append(np.array(corners[2:4]))
    return lines


def _current_law(fit: dict) -> str:
    law = fit.get("current", {})

    def value(key: str, part: Optional[dict] = None):
        return ((part if part is not None else law).get(key) or {}).get("value")

    T0 = (fit.get("T0") or {}).get("value")
    head = (f"Compact model: T = T0 + R_th(P) P + beta I with R_th(P) = R_th + rise (1 - exp(-P / scale)), "
            f"T0 = {_num(T0, '.1f')} K; ")
    if law.get("law") == "field_activated":
        branches = "; ".join(
            f"{sign}V: G0 {_num(value('scale', law[p]), '.4g')} S, Ea {_num(value('activation_energy', law[p]), '.3g')} eV, "
            f"V1 {_num(value('field_voltage', law[p]), '.3g')} V, path heating {_num(value('path_heating', law[p]), '.3g')}"
            for p, sign in (("positive", "+"), ("negative", "-")))
        return head + f"field-activated current law (docs/physics.md), {branches}."
    return head + (f"current G0 = {_num(value('scale'), '.4g')} S, activation energy "
                   f"{_num(value('activation_energy'), '.3g')} eV, conduction exponent "
                   f"{_num(value('conduction_exponent'), '.3g')}, effective Seebeck EMF "
                   f"{_num(1e6 * (value('seebeck') or math.nan), '.3g')} uV/K.")


def _mesh_error_rows(mesh_error: Optional[dict]) -> list[str]:
    """The half-select ratio's error factor and the h -> 0 limits; or how to get error bars."""
    if not mesh_error:
        return ["| discretisation error | not estimated (`filatherm run --error-estimate`) | |"]
    estimates = mesh_error["estimates"]

    def cell(name: str, polarity: str, fmt: str) -> str:
        e = estimates[name].get(polarity)
        if e is None:
            return "n/a"
        order = f"order {e['order']:.2f}" if e["observed"] else "not asymptotic"
        return f"{_num(e['extrapolated'], fmt)} ({order})"

    meshes = mesh_error["meshes"]
    factor = {p: (estimates["log10_nonlinearity_half_select"].get(p) or {}).get("error") for p in ("positive", "negative")}
    return [
        "| half-select ratio error (factor) | " + " | ".join(
            "n/a" if factor[p] is None else f"×/÷ {10 ** factor[p]:.3g}" for p in ("positive", "negative")) + " |",
        "| V_write, h → 0 [V] | " + " | ".join(cell("V_write", p, "+.4f") for p in ("positive", "negative")) + " |",
        "| probe T at V_write, h → 0 [K] | " + " | ".join(cell("T_at_write", p, ".1f")
                                                       for p in ("positive", "negative")) + " |",
        f"| error bars: Richardson, meshes {meshes['coarse']['size']:g}/{meshes['coarse']['filament_size']:g}, "
        f"{meshes['medium']['size']:g}/{meshes['medium']['filament_size']:g}, {meshes['fine']['size']:g}/"
        f"{meshes['fine']['filament_size']:g} {meshes['medium']['unit']} (docs/physics.md) | | |",
    ]


def _num(value, fmt: str = ".4g") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return format(value, fmt)


def _crosstalk_lines(crosstalk: dict) -> list[str]:
    """The crosstalk study (crosstalk/crosstalk.json): per pitch, the half-selected cell next to
    a selected row and the disturbance with the neighbours' heat."""
    tile = crosstalk["tile"]
    unit = tile["units"]
    lines = ["", "## Thermal crosstalk", "",
             f"{tile['rows']}x{tile['cols']} tile, {crosstalk['scheme']}, pulses of {crosstalk['voltage']:+.3f} V. "
             "A half-selected cell next to a fully selected row (every column pulsed at once):", "",
             f"| pitch [{unit}] | heating from the neighbours [K] | rate increase | coupling to the nearest "
             "neighbour [K/W] | max disturbance after the pulses, without / with the heating |",
             "|---|---|---|---|---|"]
    for pitch in crosstalk["pitches"]:
        row = pitch.get("half_selected", {}).get("row")
        if row is None:
            continue
        K = pitch["coupling"]["K"]
        disturbance = pitch.get("disturbance", {})
        lines.append(f"| {pitch['pitch']:g} | {row['neighbour_heating']:.1f} | {row['rate_increase']:.3g} | "
                     f"{_num(K[0][1], '.3g')} (same row), {_num(K[1][0], '.3g')} (same column) | "
                     f"{_num(disturbance.get('max_half_selected_without'), '.3g')} / "
                     f"{_num(disturbance.get('max_half_selected_with'), '.3g')} |")
    return lines


def summary_markdown(config, table, model, write_points, pulse, disturbance, crossbar_summary, training,
                     made: dict[str, Path], missing: list[str], stage_log: Optional[dict],
                     comparison: Optional[dict] = None, design_map: Optional[dict] = None,
                     family=None, pulses: Optional[dict] = None, mesh_error: Optional[dict] = None,
                     crosstalk: Optional[dict] = None) -> str:
    from solver.report.family import variants_table

    lines = [f"# filatherm report: {config.name}", ""]
    layers = " / ".join(f"{layer.material} {layer.thickness:g}" + (" + filament" if layer.filament else "")
                        for layer in config.geometry.layers)
    extent = (f"radius {config.geometry.radius:g} {config.units}" if config.geometry.kind != "tile"
              else f"{config.geometry.tile.rows}x{config.geometry.tile.cols} tile at pitch "
                   f"{config.geometry.tile.pitch:g} {config.units}")
    several = family is not None and len(family.variants) > 1
    which = f" (the primary variant, {family.primary.variant.label})" if several else ""
    lines += [f"Cell (bottom to top, {config.units}){which}: {layers}; {config.geometry.kind}, {extent}.",
              f"Sweep: {len(table)} points, {int(np.count_nonzero(table['status'] != 'ok'))} failed"
              + (f", {len(family.variants)} variants: "
                 + "; ".join(v.variant.label for v in family.variants) if several else "") + ".", ""]
    if several:
        lines += variants_table(family, _num)
        lines += [f"The key numbers, fields, pulse, disturbance and training below are of the primary variant "
                  f"({family.primary.variant.label}).", ""]
    lines += ["## Key numbers", "", "| quantity | +V | -V |", "|---|---|---|"]

    def row(name: str, positive, negative, fmt: str = ".4g", error: Optional[str] = None) -> None:
        """One line; with `error` (a key of mesh_error.json) the values carry their error bar."""
        estimates = (mesh_error or {}).get("estimates", {}).get(error) if error else None
        cells = []
        for polarity, value in (("positive", positive), ("negative", negative)):
            estimate = (estimates or {}).get(polarity)
            bar = f" ± {_num(estimate['error'], '.2g')}" if estimate and value is not None else ""
            cells.append(_num(value, fmt) + bar)
        lines.append(f"| {name} | {cells[0]} | {cells[1]} |")

    if model:
        merit = model["figures_of_merit"]
        fit = model["fit"]
        row("V_write [V] (delta per pulse = %g)" % merit["target_delta"], merit["V_write"]["positive"],
            merit["V_write"]["negative"], "+.4f", "V_write")
        qoi = {p: (write_points.get(p) or {}) for p in ("positive", "negative")}
        row("T_max at V_write, steady FEM [K]", qoi["positive"].get("T_max"), qoi["negative"].get("T_max"), ".1f")
        row("probe T at V_write [K]", merit["T_at_write"]["positive"], merit["T_at_write"]["negative"], ".1f",
            "T_at_write")
        row("rate(V_write) / rate(V_write/2)", merit["nonlinearity_half_select"]["positive"],
            merit["nonlinearity_half_select"]["negative"], ".3g")
        lines += _mesh_error_rows(mesh_error)
        row("rate(V_write) / rate(V_write/3)", merit["nonlinearity_third_select"]["positive"],
            merit["nonlinearity_third_select"]["negative"], ".3g")
        branches = fit["branches"]

        def fitted(key: str):
            return [((branches.get(p) or {}).get(key) or {}).get("value") for p in ("positive", "negative")]

        row("R_th at low power [K/W]", *fitted("R_th"), ".4g")
        row("R_th rise at high power [K/W]", *fitted("delta_R_th"), ".4g")
        row("power scale of the rise [W]", *fitted("power_scale"), ".3g")
        row("beta (Peltier, odd in I) [K/A]", *fitted("beta"), ".4g")
        asym = merit["T_asymmetry"]
        lines += ["", f"Probe temperature asymmetry at |V| = {_num(asym.get('voltage'), '.3f')} V: "
                      f"T(+V) - T(-V) = {_num(asym.get('delta_T'), '.1f')} K (thermoelectric, Peltier at the "
                      "filament/CMO junction).",
                  _current_law(fit),
                  "Compact-model residuals against the FEM table: max |dT| = "
                  f"{_num(fit['residuals'].get('max_abs_dT'), '.3g')} K for the whole model "
                  f"({_num(fit['residuals'].get('max_abs_dT_thermal_law'), '.3g')} K for the thermal law given "
                  f"the FEM power and current), current within "
                  f"{_num(100 * (fit['residuals'].get('max_relative_current') or math.nan), '.3g')}%, "
                  f"max |d log10 rate| = {_num(fit['residuals'].get('max_abs_dlog10_rate'), '.3g')}."]
    else:
        lines.append("| (no compact model yet) | | |")
    if model and model.get("states"):
        lines += _state_section(model, pulses, crossbar_summary)
    if pulse:
        switching = pulse.get("switching")
        lines += ["", "## Pulse", "",
                  f"One {_num((pulse.get('pulse_width') or math.nan) * 1e9, '.3g')} ns pulse at "
                  f"{_num(pulse.get('pulse_amplitude'), '+.3f')} V: peak T_max {_num(pulse.get('peak_T_max'), '.1f')} K, "
                  f"energy {_num((pulse.get('energy_in') or math.nan) * 1e12, '.3g')} pJ, "
                  + (f"switching {_num(switching, '.3g')} (kinetics delta), " if switching is not None else "")
                  + f"90% rise time {_num((pulse.get('rise_time_90') or math.nan) * 1e9, '.3g')} ns, "
                  f"{pulse.get('steps', 'n/a')} time steps ({pulse.get('rejected_steps', 'n/a')} rejected)."]
    if disturbance:
        after = disturbance["after_all_pulses"]
        count = disturbance["crossbar"]["disturb_pulses"]
        lines += ["", "## Crossbar", "", f"Disturbance after {count:,} half-select pulses (max |dw| of the "
                  "half-selected devices, fraction of the weight range):", "",
                  "| device | +V scheme | -V scheme |", "|---|---|---|"]
        for device, by_polarity in after.items():
            lines.append(f"| {figures.DEVICE_LABELS.get(device, device)} | {_num(by_polarity['positive']['max'], '.3g')} "
                         f"| {_num(by_polarity['negative']['max'], '.3g')} |")
        if crossbar_summary:
            lines += ["", "| device | mapping RMS error, open loop | with read-verify | update correlation |",
                      "|---|---|---|---|"]
            for device in ("fitted", "linear"):
                open_loop = crossbar_summary["mapping_open_loop_rms"][device]
                verified = crossbar_summary["mapping_read_verify_rms"][device]
                lines.append(f"| {figures.DEVICE_LABELS[device]} | {100 * open_loop['pattern']:.2f}% (pattern), "
                             f"{100 * open_loop['random']:.2f}% (random) | {100 * verified['pattern']:.2f}% / "
                             f"{100 * verified['random']:.2f}% | "
                             f"{crossbar_summary['fidelity_correlation'][device]:.3f} |")
    if crosstalk:
        lines += _crosstalk_lines(crosstalk)
    if training:
        lines += ["", "## Training", "", "| device | test accuracy [%] |", "|---|---|"]
        for device, run in training["devices"].items():
            lines.append(f"| {figures.DEVICE_LABELS.get(device, device)} | "
                         f"{100 * run['final_mean']:.1f} +/- {100 * run['final_std']:.1f} |")
    if comparison:
        lines += ["", "Training algorithms on the fitted device (`filatherm train --compare`):", "",
                  "| algorithm | test accuracy [%] | below floating point [points] |", "|---|---|---|"]
        for name, run in comparison["runs"].items():
            gap = comparison["gap_to_float_points"].get(name)
            lines.append(f"| {name} | {100 * run['final_mean']:.1f} +/- {100 * run['final_std']:.1f} | "
                         f"{_num(gap, '.1f')} |")
    if design_map:
        k_max = design_map["grid"]["k"][-1]
        lines += ["", "Design map (`filatherm train --map`): half-select ratio k = dw(V/2) / dw(V) at which each "
                  "algorithm loses 1 point (asymmetry 0); this device: k_up = "
                  f"{design_map['device']['k_up']:.3g}, k_down = {design_map['device']['k_down']:.3g}.", "",
                  f"| algorithm | accuracy at k = {design_map['grid']['k'][0]:g} [%] | k at -1 point | "
                  "this device [%] |", "|---|---|---|---|"]
        for name, found in design_map["algorithms"].items():
            loss = found["k_at_1_point_loss"]
            lines.append(f"| {name} | {100 * found['k_asymmetry'][0][0]:.1f} | "
                         f"{f'{loss:.3g}' if loss is not None else f'> {k_max:g}'} | "
                         f"{100 * found['device_accuracy']:.1f} |")
    lines += ["", "## Figures", ""]
    for title, path in made.items():
        lines += [f"### {title}", "", f"![{title}]({path.name})", ""]
    if missing:
        lines += ["## Not yet available", ""] + [f"- {item}" for item in missing] + [""]
    if family is not None and family.stale:
        lines += ["## Left out: from another run", ""] + [f"- {item}" for item in family.stale] + [""]
    lines += ["## Provenance", "", f"- config hash (solves): {table.config_hash}",
              "- versions: " + ", ".join(f"{k} {v}" for k, v in table.versions.items())]
    if stage_log:
        lines += ["", "| stage | wall time when computed [s] | this run |", "|---|---|---|"]
        for stage, info in stage_log.get("stages", {}).items():
            lines.append(f"| {stage} | {_num(info.get('wall_time'), '.1f')} | {info.get('note', '')} |")
        if "computed_total" in stage_log:
            lines.append(f"| all stages, when computed | {_num(stage_log['computed_total'], '.1f')} | |")
            lines.append(f"| this run | {_num(stage_log.get('this_run'), '.1f')} | |")
    return "\n".join(lines) + "\n"



def _state_section(model: dict, pulses: Optional[dict], crossbar_summary: Optional[dict]) -> list[str]:
    """The device state: per solved state the write voltages, temperatures and nonlinearity;
    the pulse response; the thermal node; what the crossbar device derives and assumes."""
    state = model["state"]
    unit = state["unit"]
    lines = ["", "## Device state", "",
             f"State: {state['name']} [{unit}], reference {_num(state['reference'], '.4g')}, range "
             f"{_num(state['minimum'], '.4g')} to {_num(state['maximum'], '.4g')}.", "",
             f"| {state['name']} [{unit}] | V_write + / - [V] | probe T at V_write + / - [K] | "
             "rate(V)/rate(V/2) + / - | current law error | max abs dT [K] | max abs dlog10 rate |",
             "|---|---|---|---|---|---|---|"]
    for entry in model["states"]:
        merit, residuals = entry["figures_of_merit"], entry["fit"]["residuals"]
        lines.append(
            f"| {_num(entry['state'], '.3g')} | {_num(merit['V_write']['positive'], '+.3f')} / "
            f"{_num(merit['V_write']['negative'], '+.3f')} | {_num(merit['T_at_write']['positive'], '.0f')} / "
            f"{_num(merit['T_at_write']['negative'], '.0f')} | {_num(merit['nonlinearity_half_select']['positive'], '.3g')}"
            f" / {_num(merit['nonlinearity_half_select']['negative'], '.3g')} | "
            f"{_num(100 * residuals['max_relative_current'], '.2g')}% | {_num(residuals['max_abs_dT'], '.3g')} | "
            f"{_num(residuals['max_abs_dlog10_rate'], '.3g')} |")
    thermal = model.get("thermal") or {}
    if thermal.get("time_constant"):
        lines += ["", f"Thermal node (transient FEM step at {_num(thermal['step_voltage'], '+.3g')} V): time constant "
                      f"{_num(1e12 * thermal['time_constant'], '.3g')} ps, C_th {_num(thermal['capacitance'], '.3g')} J/K "
                      f"(one exponential within {_num(100 * thermal['max_relative_error'], '.2g')}% of the rise)."]
    if pulses:
        window = pulses["window"]
        sym = pulses["symmetry_point"]
        lines += ["", f"Pulse response ({_num(1e9 * pulses['pulse_width'], '.3g')} ns pulses at "
                      f"{_num(pulses['write_voltage']['positive'], '+.3f')} / "
                      f"{_num(pulses['write_voltage']['negative'], '+.3f')} V, read at {pulses['read_voltage']:g} V): "
                      f"window {_num(1e6 * window['G_min'], '.3g')} to {_num(1e6 * window['G_max'], '.3g')} uS; "
                      f"{pulses['states_up']} / {pulses['states_down']} distinguishable states (LTP / LTD, steps >= "
                      f"{_num(1e9 * pulses['resolution'], '.3g')} nS); symmetry point {_num(sym['state'], '.3g')} {unit} "
                      f"({_num(1e6 * (sym['conductance'] or math.nan), '.3g')} uS).", "",
                  f"| {pulses['state_name']} [{unit}] | G [uS] | k = dG(V/2)/dG(V), + | k, - | "
                  f"disturbance after {pulses['disturb_pulses']:,} V/2 pulses, + / - [fraction of the window] |",
                  "|---|---|---|---|---|"]
        for entry in pulses["half_select"]:
            lines.append(f"| {_num(entry['state'], '.3g')} | {_num(1e6 * entry['conductance'], '.3g')} | "
                         f"{_num(entry['k_half_positive'], '.3g')} | {_num(entry['k_half_negative'], '.3g')} | "
                         f"{_num(entry['disturbance_positive'], '.3g')} / {_num(entry['disturbance_negative'], '.3g')} |")
    derived = (crossbar_summary or {}).get("derived_device")
    if derived:
        lines += ["", "Crossbar device, derived from the pulse response vs assumed:", "",
                  "| quantity | value | source |", "|---|---|---|"]
        lines += [f"| {name} | {_value(value)} | derived (FEM, dynamic model) |" for name, value in derived["derived"].items()]
        lines += [f"| {name} | {_value(value)} | assumed (config) |" for name, value in derived["assumed"].items()]
    return lines


def _value(value) -> str:
    if isinstance(value, (list, tuple)):
        return " / ".join(_num(v, ".3g") for v in value)
    return _num(value, ".3g")

"""`crossbar`: the three array experiments, for the fitted device and the linear reference.

    run_experiments("results/default")   # -> results/default/crossbar/

writes (each JSON with "format": "filatherm-crossbar-<name>", "version": 1, "source" naming
the compact model, and the "crossbar" config used; weights are normalised, changes and
errors are fractions of the full range w_max - w_min):

- disturbance.json/.png (solver.crossbar.disturbance): per device and polarity, "pulses" and
  max/mean |dw| of the half-selected (and unselected) devices at each count;
  "after_all_pulses" the values at the last count;
- mapping.json/.png (solver.crossbar.mapping): per device and target ("pattern", "random"),
  open-loop and read-verify RMS errors, with and without half-select, and the share of the
  squared error the disturbance causes;
- fidelity.json/.png (solver.crossbar.fidelity): per device (and the fitted device without
  half-select), correlation, relative error and slope of one parallel update;
- summary.json: the headline numbers of all three, for the report.

Devices: "fitted" (solver.crossbar.device.fitted_device of the compact model) and "linear"
(dw proportional to |v|, at the same write voltages).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Iterable, Optional

import numpy as np

from solver.config import Config
from solver.config.schema import Crossbar
from solver.crossbar.array import SCHEMES
from solver.crossbar.device import POLARITIES, DeviceModel, fitted_device, linear_device
from solver.crossbar.disturbance import disturbance_curve
from solver.crossbar.fidelity import update_fidelity
from solver.crossbar.inputs import Inputs, load_inputs
from solver.crossbar.mapping import load_pattern, mapping_experiment, random_target
from solver.crossbar.plots import plot_disturbance, plot_fidelity, plot_mapping
from solver.errors import InputError
from solver.io import write_json_atomic


def devices_of(inputs: Inputs) -> dict[str, DeviceModel]:
    """The fitted device and the linear reference at its write voltages. For a compact model
    with a device state the fitted device is derived from its pulse response
    (solver.crossbar.derived); otherwise it is the soft-bounds device of its rates."""
    document = inputs.model.document
    if document.state is not None and document.kinetics.moves_state:
        from solver.compact.dynamic import DynamicModel
        from solver.crossbar.derived import DerivedDevice

        fitted = DerivedDevice(DynamicModel.from_document(document), inputs.config)
    else:
        fitted = fitted_device(inputs.model, inputs.config.crossbar)
    linear = linear_device(fitted.write_voltage_positive, fitted.write_voltage_negative,
                           inputs.config.crossbar)
    return {"fitted": fitted, "linear": linear}


def describe(device: DeviceModel, crossbar: Crossbar) -> dict:
    """Write voltages and the relative step of a half-selected device, per polarity."""
    fraction = SCHEMES[crossbar.scheme]
    return {
        polarity: {
            "write_voltage": device.write_voltage(sign),
            "half_select_voltage": fraction * device.write_voltage(sign),
            "half_select_step": float(device.step(fraction * device.write_voltage(sign)) / device.dw_min),
        }
        for polarity, sign in POLARITIES.items()
    }


def header(kind: str, inputs: Inputs) -> dict:
    source = inputs.model.document.source
    return {
        "format": f"filatherm-crossbar-{kind}",
        "version": 1,
        "source": {"compact_model": str(inputs.model_path), "config_name": source.config_name,
                   "config_hash": source.config_hash, "parameters": source.parameters,
                   "model_digest": inputs.model_digest, "run": inputs.run},
        "crossbar": inputs.config.crossbar.model_dump(mode="json"),
    }


def run_experiments(results: str | Path, output: Optional[str | Path] = None,
                    overrides: Iterable[str] = (), force: bool = False,
                    say: Callable[[str], None] = print,
                    config: Optional[Config] = None) -> list[Path]:
    """Run disturbance, mapping and fidelity; write RESULTS_DIR/crossbar/ (or under output).
    A `config` (the one a pipeline runs) supplies the crossbar and training sections."""
    inputs = load_inputs(results, output, overrides, config)
    out = inputs.root / "crossbar"
    if (out / "summary.json").exists() and not force:
        raise InputError(f"{out / 'summary.json'}: exists; use --force to overwrite it")
    crossbar = inputs.config.crossbar
    devices = devices_of(inputs)
    started = time.perf_counter()
    files: list[Path] = []

    say(f"crossbar: {crossbar.rows}x{crossbar.cols}, {crossbar.scheme}, {devices['fitted'].states} states "
        f"({devices['fitted'].name} device); "
        f"V_write = {devices['fitted'].write_voltage_positive:+.3f} / "
        f"{devices['fitted'].write_voltage_negative:+.3f} V")
    if crossbar.line_resistance > 0:
        say("  note: these experiments assume ideal wires; crossbar.line_resistance is used by "
            "`filatherm spice-array` (and CrossbarArray(..., lines=...))")
    curves = {
        name: {polarity: disturbance_curve(device, crossbar, sign, np.random.default_rng(crossbar.seed))
               for polarity, sign in POLARITIES.items()}
        for name, device in devices.items()
    }
    final = {name: {polarity: {"max": c["max_half_selected"][-1], "mean": c["mean_half_selected"][-1]}
                    for polarity, c in by_polarity.items()} for name, by_polarity in curves.items()}
    for name, by_polarity in final.items():
        worst = max(v["max"] for v in by_polarity.values())
        say(f"  disturbance, {name}: max |dw| after {crossbar.disturb_pulses} half-select pulses = "
            f"{worst:.3g} of the range")
    files.append(write_json_atomic(out / "disturbance.json", {
        **header("disturbance", inputs),
        "devices": {name: describe(device, crossbar) for name, device in devices.items()},
        "curves": curves, "after_all_pulses": final,
    }))
    files.append(plot_disturbance(out / "disturbance.png", curves, crossbar.scheme))

    targets = {"pattern": load_pattern(crossbar.rows, crossbar.cols),
               "random": random_target(crossbar.rows, crossbar.cols, np.random.default_rng(crossbar.seed))}
    mapping = {name: {target: mapping_experiment(device, crossbar, matrix, crossbar.seed)
                      for target, matrix in targets.items()} for name, device in devices.items()}
    for name, by_target in mapping.items():
        errors = ", ".join(f"{t} {r['open_loop_rms']:.2%} open loop / {r['read_verify_rms'][-1]:.2%} verified"
                           for t, r in by_target.items())
        say(f"  mapping, {name}: RMS error {errors}")
    files.append(write_json_atomic(out / "mapping.json", {
        **header("mapping", inputs),
        "results": {name: {t: {k: v for k, v in r.items() if k != "written"} for t, r in by_target.items()}
                    for name, by_target in mapping.items()},
    }))
    files.append(plot_mapping(out / "mapping.png", targets, mapping))

    fidelity = {name: update_fidelity(device, crossbar, crossbar.seed) for name, device in devices.items()}
    fidelity["fitted, no half-select"] = update_fidelity(devices["fitted"], crossbar, crossbar.seed,
                                                         half_select=False)
    for name, result in fidelity.items():
        correlation = result["correlation"]
        say(f"  fidelity, {name}: correlation {'n/a' if correlation is None else f'{correlation:.3f}'}, "
            f"relative error {result['relative_error']:.3f}, slope {result['slope']:.3f}")
    files.append(write_json_atomic(out / "fidelity.json", {
        **header("fidelity", inputs),
        "results": {name: {k: v for k, v in r.items() if k != "samples"} for name, r in fidelity.items()},
    }))
    files.append(plot_fidelity(out / "fidelity.png", fidelity, devices["fitted"].dw_min))

    files.append(write_json_atomic(out / "summary.json", {
        **header("summary", inputs),
        "disturbance_after_all_pulses": final,
        "disturb_pulses": crossbar.disturb_pulses,
        "mapping_read_verify_rms": {name: {t: r["read_verify_rms"][-1] for t, r in by_target.items()}
                                    for name, by_target in mapping.items()},
        "mapping_open_loop_rms": {name: {t: r["open_loop_rms"] for t, r in by_target.items()}
                                  for name, by_target in mapping.items()},
        "fidelity_correlation": {name: r["correlation"] for name, r in fidelity.items()},
        **({"derived_device": devices["fitted"].describe()} if hasattr(devices["fitted"], "describe") else {}),
        "wall_time_s": time.perf_counter() - started,
    }))
    say(f"crossbar results written to {out} ({time.perf_counter() - started:.1f} s)")
    return files
